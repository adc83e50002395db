"""Reading and writing microscopy images (TIFF, PNG) with known axes and pixel size.

A multi-page TIFF does not say by itself whether its pages are channels, Z slices or time
points. :class:`MicroscopyReader` therefore takes the axes from ImageJ or OME metadata, or
from a declared ``axes`` string (``"YX"``, ``"CYX"``, ``"ZYX"``, ``"ZCYX"``, ...), and stops
with a one-line error that says how to declare them when nothing says which. It is a MONAI
``ImageReader``, so the bundles load with ``LoadImaged(reader=MicroscopyReader(...))`` and
MONAI Label can swap the loader as usual.

Arrays come out channel-first (``(C, Y, X)`` or ``(C, Z, Y, X)``), spatial axes in the
file's order, with the pixel size (Z, Y, X order, in ``unit``) as the affine's diagonal so
that ``MetaTensor.pixdim`` and everything downstream see the physical spacing.
:func:`write_microscopy_tiff` writes an ImageJ TIFF that keeps that pixel size, atomically.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
from monai.data import ImageReader
from monai.utils import ensure_tuple

from medunet.data.io import atomic_path

__all__ = [
    "MICROSCOPY_SUFFIXES",
    "MicroscopyReader",
    "read_microscopy",
    "tiff_spacing",
    "write_microscopy_tiff",
]

logger = logging.getLogger(__name__)

MICROSCOPY_SUFFIXES = (".tif", ".tiff", ".png")
_SPATIAL = "ZYX"
_CHANNEL = "CS"  # S: samples per pixel (RGB), a channel axis by TIFF semantics
_AMBIGUOUS = "IQ"  # tifffile's names for pages (or dimensions) of unknown meaning


def _ome_spacing(ome_xml: str | None) -> dict[str, float]:
    if not ome_xml:
        return {}
    try:
        pixels = tifffile.xml2dict(ome_xml)["OME"]["Image"]
        pixels = (pixels[0] if isinstance(pixels, list) else pixels)["Pixels"]
    except (KeyError, IndexError, TypeError, ValueError):
        return {}
    out = {}
    for ax in _SPATIAL:
        value = pixels.get(f"PhysicalSize{ax}")
        if value is not None:
            out[ax] = float(value)
    return out


def tiff_spacing(tif: tifffile.TiffFile) -> tuple[dict[str, float], str]:
    """Pixel size per axis letter and its unit, from OME or ImageJ/TIFF resolution tags."""
    if tif.is_ome:
        return _ome_spacing(tif.ome_metadata), "um"
    spacing: dict[str, float] = {}
    page = tif.pages[0]
    for ax, tag in (("X", "XResolution"), ("Y", "YResolution")):
        if tag in page.tags:
            num, den = page.tags[tag].value
            if num > 0 and den > 0 and (num, den) != (1, 1):
                spacing[ax] = den / num
    ij = tif.imagej_metadata or {}
    if ij.get("spacing"):
        spacing["Z"] = float(ij["spacing"])
    return spacing, str(ij.get("unit", "px" if not spacing else "um"))


def _resolve_axes(
    path: Path, shape: tuple[int, ...], file_axes: str, trusted: bool, declared: str | None
) -> str:
    """The axes of ``shape``: declared, else the file's when trusted, else an error."""
    if declared is not None:
        axes = declared.upper()
        if len(axes) != len(shape) or len(set(axes)) != len(axes):
            raise ValueError(
                f"{path}: declared axes {declared!r} do not fit the image of shape {shape} "
                f"(the file says {file_axes!r}); declare one letter per dimension, e.g. "
                f"{'CZYX'[4 - len(shape) :] if len(shape) <= 4 else 'TCZYX'}."
            )
        bad = set(axes) - set(_SPATIAL + _CHANNEL + "T")
        if bad:
            raise ValueError(f"{path}: unknown axis letters {sorted(bad)} in axes {declared!r}.")
        return axes
    axes = file_axes.upper()
    if not trusted:
        # plain TIFFs: pages of unknown meaning are ambiguous; Y/X/S are facts of the format
        axes = "".join("I" if a not in "YXS" else a for a in axes)
    if any(a in _AMBIGUOUS for a in axes):
        n = [s for a, s in zip(axes, shape, strict=True) if a in _AMBIGUOUS]
        raise ValueError(
            f"{path}: {n} pages could be channels, Z slices or time points and the file does "
            "not say which; declare them, e.g. axes='CYX' (channels) or axes='ZYX' "
            "(a Z-stack, with spatial_dims 3), or save the file as an ImageJ/OME TIFF."
        )
    return axes


def _to_channel_first(
    path: Path, array: np.ndarray, axes: str, spatial_dims: int, channels: bool
) -> tuple[np.ndarray, str]:
    """``(C, *spatial)`` with spatial axes in ``ZYX`` order; the spatial axis letters."""
    for ax in "T":
        if ax in axes:
            i = axes.index(ax)
            if array.shape[i] != 1:
                raise ValueError(
                    f"{path}: a time series ({array.shape[i]} time points); medunet segments "
                    "one time point per file: split the series into files."
                )
            array, axes = array.take(0, axis=i), axes.replace(ax, "")
    chan = [a for a in axes if a in _CHANNEL]
    if len(chan) == 2:  # e.g. ImageJ "CYXS": merge both into one channel axis
        i, j = axes.index(chan[0]), axes.index(chan[1])
        array = np.moveaxis(array, (i, j), (0, 1))
        array = array.reshape(-1, *array.shape[2:])
        axes = "C" + "".join(a for a in axes if a not in _CHANNEL)
    elif len(chan) == 1:
        i = axes.index(chan[0])
        array, axes = np.moveaxis(array, i, 0), "C" + axes.replace(chan[0], "")
    else:
        array, axes = array[None], "C" + axes
    spatial = axes[1:]
    if not channels and array.shape[0] != 1:
        raise ValueError(
            f"{path}: a label image must have one channel, this one has {array.shape[0]} "
            f"(axes {axes}); save one label image per file."
        )
    if "Z" in spatial and spatial_dims == 2:
        zi = 1 + spatial.index("Z")
        if array.shape[zi] != 1:
            raise ValueError(
                f"{path}: a Z-stack of {array.shape[zi]} slices, but the bundle is 2D; "
                "set spatial_dims: 3 (the microscopy_3d preset) or save single slices."
            )
        array, spatial = array.take(0, axis=zi), spatial.replace("Z", "")
    if spatial_dims == 3 and "Z" not in spatial:
        raise ValueError(
            f"{path}: a 2D image (axes {axes}), but the bundle is 3D (spatial_dims 3); "
            "give Z-stacks, or use the 2D bundle settings."
        )
    order = [1 + spatial.index(a) for a in _SPATIAL if a in spatial]
    array = array.transpose(0, *order)
    return array, "".join(a for a in _SPATIAL if a in spatial)


def read_microscopy(
    path: str | Path, axes: str | None = None, spatial_dims: int = 2, channels: bool = True
) -> tuple[np.ndarray, dict[str, Any]]:
    """Read a TIFF or PNG image as a channel-first array.

    Args:
        path: ``.tif``/``.tiff``/``.png`` file.
        axes: the file's axes when its metadata does not tell (e.g. ``"CYX"``, ``"ZYX"``).
        spatial_dims: 2 (images) or 3 (Z-stacks).
        channels: False for label images (one channel required).

    Returns:
        ``(array (C, *spatial), meta)`` with ``meta["spacing"]`` (per spatial axis),
        ``meta["unit"]`` and ``meta["axes"]`` (the spatial axis letters).

    Raises:
        ValueError: unreadable or ambiguous files, with the file name and the fix.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder, expected an image file (.tif, .tiff, .png).")
    if not path.is_file():
        raise ValueError(f"{path} does not exist; check the path or the datalist.")
    if path.stat().st_size == 0:
        raise ValueError(f"{path} is empty (0 bytes); re-export the image.")
    suffix = path.suffix.lower()
    try:
        if suffix == ".png":
            from PIL import Image

            with Image.open(path) as img:
                array = np.asarray(img)
            file_axes, trusted, spacing, unit = ("YXS" if array.ndim == 3 else "YX"), True, {}, "px"
            if array.ndim == 3 and array.shape[-1] in (2, 4):  # drop the alpha channel
                array = array[..., :-1]
        else:
            with tifffile.TiffFile(path) as tif:
                series = tif.series[0]
                array = series.asarray()
                file_axes = series.axes
                trusted = bool(tif.is_imagej or tif.is_ome)
                same = [
                    s for s in tif.series[1:] if s.shape == series.shape and s.dtype == series.dtype
                ]
                if not trusted and same and len(same) == len(tif.series) - 1:
                    # several equal images in one file: pages of unknown meaning, never drop them
                    array = np.stack([array, *(s.asarray() for s in same)])
                    file_axes = "I" + file_axes
                spacing, unit = tiff_spacing(tif)
    except (OSError, ValueError, IndexError, KeyError, SyntaxError, tifffile.TiffFileError) as err:
        raise ValueError(
            f"{path} could not be read as {suffix or 'an image'} ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else 'no detail'}); check that the file is "
            "complete and that its extension matches its content."
        ) from err
    if array.size == 0:
        raise ValueError(f"{path} holds an empty image of shape {array.shape}.")
    if axes is None and not channels and spatial_dims == 3 and not trusted and array.ndim == 3:
        axes = "ZYX"  # a label stack has no channels: its pages can only be Z slices
    axes_used = _resolve_axes(path, array.shape, file_axes, trusted, axes)
    array, spatial = _to_channel_first(path, array, axes_used, spatial_dims, channels)
    meta = {
        "spacing": [float(spacing.get(a, 1.0)) for a in spatial],
        "unit": unit,
        "axes": spatial,
    }
    return array, meta


class MicroscopyReader(ImageReader):
    """MONAI image reader for microscopy TIFF/PNG files with explicit axes.

    Args:
        axes: the files' axes when their metadata does not tell (``None``: from ImageJ/OME
            metadata; plain single images ``YX`` and RGB ``YXS`` need nothing).
        spatial_dims: 2 or 3 (Z-stacks).
        channels: False for label images.

    Example:
        >>> LoadImaged("image", reader=MicroscopyReader(axes="CYX"))  # doctest: +SKIP
    """

    def __init__(self, axes: str | None = None, spatial_dims: int = 2, channels: bool = True):
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}.")
        self.axes = axes
        self.spatial_dims = spatial_dims
        self.channels = channels

    def verify_suffix(self, filename: Sequence[str] | str) -> bool:
        """True for ``.tif``, ``.tiff`` and ``.png`` files."""
        return all(str(f).lower().endswith(MICROSCOPY_SUFFIXES) for f in ensure_tuple(filename))

    def read(self, data: Sequence[str] | str, **kwargs) -> list[Path]:
        """Defer reading to :meth:`get_data` so that its errors reach the caller unchanged."""
        return [Path(p) for p in ensure_tuple(data)]

    def get_data(self, img: list[Path]) -> tuple[np.ndarray, dict]:
        """``(array (C, *spatial), meta)``; several files are stacked as channels."""
        arrays, meta = [], {}
        for path in img:
            array, meta = read_microscopy(path, self.axes, self.spatial_dims, self.channels)
            arrays.append(array)
        if len({a.shape[1:] for a in arrays}) > 1:
            shapes = {str(p): a.shape[1:] for p, a in zip(img, arrays, strict=True)}
            raise ValueError(f"channel files have different sizes: {shapes}.")
        array = np.concatenate(arrays, axis=0) if len(arrays) > 1 else arrays[0]
        spacing = meta["spacing"]
        affine = np.diag([*spacing, 1.0])
        header = {
            "affine": affine,
            "original_affine": affine.copy(),
            "spatial_shape": np.asarray(array.shape[1:]),
            "original_channel_dim": 0,
            "pixdim": np.asarray([1.0, *spacing]),
            "unit": meta["unit"],
            "axes": meta["axes"],
        }
        return array, header


def write_microscopy_tiff(
    path: str | Path,
    array: np.ndarray,
    spacing: Sequence[float] | None = None,
    unit: str = "um",
    overwrite: bool = True,
) -> Path:
    """Write a 2D ``(Y, X)`` or 3D ``(Z, Y, X)`` array as an ImageJ TIFF, atomically.

    The pixel size goes into the resolution tags (Y, X) and ImageJ's ``spacing`` (Z), so
    Fiji/napari show the prediction at the input's scale.
    """
    array = np.asarray(array)
    if array.ndim not in (2, 3):
        raise ValueError(f"expected a (Y, X) or (Z, Y, X) array, got shape {array.shape}.")
    spacing = list(spacing) if spacing is not None else [1.0] * array.ndim
    if array.dtype == np.int64 or array.dtype == np.int32:
        if array.min() < 0 or array.max() > np.iinfo(np.uint32).max:
            raise ValueError(f"label values out of the uint32 range for {path}.")
        array = array.astype(np.uint16 if array.max() < 65536 else np.uint32)
    metadata: dict[str, Any] = {"axes": "ZYX" if array.ndim == 3 else "YX", "unit": unit}
    if array.ndim == 3:
        metadata["spacing"] = float(spacing[0])
    resolution = (1.0 / float(spacing[-1]), 1.0 / float(spacing[-2]))
    with atomic_path(path, overwrite=overwrite) as tmp:
        tifffile.imwrite(tmp, array, imagej=True, resolution=resolution, metadata=metadata)
    return Path(path)
