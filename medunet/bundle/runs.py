"""The records of a training run folder: ``run.json`` and ``config.json``.

``medunet train`` writes into its run folder ``run.json`` (the bundle, the presets and the
``--set`` overrides: what ``--resume``, ``medunet infer`` and ``export`` reuse so that the
network matches the weights) and ``config.json`` (the whole merged config, runnable again by
``python -m monai.bundle run --config_file RUN/config.json``); the command line also keeps
the run's whole log in ``medunet.log``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from medunet.bundle.registry import Bundle, list_presets
from medunet.data.io import atomic_path

__all__ = ["CONFIG_FILE", "LOG_FILE", "RUN_FILE", "preset_record", "read_run", "write_run"]

#: what ``medunet train`` records in its run folder: bundle, presets and overrides
RUN_FILE = "run.json"
#: the merged config of the run
CONFIG_FILE = "config.json"
#: the run's whole log (the command line writes it; tracebacks of failures included)
LOG_FILE = "medunet.log"


def preset_record(preset: Path, run_dir: Path | None = None) -> str:
    """How ``run.json`` names a preset: a shipped (or ``$MEDUNET_PRESETS``) preset by its
    name, so the run still finds it after medunet moves (a reinstall, another machine); a
    file inside the run folder (its ``plan.yaml``) relative to it, so the folder can move;
    any other file by its absolute path."""
    presets = list_presets()
    if presets.get(preset.stem) is not None and presets[preset.stem].resolve() == preset.resolve():
        return preset.stem
    if run_dir is not None and preset.resolve().is_relative_to(Path(run_dir).resolve()):
        return preset.resolve().relative_to(Path(run_dir).resolve()).as_posix()
    return str(preset.resolve())


def write_run(
    run_dir: Path,
    bundle: Bundle,
    presets: Sequence[Path],
    overrides: dict,
    plan: dict | None = None,
) -> None:
    """Record bundle, presets and user overrides of a training run in ``run_dir/run.json``
    (and, for a planned run, the plan: its file, fingerprint and settings)."""
    record = {
        "bundle": bundle.name,
        "presets": [preset_record(Path(p), run_dir) for p in presets],
        "set": overrides,
    }
    if plan is not None:
        record["plan"] = plan
    with atomic_path(Path(run_dir) / RUN_FILE) as tmp:
        tmp.write_text(json.dumps(record, indent=2))


def read_run(model: Path) -> dict | None:
    """The ``run.json`` of the run a model file belongs to (``RUN/models/model.pt``), if any."""
    for folder in (model.parent, model.parent.parent):
        path = folder / RUN_FILE
        if path.is_file():
            try:
                record = json.loads(path.read_text())
            except json.JSONDecodeError as err:
                raise ValueError(f"{path} is not valid JSON ({err}); delete or repair it.") from err
            # presets recorded relative to the run folder (its plan.yaml) are found there
            record["presets"] = [
                str(folder / p) if not Path(p).is_absolute() and (folder / p).is_file() else p
                for p in record.get("presets", [])
            ]
            return record
    return None
