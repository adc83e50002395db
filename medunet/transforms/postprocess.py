"""Class probabilities to an instance label image and a foreground probability map.

Without a border class, objects are the connected components of the pixels whose most
likely class is "object". With the touching-border class (classes background, interior,
border; :class:`~medunet.transforms.InstanceToSemantic` with ``border_class=True``), the
interiors are the seeds and every border pixel joins the nearest interior (seeded growth
within the predicted foreground), so touching objects come out separated. Components
smaller than ``min_size`` pixels are removed and the labels renumbered 1..K.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
import torch
from monai.config import KeysCollection, NdarrayOrTensor
from monai.transforms import MapTransform, Transform
from monai.utils import convert_data_type, convert_to_dst_type
from scipy import ndimage as ndi

__all__ = ["ProbabilityToInstances", "ProbabilityToInstancesd", "remove_small_objects"]


def remove_small_objects(labels: np.ndarray, min_size: int) -> np.ndarray:
    """Drop objects smaller than ``min_size`` pixels and renumber the rest 1..K."""
    if labels.max() == 0:
        return labels
    sizes = np.bincount(labels.ravel())
    keep = sizes >= max(min_size, 1)
    keep[0] = False
    new_ids = np.zeros(len(sizes), labels.dtype)
    new_ids[keep] = np.arange(1, int(keep.sum()) + 1, dtype=labels.dtype)
    return new_ids[labels]


class ProbabilityToInstances(Transform):
    """Instance labels from softmax probabilities ``(C, *spatial)``.

    Args:
        border_class: True when channel 2 is the touching-border class.
        min_size: smallest object kept, in pixels (voxels).
        connectivity: 1 (faces only) or ``spatial_dims`` (full neighbourhood) for components.

    Shapes:
        input ``(C, *spatial)`` probabilities (C = 2, or 3 with the border class); output
        ``(1, *spatial)`` int32 instance labels, same type as the input.
    """

    backend = ["numpy", "torch"]

    def __init__(self, border_class: bool = False, min_size: int = 10, connectivity: int = 1):
        if min_size < 0:
            raise ValueError(f"min_size must be >= 0, got {min_size}.")
        self.border_class = border_class
        self.min_size = min_size
        self.connectivity = connectivity

    def __call__(self, prob: NdarrayOrTensor) -> NdarrayOrTensor:
        """Instance labels ``(1, *spatial)`` for probabilities ``(C, *spatial)``."""
        p = convert_data_type(prob, np.ndarray)[0]
        need = 3 if self.border_class else 2
        if p.ndim not in (3, 4) or p.shape[0] < need:
            raise ValueError(
                f"ProbabilityToInstances expects ({need}+ classes, *spatial) probabilities, got "
                f"shape {p.shape}; with border_class the network needs 3 output channels."
            )
        classes = p.argmax(0)
        structure = ndi.generate_binary_structure(classes.ndim, self.connectivity)
        seeds, _ = ndi.label(classes == 1, structure=structure)
        if self.border_class and seeds.max() > 0:
            foreground = classes > 0
            _, nearest = ndi.distance_transform_edt(seeds == 0, return_indices=True)
            grown = seeds[tuple(nearest)]
            seeds = np.where(foreground, grown, 0)
        labels = remove_small_objects(seeds.astype(np.int32), self.min_size)
        return convert_to_dst_type(labels[None], prob, dtype=torch.int32)[0]


class ProbabilityToInstancesd(MapTransform):
    """Dictionary wrapper: instance labels and the foreground probability from ``key``.

    Args:
        keys: the probability key (one key, ``(C, *spatial)`` softmax output).
        instance_key: where to write the instance labels.
        foreground_key: where to write ``1 - p(background)`` as ``(1, *spatial)`` float32
            (``None``: not written).
        **kwargs: arguments of :class:`ProbabilityToInstances`.
    """

    def __init__(
        self,
        keys: KeysCollection = "pred",
        instance_key: str = "pred_instances",
        foreground_key: str | None = "pred_foreground",
        allow_missing_keys: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        if len(self.keys) != 1:
            raise ValueError(f"ProbabilityToInstancesd takes one key, got {self.keys}.")
        self.instance_key = instance_key
        self.foreground_key = foreground_key
        self.transform = ProbabilityToInstances(**kwargs)

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            d[self.instance_key] = self.transform(d[key])
            if self.foreground_key is not None:
                d[self.foreground_key] = 1.0 - torch.as_tensor(d[key][:1]).float()
        return d
