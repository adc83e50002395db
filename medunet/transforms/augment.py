"""The paper's data augmentation as one ready MONAI pipeline.

"We generate smooth deformations using random displacement vectors on a coarse 3 by 3 grid
... Shift and rotation invariance as well as robustness to deformations and gray value
variations" (Ronneberger et al. 2015, section 3.1). Elastic deformation is medunet's
:class:`RandCoarseElasticd`; everything else is MONAI's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from monai.transforms import (
    Compose,
    RandAdjustContrastd,
    RandAffined,
    RandFlipd,
    RandRotate90d,
    RandScaleIntensityd,
    RandShiftIntensityd,
)
from monai.utils import ensure_tuple

from medunet.transforms.elastic import PAPER_GRID_SIZE, PAPER_STD, RandCoarseElasticd

__all__ = ["paper_augmentations"]


def paper_augmentations(
    keys: Sequence[str] = ("image", "label", "weight"),
    mode: Sequence[str] = ("bilinear", "nearest", "bilinear"),
    image_keys: Sequence[str] = ("image",),
    spatial_dims: int = 2,
    elastic_std: float = PAPER_STD,
    grid_size: int = PAPER_GRID_SIZE,
    prob_elastic: float = 1.0,
    prob_affine: float = 0.5,
    max_shift: float = 16.0,
    max_rotation: float = math.pi,
    prob_intensity: float = 0.5,
    spacing: Sequence[float] | None = None,
    allow_missing_keys: bool = False,
) -> Compose:
    """Elastic deformation, shift + free rotation, 90-degree rotations, flips, gray values.

    Geometric transforms move every key in ``keys`` together, each with its ``mode``;
    gray-value changes touch only ``image_keys``.

    Args:
        keys: keys moved together (image, labels, weight map, ...).
        mode: interpolation per key (``"nearest"`` for labels).
        image_keys: keys whose gray values are changed (scale, shift, gamma).
        spatial_dims: 2 or 3. In 3D, free rotation is about the first axis (in-plane for
            axial volumes) and 90-degree rotations in the first two axes.
        elastic_std, grid_size, prob_elastic, spacing: see :class:`RandCoarseElasticd`.
        prob_affine: probability of a random shift and rotation.
        max_shift: largest shift in pixels per axis.
        max_rotation: largest free rotation in radians (pi: any angle).
        prob_intensity: probability of each gray-value change.
        allow_missing_keys: skip keys absent from a sample (e.g. an optional weight map).

    Returns:
        a ``monai.transforms.Compose``; call ``set_random_state`` on it for reproducibility.
    """
    keys, mode = ensure_tuple(keys), ensure_tuple(mode)
    if len(mode) != len(keys):
        raise ValueError(f"need one mode per key: keys {keys}, mode {mode}.")
    if spatial_dims not in (2, 3):
        raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}.")
    rotate = max_rotation if spatial_dims == 2 else (max_rotation, 0.0, 0.0)
    missing = allow_missing_keys
    geometric = [
        RandCoarseElasticd(
            keys,
            grid_size,
            elastic_std,
            prob_elastic,
            mode,
            "reflection",
            spacing=spacing,
            allow_missing_keys=missing,
        ),
        RandAffined(
            keys,
            prob=prob_affine,
            rotate_range=rotate,
            translate_range=(max_shift,) * spatial_dims,
            mode=mode,
            padding_mode="reflection",
            allow_missing_keys=missing,
        ),
        RandRotate90d(keys, prob=0.5, max_k=3, spatial_axes=(0, 1), allow_missing_keys=missing),
        *[
            RandFlipd(keys, prob=0.5, spatial_axis=axis, allow_missing_keys=missing)
            for axis in range(spatial_dims)
        ],
    ]
    image_keys = ensure_tuple(image_keys)
    intensity = [
        RandScaleIntensityd(image_keys, factors=0.2, prob=prob_intensity),
        RandShiftIntensityd(image_keys, offsets=0.1, prob=prob_intensity),
        RandAdjustContrastd(image_keys, gamma=(0.7, 1.5), prob=prob_intensity),
    ]
    return Compose([*geometric, *intensity])
