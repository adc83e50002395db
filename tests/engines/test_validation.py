"""PeriodicValidation: every N epochs and always after the last one."""

from __future__ import annotations

import time

import pytest
from ignite.engine import Engine

from medunet.engines import PeriodicValidation


class _Validator:
    def __init__(self, clock=None, seconds: float = 0.0) -> None:
        self.epochs: list[int] = []
        self.clock, self.seconds = clock, seconds

    def run(self, epoch: int) -> None:
        self.epochs.append(epoch)
        if self.clock is not None:
            self.clock.now += self.seconds


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _run(max_epochs: int, interval: int, share=None, epoch_s=0.0, val_s=0.0, monkeypatch=None):
    clock = _Clock()
    if monkeypatch is not None:
        monkeypatch.setattr(time, "perf_counter", clock)
    handler = PeriodicValidation(None, interval=interval, time_share=share)
    handler.validator = _Validator(clock, val_s)  # a stand-in for MONAI's evaluator (.run)

    def step(engine, batch):  # two iterations: an epoch takes epoch_s
        clock.now += epoch_s / 2

    trainer = Engine(step)
    handler.attach(trainer)
    trainer.run(range(2), max_epochs=max_epochs)
    return handler.validator.epochs


def test_validates_every_interval_and_at_the_end():
    assert _run(7, 5) == [5, 7]
    assert _run(10, 5) == [5, 10]
    assert _run(1, 5) == [1]  # shorter than the interval: still validated, a model is saved


def test_a_time_share_bounds_the_validation_time(monkeypatch):
    """10 s epochs, 25 s validations: every 5 epochs would spend 33% validating. A share of
    0.1 validates the first time, then once the time spent (with one more) is within a tenth
    of the time so far: 50 s by 45 epochs (500 s), 75 s by 70, 100 s by 90; and the last."""
    epochs = _run(100, 5, share=0.1, epoch_s=10.0, val_s=25.0, monkeypatch=monkeypatch)
    assert epochs == [5, 45, 70, 90, 100]
    cheap = _run(40, 5, share=0.1, epoch_s=10.0, val_s=1.0, monkeypatch=monkeypatch)
    assert cheap == list(range(5, 41, 5))  # cheap validations: every interval, as before


def test_a_time_share_outside_0_1_is_refused():
    with pytest.raises(
        ValueError,
        match=r"val_time_share .* must be in \(0, 1\], got 0.0; e.g. --val_time_share 0.1",
    ):
        PeriodicValidation(None, interval=1, time_share=0.0)
