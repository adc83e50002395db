"""MONAI's ``LoadImaged`` whose read errors name the file and the fix.

Readers fail deep inside nibabel, ITK, gzip or tifffile (``EOFError``, ``IndexError``...),
and MONAI reports "applying transform LoadImaged" around them: the user learns neither
which file nor what to do. :class:`SafeLoadImaged` is a drop-in ``LoadImaged`` (MONAI Label
still recognises it as one) that re-raises such errors as one line naming the file.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from pathlib import Path

from monai.data import NibabelReader
from monai.transforms import LoadImaged
from monai.utils import ensure_tuple

from medunet.data import handoff
from medunet.data.cache import describe_settings
from medunet.data.headers import OpenedNiftiReader

__all__ = ["SafeLoadImaged"]


class SafeLoadImaged(LoadImaged):
    """``LoadImaged`` (same arguments) raising ``ValueError("<file> could not be read ...")``.

    NIfTI files are read by :class:`~medunet.data.headers.OpenedNiftiReader` (MONAI's
    ``NibabelReader`` with the same options): a header that medunet's check already read is
    not parsed again. What the dataset check loaded inside
    :func:`medunet.data.handoff.keeping` is taken from there instead of being read again.
    """

    def __init__(self, keys, *args, **kwargs) -> None:
        super().__init__(keys, *args, **kwargs)
        readers = self._loader.readers
        for i, reader in enumerate(readers):  # MONAI's NibabelReader, its options kept
            if type(reader) is NibabelReader:
                opened = OpenedNiftiReader.__new__(OpenedNiftiReader)
                opened.__dict__.update(reader.__dict__)
                readers[i] = opened
        self._settings = describe_settings(self._loader)  # before any read sets filenames

    def __call__(self, data: Mapping[Hashable, object], reader=None) -> dict:
        for key in self.key_iterator(dict(data)):
            for item in ensure_tuple(data[key]):
                if isinstance(item, (str, Path)) and not Path(item).exists():
                    raise ValueError(f"{item} does not exist; check the path or the datalist.")
        try:
            return self._load(data, reader)
        except Exception as err:
            files = [str(data[k]) for k in self.key_iterator(dict(data))]
            cause = err
            while type(cause) is RuntimeError and cause.__cause__ is not None:
                cause = cause.__cause__  # MONAI's "applying transform" wrappers
            if isinstance(cause, ValueError) and any(f in str(cause) for f in files):
                raise cause from err  # already names the file (medunet's readers)
            detail = str(cause).strip().splitlines()[0] if str(cause).strip() else "no detail"
            raise ValueError(
                f"{' / '.join(files)} could not be read ({type(cause).__name__}: {detail}); "
                "check that the file is complete and that its extension matches its content."
            ) from err

    def _load(self, data: Mapping[Hashable, object], reader) -> dict:
        """``LoadImaged``'s loading; images (``image_only``) handed on by the check are taken."""
        if not self._loader.image_only or reader is not None:
            return super().__call__(data, reader)
        d = dict(data)
        for key in self.key_iterator(d):
            files = [str(f) for f in ensure_tuple(d[key])]
            image = handoff.take(files, self._settings)
            if image is None:
                image = self._loader(d[key], reader)
                handoff.offer(files, self._settings, image)
            d[key] = image
        return d
