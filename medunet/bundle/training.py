"""Training a bundle into a run folder (what ``medunet train`` does).

The run folder holds everything of one training run: ``models/model.pt`` (the weights kept,
``keep_model``), ``models/checkpoint.pt`` (every epoch, for ``resume``), ``models/postprocess.json``
(microscopy: thresholds chosen on validation), ``models/spacing.json`` (CT/MRI),
``tensorboard/``, ``cache/``, ``config.json`` and ``run.json``
(:mod:`medunet.bundle.runs`). The dataset is checked (:func:`check_dataset`) before
anything is written, so a run refused for its data leaves nothing behind; the images it
loads are handed on to the training's loader (:mod:`medunet.data.handoff`): each case is
read once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from medunet.bundle.check import check_dataset
from medunet.bundle.config import device_override, layer_config
from medunet.bundle.planning import (
    FINGERPRINT_FILE,
    PLAN_FILE,
    plan_dataset,
    planning_enabled,
    write_plan,
)
from medunet.bundle.registry import resolve_bundle
from medunet.bundle.runs import CONFIG_FILE, LOG_FILE, read_run, write_run
from medunet.bundle.workflow import LogPolicy, run_workflow
from medunet.data import handoff
from medunet.data.earlier_run import refuse_earlier_run

__all__ = [
    "BUDGET_MAX_EPOCHS",
    "DatasetError",
    "data_overrides",
    "run_training",
]

logger = logging.getLogger(__name__)

#: the epoch cap of a time-budgeted run without an explicit number of epochs
BUDGET_MAX_EPOCHS = 10000


class DatasetError(ValueError):
    """The dataset failed :func:`check_dataset`; ``problems`` holds one line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        first = self.problems[0] if self.problems else "the dataset has problems"
        more = f" (and {len(self.problems) - 1} more; medunet check lists them)" if len(
            self.problems
        ) > 1 else ""  # fmt: skip
        super().__init__(first + more)


def _device_kind(device: str | None) -> str:
    """``cpu`` or ``cuda...``: the device training will use (the bundle's default: CUDA when
    there is one)."""
    if device is not None:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _run_overrides(
    config, epochs: int | None, time_budget: float | None, seed: int | None
) -> dict[str, Any]:
    """The config's overrides with the command's epochs, time budget and seed."""
    overrides = dict(config.overrides)
    if epochs is not None:
        overrides["max_epochs"] = epochs
    if time_budget is not None:
        overrides["time_budget"] = float(time_budget)
        overrides.setdefault("max_epochs", BUDGET_MAX_EPOCHS)
    if seed is not None:
        overrides["seed"] = int(seed)
    return overrides


def data_overrides(data: str | Path) -> dict[str, Any]:
    """``dataset_dir`` (a folder) or ``datalist`` + ``dataset_dir`` (a JSON file)."""
    path = Path(data).expanduser().resolve()
    if path.is_dir():
        return {"dataset_dir": str(path)}
    if path.is_file() and path.suffix.lower() == ".json":
        return {"datalist": str(path), "dataset_dir": str(path.parent)}
    if path.exists():
        raise ValueError(
            f"--data {data}: expected a folder with imagesTr/ and labelsTr/ or a datalist .json."
        )
    raise ValueError(f"--data {data} does not exist; give the dataset folder or datalist JSON.")


def run_training(
    bundle: str | Path,
    data: str | Path,
    output: str | Path,
    epochs: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    device: str | None = None,
    presets: Sequence[str | Path] = (),
    settings: Sequence[str] = (),
    progress: bool = True,
    time_budget: float | None = None,
    seed: int | None = None,
    log_policy: LogPolicy | None = None,
) -> Path:
    """Train ``bundle`` on ``data`` into the run folder ``output``; returns its ``models/model.pt``.

    Args:
        bundle: a bundle folder or the name of a shipped bundle.
        data: ``imagesTr/`` + ``labelsTr/`` folder, or a MONAI datalist JSON.
        output: the run folder.
        epochs: number of epochs (default: the bundle's); with ``time_budget`` a cap.
        resume: continue the run in ``output`` with its own presets and overrides.
        overwrite: replace an earlier run in ``output``.
        device: ``cpu``, ``cuda`` or ``cuda:N`` (default: the bundle's choice).
        presets: preset names or YAML files layered over the bundle's config.
        settings: ``ID=VALUE`` overrides.
        progress: show the progress bar.
        time_budget: training seconds: stop after the epoch that crosses it, the learning
            rate schedule fitted to it (:class:`medunet.engines.TimeBudget`).
        seed: random seed (default: the bundle's).
        log_policy: applied once the bundle's loggers exist (the command line's).

    Raises:
        ValueError: bad options; :class:`DatasetError` for problems in the data.
        FileExistsError: ``output`` holds an earlier run and neither ``resume`` nor
            ``overwrite`` was given.
    """
    run_dir = Path(output).expanduser().resolve()
    checkpoint = run_dir / "models" / "checkpoint.pt"
    if resume and overwrite:
        raise ValueError(
            "--resume continues the run in --output and --overwrite replaces it; pick one."
        )
    if resume and not checkpoint.is_file():
        raise ValueError(f"--resume: {checkpoint} does not exist; train without --resume first.")
    if not (resume or overwrite):
        refuse_earlier_run(run_dir / "models")
    if epochs is not None and epochs < 1:
        raise ValueError(f"--epochs must be at least 1, got {epochs}.")
    if time_budget is not None and not time_budget > 0:
        raise ValueError(f"--time-budget must be a positive number of seconds, got {time_budget}.")
    bund = resolve_bundle(bundle)
    previous = read_run(checkpoint) if resume else None
    config = layer_config(bund, "train", presets, settings, run=previous)
    data_ids = data_overrides(data)
    device_ids = device_override(device)
    overrides = _run_overrides(config, epochs, time_budget, seed)
    try:
        planned = None
        with handoff.keeping():  # each case read once: the training takes what the check loads
            if not resume and planning_enabled(config):
                planned = plan_dataset(config, data_ids, _device_kind(device), time_budget)
                report = planned.report
            else:
                report = check_dataset(config, {**overrides, **data_ids})
        if not report.ok:
            raise DatasetError(report.problems)
        logger.info("dataset: %s", report.summary().replace("\n", "; "))
        run_dir.mkdir(parents=True, exist_ok=True)
        record, planned_line = None, ""
        if planned is not None:
            plan_file = write_plan(planned, run_dir, str(data), bund.name)
            config = layer_config(bund, "train", [plan_file, *presets], settings)
            record = {
                "file": PLAN_FILE,
                "fingerprint": FINGERPRINT_FILE,
                "settings": planned.plan.settings,
                "left_to_presets": planned.kept,
            }
            # one line with the training's: a terminal shows few
            chosen = ", ".join(f"{k}={v}" for k, v in planned.plan.settings.items())
            planned_line = f", planned ({PLAN_FILE}: {chosen})"
        write_run(run_dir, bund, config.presets, overrides, plan=record)
        workflow_overrides = {
            **overrides,
            **data_ids,
            **device_ids,
            "bundle_root": str(bund.root),
            "ckpt_dir": str(run_dir / "models"),
            "output_dir": str(run_dir),
            "cache_dir": str(run_dir / "cache"),
            "resume": resume,
            "overwrite": overwrite,
            "show_progress": progress,
        }
        logger.info(
            "training %s into %s%s (config: %s)",
            bund.name, run_dir, planned_line, [str(f) for f in config.files],
        )  # fmt: skip
        run_workflow(
            config.files,
            workflow_overrides,
            bund.meta_file,
            run_dir / CONFIG_FILE,
            log_policy,
            run_dir / LOG_FILE,
        )
    finally:
        handoff.release()  # what the check loaded and the training did not take
    model = run_dir / "models" / "model.pt"
    logger.info("model: %s", model)
    return model
