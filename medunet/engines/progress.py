"""Training progress: a tqdm bar over each epoch and the epoch's mean loss in the log."""

from __future__ import annotations

import logging

from ignite.engine import Engine, Events

__all__ = ["TrainingProgress"]

logger = logging.getLogger(__name__)


class TrainingProgress:
    """Progress bar with the running loss (ignite's ``ProgressBar``), and the mean loss of
    every epoch logged and written to TensorBoard (``train_loss_epoch``).

    Args:
        summary_writer: optional ``SummaryWriter`` for the epoch loss.
        bar: show the tqdm bar (off for log files and non-interactive runs).
    """

    def __init__(self, summary_writer=None, bar: bool = True) -> None:
        self.writer = summary_writer
        self.bar = bar
        self._sum = 0.0
        self._count = 0

    def attach(self, engine: Engine) -> None:
        """Attach the bar and the epoch-loss accounting to the trainer."""
        if self.bar:
            from ignite.handlers import ProgressBar

            ProgressBar(persist=False).attach(engine, output_transform=self._loss_dict)
        engine.add_event_handler(Events.EPOCH_STARTED, self._reset)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self._accumulate)
        engine.add_event_handler(Events.EPOCH_COMPLETED, self._report)

    @staticmethod
    def _loss(output) -> float | None:
        out = output[0] if isinstance(output, list) and output else output
        if isinstance(out, dict) and "loss" in out:
            return float(out["loss"])
        return None

    def _loss_dict(self, output) -> dict:
        loss = self._loss(output)
        return {} if loss is None else {"loss": loss}

    def _reset(self, engine: Engine) -> None:
        self._sum, self._count = 0.0, 0

    def _accumulate(self, engine: Engine) -> None:
        loss = self._loss(engine.state.output)
        if loss is not None:
            self._sum += loss
            self._count += 1

    def _report(self, engine: Engine) -> None:
        if not self._count:
            return
        mean = self._sum / self._count
        logger.info(
            "epoch %d/%d: mean loss %.4f over %d iterations",
            engine.state.epoch,
            engine.state.max_epochs,
            mean,
            self._count,
        )
        if self.writer is not None:
            self.writer.add_scalar("train_loss_epoch", mean, engine.state.epoch)
