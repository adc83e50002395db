"""Reading and writing single label images (evaluate, weight maps, the demo).

Microscopy files (TIFF, PNG) go through :func:`~medunet.data.read_microscopy` (2D, or Z-stacks
when the metadata says so); volumes (NIfTI, NRRD, MHA) through MONAI's ``LoadImage`` with
their affine. Every failure is a ``ValueError`` naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medunet.data.io import atomic_path, split_suffix
from medunet.data.labels import check_label_values
from medunet.data.microscopy import MICROSCOPY_SUFFIXES, read_microscopy, write_microscopy_tiff

__all__ = [
    "VOLUME_SUFFIXES",
    "is_volume",
    "read_label_image",
    "volume_suffixes",
    "write_like",
]

#: volume files read through MONAI's LoadImage (NIfTI, NRRD, MetaImage, single DICOM files:
#: one slice or an enhanced multi-frame file); the one list of them
VOLUME_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".mha", ".mhd", ".dcm")


def volume_suffixes(dicom_series: bool = True) -> list[str]:
    """What the CT/MRI bundle lists as images: :data:`VOLUME_SUFFIXES`, and ``"/"`` (a
    sub-folder is a DICOM series) when ``dicom_series``."""
    return [*VOLUME_SUFFIXES, "/"] if dicom_series else list(VOLUME_SUFFIXES)


def is_volume(path: str | Path) -> bool:
    """Whether ``path`` is a NIfTI/NRRD/MHA volume (by its extension)."""
    return str(path).lower().endswith(VOLUME_SUFFIXES)


def read_label_image(path: str | Path) -> tuple[np.ndarray, dict]:
    """An integer label image ``(*spatial)`` and ``{"spacing": [...], "affine": 4x4 or None}``.

    Raises:
        ValueError: missing, unreadable, non-integer, negative or multi-channel labels.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path} does not exist; check the path.")
    if path.is_dir():
        raise ValueError(f"{path} is a folder, expected a label image file.")
    if is_volume(path):
        from monai.transforms import LoadImage

        try:
            image = LoadImage(image_only=True)(str(path))
        except Exception as err:
            raise ValueError(
                f"{path} could not be read as a volume ({type(err).__name__}); check that it is "
                "complete and that its extension matches its content."
            ) from err
        array = np.asarray(image)
        affine = np.asarray(image.affine, dtype=float)
        meta = {
            "spacing": [float(s) for s in np.linalg.norm(affine[:3, :3], axis=0)],
            "affine": affine,
        }
    elif path.name.lower().endswith(MICROSCOPY_SUFFIXES):
        try:
            array, info = read_microscopy(path, channels=False)
        except ValueError:
            array, info = read_microscopy(path, spatial_dims=3, channels=False)
        array = array[0]
        meta = {"spacing": info["spacing"], "affine": None}
    else:
        raise ValueError(
            f"{path}: unknown file type; label images are "
            f"{list(MICROSCOPY_SUFFIXES + VOLUME_SUFFIXES)}."
        )
    check_label_values(array, str(path))
    return array.astype(np.int64), meta


def write_like(path: str | Path, array: np.ndarray, meta: dict, overwrite: bool = False) -> Path:
    """Write ``array`` (float or int) as TIFF or, for volume extensions, NIfTI with
    ``meta["affine"]``; atomically, refusing to replace ``path`` unless ``overwrite``."""
    path = Path(path)
    if is_volume(path):
        import nibabel as nib

        if not path.name.lower().endswith((".nii", ".nii.gz")):
            raise ValueError(f"{path}: write volumes as .nii.gz.")
        affine = meta.get("affine")
        data = np.asarray(array)
        if data.dtype.kind in "iu" and data.dtype.itemsize == 8:  # nibabel refuses 64-bit ints
            if data.size and (
                data.min() < np.iinfo(np.int32).min or data.max() > np.iinfo(np.int32).max
            ):
                raise ValueError(f"{path}: label values beyond int32 cannot be written as NIfTI.")
            data = data.astype(np.int32)
        img = nib.Nifti1Image(data, np.eye(4) if affine is None else np.asarray(affine))
        with atomic_path(path, overwrite=overwrite) as tmp:
            nib.save(img, str(tmp))
        return path
    if split_suffix(path.name)[1].lower() not in (".tif", ".tiff"):
        raise ValueError(f"{path}: write .tif (images) or .nii.gz (volumes).")
    write_microscopy_tiff(path, array, meta.get("spacing"), overwrite=overwrite)
    return path
