"""The adapted Rand error, by hand and against scikit-image's adapted_rand_error."""

from __future__ import annotations

import numpy as np
import pytest

from medunet.data import random_blobs
from medunet.metrics import rand_error, thin_boundaries, thinned_rand_error


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


def test_thinned_rand_error_ignores_boundary_width_but_not_merges():
    truth = np.zeros((12, 20), int)
    truth[:, :9], truth[:, 11:] = 1, 2  # two cells, a 2 px membrane between them
    thick = truth.copy()
    thick[:, 7:13] = 0  # the same two cells drawn with a 6 px membrane
    assert rand_error(thick, truth)[0] > 0.05  # the membrane inside the cells is a segment
    assert thinned_rand_error(thick, truth)[0] == pytest.approx(0.0)
    merged = (truth > 0).astype(int)
    merged[:, 7:13] = 0
    merged[5, 7:13] = 1  # a gap joins them: still a merge after thinning
    assert thinned_rand_error(merged, truth)[0] == pytest.approx(rand_error(truth > 0, truth)[0])


def test_thin_boundaries_grows_the_largest_neighbour_and_keeps_empty_predictions():
    pred = np.array([[1, 0, 0, 0, 3]])
    mask = np.ones_like(pred, bool)
    np.testing.assert_array_equal(thin_boundaries(pred, mask), [[1, 1, 3, 3, 3]])
    np.testing.assert_array_equal(thin_boundaries(np.zeros((3, 3), int), np.ones((3, 3))), 0)
    outside, mask = np.array([[2, 0, 0]]), np.array([[1, 1, 0]], bool)
    np.testing.assert_array_equal(thin_boundaries(outside, mask), [[2, 2, 0]])
    with pytest.raises(ValueError, match="differ in shape"):
        thin_boundaries(pred, mask[:, :1])
