"""Synthetic instance labels for unit tests and benchmarks (quality claims use real data)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["random_blobs"]


def random_blobs(
    shape: Sequence[int],
    num_blobs: int,
    radius_range: tuple[float, float] = (3.0, 7.0),
    seed: int = 0,
) -> np.ndarray:
    """Instance labels of random ellipsoidal blobs (later blobs overwrite earlier ones).

    Args:
        shape: spatial shape, 2D or 3D.
        num_blobs: blobs drawn; a blob wholly covered by later ones disappears.
        radius_range: semi-axis range in pixels.
        seed: random seed.

    Returns:
        int32 array of ``shape``: 0 = background, objects numbered 1..K consecutively.
    """
    rng = np.random.default_rng(seed)
    labels = np.zeros(tuple(shape), np.int32)
    for index in range(1, num_blobs + 1):
        centre = [rng.uniform(0, n) for n in shape]
        radii = rng.uniform(*radius_range, size=len(shape))
        box = tuple(
            slice(max(int(c - r) - 1, 0), min(int(c + r) + 2, n))
            for c, r, n in zip(centre, radii, shape, strict=True)
        )
        axes = np.ogrid[box]
        dist = sum(((a - c) / r) ** 2 for a, c, r in zip(axes, centre, radii, strict=True))
        labels[box][dist <= 1.0] = index
    _, relabelled = np.unique(labels, return_inverse=True)
    return relabelled.reshape(labels.shape).astype(np.int32)
