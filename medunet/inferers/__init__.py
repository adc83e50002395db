"""Inferers: the paper's seamless overlap-tile inference on MONAI's sliding window."""

from __future__ import annotations

from medunet.inferers.autocast import AutocastInferer, autocast, bf16_is_fast
from medunet.inferers.cpu_allocator import release_free_memory, tune_glibc_malloc
from medunet.inferers.overlap_tile import (
    OverlapTileInferer,
    default_memory_budget_mb,
    mirror_pad,
)
from medunet.inferers.tile_plan import TilePlan

__all__ = [
    "AutocastInferer",
    "OverlapTileInferer",
    "TilePlan",
    "autocast",
    "bf16_is_fast",
    "default_memory_budget_mb",
    "mirror_pad",
    "release_free_memory",
    "tune_glibc_malloc",
]
