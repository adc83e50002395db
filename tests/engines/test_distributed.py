"""DDP helpers without a process group; the optimiser switch."""

from __future__ import annotations

import pytest
import torch
from monai.handlers import LrScheduleHandler, StatsHandler

from medunet.engines import build_optimizer, distributed_device, handlers_for_rank, rank_seed


def test_single_process_keeps_all_handlers_and_seed():
    handlers = [StatsHandler(), LrScheduleHandler(lr_scheduler=None)]
    assert handlers_for_rank(handlers) == handlers and handlers_for_rank(None) == []
    assert rank_seed(7) == 7


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
