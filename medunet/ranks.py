"""Which process this is in a distributed run: read by every layer that writes files (only
the main process writes) or draws random numbers (each rank draws its own)."""

from __future__ import annotations

import torch.distributed as dist

__all__ = ["is_main_process", "rank", "rank_seed"]


def rank() -> int:
    """This process's rank; 0 when not distributed."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main_process() -> bool:
    """True on rank 0 or when not distributed."""
    return rank() == 0


def rank_seed(seed: int) -> int:
    """``seed + rank``: the same run is reproducible, yet ranks draw different augmentations."""
    return int(seed) + rank()
