"""The paper's boundary weight map, fast and exact, in 2D and 3D.

``w(x) = w_c(x) + w0 * exp(-(d1(x) + d2(x))^2 / (2 sigma^2))`` (Ronneberger et al. 2015, eq. 2),
where ``d1``/``d2`` are the distances from ``x`` to the nearest and second-nearest object.

The usual implementation runs one whole-image distance transform per object and stacks them
(:func:`naive_border_term`): O(objects x voxels) time and memory. :func:`border_term` instead
uses that the term is negligible once ``d1 + d2 >= R`` with
``R = sigma * sqrt(2 ln(1 / tol))``: the term there is below ``tol * w0`` (``tol = 1e-6``, so
``R = 5.26 sigma``). A pixel with ``d1 + d2 < R`` has ``d2 < R``, so both of its nearest
objects lie within ``R`` of it; each object's distance transform is therefore computed only
in its bounding box grown by ``R`` (the object lies wholly inside, so the distances there
are exact), and folded into running ``min1``/``min2`` maps. Where ``d1 + d2 < R`` the result
equals the naive one; elsewhere both are below ``tol * w0``, so the two never differ by more
than ``tol * w0`` (1e-5 for ``w0 = 10``).
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Hashable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch
from monai.config import KeysCollection, NdarrayOrTensor
from monai.transforms import MapTransform, Transform
from monai.utils import convert_to_dst_type
from scipy import ndimage as ndi

from medunet.data.labels import check_instance_labels

__all__ = [
    "BoundaryWeightMap",
    "BoundaryWeightMapd",
    "border_term",
    "class_weight_map",
    "cutoff_distance",
    "naive_border_term",
]

DEFAULT_TOLERANCE = 1e-6


def cutoff_distance(sigma: float, tol: float = DEFAULT_TOLERANCE) -> float:
    """``R`` such that ``exp(-R^2 / (2 sigma^2)) = tol``: beyond ``d1 + d2 >= R`` the
    border term is below ``tol * w0``."""
    return sigma * math.sqrt(2.0 * math.log(1.0 / tol))


def _spacing(spacing: Sequence[float] | float | None, ndim: int) -> tuple[float, ...]:
    if spacing is None:
        return (1.0,) * ndim
    if isinstance(spacing, (int, float)):
        return (float(spacing),) * ndim
    sp = tuple(float(s) for s in spacing)
    if len(sp) != ndim or any(s <= 0 for s in sp):
        raise ValueError(f"spacing needs {ndim} positive values (one per spatial axis), got {sp}.")
    return sp


def _object_distances(
    labels: np.ndarray,
    boxes: list[tuple[slice, ...] | None],
    margin: Sequence[int],
    spacing: tuple[float, ...],
    num_workers: int | None,
) -> Iterator[tuple[tuple[slice, ...], np.ndarray]]:
    """Yield ``(window, distance to object i)`` per object, windows grown by ``margin``.

    The object lies wholly inside its window, so the distances there are exact. The
    transforms run in a thread pool, a bounded number ahead of the consumer, in label order.
    """

    def one(item: tuple[int, tuple[slice, ...]]) -> tuple[tuple[slice, ...], np.ndarray]:
        index, box = item
        window = tuple(
            slice(max(sl.start - m, 0), min(sl.stop + m, n))
            for sl, m, n in zip(box, margin, labels.shape, strict=True)
        )
        return window, ndi.distance_transform_edt(labels[window] != index, sampling=spacing)

    items = [(i, b) for i, b in enumerate(boxes, start=1) if b is not None]
    workers = num_workers or min(os.cpu_count() or 1, 8)
    if workers <= 1:
        yield from map(one, items)
        return
    with ThreadPoolExecutor(workers) as pool:
        pending: deque[Future] = deque()
        for item in items:
            pending.append(pool.submit(one, item))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def border_term(
    labels: np.ndarray,
    w0: float = 10.0,
    sigma: float = 5.0,
    spacing: Sequence[float] | float | None = None,
    tol: float = DEFAULT_TOLERANCE,
    num_workers: int | None = None,
) -> np.ndarray:
    """``w0 * exp(-(d1 + d2)^2 / (2 sigma^2))`` for an instance label image, without the
    per-object whole-image distance transforms (see the module docstring).

    Args:
        labels: ``(H, W)`` or ``(H, W, D)`` non-negative integer instance labels, 0 = background.
        w0, sigma: the paper's constants (sigma in pixels, or in ``spacing`` units).
        spacing: physical size of a pixel per axis; distances and sigma are then physical.
        tol: relative error bound: the result is within ``tol * w0`` of the exact term.
        num_workers: threads computing the per-object distance transforms (scipy releases the
            GIL there); default: the number of CPUs, at most 8. The result does not depend on it.

    Returns:
        float32 array of the labels' shape; all zero with fewer than two objects.
    """
    sp = _spacing(spacing, labels.ndim)
    boxes = ndi.find_objects(labels)
    if sum(b is not None for b in boxes) < 2:
        return np.zeros(labels.shape, np.float32)
    margin = [math.ceil(cutoff_distance(sigma, tol) / s) for s in sp]
    min1 = np.full(labels.shape, np.inf, np.float32)
    min2 = np.full(labels.shape, np.inf, np.float32)
    for window, dist in _object_distances(labels, boxes, margin, sp, num_workers):
        m1, m2 = min1[window], min2[window]
        np.minimum(m2, np.maximum(m1, dist), out=m2, casting="same_kind")
        np.minimum(m1, dist, out=m1, casting="same_kind")
    total = min1 + min2  # inf where fewer than two objects are within reach: term 0
    return (w0 * np.exp(-(total**2) / (2.0 * sigma**2))).astype(np.float32)


def naive_border_term(
    labels: np.ndarray,
    w0: float = 10.0,
    sigma: float = 5.0,
    spacing: Sequence[float] | float | None = None,
) -> np.ndarray:
    """Reference: one whole-image distance transform per object, stacked and sorted.

    O(objects x voxels) time and memory; kept to check :func:`border_term` against.
    """
    sp = _spacing(spacing, labels.ndim)
    ids = [i for i in np.unique(labels) if i != 0]
    if len(ids) < 2:
        return np.zeros(labels.shape, np.float32)
    dists = np.stack([ndi.distance_transform_edt(labels != i, sampling=sp) for i in ids])
    dists.partition(1, axis=0)
    total = dists[0] + dists[1]
    return (w0 * np.exp(-(total**2) / (2.0 * sigma**2))).astype(np.float32)


def class_weight_map(
    labels: np.ndarray, class_weights: str | Sequence[float] | None = "balanced"
) -> np.ndarray:
    """``w_c``: per-pixel class weight, classes background (0) and foreground (>0).

    Args:
        labels: instance or binary labels (any shape).
        class_weights: ``None`` -> 1 everywhere; ``"balanced"`` -> ``N / (K * N_k)`` for a
            pixel of class k (N pixels, K classes present); ``(w_bg, w_fg)`` -> fixed weights.
    """
    fg = labels > 0
    if class_weights is None:
        return np.ones(labels.shape, np.float32)
    if isinstance(class_weights, str):
        if class_weights != "balanced":
            raise ValueError(
                f"class_weights must be None, 'balanced' or (w_bg, w_fg), got {class_weights!r}."
            )
        n_fg = int(fg.sum())
        counts = (labels.size - n_fg, n_fg)
        present = sum(c > 0 for c in counts)
        values = [labels.size / (present * c) if c else 0.0 for c in counts]
    else:
        values = [float(v) for v in class_weights]
        if len(values) != 2:
            raise ValueError(f"class_weights needs 2 values (background, foreground): {values}.")
    return np.where(fg, values[1], values[0]).astype(np.float32)


class BoundaryWeightMap(Transform):
    """Pixel weights that separate touching objects (the paper's eq. 2), 2D and 3D.

    Args:
        w0: border weight (paper: 10).
        sigma: border width (paper: 5 pixels; in ``spacing`` units when given).
        class_weights: ``w_c``; ``None``, ``"balanced"`` (default) or ``(w_bg, w_fg)``.
        spacing: pixel size per spatial axis (e.g. the image's pixdim), so distances and
            sigma are physical units for anisotropic volumes.
        border_on: ``"background"`` (default) adds the border term to background pixels only
            (the gaps between objects); ``"all"`` everywhere.
        instances: ``"labels"``: the input already holds one integer per object.
            ``"connected_components"``: the input is a binary (semantic) mask and objects are
            its connected components (full connectivity). Objects that touch in the mask are
            one component and cannot be separated by this; only gaps between distinct
            components get border weights. Prefer instance labels where you have them.
        tol: the result is within ``tol * w0`` of the exact formula (default 1e-6).

    Shapes:
        input ``(1, H, W)`` or ``(1, H, W, D)`` integer labels (numpy or torch/MetaTensor);
        output float32 of the same shape and type, with the input's meta.
    """

    backend = ["numpy", "torch"]  # computed with numpy/scipy on the CPU, returned as given

    def __init__(
        self,
        w0: float = 10.0,
        sigma: float = 5.0,
        class_weights: str | Sequence[float] | None = "balanced",
        spacing: Sequence[float] | float | None = None,
        border_on: str = "background",
        instances: str = "labels",
        tol: float = DEFAULT_TOLERANCE,
    ) -> None:
        if border_on not in ("background", "all"):
            raise ValueError(f"border_on must be 'background' or 'all', got {border_on!r}.")
        if instances not in ("labels", "connected_components"):
            raise ValueError(
                f"instances must be 'labels' or 'connected_components', got {instances!r}."
            )
        if sigma <= 0 or w0 < 0 or not 0 < tol < 1:
            raise ValueError(f"need sigma > 0, w0 >= 0, 0 < tol < 1; got {sigma}, {w0}, {tol}.")
        class_weight_map(np.zeros((1,), np.int32), class_weights)  # validate early
        self.w0, self.sigma, self.tol = float(w0), float(sigma), float(tol)
        self.class_weights = class_weights
        self.spacing = spacing
        self.border_on = border_on
        self.instances = instances

    def __call__(
        self, labels: NdarrayOrTensor, spacing: Sequence[float] | None = None
    ) -> NdarrayOrTensor:
        """Weight map for ``labels`` ``(1, *spatial)``; ``spacing`` overrides the default."""
        lab = check_instance_labels(labels, "BoundaryWeightMap")
        if lab.size and int(lab.max()) > lab.size:
            # ids only need to be distinct: large ids (e.g. near 2^31) are renumbered 1..K,
            # since per-object bookkeeping is indexed by id
            ids, inverse = np.unique(lab, return_inverse=True)
            lab = inverse.reshape(lab.shape).astype(np.int32) + (1 if ids[0] > 0 else 0)
        if self.instances == "connected_components":
            lab = ndi.label(lab > 0, structure=np.ones((3,) * lab.ndim, bool))[0]
        sp = spacing if spacing is not None else self.spacing
        weights = class_weight_map(lab, self.class_weights)
        border = border_term(lab, self.w0, self.sigma, sp, self.tol)
        if self.border_on == "background":
            border[lab > 0] = 0.0
        weights += border
        out, *_ = convert_to_dst_type(weights[None], labels, dtype=torch.float32)
        if isinstance(out, np.ndarray):
            out = out.astype(np.float32, copy=False)
        return out


class BoundaryWeightMapd(MapTransform):
    """Dictionary wrapper of :class:`BoundaryWeightMap`: ``data[weight_key] = w(data[key])``.

    The map is written under its own key, so later spatial transforms move it together with
    image and label (give it a bilinear ``mode``), and the loss reads it from there.

    Args:
        keys: the instance label key (one key).
        weight_key: where to write the weight map (default ``"weight"``).
        spacing_from_meta: take ``spacing`` from the label's MetaTensor ``pixdim`` when
            ``spacing`` is not given (for anisotropic NIfTI volumes).
        normalize_spacing: divide that spacing by its smallest value, so ``sigma`` stays in
            pixels of the finest axis while the anisotropy is honoured (microscopy Z-stacks:
            sigma = 5 in-plane pixels whatever the pixel size in microns).
        enabled: False writes nothing (a config switch: later ``ConcatItemsd`` with
            ``allow_missing_keys`` then passes the plain label, i.e. uniform weights).
        **kwargs: arguments of :class:`BoundaryWeightMap`.
    """

    def __init__(
        self,
        keys: KeysCollection = "label",
        weight_key: str = "weight",
        spacing_from_meta: bool = False,
        normalize_spacing: bool = False,
        enabled: bool = True,
        allow_missing_keys: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        if len(self.keys) != 1:
            raise ValueError(f"BoundaryWeightMapd takes one label key, got {self.keys}.")
        self.weight_key = weight_key
        self.spacing_from_meta = spacing_from_meta
        self.normalize_spacing = normalize_spacing
        self.enabled = enabled
        self.transform = BoundaryWeightMap(**kwargs)

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict:
        d = dict(data)
        if not self.enabled:
            return d
        for key in self.key_iterator(d):
            spacing = None
            if self.spacing_from_meta and self.transform.spacing is None:
                pixdim = getattr(d[key], "pixdim", None)
                if pixdim is not None:
                    spacing = [float(s) for s in pixdim]
                    if self.normalize_spacing and min(spacing) > 0:
                        spacing = [s / min(spacing) for s in spacing]
            d[self.weight_key] = self.transform(d[key], spacing=spacing)
        return d
