"""PackedWeightLoss: the weight map rides in the label's second channel."""

from __future__ import annotations

import pytest
import torch

from medunet.losses import PackedWeightLoss, WeightedCrossEntropyLoss, WeightedDiceCELoss


def test_packed_equals_direct_call_with_cropping():
    logits = torch.randn(2, 3, 6, 6)
    classes = torch.randint(0, 3, (2, 1, 10, 10)).float()
    weights = torch.rand(2, 1, 10, 10) * 5
    direct = WeightedCrossEntropyLoss()(logits, classes, weights)
    packed = PackedWeightLoss(WeightedCrossEntropyLoss())(logits, torch.cat([classes, weights], 1))
    assert torch.allclose(direct, packed)


def test_class_only_target_means_uniform_weights():
    logits = torch.randn(2, 3, 4, 4, 4)
    classes = torch.randint(0, 3, (2, 1, 4, 4, 4))
    packed = PackedWeightLoss(WeightedDiceCELoss())(logits, classes)
    uniform = WeightedDiceCELoss()(logits, classes, torch.ones(2, 1, 4, 4, 4))
    assert torch.allclose(packed, uniform)


def test_wrong_target_is_refused_with_the_fix():
    loss = PackedWeightLoss(WeightedCrossEntropyLoss())
    with pytest.raises(ValueError, match="ConcatItemsd"):
        loss(torch.randn(1, 2, 4, 4), torch.zeros(1, 3, 4, 4))
