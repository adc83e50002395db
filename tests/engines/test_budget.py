"""TimeBudget: the epoch that crosses the budget is the last, the schedule is fitted to it."""

from __future__ import annotations

import itertools
import time

import pytest
import torch
from ignite.engine import Engine, Events

from medunet.engines import PeriodicValidation, TimeBudget


class _Clock:
    """A fake perf_counter: every iteration takes ``step`` seconds."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        return self.now


def _train(monkeypatch, seconds: float, step: float, max_epochs: int = 1000):
    clock = _Clock(step)
    monkeypatch.setattr(time, "perf_counter", clock)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = torch.optim.lr_scheduler.PolynomialLR(opt, total_iters=max_epochs, power=1.0)
    lrs: list[float] = []

    def iteration(engine, batch):
        clock.now += clock.step
        opt.step()

    trainer = Engine(iteration)
    TimeBudget(seconds, lr_scheduler=sched).attach(trainer)
    validated: list[int] = []
    validation = PeriodicValidation(None, interval=1000)
    validation.validator = type("V", (), {"run": lambda self, e: validated.append(e)})()
    validation.attach(trainer)
    trainer.add_event_handler(Events.EPOCH_STARTED, lambda e: lrs.append(opt.param_groups[0]["lr"]))
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda e: sched.step())
    trainer.run(range(10), max_epochs=max_epochs)
    return trainer, lrs, validated


def test_stops_after_the_epoch_that_crosses_and_validates_it(monkeypatch):
    trainer, lrs, validated = _train(monkeypatch, seconds=95.0, step=1.0)  # 10 s per epoch
    assert trainer.state.epoch == 10  # epoch 10 ends at 100 s, the first past 95 s
    assert validated == [10]
    assert lrs[0] == 1.0 and lrs[-1] == pytest.approx(0.1)  # poly(1) over the 10 epochs
    assert all(a > b for a, b in itertools.pairwise(lrs))


def test_epoch_cap_still_applies(monkeypatch):
    trainer, _, validated = _train(monkeypatch, seconds=1000.0, step=1.0, max_epochs=3)
    assert trainer.state.epoch == 3 and validated == [3]


def test_no_budget_does_nothing(monkeypatch):
    trainer, lrs, _ = _train(monkeypatch, seconds=0, step=1.0, max_epochs=4)
    assert trainer.state.epoch == 4 and lrs == [1.0, 0.75, 0.5, 0.25]


def test_rejects_negative_budgets():
    with pytest.raises(ValueError, match="positive number of seconds"):
        TimeBudget(-1.0)
