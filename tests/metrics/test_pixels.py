"""Pixel scores: foreground IoU, Dice and the pixel error, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from medunet.metrics import dice, foreground_iou, pixel_error


def test_pixel_scores_by_hand():
    truth = np.array([[1, 1, 0, 0]])
    pred = np.array([[0, 2, 2, 0]])
    assert foreground_iou(pred, truth) == pytest.approx(1 / 3)
    assert dice(pred, truth) == pytest.approx(0.5)
    assert pixel_error(pred, truth) == pytest.approx(0.5)
    assert foreground_iou(np.zeros((2, 2)), np.zeros((2, 2))) == 1.0
