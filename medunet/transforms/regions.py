"""Held-out regions: every labelled image both trains and validates, on parts that never overlap.

With a handful of labelled images, holding out whole images leaves one image to choose the
checkpoint and the post-processing thresholds, and takes it away from training. Instead each
image can be split along its longest spatial axis: the last ``fraction`` of it validates
(and calibrates the post-processing), the rest trains. A data list item then carries
``"region": {"part": "training" | "validation", "fraction": f}``
(:func:`~medunet.data.training_split` with ``val_regions``), and :class:`CropRegiond` cuts
image, label (and any other key) to that part after the deterministic preprocessing, so
both parts share the image's normalisation.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
from monai.config import KeysCollection, NdarrayOrTensor
from monai.transforms import MapTransform

__all__ = ["REGION_PARTS", "CropRegiond", "region_slices"]

REGION_PARTS = ("training", "validation")


def region_slices(spatial_shape: tuple[int, ...], part: str, fraction: float) -> tuple[slice, ...]:
    """The slices of ``part`` of an image: the last ``fraction`` of its longest axis
    (``"validation"``, at least one pixel) or everything before it (``"training"``).

    The first of equally long axes is split, so the same image always splits the same way.
    """
    if part not in REGION_PARTS:
        raise ValueError(f"region part must be one of {REGION_PARTS}, got {part!r}.")
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"region fraction must be in (0, 1), got {fraction}.")
    axis = int(np.argmax(spatial_shape))
    n = spatial_shape[axis]
    cut = min(max(round(n * (1.0 - fraction)), 1), n - 1) if n > 1 else n
    out = [slice(None)] * len(spatial_shape)
    out[axis] = slice(cut, None) if part == "validation" else slice(0, cut)
    return tuple(out)


class CropRegiond(MapTransform):
    """Crop ``keys`` to the region named by ``data[region_key]`` (no region: unchanged).

    Args:
        keys: the channel-first arrays to crop alike (image, label, ...).
        region_key: the data list key holding ``{"part": ..., "fraction": ...}``.

    Shapes:
        each key ``(C, *spatial)`` -> ``(C, *region)``; MetaTensor meta is kept.
    """

    def __init__(
        self,
        keys: KeysCollection,
        region_key: str = "region",
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.region_key = region_key

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict:
        d = dict(data)
        region = d.get(self.region_key)
        if not region:
            return d
        shapes = {tuple(d[k].shape[1:]) for k in self.key_iterator(d)}
        if len(shapes) != 1:
            raise ValueError(
                f"CropRegiond: {list(self.keys)} have different spatial shapes {sorted(shapes)}; "
                "image and label must cover the same pixels."
            )
        slices = region_slices(shapes.pop(), region["part"], float(region["fraction"]))
        for key in self.key_iterator(d):
            d[key] = d[key][(slice(None), *slices)]
        return d
