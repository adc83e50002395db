"""Stop training at the first non-finite loss, before its weights are saved.

A NaN or infinite loss (a too high learning rate, NaN in the data) poisons the weights at
the next optimiser step; every later checkpoint would hold them. :class:`NonFiniteLossGuard`
checks the loss after every iteration and stops the run with a one-line error naming the
epoch, the iteration and the last good checkpoint, which it leaves as it is.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import torch
from ignite.engine import Engine, Events

__all__ = ["NonFiniteLossError", "NonFiniteLossGuard"]

logger = logging.getLogger(__name__)


class NonFiniteLossError(FloatingPointError):
    """A training loss was NaN or infinite."""


def _loss_value(output) -> float:
    items = output if isinstance(output, list) else [output]
    values = []
    for item in items:
        loss = item.get("loss") if isinstance(item, dict) else item
        if isinstance(loss, torch.Tensor):
            values.append(float(loss.detach().float().sum()))
        elif isinstance(loss, (int, float)):
            values.append(float(loss))
    return math.fsum(values) if values else 0.0


class NonFiniteLossGuard:
    """Ignite handler: raises :class:`NonFiniteLossError` when the loss is not finite.

    Args:
        checkpoint: the run's last checkpoint (``TrainingCheckpoint``'s file), named in the
            message as the state to resume from.
    """

    def __init__(self, checkpoint: str | Path | None = None) -> None:
        self.checkpoint = Path(checkpoint) if checkpoint else None

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.ITERATION_COMPLETED, self)

    def _last_good(self) -> str:
        if self.checkpoint is None or not self.checkpoint.is_file():
            return "no checkpoint was saved yet"
        try:
            state = torch.load(self.checkpoint, map_location="cpu", weights_only=False)
            trainer = state["trainer"]
            epoch = trainer["iteration"] // max(trainer["epoch_length"], 1)
            return f"the last good checkpoint is {self.checkpoint} (epoch {epoch})"
        except Exception:
            return f"the last checkpoint is {self.checkpoint}"

    def __call__(self, engine: Engine) -> None:
        value = _loss_value(engine.state.output)
        if math.isfinite(value):
            return
        epoch_length = engine.state.epoch_length or 1
        in_epoch = (engine.state.iteration - 1) % epoch_length + 1
        raise NonFiniteLossError(
            f"training loss is {value} at epoch {engine.state.epoch}, iteration {in_epoch} "
            f"(step {engine.state.iteration}); training stopped before saving these weights, "
            f"{self._last_good()}; lower the learning rate or check the images for NaN/Inf, "
            "then resume or restart."
        )
