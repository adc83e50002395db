"""Training for a wall-clock budget: stop after the epoch that crosses it, schedule fitted.

``medunet train --time-budget SECONDS`` (``time_budget`` in the bundles) gives every run the
same compute whatever the machine: :class:`TimeBudget` measures the mean epoch time (the
validations included) and, after every epoch, sets the trainer's ``max_epochs`` to the epoch
expected to cross the budget, so that

- the learning-rate schedule (a ``PolynomialLR`` over the epochs) reaches its end at the
  budget instead of being cut off half way;
- the epoch that crosses the budget is the trainer's last: ``PeriodicValidation`` validates
  it, the best model is kept by ``CheckpointSaver``, the checkpoint is written as usual.

The clock starts when the trainer starts (after the dataset is read and cached). Under DDP
rank 0's clock decides for every rank.
"""

from __future__ import annotations

import logging
import math
import time

import torch
import torch.distributed as dist
from ignite.engine import Engine, Events

__all__ = ["TimeBudget"]

logger = logging.getLogger(__name__)


def _from_rank0(value: int) -> int:
    if not (dist.is_available() and dist.is_initialized()):
        return value
    device = torch.device("cuda", torch.cuda.current_device()) if (
        dist.get_backend() == "nccl"
    ) else torch.device("cpu")  # fmt: skip
    tensor = torch.tensor([value], dtype=torch.int64, device=device)
    dist.broadcast(tensor, src=0)
    return int(tensor.item())


class TimeBudget:
    """Fit the number of epochs (and the polynomial learning-rate schedule) to ``seconds``.

    Args:
        seconds: the training budget in seconds; ``None`` or ``0`` disables the handler.
        lr_scheduler: a ``torch.optim.lr_scheduler.PolynomialLR`` stepped once per epoch;
            its ``total_iters`` follows the predicted number of epochs, and the learning rate
            of each epoch is its closed form ``base_lr * (1 - epoch / total) ** power``.
        max_epochs: upper bound on the epochs (``None``: the trainer's own ``max_epochs``).

    Attach it before ``PeriodicValidation`` in the handler list, so that the epoch it makes
    the last one is validated.
    """

    def __init__(
        self,
        seconds: float | None,
        lr_scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
        max_epochs: int | None = None,
    ) -> None:
        if seconds is not None and (not math.isfinite(seconds) or seconds < 0):
            raise ValueError(f"time budget must be a positive number of seconds, got {seconds}.")
        self.seconds = float(seconds) if seconds else 0.0
        self.lr_scheduler = lr_scheduler
        self.max_epochs = max_epochs
        self._start = 0.0
        self._first_epoch = 0

    def attach(self, engine: Engine) -> None:
        if not self.seconds:
            return
        engine.add_event_handler(Events.STARTED, self._started)
        engine.add_event_handler(Events.EPOCH_STARTED, self._set_learning_rate)
        engine.add_event_handler(Events.EPOCH_COMPLETED, self._plan)

    def _started(self, engine: Engine) -> None:
        self._start = time.perf_counter()
        self._first_epoch = engine.state.epoch
        if self.max_epochs is None:
            self.max_epochs = engine.state.max_epochs
        logger.info(
            "time budget %.0f s: training stops after the epoch that crosses it (at most %d "
            "epochs)",
            self.seconds,
            self.max_epochs,
        )

    def _plan(self, engine: Engine) -> None:
        epoch = engine.state.epoch
        elapsed = time.perf_counter() - self._start
        done = epoch - self._first_epoch
        if elapsed >= self.seconds:
            last = epoch
        else:
            per_epoch = elapsed / max(done, 1)
            last = epoch + max(1, math.ceil((self.seconds - elapsed) / per_epoch))
        last = _from_rank0(min(last, int(self.max_epochs or last)))
        if last != engine.state.max_epochs:
            engine.state.max_epochs = last
        if last == epoch:
            logger.info(
                "time budget: %.0f s of %.0f s used; epoch %d is the last", elapsed,
                self.seconds, epoch,
            )  # fmt: skip

    def _set_learning_rate(self, engine: Engine) -> None:
        sched = self.lr_scheduler
        if sched is None or not hasattr(sched, "total_iters") or not hasattr(sched, "power"):
            return
        total = max(int(engine.state.max_epochs), 1)
        sched.total_iters = total
        done = min(sched.last_epoch, total)
        factor = (1.0 - done / total) ** sched.power
        for group, base in zip(sched.optimizer.param_groups, sched.base_lrs, strict=True):
            group["lr"] = base * factor
