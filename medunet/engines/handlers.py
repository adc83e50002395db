"""The handler sets of a medunet bundle, built in one place for every bundle.

Both bundles train, validate and evaluate with the same handlers in the same order (the
order matters: the time budget decides the last epoch before validation runs, the
checkpoint is written last). A bundle config asks for them with one ``_target_`` each, so
the bundles stay self-contained model-zoo folders without repeating these blocks:

- :func:`training_handlers`: ``train#handlers``;
- :func:`validation_handlers`: ``validate#handlers`` (logging, previews, best model);
- :func:`evaluation_handlers`: ``validate#handlers`` of ``evaluate.yaml``;
- :func:`metric_handlers`: ``validate#key_metric`` and ``validate#additional_metrics``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ignite.engine import Events
from monai.handlers import (
    CheckpointLoader,
    IgniteMetricHandler,
    LrScheduleHandler,
    MetricsSaver,
    StatsHandler,
    TensorBoardStatsHandler,
    from_engine,
)

from medunet.data import handoff
from medunet.engines.budget import TimeBudget
from medunet.engines.calibration import PostprocessCalibration
from medunet.engines.checkpoint import BestModelSaver, ModelCheckpointLoader, TrainingCheckpoint
from medunet.engines.guards import NonFiniteLossGuard
from medunet.engines.progress import TrainingProgress
from medunet.engines.report import PerImageScores, ValidationReport
from medunet.engines.tensorboard import ImagePreview, LearningRateLogger
from medunet.engines.validation import PeriodicValidation

__all__ = ["ReleaseHandedOn", "evaluation_handlers", "metric_handlers", "training_handlers",
           "validation_handlers"]  # fmt: skip


class ReleaseHandedOn:
    """Drops the images that the dataset check handed on (:mod:`medunet.data.handoff`)
    after the first epoch and its validation, which took the ones they load."""

    def attach(self, engine: Any) -> None:
        engine.add_event_handler(Events.EPOCH_COMPLETED(once=1), lambda _: handoff.release())


def training_handlers(
    validator: Any,
    lr_scheduler: Any,
    optimizer: Any,
    summary_writer: Any,
    ckpt_dir: str | Path,
    save_dict: Mapping[str, Any],
    val_interval: int = 5,
    time_budget: float | None = None,
    val_time_share: float | None = 0.1,
    resume: bool = False,
    overwrite: bool = False,
    show_progress: bool = True,
    preview_keys: Sequence[str] = ("image", "label"),
    preview_outputs: Sequence[str] = ("pred",),
    pretrained: str | Path | None = None,
) -> list:
    """The trainer's handlers, in order.

    Args:
        validator: the validation evaluator (run every ``val_interval`` epochs and last).
        lr_scheduler: stepped once per epoch; fitted to ``time_budget`` when one is given.
        optimizer: its learning rate goes to TensorBoard.
        summary_writer: the run's TensorBoard writer.
        ckpt_dir: where ``checkpoint.pt`` goes (and where ``model.pt`` is kept).
        save_dict: what the checkpoint holds (``model``, ``optimizer``, ``lr_scheduler``).
        time_budget: training seconds (:class:`TimeBudget`), ``None``: epochs decide.
        val_time_share: with a ``time_budget``, validation takes at most this share of the
            time (:class:`PeriodicValidation`); ``None``: every ``val_interval`` epochs.
        resume, overwrite: :class:`TrainingCheckpoint`'s.
        show_progress: the progress bar.
        preview_keys, preview_outputs: what :class:`ImagePreview` draws.
        pretrained: weights to start from (fine-tuning, e.g. MONAI Label's next round);
            ``None`` or a missing file: the network's own initialisation.
    """
    ckpt_dir = Path(ckpt_dir)
    handlers: list = []
    if pretrained is not None and Path(pretrained).is_file() and not resume:
        handlers.append(
            CheckpointLoader(
                load_path=str(pretrained), load_dict={"model": save_dict["model"]}, strict=False
            )
        )
    handlers += [
        TimeBudget(time_budget, lr_scheduler=lr_scheduler),  # before validation: last epoch
        LrScheduleHandler(lr_scheduler=lr_scheduler, print_lr=True),
        PeriodicValidation(  # every interval (within the share of a budget) and the last
            validator,
            interval=val_interval,
            time_share=val_time_share if time_budget else None,
        ),
        ReleaseHandedOn(),  # after the first validation, which takes its cases too
        TrainingProgress(summary_writer=summary_writer, bar=show_progress),
        TensorBoardStatsHandler(
            summary_writer=summary_writer,
            tag_name="train_loss",
            output_transform=from_engine(["loss"], first=True),
        ),
        LearningRateLogger(summary_writer=summary_writer, optimizer=optimizer),
        ImagePreview(
            summary_writer=summary_writer,
            tag="train",
            batch_keys=list(preview_keys),
            output_keys=list(preview_outputs),
            interval=val_interval,
        ),
        NonFiniteLossGuard(checkpoint=ckpt_dir / "checkpoint.pt"),  # NaN/Inf: stop, no save
        TrainingCheckpoint(  # last: saves the state after the epoch
            save_dir=ckpt_dir,
            save_dict=dict(save_dict),
            resume=resume,
            overwrite=overwrite,
            protect=("model.pt",),
        ),
    ]
    return handlers


def validation_handlers(
    summary_writer: Any,
    ckpt_dir: str | Path,
    model: Any,
    preview_keys: Sequence[str] = ("image", "label"),
    preview_outputs: Sequence[str] = ("pred",),
    calibration: PostprocessCalibration | None = None,
) -> list:
    """The validation evaluator's handlers: scores to the log and TensorBoard, previews,
    post-processing calibration (microscopy), and ``model.pt`` at the best key metric
    (written atomically: :class:`~medunet.engines.BestModelSaver`)."""
    handlers: list = [calibration] if calibration is not None else []  # first: the key
    handlers += [
        StatsHandler(iteration_log=False),
        ValidationReport(),
        TensorBoardStatsHandler(summary_writer=summary_writer, iteration_log=False),
        ImagePreview(
            summary_writer=summary_writer,
            tag="validation",
            batch_keys=list(preview_keys),
            output_keys=list(preview_outputs),
        ),
    ]
    handlers.append(BestModelSaver(save_dir=ckpt_dir, network=model))  # atomic model.pt
    return handlers


def evaluation_handlers(ckpt_path: str | Path, network: Any, output_dir: str | Path) -> list:
    """``evaluate.yaml``'s handlers: load ``ckpt_path``, log per-image scores, and write
    MONAI's ``MetricsSaver`` CSV files (per image, with file names, and summaries)."""
    return [
        ModelCheckpointLoader(load_path=ckpt_path, load_dict={"model": network}),
        StatsHandler(iteration_log=False),
        PerImageScores(),
        MetricsSaver(
            save_dir=str(output_dir),
            metrics="*",
            metric_details="*",
            batch_transform=_image_meta,
            summary_ops="*",
        ),
    ]


def _image_meta(batch: Sequence[Mapping[str, Any]]) -> list:
    return [item["image"].meta for item in batch]


def metric_handlers(
    names: Sequence[str], kind: str = "segmentation", output_keys: Sequence[str] = ("pred", "label")
) -> dict[str, IgniteMetricHandler]:
    """``{"val_<name>": IgniteMetricHandler}`` for each score name.

    Args:
        names: scores of :class:`~medunet.metrics.SegmentationScore` (``kind="segmentation"``:
            ``ap50``, ``rand_error``, ...) or :class:`~medunet.metrics.VolumeScore`
            (``kind="volume"``: ``dice`` (reported as ``val_mean_dice``), ``hd95``).
        output_keys: the evaluator output keys of prediction and truth.
    """
    from medunet.metrics import SegmentationScore, VolumeScore

    if kind not in ("segmentation", "volume"):
        raise ValueError(f"kind must be 'segmentation' or 'volume', got {kind!r}.")
    out = {}
    for name in names:
        metric = SegmentationScore(name) if kind == "segmentation" else VolumeScore(name)
        label = "mean_dice" if (kind, name) == ("volume", "dice") else name
        out[f"val_{label}"] = IgniteMetricHandler(
            metric_fn=metric, output_transform=from_engine(list(output_keys))
        )
    return out
