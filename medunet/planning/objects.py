"""What the objects of one label image look like: sizes, gaps, touching pairs, holes.

These are the measures the paper's recipe depends on and that a fixed preset cannot know:
the boundary weight map's ``sigma`` belongs to the distance between neighbouring objects,
the smallest object kept belongs to the object sizes, the border class to whether objects
touch. :func:`measure_objects` takes an instance label image (2D or 3D, any spacing) and
returns per-object arrays:

- ``sizes``: pixels (voxels) per object; ``diameters``: the equivalent diameter in pixels
  of the finest axis (a disc or ball of the same area or volume);
- ``gaps``: the free distance from each object to its nearest other object (0 when they
  touch; ``inf`` when no other object lies within ``reach``), in pixels of the finest axis;
- ``at_border``: the object touches the image border (its size is then a part of it);
- ``hole_fraction``: the share of an object's filled area that is a hole in it.

Gaps are measured in each object's bounding box grown by ``reach`` (one distance transform
per object in a small window, as :func:`~medunet.transforms.border_term` does), so the cost
grows with the objects' area, not with objects x image.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from medunet.metrics.contingency import relabel_sequential

__all__ = ["ObjectMeasures", "equivalent_diameter", "measure_objects", "touching_pairs"]


@dataclass(frozen=True)
class ObjectMeasures:
    """Per-object measures of one label image (arrays of one length: the objects)."""

    sizes: np.ndarray  # int64 pixels
    diameters: np.ndarray  # float64 equivalent diameter, pixels of the finest axis
    gaps: np.ndarray  # float64 distance to the nearest other object (inf: none in reach)
    at_border: np.ndarray  # bool
    hole_fraction: np.ndarray  # float64
    touching_pairs: int
    foreground_fraction: float

    @property
    def count(self) -> int:
        return int(self.sizes.size)


def equivalent_diameter(sizes: np.ndarray, spatial_dims: int) -> np.ndarray:
    """The diameter of a disc (2D) or ball (3D) of ``sizes`` pixels."""
    sizes = np.asarray(sizes, dtype=float)
    if spatial_dims == 2:
        return 2.0 * np.sqrt(sizes / math.pi)
    return np.cbrt(6.0 * sizes / math.pi)


def touching_pairs(labels: np.ndarray) -> int:
    """Pairs of distinct objects that share a face, edge or corner (full neighbourhood)."""
    pairs: set[tuple[int, int]] = set()
    for offset in itertools.product((-1, 0, 1), repeat=labels.ndim):
        if not any(offset) or next(o for o in offset if o) < 0:
            continue  # each neighbour direction once: the first non-zero step is +1
        here = tuple(
            slice(max(-o, 0), n - max(o, 0)) for o, n in zip(offset, labels.shape, strict=True)
        )
        there = tuple(
            slice(max(o, 0), n - max(-o, 0)) for o, n in zip(offset, labels.shape, strict=True)
        )
        a, b = labels[here], labels[there]
        both = (a > 0) & (b > 0) & (a != b)
        if both.any():
            lo = np.minimum(a[both], b[both]).astype(np.int64)
            hi = np.maximum(a[both], b[both]).astype(np.int64)
            pairs.update(zip(lo.tolist(), hi.tolist(), strict=True))
    return len(pairs)


def measure_objects(
    labels: np.ndarray, spacing: Sequence[float] | None = None, reach: float | None = None
) -> ObjectMeasures:
    """Sizes, diameters, gaps, border contact and holes of every object of ``labels``.

    Args:
        labels: ``(*spatial)`` non-negative integer instance labels, 0 = background.
        spacing: pixel size per axis; distances are then in units of the finest axis (for
            anisotropic Z-stacks and volumes). Default: isotropic pixels.
        reach: how far (finest-axis pixels) to look for a neighbour; default: twice the
            median equivalent diameter, at least 16. Farther neighbours count as none.

    Returns:
        an :class:`ObjectMeasures`; objects in label order, ids renumbered internally.
    """
    labels = np.asarray(labels)
    ndim = labels.ndim
    if ndim not in (2, 3):
        raise ValueError(f"measure_objects takes a 2D or 3D label image, got shape {labels.shape}.")
    sp = np.ones(ndim) if spacing is None else np.asarray(spacing, dtype=float)
    if sp.shape != (ndim,) or np.any(sp <= 0):
        raise ValueError(f"spacing needs {ndim} positive values, got {spacing}.")
    rel = sp / sp.min()  # distances in pixels of the finest axis
    ids, compact = relabel_sequential(labels)
    lab = compact.reshape(labels.shape).astype(np.int32) + (0 if ids[0] == 0 else 1)
    n = int(lab.max())
    fg = float(np.count_nonzero(lab)) / max(lab.size, 1)
    empty = np.zeros(0)
    if n == 0:
        return ObjectMeasures(
            empty.astype(np.int64), empty, empty, empty.astype(bool), empty, 0, fg
        )
    sizes = np.bincount(lab.ravel(), minlength=n + 1)[1:].astype(np.int64)
    volume = sizes * float(np.prod(rel))
    diameters = equivalent_diameter(volume, ndim)
    if reach is None:
        reach = max(16.0, 2.0 * float(np.median(diameters)))
    margin = [math.ceil(reach / r) + 1 for r in rel]
    boxes = ndi.find_objects(lab)
    gaps = np.full(n, np.inf)
    at_border = np.zeros(n, bool)
    holes = np.zeros(n)
    for index, box in enumerate(boxes, start=1):
        if box is None:
            continue
        at_border[index - 1] = any(
            sl.start == 0 or sl.stop == size for sl, size in zip(box, lab.shape, strict=True)
        )
        mine = lab[box] == index
        filled = ndi.binary_fill_holes(mine)
        holes[index - 1] = 1.0 - mine.sum() / max(int(filled.sum()), 1)
        window = tuple(
            slice(max(sl.start - m, 0), min(sl.stop + m, size))
            for sl, m, size in zip(box, margin, lab.shape, strict=True)
        )
        sub = lab[window]
        others = (sub > 0) & (sub != index)
        if not others.any():
            continue
        distance = ndi.distance_transform_edt(sub != index, sampling=rel)
        nearest = float(distance[others].min())
        if nearest <= reach:
            # centre-to-centre distance of adjacent pixels is 1 (or up to sqrt(ndim) across a
            # corner): a free gap of 0; otherwise the pixels strictly in between
            gaps[index - 1] = 0.0 if nearest <= math.sqrt(ndim) * rel.max() + 1e-9 else (
                nearest - 1.0
            )  # fmt: skip
    return ObjectMeasures(sizes, diameters, gaps, at_border, holes, touching_pairs(lab), fg)
