"""WeightedCrossEntropyLoss and WeightedDiceCELoss."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from monai.losses import DiceLoss

from medunet.losses import WeightedCrossEntropyLoss, WeightedDiceCELoss, center_crop_to


@pytest.mark.parametrize("spatial", [(7, 9), (5, 6, 4)])
def test_equals_torch_weighted_cross_entropy(spatial):
    logits = torch.randn(2, 3, *spatial)
    target = torch.randint(0, 3, (2, 1, *spatial))
    weights = torch.rand(2, 1, *spatial) * 5
    expected = (F.cross_entropy(logits, target[:, 0], reduction="none") * weights[:, 0]).mean()
    loss = WeightedCrossEntropyLoss()(logits, target, weights)
    torch.testing.assert_close(loss, expected)
    # per-class weights given as a map equal torch's class-weighted CE (sum reduction)
    class_w = torch.tensor([0.3, 2.0, 5.0])
    wmap = class_w[target]
    torch.testing.assert_close(
        WeightedCrossEntropyLoss(reduction="sum")(logits, target, wmap),
        F.cross_entropy(logits, target[:, 0], weight=class_w, reduction="sum"),
    )


def test_reduction_none_and_ignore_index():
    logits = torch.randn(1, 2, 4, 4)
    target = torch.randint(0, 2, (1, 1, 4, 4))
    target[0, 0, 0, :] = 255
    weights = torch.ones(1, 1, 4, 4)
    per_pixel = WeightedCrossEntropyLoss(reduction="none", ignore_index=255)(
        logits, target, weights
    )
    assert per_pixel.shape == (1, 1, 4, 4)
    assert torch.all(per_pixel[0, 0, 0] == 0)
    mean = WeightedCrossEntropyLoss(ignore_index=255)(logits, target, weights)
    expected = F.cross_entropy(logits, target[:, 0], ignore_index=255)
    torch.testing.assert_close(mean, expected)


def test_centre_crops_target_and_weights_to_smaller_logits():
    target = torch.randint(0, 2, (2, 1, 12, 12))
    weights = torch.rand(2, 1, 12, 12)
    logits = torch.randn(2, 2, 8, 8)
    loss = WeightedCrossEntropyLoss()(logits, target, weights)
    cropped_t, cropped_w = target[..., 2:10, 2:10], weights[..., 2:10, 2:10]
    torch.testing.assert_close(loss, WeightedCrossEntropyLoss()(logits, cropped_t, cropped_w))
    assert center_crop_to(torch.arange(10.0).view(1, 1, 10), (4,)).flatten().tolist() == [
        3.0,
        4.0,
        5.0,
        6.0,
    ]


def test_autocast_computes_in_float32():
    logits = torch.randn(1, 2, 6, 6)
    target = torch.randint(0, 2, (1, 1, 6, 6))
    weights = torch.rand(1, 1, 6, 6)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = WeightedCrossEntropyLoss()(logits.bfloat16(), target, weights.bfloat16())
    assert loss.dtype == torch.float32
    ref = WeightedCrossEntropyLoss()(logits.bfloat16().float(), target, weights.bfloat16().float())
    torch.testing.assert_close(loss, ref)


def test_gradient_flows():
    logits = torch.randn(1, 2, 5, 5, requires_grad=True)
    WeightedCrossEntropyLoss()(logits, torch.zeros(1, 1, 5, 5), torch.ones(1, 1, 5, 5)).backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()


@pytest.mark.parametrize(
    ("target_shape", "weight_shape", "message"),
    [
        ((2, 1, 4, 4), (2, 1, 8, 8), "smaller than logits"),
        ((2, 2, 8, 8), (2, 1, 8, 8), "target must be"),
        ((1, 1, 8, 8), (2, 1, 8, 8), "target must be"),
        ((2, 1, 8, 8), (2, 1, 8), "weight_map must be"),
    ],
)
def test_shape_errors(target_shape, weight_shape, message):
    with pytest.raises(ValueError, match=message):
        WeightedCrossEntropyLoss()(
            torch.randn(2, 2, 8, 8), torch.zeros(target_shape), torch.ones(weight_shape)
        )


def test_label_value_errors():
    logits = torch.randn(1, 2, 4, 4)
    with pytest.raises(ValueError, match="non-integral"):
        WeightedCrossEntropyLoss()(logits, torch.full((1, 1, 4, 4), 0.5), torch.ones(1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"must be in \[0, 1\]"):
        WeightedCrossEntropyLoss()(logits, torch.full((1, 1, 4, 4), 2), torch.ones(1, 1, 4, 4))


def test_dice_ce_combination():
    logits = torch.randn(2, 3, 6, 6, 4)
    target = torch.randint(0, 3, (2, 1, 6, 6, 4))
    weights = torch.rand(2, 1, 6, 6, 4)
    combo = WeightedDiceCELoss(lambda_ce=0.7, lambda_dice=0.3)(logits, target, weights)
    ce = WeightedCrossEntropyLoss()(logits, target, weights)
    dice = DiceLoss(softmax=True, to_onehot_y=True)(logits, target)
    torch.testing.assert_close(combo, 0.7 * ce + 0.3 * dice)


def test_dice_ce_ignore_index_masks_dice():
    logits = torch.randn(1, 2, 6, 6)
    target = torch.randint(0, 2, (1, 1, 6, 6))
    ignored = target.clone()
    ignored[..., :3] = 9
    loss = WeightedDiceCELoss(lambda_ce=0.0, ignore_index=9)(
        logits, ignored, torch.ones_like(logits[:, :1])
    )
    ref = DiceLoss(softmax=True, to_onehot_y=True)(logits[..., 3:], target[..., 3:])
    torch.testing.assert_close(loss, ref)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0])
def test_nan_inf_or_negative_weights_are_refused(bad):
    logits = torch.randn(1, 2, 4, 4)
    target = torch.zeros(1, 1, 4, 4)
    weights = torch.ones(1, 1, 4, 4)
    weights[0, 0, 1, 2] = bad
    with pytest.raises(ValueError, match="finite and >= 0"):
        WeightedCrossEntropyLoss()(logits, target, weights)
