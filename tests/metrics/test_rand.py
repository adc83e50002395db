"""The adapted Rand error, by hand and against scikit-image's adapted_rand_error."""

from __future__ import annotations

import numpy as np
import pytest

from medunet.data import random_blobs
from medunet.metrics import rand_error


@pytest.mark.parametrize("seed", range(4))
def test_rand_error_matches_scikit_image(seed):
    skimage_metrics = pytest.importorskip("skimage.metrics")
    truth = random_blobs((48, 40), 12, seed=seed)
    pred = random_blobs((48, 40), 10, seed=seed + 10)
    pred[::7] = 0
    error, precision, recall = rand_error(pred, truth)
    ref_error, ref_a, ref_b = skimage_metrics.adapted_rand_error(truth, pred)
    assert error == pytest.approx(ref_error, rel=1e-10)
    # scikit-image 0.26 returns the two terms the other way round from its docstring
    # (and from Arganda-Carreras et al.); the F-score, hence the error, is symmetric
    assert sorted([precision, recall]) == pytest.approx(sorted([ref_a, ref_b]), rel=1e-10)


def test_rand_precision_and_recall_by_hand():
    truth = np.array([[1, 1, 1, 1]])
    split = np.array([[1, 1, 2, 2]])  # a split keeps no false pairs but loses true ones
    error, precision, recall = rand_error(split, truth)
    assert (precision, recall) == pytest.approx((1.0, 4 / 12))
    assert error == pytest.approx(1 - 2 * (1 / 3) / (4 / 3))


def test_rand_error_perfect_and_3d():
    truth = random_blobs((10, 12, 14), 6, seed=1)
    assert rand_error(truth * 3, truth)[0] == pytest.approx(0.0)
    merged = (truth > 0).astype(int)
    assert rand_error(merged, truth)[0] > 0.1
