"""SegmentationScore (MONAI's metric API) and segmentation_scores."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medunet.data import random_blobs
from medunet.metrics import (
    SegmentationScore,
    segmentation_scores,
)


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
