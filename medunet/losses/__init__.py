"""Losses: the paper's pixel-weighted cross-entropy, alone or with soft Dice."""

from __future__ import annotations

from medunet.losses.packed import PackedWeightLoss
from medunet.losses.weighted_ce import (
    WeightedCrossEntropyLoss,
    WeightedDiceCELoss,
    center_crop_to,
)

__all__ = ["PackedWeightLoss", "WeightedCrossEntropyLoss", "WeightedDiceCELoss", "center_crop_to"]
