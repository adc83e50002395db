"""Metrics against hand-computed cases and scikit-image's adapted_rand_error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medunet.data import random_blobs
from medunet.metrics import (
    SegmentationScore,
    contingency_table,
    dice,
    foreground_iou,
    match_instances,
    pixel_error,
    rand_error,
    segmentation_scores,
    warping_error,
)


def test_pixel_scores_by_hand():
    truth = np.array([[1, 1, 0, 0]])
    pred = np.array([[0, 2, 2, 0]])
    assert foreground_iou(pred, truth) == pytest.approx(1 / 3)
    assert dice(pred, truth) == pytest.approx(0.5)
    assert pixel_error(pred, truth) == pytest.approx(0.5)
    assert foreground_iou(np.zeros((2, 2)), np.zeros((2, 2))) == 1.0


def test_contingency_table_handles_large_ids():
    truth = np.array([0, 2**31 - 5, 2**31 - 5, 7])
    table, t_ids, p_ids = contingency_table(truth, np.array([1, 1, 2, 2]))
    assert t_ids.tolist() == [0, 7, 2**31 - 5] and p_ids.tolist() == [1, 2]
    assert table.toarray().tolist() == [[1, 0], [0, 1], [1, 1]]


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


def test_instance_matching_by_hand():
    truth = np.zeros((10, 20), int)
    truth[1:5, 1:5] = 1  # matched exactly
    truth[1:5, 7:11] = 2  # matched at IoU 12/16 = 0.75
    truth[6:9, 1:4] = 3  # missed
    pred = np.zeros_like(truth)
    pred[1:5, 1:5] = 5
    pred[1:5, 7:10] = 6
    pred[6:9, 14:18] = 7  # a false positive
    m = match_instances(pred, truth)
    i50, i75, i80 = (m["thresholds"].index(t) for t in (0.5, 0.75, 0.8))
    assert (m["tp"][i50], m["fp"][i50], m["fn"][i50]) == (2, 1, 1)
    assert m["ap"][i50] == pytest.approx(2 / 4) and m["f1"][i50] == pytest.approx(4 / 6)
    assert m["tp"][i75] == 2 and m["tp"][i80] == 1
    assert m["merged"] == 0 and m["split"] == 0


def test_merges_and_splits():
    truth = np.zeros((8, 20), int)
    truth[2:6, 1:5], truth[2:6, 5:9] = 1, 2  # two touching nuclei ...
    truth[2:6, 12:19] = 3
    pred = np.zeros_like(truth)
    pred[2:6, 1:9] = 1  # ... predicted as one
    pred[2:6, 12:15], pred[2:6, 16:19] = 2, 3  # one nucleus predicted as two
    m = match_instances(pred, truth)
    assert m["merged"] == 2 and m["split"] == 1
    assert m["merging_ids"] == [1] and m["split_ids"] == [3]  # what overlay.png marks
    assert m["tp"][:2] == [1, 0]  # the merged blob has IoU exactly 0.5 with each nucleus


def test_warping_error_counts_topology_not_boundaries():
    truth = np.zeros((20, 30), int)
    truth[4:14, 3:12], truth[4:14, 12:22] = 1, 2  # touching: separated by their border
    shifted = np.zeros_like(truth)
    shifted[5:15, 4:12], shifted[5:15, 13:23] = 1, 2  # boundaries moved, topology the same
    assert warping_error(shifted, truth) == (0.0, 0)
    merged = (truth > 0).astype(int)  # the two nuclei as one object
    error, n_errors = warping_error(merged, truth)
    assert n_errors == 1 and 0 < error < 0.05
    missing = truth.copy()
    missing[missing == 2] = 0  # an object missing entirely
    assert warping_error(missing, truth)[1] == 1
    with pytest.raises(ValueError, match="2D"):
        warping_error(np.zeros((2, 3, 4)), np.zeros((2, 3, 4)))


def test_segmentation_score_metric_aggregates_per_image():
    truth = random_blobs((32, 32), 6, seed=0)
    metric = SegmentationScore("ap50")
    y = torch.from_numpy(truth)[None, None].float()
    metric(y_pred=y, y=y)
    metric(y_pred=torch.zeros_like(y), y=y)
    assert metric.get_buffer().flatten().tolist() == [1.0, 0.0]
    assert float(metric.aggregate()) == pytest.approx(0.5)
    scores = segmentation_scores(truth, truth)
    assert scores["ap50"] == scores["dice"] == 1.0 and scores["rand_error"] == pytest.approx(0.0)
    assert np.isnan(segmentation_scores(truth[None], truth[None])["warping_error"])
    with pytest.raises(ValueError, match="unknown score"):
        SegmentationScore("accuracy")
