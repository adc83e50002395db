"""random_blobs: seeded, consecutive ids, 2D and 3D."""

from __future__ import annotations

import numpy as np

from medunet.data import random_blobs


def test_seeded_consecutive_ids_in_2d_and_3d():
    a = random_blobs((40, 50), 8, seed=3)
    assert a.dtype == np.int32 and a.shape == (40, 50)
    assert (a == random_blobs((40, 50), 8, seed=3)).all()
    assert not (a == random_blobs((40, 50), 8, seed=4)).all()
    ids = np.unique(a)
    assert ids.tolist() == list(range(ids.size)) and 1 < ids.size <= 9
    v = random_blobs((16, 18, 20), 5, radius_range=(2.0, 4.0), seed=0)
    assert v.shape == (16, 18, 20) and 0 < v.max() <= 5


def test_blob_sizes_follow_the_radius_range():
    small = random_blobs((200, 200), 1, radius_range=(3.0, 3.0), seed=0)
    large = random_blobs((200, 200), 1, radius_range=(30.0, 30.0), seed=0)
    assert abs((small > 0).sum() - np.pi * 9) < 15  # clipped at the border at most
    assert (large > 0).sum() > 50 * (small > 0).sum()
