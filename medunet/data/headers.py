"""Volume headers, read without the voxels, and checked before anything is predicted.

A NIfTI whose sform holds NaN, or whose voxel sizes are zero, has no place in the world: a
segmentation written with its affine would not overlay the scan in any viewer. Such a
header is refused (a one-line ``ValueError`` naming the file and the fix) before any output
is written, for training data and for inputs alike.

Each header is read once: the nibabel image that :func:`read_volume_header` opened (its
header parsed, its voxels not read) is handed on to the reader that loads the voxels
(:class:`OpenedNiftiReader`, the loader of ``SafeLoadImaged``; the streamed slabs), once,
and only while the file is unchanged; header readers before it (the training spacing) look
at it without taking it (:func:`opened_nifti`).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from monai.data import NibabelReader
from monai.data.utils import correct_nifti_header_if_necessary
from monai.utils import ensure_tuple

__all__ = ["OpenedNiftiReader", "VolumeHeader", "check_volume_header", "file_key",
           "load_nifti", "opened_nifti", "read_volume_header"]  # fmt: skip

#: opened NIfTI images kept for their loader: (path, mtime, size) -> image (header only)
_OPENED: OrderedDict[tuple[str, int, int], object] = OrderedDict()
_KEEP = 64

_NIFTI = (".nii", ".nii.gz")
_ITK = (".nrrd", ".mha", ".mhd")


@dataclass(frozen=True)
class VolumeHeader:
    """The spatial shape and the voxel-to-world affine (4x4) of a volume file.

    Attributes:
        path: the file.
        shape: the spatial shape (three axes).
        channels: values per voxel (a 4th axis or vector pixels; 1 for a plain volume).
        affine: the 4x4 voxel-to-world matrix (NIfTI: nibabel's RAS affine; NRRD/MHA:
            ITK's LPS geometry as a matrix): only its validity is judged here.
    """

    path: Path
    shape: tuple[int, ...]
    affine: np.ndarray
    channels: int = 1

    @property
    def spacing(self) -> np.ndarray:
        """Voxel sizes: the lengths of the affine's axis columns."""
        return np.linalg.norm(self.affine[:3, :3], axis=0)


def read_volume_header(path: str | Path) -> VolumeHeader | None:
    """The header of a NIfTI, NRRD or MetaImage file; None for other files (DICOM series
    and files are checked by their reader)."""
    path = Path(path)
    name = path.name.lower()
    if name.endswith(_NIFTI):
        import nibabel as nib

        img = nib.load(str(path))
        _keep_opened(path, img)
        shape = tuple(int(n) for n in img.shape[:3])
        channels = int(np.prod(img.shape[3:])) if len(img.shape) > 3 else 1
        return VolumeHeader(path, shape, np.asarray(img.affine, dtype=float), channels)
    if name.endswith(_ITK):
        import SimpleITK as sitk

        reader = sitk.ImageFileReader()
        reader.SetFileName(str(path))
        reader.ReadImageInformation()
        dims = reader.GetDimension()
        direction = np.asarray(reader.GetDirection(), dtype=float).reshape(dims, dims)
        affine = np.eye(4)
        n = min(dims, 3)
        affine[:n, :n] = (direction * np.asarray(reader.GetSpacing(), dtype=float))[:n, :n]
        affine[:n, 3] = np.asarray(reader.GetOrigin(), dtype=float)[:n]
        size = tuple(int(s) for s in reader.GetSize()[:3])
        return VolumeHeader(path, size, affine, int(reader.GetNumberOfComponents()))
    return None


def check_volume_header(path: str | Path) -> VolumeHeader | None:
    """:func:`read_volume_header`, refusing headers that place the volume nowhere.

    Raises:
        ValueError: the header cannot be read, or its affine holds NaN/inf or is singular
            (a zero or repeated axis): one line naming the file and the fix.
    """
    try:
        header = read_volume_header(path)
    except Exception as err:  # nibabel's, ITK's, gzip's own errors: name the file
        detail = " ".join(str(err).split()) or "no detail"
        raise ValueError(
            f"{path} could not be read ({type(err).__name__}: {detail}); check that the file "
            "is complete and that its extension matches its content."
        ) from err
    if header is None:
        return None
    if not np.isfinite(header.affine).all():
        raise ValueError(
            f"{path}: its header's affine (NIfTI sform/qform) holds NaN or inf, so the volume "
            "has no place in the world; rewrite the header (e.g. nibabel's set_sform, or "
            "convert it again from the DICOM series)."
        )
    spacing = header.spacing
    if not (spacing > 0).all() or abs(np.linalg.det(header.affine[:3, :3] / spacing)) < 1e-6:
        raise ValueError(
            f"{path}: its header's affine is singular (voxel sizes "
            f"{', '.join(f'{v:g}' for v in spacing)}), so the volume has no place in the world;"
            " rewrite the header with the scanner's voxel sizes and orientation."
        )
    return header


def file_key(path: str | Path) -> tuple[str, int, int] | None:
    """``(resolved path, mtime_ns, size)``: a file as it is now (None: it is not there)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (str(Path(path).resolve()), st.st_mtime_ns, st.st_size)


def _keep_opened(path: str | Path, img) -> None:
    key = file_key(path)
    if key is None:
        return
    _OPENED[key] = img
    _OPENED.move_to_end(key)
    while len(_OPENED) > _KEEP:
        _OPENED.popitem(last=False)


def opened_nifti(path: str | Path):
    """The image :func:`read_volume_header` opened for ``path`` and not yet handed on (it
    stays for the loader), or None: for readers of the header alone."""
    key = file_key(path)
    return _OPENED.get(key) if key is not None else None


def load_nifti(path: str | Path, **kwargs):
    """``nibabel.load(path)``, or the image :func:`read_volume_header` opened for it (handed
    on once; a file changed since is opened again)."""
    key = file_key(path)
    img = _OPENED.pop(key, None) if key is not None and not kwargs else None
    if img is None:
        import nibabel as nib

        img = nib.load(str(path), **kwargs)
    return img


class OpenedNiftiReader(NibabelReader):
    """MONAI's ``NibabelReader`` that takes the image a header check already opened
    (:func:`load_nifti`) instead of parsing the file's header again."""

    def read(self, data, **kwargs):
        filenames = ensure_tuple(data)
        self.filenames = filenames
        options = {**self.kwargs, **kwargs}
        images = [correct_nifti_header_if_necessary(load_nifti(n, **options)) for n in filenames]
        return images if len(filenames) > 1 else images[0]
