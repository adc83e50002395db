"""Instance matching: AP at IoU thresholds, merges and splits, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from medunet.metrics import match_instances


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
