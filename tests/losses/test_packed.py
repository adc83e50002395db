"""PackedWeightLoss: the weight map rides in the label's second channel."""

from __future__ import annotations

import pytest
import torch

from medunet.losses import PackedWeightLoss, WeightedCrossEntropyLoss


def test_packed_equals_direct_call_with_cropping():
    logits = torch.randn(2, 3, 6, 6)
    classes = torch.randint(0, 3, (2, 1, 10, 10)).float()
    weights = torch.rand(2, 1, 10, 10) * 5
    direct = WeightedCrossEntropyLoss()(logits, classes, weights)
    packed = PackedWeightLoss(WeightedCrossEntropyLoss())(logits, torch.cat([classes, weights], 1))
    assert torch.allclose(direct, packed)


def test_unpacked_target_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="ConcatItemsd"):
        PackedWeightLoss(WeightedCrossEntropyLoss())(
            torch.randn(1, 2, 4, 4), torch.zeros(1, 1, 4, 4)
        )
