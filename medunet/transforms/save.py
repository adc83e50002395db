"""Saving predictions named after their input: microscopy TIFF with the input's pixel size,
volumes as NIfTI with the input's affine."""

from __future__ import annotations

import logging
import re
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path

import numpy as np
from monai.config import KeysCollection, NdarrayOrTensor
from monai.transforms import MapTransform
from monai.utils import convert_data_type, ensure_tuple

from medunet.data.io import atomic_path
from medunet.data.microscopy import write_microscopy_tiff

__all__ = ["SaveMicroscopyd", "SaveVolumed", "output_stem"]

logger = logging.getLogger(__name__)

_CHANNEL_SUFFIX = re.compile(r"_\d{4}$")


def output_stem(source: str | Sequence[str]) -> str:
    """The case name of an input file: no folder, extension or nnU-Net ``_0000`` suffix."""
    first = Path(str(ensure_tuple(source)[0]))
    name = first.name
    for suffix in (".ome.tiff", ".ome.tif", ".nii.gz", ".tiff", ".tif", ".png", ".nii"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return _CHANNEL_SUFFIX.sub("", name)


class SaveMicroscopyd(MapTransform):
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

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict:
        d = dict(data)
        src = d.get(self.source_key)
        meta = getattr(src, "meta", {}) or {}
        source = meta.get("filename_or_obj")
        if not source:
            raise ValueError(
                f"SaveMicroscopyd: {self.source_key!r} has no file name in its meta; load it "
                "with LoadImaged so that outputs can be named after it."
            )
        pixdim = getattr(src, "pixdim", None)  # MetaTensor: spacing from the affine
        pixdim = np.asarray(pixdim if pixdim is not None else [], dtype=float).ravel()
        unit = str(meta.get("unit", "um"))
        stem = output_stem(source)
        for key, postfix in zip(self.keys, self.postfix, strict=True):
            if key not in d:
                if self.allow_missing_keys:
                    continue
                raise KeyError(f"SaveMicroscopyd: key {key!r} is missing.")
            array = convert_data_type(d[key], np.ndarray)[0]
            if array.ndim < 3 or array.shape[0] != 1:
                raise ValueError(
                    f"SaveMicroscopyd: {key!r} must be (1, *spatial), got {array.shape}."
                )
            array = array[0]
            spacing = pixdim[: array.ndim] if pixdim.size >= array.ndim else None
            path = self.output_dir / f"{stem}{postfix}.tif"
            write_microscopy_tiff(path, array, spacing, unit, overwrite=self.overwrite)
            logger.info("saved %s", path)
        return d


class SaveVolumed(MapTransform):
    """Write each key as ``output_dir/<input name><postfix>.nii.gz`` with its own affine.

    Meant for predictions that ``Invertd`` has brought back onto the input's grid: the
    saved volume has the input's shape and affine, so it overlays the scan exactly in world
    coordinates (3D Slicer, ITK-SNAP), whatever orientation the header had. Integer label
    volumes are stored as the smallest unsigned type that holds them; written atomically.

    Args:
        keys: keys to save, each ``(1, *spatial)`` MetaTensor.
        output_dir: destination folder (created).
        postfix: appended to the input's name (one per key or one for all).
        source_key: the loaded image key whose file name names the output.
        overwrite: False refuses to replace an existing file (one-line error).
    """

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
        self.output_dir = Path(output_dir)
        self.source_key = source_key
        self.overwrite = overwrite

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict:
        import nibabel as nib

        d = dict(data)
        meta = getattr(d.get(self.source_key), "meta", {}) or {}
        source = meta.get("filename_or_obj")
        if not source:
            raise ValueError(f"SaveVolumed: {self.source_key!r} has no file name in its meta.")
        stem = output_stem(source)
        for key, postfix in zip(self.keys, self.postfix, strict=True):
            if key not in d and self.allow_missing_keys:
                continue
            x = d[key]
            affine = np.asarray(getattr(x, "affine", None) if hasattr(x, "affine") else np.eye(4))
            array = convert_data_type(x, np.ndarray)[0]
            if array.ndim != 4 or array.shape[0] != 1:
                raise ValueError(f"SaveVolumed: {key!r} must be (1, H, W, D), got {array.shape}.")
            array = array[0]
            if np.issubdtype(array.dtype, np.floating) and np.array_equal(array, np.round(array)):
                array = array.astype(np.int64)
            if np.issubdtype(array.dtype, np.integer):
                dtype = np.uint8 if array.min() >= 0 and array.max() < 256 else np.int32
                array = array.astype(dtype)
            path = self.output_dir / f"{stem}{postfix}.nii.gz"
            image = nib.Nifti1Image(array, affine.astype(np.float64))
            image.set_qform(affine, code=1)
            image.set_sform(affine, code=1)
            with atomic_path(path, overwrite=self.overwrite) as tmp:
                nib.save(image, str(tmp))
            logger.info("saved %s", path)
        return d
