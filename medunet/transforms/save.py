"""Saving predictions named after their input: microscopy TIFF with the input's pixel size,
volumes as NIfTI with the input's affine."""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path

import numpy as np
from monai.config import KeysCollection, NdarrayOrTensor
from monai.transforms import MapTransform
from monai.utils import convert_data_type, ensure_tuple

from medunet.data.datalist import case_name
from medunet.data.io import atomic_path
from medunet.data.microscopy import write_microscopy_tiff

__all__ = ["SaveMicroscopyd", "SaveVolumed", "output_stem"]

logger = logging.getLogger(__name__)


def output_stem(source: str | Sequence[str]) -> str:
    """The case name of an input (its first file for channel lists): no folder, extension or
    nnU-Net ``_0000`` suffix (:func:`~medunet.data.datalist.case_name`)."""
    return case_name(str(ensure_tuple(source)[0]))[0]


class _SaveNamedAfterInput(MapTransform):
    """Shared by the savers: one output per key, named ``<input name><postfix><suffix>``
    after the file behind ``source_key``'s MetaTensor; ``(1, *spatial)`` arrays."""

    suffix = ""

    def __init__(
        self,
        keys: KeysCollection,
        output_dir: str | Path,
        postfix: Sequence[str] | str = "",
        source_key: str = "image",
        overwrite: bool = True,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.postfix = ensure_tuple(postfix)
        if len(self.postfix) == 1:
            self.postfix = self.postfix * len(self.keys)
        if len(self.postfix) != len(self.keys):
            raise ValueError(f"need one postfix per key: keys {self.keys}, postfix {postfix}.")
        self.output_dir = Path(output_dir)
        self.source_key = source_key
        self.overwrite = overwrite

    def write(self, path: Path, value: NdarrayOrTensor, array: np.ndarray, source) -> None:
        """Write ``array`` (``value`` without its channel axis) to ``path``."""
        raise NotImplementedError

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict:
        d = dict(data)
        src = d.get(self.source_key)
        meta = getattr(src, "meta", {}) or {}
        name = type(self).__name__
        if not meta.get("filename_or_obj"):
            raise ValueError(
                f"{name}: {self.source_key!r} has no file name in its meta; load it with "
                "LoadImaged so that outputs can be named after it."
            )
        stem = output_stem(meta["filename_or_obj"])
        for key, postfix in zip(self.keys, self.postfix, strict=True):
            if key not in d:
                if self.allow_missing_keys:
                    continue
                raise KeyError(f"{name}: key {key!r} is missing.")
            array = convert_data_type(d[key], np.ndarray)[0]
            if array.ndim < 3 or array.shape[0] != 1:
                raise ValueError(f"{name}: {key!r} must be (1, *spatial), got {array.shape}.")
            path = self.output_dir / f"{stem}{postfix}{self.suffix}"
            self.write(path, d[key], array[0], src)
            logger.info("saved %s", path)
        return d


class SaveMicroscopyd(_SaveNamedAfterInput):
    """Write each key as ``output_dir/<input name><postfix>.tif`` (ImageJ TIFF, atomic).

    The input's file name and pixel size are read from ``source_key``'s MetaTensor (the
    loaded image), so the prediction opens at the input's scale in Fiji or napari.

    Args:
        keys: keys to save, each ``(1, *spatial)``.
        output_dir: destination folder (created).
        postfix: one per key, appended to the input's name (e.g. ``"_labels"``, ``"_prob"``).
        source_key: the loaded image key whose meta names the file.
        overwrite: False refuses to replace an existing file (one-line error).
    """

    suffix = ".tif"

    def write(self, path: Path, value: NdarrayOrTensor, array: np.ndarray, source) -> None:
        """ImageJ TIFF with the source's pixel size (from its affine) and unit."""
        pixdim = getattr(source, "pixdim", None)
        pixdim = np.asarray(pixdim if pixdim is not None else [], dtype=float).ravel()
        spacing = pixdim[: array.ndim] if pixdim.size >= array.ndim else None
        unit = str((getattr(source, "meta", {}) or {}).get("unit", "um"))
        write_microscopy_tiff(path, array, spacing, unit, overwrite=self.overwrite)


class SaveVolumed(_SaveNamedAfterInput):
    """Write each key as ``output_dir/<input name><postfix>.nii.gz`` with its own affine.

    Meant for predictions that ``Invertd`` has brought back onto the input's grid: the
    saved volume has the input's shape and affine, so it overlays the scan exactly in world
    coordinates (3D Slicer, ITK-SNAP), whatever orientation the header had. Integer label
    volumes are stored as the smallest type that holds them; written atomically.

    Args:
        keys: keys to save, each ``(1, H, W, D)`` MetaTensor.
        output_dir: destination folder (created).
        postfix: appended to the input's name (one per key or one for all).
        source_key: the loaded image key whose file name names the output.
        overwrite: False refuses to replace an existing file (one-line error).
    """

    suffix = ".nii.gz"

    def write(self, path: Path, value: NdarrayOrTensor, array: np.ndarray, source) -> None:
        """NIfTI with ``value``'s affine as both qform and sform."""
        import nibabel as nib

        if array.ndim != 3:
            raise ValueError(f"SaveVolumed: expected a (1, H, W, D) volume for {path.name}.")
        affine = np.asarray(getattr(value, "affine", np.eye(4)), dtype=np.float64)
        if np.issubdtype(array.dtype, np.floating) and np.array_equal(array, np.round(array)):
            array = array.astype(np.int64)
        if np.issubdtype(array.dtype, np.integer):
            small = array.min() >= 0 and array.max() < 256
            array = array.astype(np.uint8 if small else np.int32)
        image = nib.Nifti1Image(array, affine)
        image.set_qform(affine, code=1)
        image.set_sform(affine, code=1)
        with atomic_path(path, overwrite=self.overwrite) as tmp:
            nib.save(image, str(tmp))
