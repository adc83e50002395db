"""The records of a training run folder: ``run.json`` and ``config.json``.

``medunet train`` writes into its run folder ``run.json`` (the bundle, the presets and the
``--set`` overrides: what ``--resume``, ``medunet infer`` and ``export`` reuse so that the
network matches the weights) and ``config.json`` (the whole merged config, runnable again by
``python -m monai.bundle run --config_file RUN/config.json``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from medunet.bundle.registry import Bundle
from medunet.data.io import atomic_path

__all__ = ["CONFIG_FILE", "RUN_FILE", "read_run", "write_run"]

#: what ``medunet train`` records in its run folder: bundle, presets and overrides
RUN_FILE = "run.json"
#: the merged config of the run
CONFIG_FILE = "config.json"


def write_run(run_dir: Path, bundle: Bundle, presets: Sequence[Path], overrides: dict) -> None:
    """Record bundle, presets and user overrides of a training run in ``run_dir/run.json``."""
    record = {"bundle": str(bundle.root), "presets": [str(p) for p in presets], "set": overrides}
    with atomic_path(Path(run_dir) / RUN_FILE) as tmp:
        tmp.write_text(json.dumps(record, indent=2))


def read_run(model: Path) -> dict | None:
    """The ``run.json`` of the run a model file belongs to (``RUN/models/model.pt``), if any."""
    for folder in (model.parent, model.parent.parent):
        path = folder / RUN_FILE
        if path.is_file():
            try:
                return json.loads(path.read_text())
            except json.JSONDecodeError as err:
                raise ValueError(f"{path} is not valid JSON ({err}); delete or repair it.") from err
    return None
