"""Saving predictions named after their input, in the formats the viewers read:
microscopy as ImageJ TIFF with the input's pixel size, an OME-NGFF store (image, labels
layer and pyramids; napari) and GeoJSON objects (QuPath); volumes as NIfTI with the input's
affine and a 3D Slicer segmentation (``.seg.nrrd``)."""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path

import numpy as np
from monai.config import KeysCollection, NdarrayOrTensor
from monai.transforms import MapTransform
from monai.utils import convert_data_type, ensure_tuple

from medunet.data.datalist import case_name
from medunet.data.geojson import write_geojson
from medunet.data.io import atomic_path
from medunet.data.microscopy import read_microscopy, write_microscopy_tiff
from medunet.data.ngff import write_ngff_image, write_ngff_labels
from medunet.data.slicer import segment_names, write_seg_nrrd

__all__ = [
    "IMAGE_FORMATS",
    "OUTPUT_SUFFIXES",
    "VOLUME_FORMATS",
    "SaveMicroscopyd",
    "SaveVolumed",
    "check_formats",
    "label_dtype",
    "output_files",
    "output_stem",
]

logger = logging.getLogger(__name__)

#: microscopy outputs: ImageJ TIFF, OME-NGFF (napari), GeoJSON objects (QuPath)
IMAGE_FORMATS = ("tiff", "zarr", "geojson")
#: CT/MRI outputs: NIfTI, 3D Slicer segmentation
VOLUME_FORMATS = ("nifti", "seg.nrrd")
#: the files of each format, after the input's name, as the bundles' savers name them
OUTPUT_SUFFIXES = {
    "tiff": ("_labels.tif", "_prob.tif"),
    "zarr": (".ome.zarr", "_prob.ome.zarr"),
    "geojson": (".geojson",),
    "nifti": ("_seg.nii.gz",),
    "seg.nrrd": ("_seg.seg.nrrd",),
}


def check_formats(formats: str | Sequence[str], allowed: Sequence[str], what: str) -> list[str]:
    """``formats`` (a list, or a comma-separated string) checked against ``allowed``;
    one-line error naming the choices."""
    names = [f.strip().lower() for f in (formats.split(",") if isinstance(formats, str)
                                         else formats) if f.strip()]  # fmt: skip
    bad = [f for f in names if f not in allowed]
    if bad or not names:
        raise ValueError(
            f"--output-format {','.join(bad) or '(none)'}: {what} writes "
            f"{', '.join(allowed)} (one or several, comma-separated)."
        )
    return list(dict.fromkeys(names))


def output_files(folder: Path, stem: str, formats: Sequence[str]) -> dict[str, list[Path]]:
    """``{format: [files]}`` of input ``stem``'s outputs in ``folder``
    (:data:`OUTPUT_SUFFIXES`)."""
    return {f: [folder / f"{stem}{suffix}" for suffix in OUTPUT_SUFFIXES[f]] for f in formats}


def label_dtype(count: int) -> np.dtype:
    """The smallest unsigned type of labels up to ``count``."""
    return np.dtype(np.uint16 if count < 65536 else np.uint32)


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
            if path.exists():  # a format without this file (a .seg.nrrd alone) says its own
                logger.info("saved %s", path)
        return d


class SaveMicroscopyd(_SaveNamedAfterInput):
    """Write the instance labels and the foreground probability of a microscopy image.

    ``formats``: ``"tiff"`` writes each key as ``output_dir/<input name><postfix>.tif``
    (ImageJ TIFF with the input's pixel size and unit, read from ``source_key``'s
    MetaTensor, so the prediction opens at the input's scale in Fiji or napari); ``"zarr"``
    writes ``<input name>.ome.zarr`` (the input image's pyramid, re-read from its file, with
    the labels as its NGFF labels layer) and ``<input name><postfix>.ome.zarr`` for the
    probability (:mod:`medunet.data.ngff`); ``"geojson"`` writes ``<input name>.geojson``,
    one polygon per object with its area and mean probability (:mod:`medunet.data.geojson`,
    2D). A streamed image is written in the same formats (:mod:`medunet.bundle.streaming`).

    Args:
        keys: the labels, then the probability, each ``(1, *spatial)``.
        output_dir: destination folder (created).
        postfix: one per key, appended to the input's name (e.g. ``"_labels"``, ``"_prob"``).
        source_key: the loaded image key whose meta names the file.
        overwrite: False refuses to replace an existing file (one-line error).
        formats: any of :data:`IMAGE_FORMATS`.
        image_axes: the input's axes when its metadata does not say (``"zarr"`` re-reads it).
    """

    suffix = ".tif"

    def __init__(self, keys: KeysCollection, output_dir: str | Path,
                 postfix: Sequence[str] | str = "", source_key: str = "image",
                 overwrite: bool = True, allow_missing_keys: bool = False,
                 formats: Sequence[str] = ("tiff",),
                 image_axes: str | None = None) -> None:  # fmt: skip
        super().__init__(keys, output_dir, postfix, source_key, overwrite, allow_missing_keys)
        self.formats = check_formats(formats, IMAGE_FORMATS, "microscopy")
        self.image_axes = image_axes
        if set(self.formats) - {"tiff"} and len(self.keys) != 2:
            raise ValueError("SaveMicroscopyd: zarr and geojson need keys [labels, probability].")

    def write(self, path: Path, value: NdarrayOrTensor, array: np.ndarray, source) -> None:
        """ImageJ TIFF with the source's pixel size (from its affine) and unit."""
        spacing, unit = self._scale(source, array.ndim)
        write_microscopy_tiff(path, array, spacing, unit, overwrite=self.overwrite)

    @staticmethod
    def _scale(source, ndim: int) -> tuple[list[float] | None, str]:
        pixdim = getattr(source, "pixdim", None)
        pixdim = np.asarray(pixdim if pixdim is not None else [], dtype=float).ravel()
        spacing = [float(p) for p in pixdim[:ndim]] if pixdim.size >= ndim else None
        return spacing, str((getattr(source, "meta", {}) or {}).get("unit", "um"))

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict:
        d = super().__call__(data) if "tiff" in self.formats else dict(data)
        others = [f for f in self.formats if f != "tiff"]
        if not others:
            return d
        source = d[self.source_key]
        files = (source.meta or {}).get("filename_or_obj")
        stem = output_stem(files)
        labels = convert_data_type(d[self.keys[0]], np.ndarray)[0][0]
        prob = convert_data_type(d[self.keys[1]], np.ndarray)[0][0].astype(np.float32)
        count = int(labels.max()) if labels.size else 0
        labels = labels.astype(label_dtype(count))
        spacing, unit = self._scale(source, labels.ndim)
        spacing = spacing or [1.0] * labels.ndim
        if "zarr" in others:
            image = self._image(files, labels.ndim)
            path = self.output_dir / f"{stem}.ome.zarr"
            write_ngff_labels(path, [labels], labels.shape, labels.dtype, spacing, count,
                              image=[image], image_shape=image.shape, image_dtype=image.dtype,
                              unit=unit, name=stem, overwrite=self.overwrite)  # fmt: skip
            prob_path = self.output_dir / f"{stem}{self.postfix[1]}.ome.zarr"
            write_ngff_image(prob_path, [prob], prob.shape, np.float32, spacing, unit,
                             name=f"{stem}{self.postfix[1]}", overwrite=self.overwrite)  # fmt: skip
            logger.info("saved %s and %s", path, prob_path)
        if "geojson" in others:
            if labels.ndim != 2:
                raise ValueError(
                    f"{stem}: GeoJSON holds 2D objects, this prediction is {labels.ndim}D; "
                    "write it as tiff or zarr."
                )
            path = self.output_dir / f"{stem}.geojson"
            write_geojson(path, [labels], [prob], overwrite=self.overwrite)
            logger.info("saved %s", path)
        return d

    def _image(self, files, spatial_dims: int) -> np.ndarray:
        """The input image ``(C, *spatial)`` as stored (channel files stacked)."""
        arrays = [read_microscopy(f, self.image_axes, spatial_dims)[0] for f in ensure_tuple(files)]
        return np.concatenate(arrays, axis=0) if len(arrays) > 1 else arrays[0]


class SaveVolumed(_SaveNamedAfterInput):
    """Write each key as ``output_dir/<input name><postfix>.nii.gz`` with its own affine,
    and/or (``formats``) as a 3D Slicer segmentation ``<input name><postfix>.seg.nrrd``.

    Meant for predictions that ``Invertd`` has brought back onto the input's grid: the
    saved volume has the input's shape and affine, so it overlays the scan exactly in world
    coordinates (3D Slicer, ITK-SNAP), whatever orientation the header had. Integer label
    volumes are stored as the smallest type that holds them; written atomically. The
    ``.seg.nrrd`` holds label values ``1 .. num_classes - 1`` as segments named by
    ``class_names`` (:mod:`medunet.data.slicer`).

    Args:
        keys: keys to save, each ``(1, H, W, D)`` MetaTensor.
        output_dir: destination folder (created).
        postfix: appended to the input's name (one per key or one for all).
        source_key: the loaded image key whose file name names the output.
        overwrite: False refuses to replace an existing file (one-line error).
        formats: any of :data:`VOLUME_FORMATS`.
        num_classes: classes with background (the segments of a ``.seg.nrrd``).
        class_names: the names of label values ``1 .. num_classes - 1`` (default
            ``class 1``, ...).
    """

    suffix = ".nii.gz"

    def __init__(self, keys: KeysCollection, output_dir: str | Path,
                 postfix: Sequence[str] | str = "", source_key: str = "image",
                 overwrite: bool = True, allow_missing_keys: bool = False,
                 formats: Sequence[str] = ("nifti",), num_classes: int = 2,
                 class_names: Sequence[str] | None = None) -> None:  # fmt: skip
        super().__init__(keys, output_dir, postfix, source_key, overwrite, allow_missing_keys)
        self.formats = check_formats(formats, VOLUME_FORMATS, "CT/MRI")
        self.names = segment_names(int(num_classes) - 1, class_names)

    def write(self, path: Path, value: NdarrayOrTensor, array: np.ndarray, source) -> None:
        """NIfTI with ``value``'s affine as both qform and sform (and the ``.seg.nrrd``)."""
        import nibabel as nib

        if array.ndim != 3:
            raise ValueError(f"SaveVolumed: expected a (1, H, W, D) volume for {path.name}.")
        affine = np.asarray(getattr(value, "affine", np.eye(4)), dtype=np.float64)
        if np.issubdtype(array.dtype, np.floating) and np.array_equal(array, np.round(array)):
            array = array.astype(np.int64)
        if np.issubdtype(array.dtype, np.integer):
            small = array.min() >= 0 and array.max() < 256
            array = array.astype(np.uint8 if small else np.int32)
        if "seg.nrrd" in self.formats:
            seg = path.with_name(path.name[: -len(self.suffix)] + ".seg.nrrd")
            write_seg_nrrd(seg, [array], array.shape, affine, self.names, self.overwrite)
            logger.info("saved %s", seg)
        if "nifti" not in self.formats:
            return
        image = nib.Nifti1Image(array, affine)
        image.set_qform(affine, code=1)
        image.set_sform(affine, code=1)
        with atomic_path(path, overwrite=self.overwrite) as tmp:
            nib.save(image, str(tmp))
