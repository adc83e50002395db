"""Engines: what the bundles add to MONAI's trainer and evaluator (checkpoints, DDP, logging)."""

from __future__ import annotations

from medunet.engines.budget import TimeBudget
from medunet.engines.calibration import PostprocessCalibration, calibrate_postprocess
from medunet.engines.checkpoint import (
    BestModelSaver,
    ModelCheckpointLoader,
    TrainingCheckpoint,
    rng_state,
    set_rng_state,
)
from medunet.engines.distributed import (
    ddp_network,
    distributed_device,
    handlers_for_rank,
    is_main_process,
    rank_seed,
)
from medunet.engines.guards import NonFiniteLossError, NonFiniteLossGuard
from medunet.engines.handlers import (
    evaluation_handlers,
    metric_handlers,
    training_handlers,
    validation_handlers,
)
from medunet.engines.optim import build_optimizer
from medunet.engines.progress import TrainingProgress
from medunet.engines.report import PerImageScores, ValidationReport
from medunet.engines.tensorboard import ImagePreview, LearningRateLogger
from medunet.engines.validation import PeriodicValidation

__all__ = [
    "BestModelSaver",
    "ImagePreview",
    "LearningRateLogger",
    "ModelCheckpointLoader",
    "NonFiniteLossError",
    "NonFiniteLossGuard",
    "PerImageScores",
    "PeriodicValidation",
    "PostprocessCalibration",
    "TimeBudget",
    "TrainingCheckpoint",
    "TrainingProgress",
    "ValidationReport",
    "build_optimizer",
    "calibrate_postprocess",
    "ddp_network",
    "distributed_device",
    "evaluation_handlers",
    "handlers_for_rank",
    "is_main_process",
    "metric_handlers",
    "rank_seed",
    "rng_state",
    "set_rng_state",
    "training_handlers",
    "validation_handlers",
]
