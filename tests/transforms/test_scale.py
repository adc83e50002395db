"""Rescaled / RestoreScaled: images resized for the plan's object size, predictions back."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from medunet.transforms.scale import SCALED_FROM, Rescaled, RestoreScaled, resize


def _pair(shape=(1, 90, 61)):
    rng = np.random.default_rng(0)
    image = MetaTensor(torch.as_tensor(rng.random(shape), dtype=torch.float32))
    label = torch.zeros(shape, dtype=torch.int32)
    label[:, 10:40, 5:30] = 3
    label[:, 50:80, 30:60] = 7
    return {"image": image, "label": label}


def test_scale_one_changes_nothing():
    data = _pair()
    out = Rescaled(["image", "label"], 1.0)(data)
    assert out["image"] is data["image"] and out["label"] is data["label"]
    assert SCALED_FROM not in out["image"].meta


def test_downscaled_labels_keep_their_values_and_the_size_comes_back():
    out = Rescaled(["image", "label"], 1 / 3, mode=("area", "nearest"))(_pair())
    assert out["image"].shape == (1, 30, 20) and out["label"].shape == (1, 30, 20)
    assert out["image"].meta[SCALED_FROM] == [90, 61]
    assert set(torch.unique(out["label"]).tolist()) == {0, 3, 7}  # nearest: no new values
    assert out["label"].dtype == torch.int32
    pred = {"image": out["image"], "pred": out["label"].clone(), "prob": out["image"].clone()}
    back = RestoreScaled(["pred", "prob"], "image", mode=("nearest", "bilinear"))(pred)
    assert back["pred"].shape == (1, 90, 61) and back["prob"].shape == (1, 90, 61)
    assert set(torch.unique(back["pred"]).tolist()) == {0, 3, 7}
    # the objects land where they were, up to the coarse grid's 3 pixels
    assert back["pred"][0, 25, 17] == 3 and back["pred"][0, 65, 45] == 7


def test_area_averages_and_bad_settings_are_refused():
    x = torch.ones(1, 8, 8)
    x[:, :, 4:] = 0
    assert torch.allclose(resize(x, (2, 2), "area"), torch.tensor([[[1.0, 0.0], [1.0, 0.0]]]))
    with pytest.raises(ValueError, match="mode"):
        resize(x, (2, 2), "cubic")
    with pytest.raises(ValueError, match="image_scale"):
        Rescaled(["image"], 0.0)


def test_restore_without_a_record_is_a_no_op():
    data = {"image": MetaTensor(torch.zeros(1, 4, 4)), "pred": torch.ones(1, 4, 4)}
    assert RestoreScaled(["pred"])(data)["pred"].shape == (1, 4, 4)
