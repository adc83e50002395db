"""Predictions as OME-NGFF 0.4 (OME-Zarr) stores that napari and other NGFF readers open as
an image with its labels layer, browsable at any size through their pyramids.

:func:`write_ngff_labels` writes ``<name>.ome.zarr``: the input image's multiscale pyramid at
the root (2x2 means) and the instance labels as the NGFF labels group ``labels/<name>``
with a pyramid of its own (nearest downsampling) and an ``image-label`` colour per object;
:func:`write_ngff_image` writes a float image (the probability map) as a store of its own.
Axes, units and pixel sizes come from the input. Level 0 is written a stripe of rows at a
time and every coarser level from the one before, a band of rows at a time, so a whole
slide is written in the memory of a few rows of tiles. Zarr v2 arrays with ``/``-separated
chunk keys, as NGFF 0.4 asks; each store is written beside its name and renamed when
complete.
"""

from __future__ import annotations

import colorsys
import math
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

__all__ = ["CHUNK", "pyramid_levels", "write_ngff_image", "write_ngff_labels"]

CHUNK = 256  # chunk edge (Y, X) of every level, and the size the coarsest level fits in

_UNITS = {"um": "micrometer", "\u00b5m": "micrometer", "\u03bcm": "micrometer",
          "micron": "micrometer", "micrometer": "micrometer", "nm": "nanometer",
          "nanometer": "nanometer", "mm": "millimeter", "millimeter": "millimeter",
          "cm": "centimeter", "m": "meter"}  # fmt: skip


def pyramid_levels(shape: Sequence[int]) -> int:
    """Levels of a pyramid over spatial ``shape`` (Y, X last): halving Y and X until both
    fit in one :data:`CHUNK`."""
    size, levels = max(int(shape[-1]), int(shape[-2])), 1
    while size > CHUNK:
        size, levels = math.ceil(size / 2), levels + 1
    return levels


def _axes(spatial: int, channels: bool, unit: str | None) -> list[dict]:
    names = "zyx"[3 - spatial :]
    unit = _UNITS.get((unit or "").strip().lower())
    space = [{"name": n, "type": "space", **({"unit": unit} if unit else {})} for n in names]
    return ([{"name": "c", "type": "channel"}] if channels else []) + space


def _half(band: np.ndarray, nearest: bool) -> np.ndarray:
    """``band`` ``(..., Y, X)`` at half resolution in Y and X: every other pixel
    (``nearest``) or the mean of each 2x2 (an odd last row or column repeated)."""
    if nearest:
        return band[..., ::2, ::2]
    pad = [(0, 0)] * (band.ndim - 2) + [(0, band.shape[-2] % 2), (0, band.shape[-1] % 2)]
    x = np.pad(band.astype(np.float32), pad, mode="edge")
    x = x.reshape(*x.shape[:-2], x.shape[-2] // 2, 2, x.shape[-1] // 2, 2).mean(axis=(-3, -1))
    if np.issubdtype(band.dtype, np.integer):
        x = np.rint(x)
    return x.astype(band.dtype)


def _multiscale(group, stripes: Iterable[np.ndarray], shape: Sequence[int], dtype,
                spacing: Sequence[float], unit: str | None, nearest: bool,
                name: str) -> None:  # fmt: skip
    """Levels ``0 .. n-1`` of an array of ``shape`` (``(C,)`` then spatial; Y, X last) into
    ``group`` from stripes of rows along Y, and the group's ``multiscales`` metadata."""
    spatial = len(spacing)
    channels = len(shape) > spatial
    chunks = tuple([1] * (len(shape) - 2) + [CHUNK, CHUNK])
    kwargs = {"chunk_key_encoding": {"name": "v2", "separator": "/"}, "fill_value": 0}
    level = group.create_array("0", shape=tuple(shape), chunks=chunks, dtype=dtype, **kwargs)
    y = 0
    for stripe in stripes:
        level[..., y : y + stripe.shape[-2], :] = stripe
        y += stripe.shape[-2]
    datasets = []
    for k in range(pyramid_levels(shape)):
        if k:
            previous = level
            size = (*previous.shape[:-2], *(math.ceil(n / 2) for n in previous.shape[-2:]))
            level = group.create_array(str(k), shape=size, chunks=chunks, dtype=dtype, **kwargs)
            for y in range(0, previous.shape[-2], 2 * CHUNK):
                half = _half(previous[..., y : y + 2 * CHUNK, :], nearest)
                level[..., y // 2 : y // 2 + half.shape[-2], :] = half
        scale = [float(s) for s in spacing]
        scale[-2:] = [s * 2**k for s in scale[-2:]]
        datasets.append({
            "path": str(k),
            "coordinateTransformations": [
                {"type": "scale", "scale": [1.0] * channels + scale}
            ],
        })  # fmt: skip
    group.attrs["multiscales"] = [{
        "version": "0.4",
        "name": name,
        "axes": _axes(spatial, channels, unit),
        "datasets": datasets,
        "type": "nearest" if nearest else "mean (2x2)",
    }]  # fmt: skip


class _Store:
    """An NGFF store written beside ``path`` and renamed onto it when complete."""

    def __init__(self, path: Path, overwrite: bool) -> None:
        import zarr

        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; pass --overwrite to replace it.")
        self.path, self.tmp = path, path.with_name(f".{path.name}.tmp")
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.root = zarr.open_group(str(self.tmp), mode="w", zarr_format=2)

    def commit(self) -> None:
        if self.path.exists():
            shutil.rmtree(self.path)
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _colours(count: int) -> list[dict]:
    """A distinct colour per label ``1 .. count`` (golden-ratio hues), background clear."""
    colours = [{"label-value": 0, "rgba": [0, 0, 0, 0]}]
    for value in range(1, count + 1):
        r, g, b = colorsys.hsv_to_rgb((value * 0.618033988749895) % 1.0, 0.65, 1.0)
        colours.append({"label-value": value, "rgba": [round(255 * r), round(255 * g),
                                                        round(255 * b), 255]})  # fmt: skip
    return colours


def write_ngff_labels(
    path: str | Path,
    labels: Iterable[np.ndarray],
    shape: Sequence[int],
    dtype,
    spacing: Sequence[float],
    count: int,
    image: Iterable[np.ndarray] | None = None,
    image_shape: Sequence[int] | None = None,
    image_dtype=None,
    unit: str | None = "um",
    name: str = "labels",
    overwrite: bool = False,
) -> Path:
    """Write ``path`` (``<name>.ome.zarr``): the image pyramid at the root and the labels as
    ``labels/<name>``.

    Args:
        labels: row stripes ``(rows, *W)`` of the label image of spatial ``shape``
            (``(Y, X)`` or ``(Z, Y, X)``; stripes along Y), values ``0 .. count``.
        spacing: pixel size per spatial axis, in ``unit``.
        count: the largest label (each gets an ``image-label`` colour).
        image: row stripes ``(C, rows, W)`` of the input image, ``image_shape`` ``(C,
            *shape)`` (one channel is stored without a channel axis).
        name: the labels group's name.
    """
    store = _Store(Path(path), overwrite)
    try:
        root = store.root
        if image is not None:
            channels = int(image_shape[0])
            stripes = (s if channels > 1 else s[0] for s in image)
            full = tuple(image_shape) if channels > 1 else tuple(image_shape[1:])
            _multiscale(root, stripes, full, image_dtype, spacing, unit, False, "image")
        group = root.create_group("labels")
        group.attrs["labels"] = [name]
        label = group.create_group(name)
        _multiscale(label, labels, shape, dtype, spacing, unit, True, name)
        label.attrs["image-label"] = {
            "version": "0.4",
            "colors": _colours(int(count)),
            "source": {"image": "../../"},
        }
    except BaseException:
        store.abort()
        raise
    store.commit()
    return Path(path)


def write_ngff_image(
    path: str | Path,
    stripes: Iterable[np.ndarray],
    shape: Sequence[int],
    dtype,
    spacing: Sequence[float],
    unit: str | None = "um",
    name: str = "image",
    overwrite: bool = False,
) -> Path:
    """Write a single-channel image of spatial ``shape`` (row ``stripes``) as its own NGFF
    store with a pyramid of 2x2 means (the probability map)."""
    store = _Store(Path(path), overwrite)
    try:
        _multiscale(store.root, stripes, shape, dtype, spacing, unit, False, name)
    except BaseException:
        store.abort()
        raise
    store.commit()
    return Path(path)
