"""Planning a training run from its dataset (what ``medunet plan`` and ``medunet train`` do).

:func:`plan_dataset` reads every labelled case once, through the bundle's own loading and
checks (:func:`~medunet.bundle.check_dataset`), measures it into a
:class:`~medunet.planning.DatasetFingerprint` and derives a
:class:`~medunet.planning.Plan` for the device and time budget. Settings a given preset or
``--set`` fixes stay theirs: the plan is layered *under* them (bundle, plan, presets,
overrides). :func:`write_plan` writes ``plan.yaml`` (a preset) and ``fingerprint.json``.

A config whose ``plan`` is false (the dataset presets ``isbi2012_em``, ``phc_u373``, ...,
a ``plan.yaml`` itself, or ``--set plan=false``) is used as written.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medunet.bundle.check import DatasetReport, check_dataset
from medunet.bundle.config import LayeredConfig, read_configs, spatial_dims_of
from medunet.data.io import atomic_path
from medunet.planning import DatasetFingerprint, Plan, make_plan, plan_yaml

__all__ = [
    "FINGERPRINT_FILE",
    "PLAN_FILE",
    "PlannedDataset",
    "plan_dataset",
    "planning_enabled",
    "write_plan",
]

#: the plan of a run (a preset) and the fingerprint it came from, in the run folder
PLAN_FILE = "plan.yaml"
FINGERPRINT_FILE = "fingerprint.json"
#: ids the plan derives from the data that the dataset check would otherwise check first
_PLANNED_CHECKS = ("num_classes", "in_channels")
# planned ids that only hold with another planned id: a fixed tile keeps the bundle's halo
_TIED = {"halo": "output_tile"}


@dataclass
class PlannedDataset:
    """A dataset's check report, fingerprint and plan (settings a preset or ``--set`` fixes
    are left out of ``plan``)."""

    report: DatasetReport
    fingerprint: DatasetFingerprint
    plan: Plan
    kept: dict[str, Any]  # planned ids that a preset or --set decides instead


def planning_enabled(config: LayeredConfig, overrides: dict[str, Any] | None = None) -> bool:
    """Whether the run plans from its data: the config's ``plan`` (absent: no)."""
    overrides = {**config.overrides, **(overrides or {})}
    if "plan" in overrides:
        return bool(overrides["plan"])
    return "plan" in config.parser and bool(config.parser["plan"])


def _fixed_ids(config: LayeredConfig) -> set[str]:
    """Ids that the given presets or the overrides set (these win over the plan)."""
    fixed = set(config.overrides)
    if config.presets:
        fixed |= set(read_configs(config.presets).get())
    return fixed


def plan_dataset(
    config: LayeredConfig,
    overrides: dict[str, Any] | None = None,
    device: str = "cpu",
    time_budget: float | None = None,
) -> PlannedDataset:
    """Check and measure the dataset of a ``train`` config and plan the run.

    Args:
        config: the bundle's ``train`` task with the given presets and overrides.
        overrides: more ids (the data folder: ``dataset_dir``/``datalist``).
        device: the training device (``cpu``, ``cuda``...).
        time_budget: training seconds, if any.
    """
    fixed = _fixed_ids(config)
    free: dict[str, Any] = {
        k: None for k in _PLANNED_CHECKS if k not in fixed and k in config.parser
    }
    if "val_regions" in config.parser:  # every case is read once, whatever the split
        free["val_regions"] = 0.5
    classes = "label_instances" not in config.parser
    fingerprint = DatasetFingerprint(spatial_dims_of(config.bundle, config.parser), classes)
    report = check_dataset(config, {**(overrides or {}), **free}, fingerprint)
    plan = Plan("volume" if classes else "microscopy")
    channels = {c.channels for c in fingerprint.cases}
    if report.ok and len(channels) > 1 and "in_channels" in free:
        # cases disagree: the check against the bundle's channels names the odd ones
        del free["in_channels"]
        report = check_dataset(config, {**(overrides or {}), **free})
    if report.ok and fingerprint.cases:
        plan = make_plan(fingerprint, device, time_budget)
        if len(channels) == 1 and "in_channels" in config.parser:
            plan.settings = {"in_channels": channels.pop(), **plan.settings}
            plan.reasons["in_channels"] = "channels of the images"
    fixed |= {k for k, other in _TIED.items() if other in fixed}
    kept = {k: v for k, v in plan.settings.items() if k in fixed}
    plan.settings = {k: v for k, v in plan.settings.items() if k not in fixed}
    return PlannedDataset(report, fingerprint, plan, kept)


def write_plan(planned: PlannedDataset, folder: str | Path, source: str, bundle: str) -> Path:
    """Write ``plan.yaml`` and ``fingerprint.json`` into ``folder`` (atomically); returns
    the plan's path."""
    from medunet import __version__

    folder = Path(folder)
    header = [
        f"medunet plan for {bundle} on {source} (medunet {__version__}, "
        f"{datetime.date.today().isoformat()}); the data it measured: {FINGERPRINT_FILE}.",
        "A preset: edit any value, or train with it as it is: medunet train ... --preset "
        f"{PLAN_FILE}",
    ]
    if planned.kept:
        header.append(
            "Left to the given presets / --set: "
            + ", ".join(f"{k} (planned {v!r})" for k, v in planned.kept.items())
        )
    plan_path = folder / PLAN_FILE
    with atomic_path(plan_path, overwrite=True) as tmp:
        tmp.write_text(plan_yaml(planned.plan, header))
    with atomic_path(folder / FINGERPRINT_FILE, overwrite=True) as tmp:
        tmp.write_text(json.dumps(planned.fingerprint.summary(), indent=2))
    return plan_path
