"""Class probabilities to an instance label image and a foreground probability map.

Without a border class, objects are the connected components of the pixels whose most
likely class is "object". With the touching-border class (classes background, interior,
border; :class:`~medunet.transforms.InstanceToSemantic` with ``border_class=True``), the
interiors are the seeds and the border pixels are shared out among them by a seeded
watershed within the predicted foreground, so touching objects come out separated.
Components smaller than ``min_size`` pixels are removed and the labels renumbered 1..K.

With thresholds (``seed_threshold``, ``mask_threshold``, e.g. chosen on the validation
images by :class:`~medunet.engines.PostprocessCalibration` and stored beside the model as
``postprocess.json``) the same growth runs on probabilities instead of the most likely
class: seeds are the connected components of ``p(interior) > seed_threshold``
(``p(interior)`` is ``1 - p(background)`` without a border class), and every pixel with
``1 - p(background) > mask_threshold`` joins a seed. A high seed threshold keeps objects
apart across faint boundaries (EM membranes with gaps); a lower mask threshold gives the
objects back their full extent, so boundaries are not drawn thicker than they are.

Which seed a pixel joins: the one whose basin it lies in when the seeds flood the mask in
order of ``1 - p(interior)`` (a seeded watershed), so two seeds in one foreground region
meet along the valley of the interior probability, where the network sees the boundary,
not halfway between them. A region of the mask that holds no seed joins the nearest seed
(Euclidean).

With ``min_seed_size`` a seed component smaller than that starts no object: its pixels join
the objects around them. That is for membranes, where the cells fill the image and a speck
of seed is a gap in a membrane or an organelle, which would otherwise take a share of the
cell around it; separate objects keep every seed (a dropped seed's pixels would go to the
nearest other object, across the background).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from monai.config import KeysCollection, NdarrayOrTensor
from monai.transforms import MapTransform, Transform
from monai.utils import convert_data_type, convert_to_dst_type
from scipy import ndimage as ndi
from skimage.segmentation import watershed

__all__ = [
    "ProbabilityToInstances",
    "ProbabilityToInstancesd",
    "fill_object_holes",
    "read_postprocess",
    "remove_small_objects",
    "seed_components",
    "seeded_instances",
]

logger = logging.getLogger(__name__)

#: the settings a ``postprocess.json`` may hold (written by PostprocessCalibration)
POSTPROCESS_KEYS = ("seed_threshold", "mask_threshold", "min_size")


def _renumber(labels: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The ids with ``keep[id]`` numbered 1..K in order, every other id (and 0) 0."""
    keep[0] = False
    new_ids = np.zeros(len(keep), labels.dtype)
    new_ids[keep] = np.arange(1, int(keep.sum()) + 1, dtype=labels.dtype)
    return new_ids[labels]


def remove_small_objects(labels: np.ndarray, min_size: int) -> np.ndarray:
    """Drop objects smaller than ``min_size`` pixels and renumber the rest 1..K."""
    if labels.max() == 0:
        return labels
    return _renumber(labels, np.bincount(labels.ravel()) >= max(min_size, 1))


def fill_object_holes(labels: np.ndarray) -> np.ndarray:
    """Every background region enclosed by one object becomes part of it (2D or 3D)."""
    filled = labels.copy()
    for index, box in enumerate(ndi.find_objects(labels), start=1):
        if box is not None:
            region = labels[box]
            hole = ndi.binary_fill_holes(region == index) & (region == 0)
            filled[box][hole] = index
    return filled


def seed_components(
    seeds: np.ndarray,
    structure: np.ndarray | None = None,
    min_size: int = 0,
    open_sides: Sequence[tuple[bool, bool]] | None = None,
) -> np.ndarray:
    """Connected components of boolean ``seeds`` ``(*spatial)`` as int32 labels 1..K.

    Components smaller than ``min_size`` pixels are dropped (0), except those that touch an
    open side: per axis ``(low, high)``, True where the array is a window cut out of a larger
    image, so a component there may go on beyond it (streamed labelling,
    :class:`~medunet.transforms.BlockInstances`). ``None``: the whole image, no side open.
    """
    labels, count = ndi.label(seeds, structure=structure)
    labels = labels.astype(np.int32)
    if count == 0 or min_size <= 1:
        return labels
    keep = np.bincount(labels.ravel(), minlength=count + 1) >= min_size
    for axis, sides in enumerate(open_sides or ()):
        for side, is_open in zip((0, -1), sides, strict=True):
            if is_open:
                keep[np.take(labels, side, axis=axis)] = True
    return _renumber(labels, keep)


def seeded_instances(
    seeds: np.ndarray,
    mask: np.ndarray,
    structure: np.ndarray | None = None,
    min_seed_size: int = 0,
    open_sides: Sequence[tuple[bool, bool]] | None = None,
    elevation: np.ndarray | None = None,
) -> np.ndarray:
    """Connected components of ``seeds`` grown over ``mask`` (int32 labels, 0 outside it).

    Every pixel of ``mask`` joins a component: with ``elevation`` (same shape, e.g. ``1 -
    p(interior)``), the one whose basin it lies in when the components flood ``mask`` in
    order of elevation (seeded watershed); without it, and where a region of ``mask`` holds
    no component, the nearest one (Euclidean). Components smaller than ``min_seed_size``
    start no object (:func:`seed_components`; their pixels in ``mask`` join the others).
    """
    seed_labels = seed_components(seeds, structure, min_seed_size, open_sides)
    return _grow_seeds(seed_labels, mask, elevation, structure)


def _grow_seeds(
    seed_labels: np.ndarray,
    mask: np.ndarray,
    elevation: np.ndarray | None = None,
    structure: np.ndarray | None = None,
) -> np.ndarray:
    """Seed labels ``(*spatial)`` (int, 0 = none) grown over boolean ``mask``: a seeded
    watershed of ``elevation`` within ``mask`` (neighbours by ``structure``), the nearest
    seed where a region holds none or without ``elevation``. Returns int32 labels, 0
    outside ``mask`` and the seeds."""
    if seed_labels.max() == 0:
        return np.zeros(seed_labels.shape, np.int32)
    region = mask | (seed_labels > 0)
    if elevation is None:
        grown, rest = np.zeros(seed_labels.shape, np.int32), region
    else:
        # flood in the order of (elevation, raster index): no two pixels tie, and a window
        # of a larger image orders its pixels as the whole image does (streamed labelling)
        order = np.argsort(np.asarray(elevation, np.float32), axis=None, kind="stable")
        rank = np.empty(order.size, np.float64)
        rank[order] = np.arange(order.size, dtype=np.float64)
        grown = watershed(
            rank.reshape(seed_labels.shape), seed_labels, connectivity=structure, mask=region
        ).astype(np.int32)
        rest = region & (grown == 0)
    if rest.any():
        _, nearest = ndi.distance_transform_edt(seed_labels == 0, return_indices=True)
        grown[rest] = seed_labels[tuple(index[rest] for index in nearest)]
    return grown


def read_postprocess(path: str | Path | None) -> dict:
    """The thresholds and ``min_size`` of a ``postprocess.json`` (``{}`` when ``path`` is None
    or does not exist: the defaults then apply)."""
    if path is None or not Path(path).is_file():
        return {}
    try:
        record = json.loads(Path(path).read_text())
        settings = {k: record[k] for k in POSTPROCESS_KEYS if k in record}
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"{path} is not a valid post-processing file ({err}); delete it to use the "
            "defaults, or retrain to write it again."
        ) from err
    logger.info("post-processing from %s: %s", path, settings)
    return settings


class ProbabilityToInstances(Transform):
    """Instance labels from softmax probabilities ``(C, *spatial)``.

    Args:
        border_class: True when channel 2 is the touching-border class.
        min_size: smallest object kept, in pixels (voxels).
        connectivity: 1 (faces only) or ``spatial_dims`` (full neighbourhood) for components.
        seed_threshold: seeds are the components of ``p(interior) > seed_threshold``
            (``None``: the most likely class, as without thresholds).
        mask_threshold: seeds grow over ``1 - p(background) > mask_threshold`` (``None``:
            ``seed_threshold``, or the most likely class when that is ``None`` too).
        fill_holes: background enclosed by one object joins it (for objects known to be
            solid, e.g. nuclei whose dark nucleoli the network leaves out).
        min_seed_size: seed components smaller than this (pixels) start no object; their
            pixels join the objects around them (membranes; 0 keeps every seed).

    Shapes:
        input ``(C, *spatial)`` probabilities (C = 2, or 3 with the border class); output
        ``(1, *spatial)`` int32 instance labels, same type as the input.
    """

    backend = ["numpy", "torch"]
    #: how seeds grow over the mask; a resumable streamed prediction records it, so a work
    #: folder begun under another rule is not resumed (change it when the growth changes)
    growth = "watershed of 1 - p(interior), ties by raster index"

    def __init__(
        self,
        border_class: bool = False,
        min_size: int = 10,
        connectivity: int = 1,
        seed_threshold: float | None = None,
        mask_threshold: float | None = None,
        fill_holes: bool = False,
        min_seed_size: int = 0,
    ):
        for name, size in (("min_size", min_size), ("min_seed_size", min_seed_size)):
            if size < 0:
                raise ValueError(f"{name} must be >= 0, got {size}.")
        for name, value in (("seed_threshold", seed_threshold), ("mask_threshold", mask_threshold)):
            if value is not None and not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1) or None, got {value}.")
        self.border_class = border_class
        self.min_size = int(min_size)
        self.connectivity = connectivity
        self.seed_threshold = seed_threshold
        self.mask_threshold = mask_threshold
        self.fill_holes = bool(fill_holes)
        self.min_seed_size = int(min_seed_size)

    def __call__(self, prob: NdarrayOrTensor) -> NdarrayOrTensor:
        """Instance labels ``(1, *spatial)`` for probabilities ``(C, *spatial)``."""
        p = convert_data_type(prob, np.ndarray)[0]
        need = 3 if self.border_class else 2
        if p.ndim not in (3, 4) or p.shape[0] < need:
            raise ValueError(
                f"ProbabilityToInstances expects ({need}+ classes, *spatial) probabilities, got "
                f"shape {p.shape}; with border_class the network needs 3 output channels."
            )
        labels = remove_small_objects(self.grow(p), self.min_size)
        return convert_to_dst_type(labels[None], prob, dtype=torch.int32)[0]

    def grow(
        self, p: np.ndarray, open_sides: Sequence[tuple[bool, bool]] | None = None
    ) -> np.ndarray:
        """Instance labels of probabilities ``(C, *spatial)`` before the size filter: seeds
        grown over the mask (:func:`seeded_instances`), holes filled if asked.

        Args:
            p: class probabilities ``(C, *spatial)``.
            open_sides: for a window of a larger image, per spatial axis ``(low, high)``:
                True where the window is cut inside the image (a seed touching it may be
                larger than it looks, so it is kept); None for a whole image.
        """
        seed_labels, mask = self.seed_labels(p, open_sides)
        return self.grow_from(seed_labels, mask, p)

    def seed_labels(
        self, p: np.ndarray, open_sides: Sequence[tuple[bool, bool]] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(seed labels, mask)``: the seed components that start objects (int32 1..K,
        :func:`seed_components` with ``min_seed_size``) and the mask they grow over."""
        seeds, mask = self.seeds_and_mask(p)
        structure = self.structure(p.ndim - 1)
        return seed_components(seeds, structure, self.min_seed_size, open_sides), mask

    def grow_from(self, seed_labels: np.ndarray, mask: np.ndarray, p: np.ndarray) -> np.ndarray:
        """:meth:`seed_labels`' components grown over ``mask`` by a seeded watershed of
        :meth:`elevation` (:func:`seeded_instances`), holes filled if asked."""
        structure = self.structure(p.ndim - 1)
        labels = _grow_seeds(seed_labels, mask, self.elevation(p), structure)
        return fill_object_holes(labels) if self.fill_holes else labels

    def elevation(self, p: np.ndarray) -> np.ndarray:
        """``1 - p(interior)`` ``(*spatial)`` of probabilities ``(C, *spatial)``: the seeds
        flood it upwards, so neighbouring objects meet where the interior is least likely."""
        return 1.0 - p[1] if self.border_class else p[0]

    def structure(self, spatial_dims: int) -> np.ndarray:
        """The neighbourhood that connects seed pixels into one object."""
        return ndi.generate_binary_structure(spatial_dims, self.connectivity)

    def seeds_and_mask(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(seeds, mask)`` of probabilities ``(C, *spatial)``: objects are the connected
        components of ``seeds`` grown over ``mask`` (:func:`seeded_instances`). Without
        thresholds: the most likely class (without a border class the mask is the seeds:
        no growth); with them: ``p(interior) > seed_threshold`` and ``1 - p(background) >
        mask_threshold``."""
        if self.seed_threshold is None and self.mask_threshold is None:
            classes = p.argmax(0)
            seeds = classes == 1
            return seeds, (classes > 0 if self.border_class else seeds)
        foreground = 1.0 - p[0]  # the first two classes suffice here
        interior = p[1] if self.border_class else foreground
        seed_t = self.seed_threshold if self.seed_threshold is not None else 0.5
        mask_t = self.mask_threshold if self.mask_threshold is not None else seed_t
        return interior > seed_t, foreground > mask_t


class ProbabilityToInstancesd(MapTransform):
    """Dictionary wrapper: instance labels and the foreground probability from ``key``.

    Args:
        keys: the probability key (one key, ``(C, *spatial)`` softmax output).
        instance_key: where to write the instance labels.
        foreground_key: where to write ``1 - p(background)`` as ``(1, *spatial)`` float32
            (``None``: not written).
        postprocess_file: a ``postprocess.json`` written by training (thresholds and
            ``min_size`` chosen on the validation images); its values replace those given
            here. A path that does not exist leaves them as given.
        **kwargs: arguments of :class:`ProbabilityToInstances`.
    """

    def __init__(
        self,
        keys: KeysCollection = "pred",
        instance_key: str = "pred_instances",
        foreground_key: str | None = "pred_foreground",
        allow_missing_keys: bool = False,
        postprocess_file: str | Path | None = None,
        **kwargs,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        if len(self.keys) != 1:
            raise ValueError(f"ProbabilityToInstancesd takes one key, got {self.keys}.")
        self.instance_key = instance_key
        self.foreground_key = foreground_key
        self.transform = ProbabilityToInstances(**{**kwargs, **read_postprocess(postprocess_file)})

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            d[self.instance_key] = self.transform(d[key])
            if self.foreground_key is not None:
                d[self.foreground_key] = 1.0 - torch.as_tensor(d[key][:1]).float()
        return d
