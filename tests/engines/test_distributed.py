"""DDP helpers in one process and on two gloo ranks; the optimiser switch."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from monai.handlers import LrScheduleHandler, StatsHandler

from medunet.engines import (
    TimeBudget,
    build_optimizer,
    distributed_device,
    handlers_for_rank,
    is_main_process,
    rank_seed,
)


def test_single_process_keeps_all_handlers_and_seed():
    handlers = [StatsHandler(), LrScheduleHandler(lr_scheduler=None)]
    assert handlers_for_rank(handlers) == handlers and handlers_for_rank(None) == []
    assert rank_seed(7) == 7


def _rank_worker(rank: int, init: str, results) -> None:
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=2)
    # Creating a gloo group does not wait for the other rank (pytorch#61396): without a
    # collective, one rank can finish and close its side before the other has connected.
    dist.barrier()
    try:
        budget = TimeBudget(seconds=10)
        handlers = [StatsHandler(), LrScheduleHandler(lr_scheduler=None), budget]
        kept = [type(h).__name__ for h in handlers_for_rank(handlers)]
        results[rank] = (is_main_process(), rank_seed(7), kept)
        dist.barrier()
    finally:
        dist.destroy_process_group()


def test_two_ranks_split_the_work(tmp_path):
    """Rank 1 draws its own augmentations and runs only what every rank must (the
    scheduler, the budget), not logging; rank 0 keeps everything."""
    results = mp.Manager().dict()
    init = f"file://{tmp_path / 'store'}"
    mp.spawn(_rank_worker, args=(init, results), nprocs=2, join=True)
    assert results[0] == (True, 7, ["StatsHandler", "LrScheduleHandler", "TimeBudget"])
    assert results[1] == (False, 8, ["LrScheduleHandler", "TimeBudget"])


def test_distributed_device_outside_torchrun_says_how(monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    with pytest.raises(RuntimeError, match="torchrun --nproc_per_node"):
        distributed_device()


def test_build_optimizer():
    params = [torch.nn.Parameter(torch.zeros(1))]
    sgd = build_optimizer(params, "sgd", lr=0.1)
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["momentum"] == 0.99
    assert isinstance(build_optimizer(params, "Adam", lr=0.1), torch.optim.Adam)
    with pytest.raises(ValueError, match="'sgd' or 'adam'"):
        build_optimizer(params, "rmsprop")
