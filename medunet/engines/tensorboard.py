"""TensorBoard extras: the learning rate per epoch and named image previews."""

from __future__ import annotations

import torch
from ignite.engine import Engine, Events

__all__ = ["ImagePreview", "LearningRateLogger"]


class LearningRateLogger:
    """Write each parameter group's learning rate at every epoch end.

    Args:
        summary_writer: a ``torch.utils.tensorboard.SummaryWriter`` (share the bundle's).
        optimizer: the optimiser whose ``lr`` is logged.
        tag: scalar name (``tag`` or ``tag/<group>`` for several groups).
    """

    def __init__(self, summary_writer, optimizer: torch.optim.Optimizer, tag: str = "lr") -> None:
        self.writer = summary_writer
        self.optimizer = optimizer
        self.tag = tag

    def attach(self, engine: Engine) -> None:
        """Log at ``EPOCH_COMPLETED``."""
        engine.add_event_handler(Events.EPOCH_COMPLETED, self)

    def __call__(self, engine: Engine) -> None:
        groups = self.optimizer.param_groups
        for i, group in enumerate(groups):
            tag = self.tag if len(groups) == 1 else f"{self.tag}/{i}"
            self.writer.add_scalar(tag, float(group["lr"]), engine.state.epoch)
        self.writer.flush()


def _first_item(container, key: str):
    """The first sample's ``key`` from a batch dict or a decollated list of dicts."""
    if isinstance(container, list):
        container = container[0] if container else {}
        return container.get(key) if isinstance(container, dict) else None
    if isinstance(container, dict) and key in container:
        value = container[key]
        return value[0] if isinstance(value, torch.Tensor) and value.dim() >= 3 else value
    return None


def _to_image(x: torch.Tensor) -> torch.Tensor:
    """``(*spatial)`` -> ``(H, W)`` in [0, 1] (3D: the middle slice of the first axis)."""
    x = x.detach().float().cpu()
    while x.dim() > 2:
        x = x[x.shape[0] // 2]
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi > lo else torch.zeros_like(x)


class ImagePreview:
    """TensorBoard previews of one sample per epoch: named keys, every channel.

    MONAI's ``TensorBoardImageHandler`` writes fixed tag names (the trainer's and the
    evaluator's would collide) and one channel; the training label here carries the weight
    map as its second channel, so both are shown.

    Args:
        summary_writer: the bundle's ``SummaryWriter``.
        tag: prefix of the image tags (``train``, ``validation``).
        batch_keys: keys read from ``engine.state.batch``.
        output_keys: keys read from ``engine.state.output``.
        max_channels: channels shown per key.
        interval: epochs between previews.
    """

    def __init__(
        self,
        summary_writer,
        tag: str,
        batch_keys: tuple[str, ...] = ("image", "label"),
        output_keys: tuple[str, ...] = ("pred",),
        max_channels: int = 3,
        interval: int = 1,
    ) -> None:
        self.writer = summary_writer
        self.tag = tag
        self.batch_keys = tuple(batch_keys)
        self.output_keys = tuple(output_keys)
        self.max_channels = max_channels
        self.interval = interval
        self._pending = False

    def attach(self, engine: Engine) -> None:
        """Capture at the first iteration of a selected epoch (evaluators: every run)."""
        engine.add_event_handler(Events.EPOCH_STARTED, self._arm)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self)

    def _arm(self, engine: Engine) -> None:
        self._pending = (engine.state.epoch - 1) % self.interval == 0

    def __call__(self, engine: Engine) -> None:
        if not self._pending:
            return
        self._pending = False
        step = self._global_epoch(engine)
        for source, keys in (
            (engine.state.batch, self.batch_keys),
            (engine.state.output, self.output_keys),
        ):
            for key in keys:
                value = _first_item(source, key)
                if not isinstance(value, torch.Tensor) or value.dim() < 3:
                    continue
                for c in range(min(value.shape[0], self.max_channels)):
                    self.writer.add_image(
                        f"{self.tag}/{key}_{c}", _to_image(value[c]), step, dataformats="HW"
                    )
        self.writer.flush()

    @staticmethod
    def _global_epoch(engine: Engine) -> int:
        """The trainer's epoch for an evaluator run by ``ValidationHandler``, else its own."""
        trainer_state = getattr(engine.state, "trainer_epoch", None)
        return int(trainer_state) if trainer_state is not None else int(engine.state.epoch)
