"""PyTorch DDP for the bundles under ``torchrun``: process group, device, wrapped network.

``multi_gpu_train.yaml`` calls these, so that one bundle trains on one GPU, several GPUs or
several nodes, and, with the gloo backend, on CPU processes (how the tests check it).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import torch
import torch.distributed as dist
from monai.handlers import CheckpointLoader, LrScheduleHandler, ValidationHandler

from medunet.engines.budget import TimeBudget
from medunet.engines.checkpoint import TrainingCheckpoint
from medunet.ranks import is_main_process, rank_seed

__all__ = [
    "ddp_network",
    "distributed_device",
    "handlers_for_rank",
    "is_main_process",
    "rank_seed",
]

logger = logging.getLogger(__name__)


def distributed_device(backend: str | None = None) -> torch.device:
    """Join the process group started by ``torchrun`` (once) and return this rank's device.

    Args:
        backend: ``"nccl"`` or ``"gloo"``; default nccl when CUDA is available, else gloo.
    """
    if not dist.is_initialized():
        if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
            raise RuntimeError(
                "multi_gpu_train.yaml must run under torchrun (RANK/WORLD_SIZE unset), e.g. "
                "torchrun --nproc_per_node=2 -m monai.bundle run --config_file "
                "\"['<bundle>/configs/train.yaml','<bundle>/configs/multi_gpu_train.yaml']\" ..."
            )
        backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
        dist.init_process_group(backend=backend)
        logger.info("rank %d of %d joined (%s)", dist.get_rank(), dist.get_world_size(), backend)
    if torch.cuda.is_available() and dist.get_backend() == "nccl":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
        return device
    return torch.device("cpu")


def ddp_network(network: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """``network`` on ``device`` wrapped in ``DistributedDataParallel``."""
    network = network.to(device)
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(network, device_ids=ids)


def handlers_for_rank(handlers: Sequence[Any] | None) -> list[Any]:
    """All handlers on rank 0; on other ranks only those every rank must run: scheduler
    steps, the time budget, checkpoint resume and loading, and validation (MONAI's metrics
    gather their values from all ranks, each validating its shard), not logging or saving."""
    if handlers is None:
        return []
    if is_main_process():
        return list(handlers)
    keep = (LrScheduleHandler, TrainingCheckpoint, ValidationHandler, CheckpointLoader, TimeBudget)
    return [h for h in handlers if isinstance(h, keep)]
