"""Volume headers, read without the voxels, and checked before anything is predicted.

A NIfTI whose sform holds NaN, or whose voxel sizes are zero, has no place in the world: a
segmentation written with its affine would not overlay the scan in any viewer. Such a
header is refused (a one-line ``ValueError`` naming the file and the fix) before any output
is written, for training data and for inputs alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["VolumeHeader", "check_volume_header", "read_volume_header"]

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
