"""Reading a large image a window at a time, and its intensity statistics in one pass.

For streamed inference (:mod:`medunet.inferers.streaming`) an image is never loaded whole:
:func:`open_blocks` gives a :class:`BlockSource` that reads one window (with the image
mirrored beyond its borders, as overlap-tile inference wants) from

- TIFF, BigTIFF, OME-TIFF, tiled or striped: through tifffile's zarr interface, which reads
  only the tiles or strips a window touches;
- OME-Zarr (a folder): the full-resolution array of its first multiscale;
- NIfTI: through nibabel's array proxy (a slab of an uncompressed file is read in place).

:func:`percentiles` computes exact percentiles of integer images (a histogram of every
value, one block at a time), so a streamed image is scaled exactly as the whole image is.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "BORDER_MODES",
    "BlockSource",
    "border_indices",
    "iter_blocks",
    "open_blocks",
    "percentiles",
    "read_window",
]

logger = logging.getLogger(__name__)


BORDER_MODES = ("reflect", "replicate")


def border_indices(start: int, length: int, size: int, mode: str = "reflect") -> np.ndarray:
    """Indices ``start .. start+length-1`` of an axis of ``size`` pixels, those outside it
    folded back in: the one index arithmetic behind every mirrored read (the inferer's
    padding, the training tile crops, the streamed windows).

    ``"reflect"`` mirrors about the border pixels without repeating them (numpy's
    ``"reflect"``), folding as often as needed, so a window may be larger than the image (a
    one-pixel axis repeats its pixel); ``"replicate"`` repeats the border pixels.
    """
    if mode not in BORDER_MODES:
        raise ValueError(f"borders are one of {BORDER_MODES}, not {mode!r}.")
    idx = np.arange(int(start), int(start) + int(length))
    if mode == "replicate" or size == 1:
        return np.clip(idx, 0, int(size) - 1)
    period = 2 * (int(size) - 1)
    idx = np.mod(idx, period)
    return np.where(idx >= size, period - idx, idx)


class BlockSource:
    """A channel-first image on disk, read by windows.

    Attributes:
        path: the file or folder.
        shape: spatial shape (Y, X) or, for volumes, the file's array axes (3 values).
        channels: channels per pixel.
        dtype: the stored data type.
        spacing: pixel size per spatial axis (1.0 where unknown).
        affine: the volume's 4x4 affine (NIfTI), else None.
        unit: the unit of ``spacing`` (``"um"``, ``"mm"``, ``"px"`` where unknown).
    """

    def __init__(self, path: Path, array, axes: str, spacing: Sequence[float], affine=None,
                 unit: str = "um"):  # fmt: skip
        self.path = path
        self._array = array
        self._axes = axes
        spatial = [a for a in axes if a not in "CS"]
        self.shape = tuple(int(array.shape[axes.index(a)]) for a in spatial)
        self._spatial = spatial
        self.channels = int(np.prod([array.shape[axes.index(a)] for a in axes if a in "CS"] or [1]))
        self.dtype = np.dtype(array.dtype)
        self.spacing = tuple(float(s) for s in spacing)
        self.affine = affine
        self.unit = unit

    @property
    def nbytes(self) -> int:
        """Bytes of the whole image as float32 (what loading it whole would take)."""
        return 4 * self.channels * math.prod(self.shape)

    def read(self, start: Sequence[int], stop: Sequence[int]) -> np.ndarray:
        """The in-bounds window ``[start, stop)`` as ``(C, *window)`` in the stored dtype."""
        index = []
        for axis in self._axes:
            if axis in "CS":
                index.append(slice(None))
            else:
                k = self._spatial.index(axis)
                index.append(slice(int(start[k]), int(stop[k])))
        data = np.asarray(self._array[tuple(index)])
        order = [self._axes.index(a) for a in self._axes if a in "CS"]
        order += [self._axes.index(a) for a in self._spatial]
        data = np.transpose(data, order)
        return data.reshape(self.channels, *data.shape[len(order) - len(self._spatial) :])


def read_window(
    source: BlockSource, start: Sequence[int], size: Sequence[int], mode: str = "reflect"
) -> np.ndarray:
    """``(C, *size)`` from ``start`` (which may lie outside the image): pixels beyond the
    image are its mirror image (``"reflect"``, as ``numpy.pad``) or its border
    (``"replicate"``)."""
    indices = [
        border_indices(s, n, total, mode)
        for s, n, total in zip(start, size, source.shape, strict=True)
    ]
    lo = [int(i.min()) for i in indices]
    hi = [int(i.max()) + 1 for i in indices]
    data = source.read(lo, hi)
    for axis, (idx, first) in enumerate(zip(indices, lo, strict=True)):
        local = idx - first
        if not (
            local.size == data.shape[axis + 1] and np.array_equal(local, np.arange(local.size))
        ):
            data = np.take(data, local, axis=axis + 1)
    return data


def iter_blocks(shape: Sequence[int], block: Sequence[int]) -> Iterator[tuple[tuple, tuple]]:
    """``(start, stop)`` of the blocks of an image, row-major (the last axis fastest)."""
    counts = [math.ceil(n / b) for n, b in zip(shape, block, strict=True)]
    for flat in range(math.prod(counts)):
        index = np.unravel_index(flat, counts)
        start = tuple(int(i) * b for i, b in zip(index, block, strict=True))
        stop = tuple(min(s + b, n) for s, b, n in zip(start, block, shape, strict=True))
        yield start, stop


def percentiles(source: BlockSource, q: Sequence[float], block: int = 2048) -> np.ndarray:
    """Per-channel percentiles ``(C, len(q))`` of the whole image, as ``numpy.percentile``
    (linear) computes them, read one block at a time.

    Integer images up to 16 bits: exact (a histogram of every value). Other types: exact
    when the image fits in 512 MiB, else from a 65536-bin histogram between the image's
    minimum and maximum (within 1/65536 of the range).
    """
    qs = np.asarray(q, dtype=np.float64)
    blocks = list(iter_blocks(source.shape, [block] * len(source.shape)))
    integer = np.issubdtype(source.dtype, np.integer) and source.dtype.itemsize <= 2
    if not integer and source.nbytes <= 512 * 2**20:
        data = source.read([0] * len(source.shape), source.shape).astype(np.float64)
        flat = data.reshape(source.channels, -1)
        return np.stack([np.percentile(flat[c], qs) for c in range(source.channels)])
    if integer:
        offset = int(np.iinfo(source.dtype).min)
        bins, edges = 2 ** (8 * source.dtype.itemsize), None
    else:
        lo, hi = np.inf, -np.inf
        for start, stop in blocks:
            d = source.read(start, stop)
            lo, hi = min(lo, float(d.min())), max(hi, float(d.max()))
        bins, offset = 65536, 0
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    counts = np.zeros((source.channels, bins), np.int64)
    for start, stop in blocks:
        d = source.read(start, stop).reshape(source.channels, -1)
        for c in range(source.channels):
            if integer:
                counts[c] += np.bincount(d[c].astype(np.int64) - offset, minlength=bins)
            else:
                counts[c] += np.histogram(d[c], edges)[0]
    values = np.arange(bins, dtype=np.float64) + offset if integer else (edges[:-1] + edges[1:]) / 2
    return np.stack([_histogram_percentiles(values, counts[c], qs) for c in range(len(counts))])


def _histogram_percentiles(values: np.ndarray, counts: np.ndarray, q: np.ndarray) -> np.ndarray:
    """numpy's linear percentiles of the sample with ``counts[i]`` copies of ``values[i]``."""
    total = int(counts.sum())
    cumulative = np.cumsum(counts)
    rank = q / 100.0 * (total - 1)
    below, above = np.floor(rank).astype(np.int64), np.ceil(rank).astype(np.int64)
    v_below = values[np.searchsorted(cumulative, below, side="right")]
    v_above = values[np.searchsorted(cumulative, above, side="right")]
    return v_below + (v_above - v_below) * (rank - below)


def _tiff(path: Path) -> BlockSource:
    import tifffile
    import zarr

    from medunet.data.microscopy import tiff_spacing

    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        axes = series.axes.replace("Q", "Y" if "Y" not in series.axes else "C")
        sizes, unit = tiff_spacing(tif)
        spacing = [sizes.get("Y", sizes.get("X", 1.0)), sizes.get("X", sizes.get("Y", 1.0))]
    if set(axes) - set("YXCS") or not {"Y", "X"} <= set(axes):
        raise ValueError(
            f"{path} has axes {axes}: streamed inference reads 2D images (YX, with channels "
            "CYX or YXS); Z-stacks and time series are predicted whole (no --block-size)."
        )
    array = zarr.open(tifffile.imread(path, aszarr=True), mode="r")
    if not hasattr(array, "shape"):  # a pyramid: the full resolution level
        array = array["0"]
    return BlockSource(path, array, axes, spacing, unit=unit)


def _ome_zarr(path: Path) -> BlockSource:
    import zarr

    group = zarr.open_group(str(path), mode="r")
    attrs = dict(group.attrs)
    multiscales = attrs.get("multiscales") or attrs.get("ome", {}).get("multiscales")
    if not multiscales:
        raise ValueError(f"{path} is not an OME-Zarr image (no multiscales metadata).")
    scale = multiscales[0]
    axes = "".join(a["name"] if isinstance(a, dict) else a for a in scale["axes"]).upper()
    dataset = scale["datasets"][0]
    array = group[dataset["path"]]
    if set(axes) - set("YXC"):
        raise ValueError(f"{path} has axes {axes}: streamed inference reads 2D (C)YX images.")
    spacing = [1.0, 1.0]
    units = [a.get("unit") for a in scale["axes"] if isinstance(a, dict) and a.get("unit")]
    for transform in dataset.get("coordinateTransformations", []):
        if transform.get("type") == "scale":
            values = dict(zip(axes, transform["scale"], strict=True))
            spacing = [float(values.get("Y", 1.0)), float(values.get("X", 1.0))]
    return BlockSource(path, array, axes, spacing, unit=units[-1] if units else "um")


def _nifti(path: Path) -> BlockSource:
    from medunet.data.headers import load_nifti

    img = load_nifti(path)
    if len(img.shape) != 3:
        raise ValueError(
            f"{path} has shape {img.shape}: streamed inference reads single-channel 3D "
            "volumes; predict it whole (no --block-size)."
        )
    zooms = [float(z) for z in img.header.get_zooms()[:3]]
    return BlockSource(path, img.dataobj, "XYZ", zooms, affine=np.asarray(img.affine, float),
                       unit="mm")  # fmt: skip


def open_blocks(path: str | Path) -> BlockSource:
    """A :class:`BlockSource` for a TIFF, OME-Zarr folder or NIfTI file."""
    path = Path(path)
    name = path.name.lower()
    try:
        if path.is_dir() and ((path / ".zattrs").exists() or (path / "zarr.json").exists()):
            return _ome_zarr(path)
        if name.endswith((".tif", ".tiff")):
            return _tiff(path)
        if name.endswith((".nii", ".nii.gz")):
            return _nifti(path)
    except ValueError:
        raise
    except Exception as err:  # tifffile, zarr and nibabel raise many types for bad files
        raise ValueError(
            f"{path} could not be read ({type(err).__name__}: {err}); check that the file is "
            "complete."
        ) from err
    raise ValueError(
        f"{path}: streamed inference reads TIFF, OME-Zarr and NIfTI; convert it or predict "
        "it whole (no --block-size)."
    )
