"""TrainingProgress: the mean loss of each epoch, in the log and in TensorBoard."""

from __future__ import annotations

import logging

import pytest
from ignite.engine import Engine

from medunet.engines.progress import TrainingProgress


class _Writer:
    def __init__(self) -> None:
        self.scalars: list[tuple[str, float, int]] = []

    def add_scalar(self, tag, value, step) -> None:
        self.scalars.append((tag, value, step))


def test_mean_loss_per_epoch_logged_and_written(caplog):
    losses = iter([1.0, 3.0, 0.5, 1.5])
    trainer = Engine(lambda engine, batch: [{"loss": next(losses)}])  # MONAI's list output
    writer = _Writer()
    TrainingProgress(summary_writer=writer, bar=False).attach(trainer)
    with caplog.at_level(logging.INFO, logger="medunet.engines.progress"):
        trainer.run(range(2), max_epochs=2)
    assert [(t, s) for t, _, s in writer.scalars] == [
        ("train_loss_epoch", 1),
        ("train_loss_epoch", 2),
    ]
    assert [v for _, v, _ in writer.scalars] == pytest.approx([2.0, 1.0])
    assert "epoch 1/2: mean loss 2.0000 over 2 iterations" in caplog.text


def test_outputs_without_a_loss_are_not_reported(caplog):
    trainer = Engine(lambda engine, batch: {"pred": 0})
    TrainingProgress(bar=False).attach(trainer)
    with caplog.at_level(logging.INFO, logger="medunet.engines.progress"):
        trainer.run(range(2), max_epochs=1)
    assert "mean loss" not in caplog.text
