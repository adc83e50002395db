"""PeriodicValidation: every N epochs and always after the last one."""

from __future__ import annotations

from ignite.engine import Engine

from medunet.engines import PeriodicValidation


class _Validator:
    def __init__(self) -> None:
        self.epochs: list[int] = []

    def run(self, epoch: int) -> None:
        self.epochs.append(epoch)


def _run(max_epochs: int, interval: int) -> list[int]:
    handler = PeriodicValidation(None, interval=interval)
    handler.validator = _Validator()  # a stand-in for MONAI's evaluator (only .run is used)
    trainer = Engine(lambda engine, batch: None)
    handler.attach(trainer)
    trainer.run(range(2), max_epochs=max_epochs)
    return handler.validator.epochs


def test_validates_every_interval_and_at_the_end():
    assert _run(7, 5) == [5, 7]
    assert _run(10, 5) == [5, 10]
    assert _run(1, 5) == [1]  # shorter than the interval: still validated, a model is saved
