"""Validation every N epochs *and* after the last one, so every run ends with a model."""

from __future__ import annotations

from ignite.engine import Engine, Events
from monai.handlers import ValidationHandler

__all__ = ["PeriodicValidation"]


class PeriodicValidation(ValidationHandler):
    """MONAI's ``ValidationHandler`` (epoch level) that also validates at the final epoch.

    With MONAI's handler a run shorter than ``interval`` epochs (or not a multiple of it)
    never validates its last weights, so the best-model saver may write nothing at all; here
    the last epoch always validates.

    Args:
        validator: the evaluator.
        interval: epochs between validations.
        exec_at_start: also validate before training.
    """

    def __init__(self, validator, interval: int = 1, exec_at_start: bool = False) -> None:
        super().__init__(interval=interval, validator=validator, epoch_level=True,
                         exec_at_start=exec_at_start)  # fmt: skip

    def attach(self, engine: Engine) -> None:
        """Run at every ``interval``-th epoch and at the last one."""

        def due(engine: Engine, epoch: int) -> bool:
            return epoch % self.interval == 0 or epoch == engine.state.max_epochs

        engine.add_event_handler(Events.EPOCH_COMPLETED(event_filter=due), self)
        if self.exec_at_start:
            engine.add_event_handler(Events.STARTED, self)
