"""Checkpoints that survive interruption: written atomically, never overwritten by accident.

:class:`TrainingCheckpoint` is an ignite handler for MONAI's trainer. At the end of every
``save_interval`` epochs it writes ``checkpoint.pt`` (model, optimiser, scheduler, the
trainer's epoch and iteration, and the torch / numpy / Python RNG states) to a temporary
file and renames it, so a run killed at any moment leaves the previous checkpoint intact.
With ``resume=True`` it restores all of that when training starts and the trainer goes on
from the next epoch. A fresh run (``resume=False``) refuses to start where a checkpoint or
a trained model already exists unless ``overwrite=True``.

:class:`ModelCheckpointLoader` is MONAI's ``CheckpointLoader`` for inference and
evaluation, with a one-line error saying where it looked and how to train a model.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ignite.engine import Engine, Events
from monai.handlers import CheckpointLoader

from medunet.data.earlier_run import refuse_earlier_run
from medunet.data.io import atomic_path
from medunet.ranks import is_main_process

__all__ = ["ModelCheckpointLoader", "TrainingCheckpoint", "rng_state", "set_rng_state"]

logger = logging.getLogger(__name__)


def rng_state() -> dict[str, Any]:
    """The torch, numpy and Python global RNG states."""
    return {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),  # noqa: NPY002 (MONAI seeds the legacy global RNG)
        "python": random.getstate(),
    }


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore :func:`rng_state`'s output."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])  # noqa: NPY002
    random.setstate(state["python"])


class TrainingCheckpoint:
    """Atomic last checkpoint of a training run, and resuming from it.

    Args:
        save_dir: folder of ``filename`` (created).
        save_dict: the objects with ``state_dict``: ``{"model": net, "optimizer": opt,
            "lr_scheduler": sched}`` (the trainer is added by :meth:`attach`).
        resume: load ``save_dir/filename`` when the trainer starts, if it exists.
        overwrite: allow a fresh run where a checkpoint or ``protect`` files exist.
        protect: other files of the run (e.g. the best ``model.pt``) a fresh run must not
            silently replace.
        filename: the checkpoint's name.
        save_interval: epochs between saves (the last epoch is always saved).

    Attach it after the handlers that update state at an epoch's end (the scheduler step,
    validation), so that the checkpoint holds the state the next epoch starts from.
    """

    def __init__(
        self,
        save_dir: str | Path,
        save_dict: Mapping[str, Any],
        resume: bool = False,
        overwrite: bool = False,
        protect: tuple[str, ...] = ("model.pt",),
        filename: str = "checkpoint.pt",
        save_interval: int = 1,
    ) -> None:
        if save_interval < 1:
            raise ValueError(f"save_interval must be >= 1, got {save_interval}.")
        self.save_dir = Path(save_dir)
        self.save_dict = dict(save_dict)
        self.resume = resume
        self.overwrite = overwrite
        self.protect = protect
        self.path = self.save_dir / filename
        self.save_interval = save_interval

    def attach(self, engine: Engine) -> None:
        """Check/resume at ``STARTED``; save at every ``save_interval``-th ``EPOCH_COMPLETED``."""
        self.save_dict.setdefault("trainer", engine)
        engine.add_event_handler(Events.STARTED, self.start)
        engine.add_event_handler(Events.EPOCH_COMPLETED, self.epoch_completed)

    def start(self, engine: Engine) -> None:
        """Resume from the checkpoint, or refuse to overwrite an earlier run."""
        if self.resume and self.path.is_file():
            self.load(engine)
            return
        if self.resume:
            logger.warning("resume requested but %s does not exist: starting afresh", self.path)
        if not self.overwrite:
            refuse_earlier_run(self.save_dir, (self.path.name, *self.protect))

    def load(self, engine: Engine) -> None:
        """Restore every object of ``save_dict`` and the RNG states from the checkpoint."""
        try:
            ckpt = torch.load(self.path, map_location="cpu", weights_only=False)
        except Exception as err:  # a damaged file must not be trained over silently
            raise ValueError(
                f"{self.path} could not be loaded ({type(err).__name__}: {err}); delete it to "
                "start afresh or restore it from a backup."
            ) from err
        missing = [k for k in self.save_dict if k not in ckpt]
        if missing:
            raise ValueError(
                f"{self.path} has no {missing[0]!r} entry; it is not a training checkpoint."
            )
        max_epochs = engine.state.max_epochs
        for key, obj in self.save_dict.items():
            obj.load_state_dict(ckpt[key])
        if "rng" in ckpt:
            set_rng_state(ckpt["rng"])
        if max_epochs is not None and engine.state.epoch >= max_epochs:
            logger.warning(
                "%s is at epoch %d, max_epochs is %d: nothing left to train (raise max_epochs)",
                self.path,
                engine.state.epoch,
                max_epochs,
            )
        engine.state.max_epochs = max(max_epochs or 0, engine.state.epoch)
        logger.info(
            "resumed from %s at epoch %d, iteration %d",
            self.path,
            engine.state.epoch,
            engine.state.iteration,
        )

    def epoch_completed(self, engine: Engine) -> None:
        """Write the checkpoint (main process only) every ``save_interval`` epochs."""
        last = engine.state.epoch == engine.state.max_epochs
        if engine.state.epoch % self.save_interval and not last:
            return
        if not is_main_process():
            return
        state = {key: obj.state_dict() for key, obj in self.save_dict.items()}
        state["rng"] = rng_state()
        with atomic_path(self.path) as tmp:
            torch.save(state, tmp)
        logger.info("checkpoint saved: %s (epoch %d)", self.path, engine.state.epoch)


class BestModelSaver:
    """Save the network as ``model.pt`` whenever the evaluator's kept epoch
    (``state.best_metric_epoch``: the key metric's best, or the latest calibrated epoch with
    :class:`~medunet.engines.PostprocessCalibration`'s ``keep="last"``) is this one,
    atomically: a run stopped mid-write (Ctrl-C, SIGTERM, a full disk) leaves the previous
    ``model.pt`` as it was, never a truncated one. MONAI's ``CheckpointSaver`` writes the
    file in place.

    Args:
        save_dir: the run's ``models`` folder.
        network: the (unwrapped) network whose ``state_dict`` is saved.
        filename: the model file's name.

    Attach it to the validation evaluator (after MONAI's key-metric comparison, which the
    evaluator itself registers first).
    """

    def __init__(self, save_dir: str | Path, network: torch.nn.Module, filename: str = "model.pt"):
        self.path = Path(save_dir) / filename
        self.network = network

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.EPOCH_COMPLETED, self)

    def __call__(self, engine: Engine) -> None:
        if getattr(engine.state, "best_metric_epoch", -1) != engine.state.epoch:
            return
        if not is_main_process():
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp:
            torch.save(self.network.state_dict(), tmp)
        logger.info(
            "model saved: %s (epoch %d, %s %.4f)",
            self.path,
            engine.state.epoch,
            engine.state.key_metric_name,
            float(engine.state.best_metric),
        )


class ModelCheckpointLoader(CheckpointLoader):
    """MONAI's ``CheckpointLoader`` that says where it looked when the model is missing."""

    def __init__(self, load_path: str | Path, load_dict: dict, **kwargs) -> None:
        path = Path(load_path)
        if not path.is_file():
            raise FileNotFoundError(
                f"no trained model at {path}; train one first (python -m monai.bundle run "
                "--config_file <bundle>/configs/train.yaml --bundle_root <bundle> --dataset_dir "
                "DIR) or point ckpt_path at a model file."
            )
        super().__init__(load_path=str(path), load_dict=load_dict, **kwargs)
