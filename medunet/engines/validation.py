"""Validation every N epochs *and* after the last one, so every run ends with a model.

With a time budget a validation costs training steps: on ISBI 2012 (four 512x512 slices,
the Rand and warping errors, the post-processing grid) one validation took 25 s against 7 s
per training epoch, so validating every 5 epochs spent 43% of a 300 s budget on it.
``time_share`` bounds that: a validation due by the interval runs only while the time spent
validating stays within that share of the time spent so far.
"""

from __future__ import annotations

import time

from ignite.engine import Engine, Events
from monai.handlers import ValidationHandler

from medunet.messages import setting

__all__ = ["PeriodicValidation"]


class PeriodicValidation(ValidationHandler):
    """MONAI's ``ValidationHandler`` (epoch level) that also validates at the final epoch.

    With MONAI's handler a run shorter than ``interval`` epochs (or not a multiple of it)
    never validates its last weights, so the best-model saver may write nothing at all; here
    the last epoch always validates.

    Args:
        validator: the evaluator.
        interval: epochs between validations (with ``time_share``: the shortest gap).
        exec_at_start: also validate before training.
        time_share: at most this fraction of the time since training started goes to
            validation: a validation due by ``interval`` runs only if the time spent
            validating, plus the last validation's duration, stays within the share. The
            first one due and the last epoch's always run. ``None``: every ``interval``.
    """

    def __init__(
        self,
        validator,
        interval: int = 1,
        exec_at_start: bool = False,
        time_share: float | None = None,
    ) -> None:
        super().__init__(interval=interval, validator=validator, epoch_level=True,
                         exec_at_start=exec_at_start)  # fmt: skip
        if time_share is not None and not 0.0 < time_share <= 1.0:
            raise ValueError(
                f"val_time_share (the share of a time budget validation may take) must be in "
                f"(0, 1], got {time_share}; e.g. {setting('val_time_share', 0.1)}."
            )
        self.time_share = time_share
        self._start = 0.0
        self._spent = 0.0
        self._last = 0.0  # the last validation's seconds (0: none yet)

    def attach(self, engine: Engine) -> None:
        """Run at every ``interval``-th epoch (within ``time_share``) and at the last one."""

        def due(engine: Engine, epoch: int) -> bool:
            if epoch == engine.state.max_epochs:
                return True
            return epoch % self.interval == 0 and self._affordable()

        engine.add_event_handler(Events.STARTED, self._started)
        engine.add_event_handler(Events.EPOCH_COMPLETED(event_filter=due), self)
        if self.exec_at_start:
            engine.add_event_handler(Events.STARTED, self)

    def _started(self, engine: Engine) -> None:
        self._start, self._spent, self._last = time.perf_counter(), 0.0, 0.0

    def _affordable(self) -> bool:
        if self.time_share is None or not self._last:
            return True
        elapsed = time.perf_counter() - self._start
        return self._spent + self._last <= self.time_share * (elapsed + self._last)

    def __call__(self, engine: Engine) -> None:
        began = time.perf_counter()
        super().__call__(engine)
        self._last = time.perf_counter() - began
        self._spent += self._last
