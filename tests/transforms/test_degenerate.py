"""Blank images: not cropped to nothing, predicted as background on their own grid."""

from __future__ import annotations

import numpy as np
import torch

from medunet.transforms import BlankImageBackgroundd, foreground_or_all
from medunet.transforms.degenerate import is_blank


def test_foreground_or_all():
    x = torch.zeros(1, 4, 5)
    x[0, 1, 2] = 3.0
    assert foreground_or_all(x).sum() == 1
    assert foreground_or_all(torch.zeros(1, 4, 5)).all()  # empty: the whole field of view
    assert foreground_or_all(-np.ones((1, 3, 3))).all()


def test_is_blank():
    assert is_blank(torch.full((2, 3), 5.0)) and is_blank(np.zeros((0,)))
    assert not is_blank(torch.arange(4.0))


def test_blank_inputs_predict_background_and_others_are_untouched():
    pred = torch.ones(1, 4, 4, dtype=torch.int64)
    blank = BlankImageBackgroundd("pred")({"image": torch.full((1, 4, 4), 2.0), "pred": pred})
    assert blank["pred"].shape == pred.shape and not blank["pred"].any()
    image = torch.rand(1, 4, 4)
    kept = BlankImageBackgroundd("pred")({"image": image, "pred": pred})
    assert kept["pred"] is pred
    assert BlankImageBackgroundd("pred")({"pred": pred})["pred"] is pred  # no image: as it is
