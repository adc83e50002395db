"""Per-class Dice and HD95 of volumes: by hand, in millimetres, with the missing-class rule."""

from __future__ import annotations

import math

import pytest
import torch
from monai.data import MetaTensor

from medunet.metrics import VolumeScore, class_dice


def _onehot(labels: torch.Tensor, classes: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(labels, classes).movedim(-1, 1).float()


def test_class_dice_by_hand_and_the_missing_class_rule():
    truth = torch.tensor([[[0, 1, 1, 0]]])  # (B=1, 1, 4)
    pred = torch.tensor([[[0, 1, 2, 0]]])
    dice = class_dice(_onehot(pred[:, 0], 4), _onehot(truth[:, 0], 4))
    assert dice.shape == (1, 4)
    assert dice[0, 1] == pytest.approx(2 * 1 / 3)  # one of two voxels found
    assert dice[0, 2] == 0.0  # predicted, not in the truth
    assert math.isnan(dice[0, 3])  # in neither: nothing to score


def _cube(shape=(12, 12, 12), lo=3, hi=9) -> torch.Tensor:
    labels = torch.zeros(shape, dtype=torch.long)
    labels[lo:hi, lo:hi, lo:hi] = 1
    return labels


def test_dice_per_foreground_class_from_probabilities():
    truth = _cube()
    pred = truth.clone()
    pred[3, 3:9, 3:9] = 0  # one face of 36 of the 216 voxels missed
    y_pred = _onehot(pred[None], 2) * 5.0  # logits work as well as probabilities
    metric = VolumeScore("dice")
    out = metric(y_pred, truth[None, None])
    assert out.shape == (1, 1)
    assert float(out[0, 0]) == pytest.approx(2 * 180 / (180 + 216))
    assert float(metric.aggregate()) == pytest.approx(2 * 180 / (180 + 216))


def test_hd95_is_in_the_labels_own_millimetres():
    truth = _cube()
    shifted = torch.roll(truth, 2, dims=0)  # two voxels along the first axis
    y_pred = _onehot(shifted[None], 2)
    plain = VolumeScore("hd95")(y_pred, truth[None, None])
    assert float(plain[0, 0]) == pytest.approx(2.0)
    spacing = VolumeScore("hd95", spacing=(3.0, 1.0, 1.0))(y_pred, truth[None, None])
    assert float(spacing[0, 0]) == pytest.approx(6.0)
    meta = MetaTensor(truth[None, None].float(), affine=torch.diag(torch.tensor([0.5, 1, 1, 1.0])))
    from_meta = VolumeScore("hd95", spacing=(3.0, 1.0, 1.0))(y_pred, meta)  # pixdim wins
    assert float(from_meta[0, 0]) == pytest.approx(1.0)


def test_refuses_labels_the_network_cannot_predict_and_bad_names():
    truth = _cube()
    truth[0, 0, 0] = 3
    with pytest.raises(ValueError, match="set num_classes"):
        VolumeScore("dice")(_onehot(_cube()[None], 2), truth[None, None])
    with pytest.raises(ValueError, match=r"\(B, 1, \*spatial\)"):
        VolumeScore("dice")(_onehot(_cube()[None], 2), _cube()[None, None, :6])
    with pytest.raises(ValueError, match="'dice' or 'hd95'"):
        VolumeScore("iou")


def test_aggregate_ignores_absent_classes():
    truth = _cube()
    metric = VolumeScore("dice")
    metric(_onehot(truth[None], 3), truth[None, None])  # class 2 in neither: NaN
    assert float(metric.aggregate()) == pytest.approx(1.0)
    assert math.isnan(float(VolumeScore("dice").aggregate()))  # nothing scored yet
