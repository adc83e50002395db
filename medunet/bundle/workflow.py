"""Running a bundle config with MONAI's own machinery, under a log policy of the caller's.

:func:`run_workflow` is what ``python -m monai.bundle run`` does (MONAI's
:class:`~monai.bundle.ConfigWorkflow`), so no medunet command re-implements a bundle. What
the logs show is the caller's choice: the command line passes a policy that keeps
tracebacks off the terminal, a library user passes none and keeps MONAI's logging.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from monai.bundle import ConfigWorkflow

from medunet.data.io import atomic_path

__all__ = ["LogPolicy", "run_workflow"]

#: called with the run's log file (or None) once the workflow's components exist
LogPolicy = Callable[[Path | None], None]


def run_workflow(
    config_files: Sequence[Path],
    overrides: Mapping[str, Any],
    meta_file: Path | None = None,
    save_config: Path | None = None,
    log_policy: LogPolicy | None = None,
    log_file: Path | None = None,
) -> ConfigWorkflow:
    """Initialise, run and finalise a bundle config with MONAI's ``ConfigWorkflow``.

    Args:
        config_files: config files merged in order (bundle configs first, presets after).
        overrides: ``{id: value}`` applied on top (as ``python -m monai.bundle run --id value``).
        meta_file: the bundle's ``metadata.json``.
        save_config: where to write the merged config with the overrides (JSON, atomically),
            runnable again by ``python -m monai.bundle run --config_file``.
        log_policy: applied after initialisation, when the bundle's loggers exist, with
            ``log_file``.
        log_file: where the caller's policy may keep the run's whole log (a run folder's).

    Returns:
        The finished workflow (its ``parser`` holds the instantiated components).
    """
    workflow = ConfigWorkflow(
        config_file=[str(f) for f in config_files],
        meta_file=str(meta_file) if meta_file else None,
        logging_file=False,
        workflow_type=None,
        **dict(overrides),
    )
    workflow.initialize()
    if log_policy is not None:
        log_policy(log_file)
    if save_config is not None:
        with atomic_path(save_config, overwrite=True) as tmp:
            tmp.write_text(json.dumps(workflow.parser.get(), indent=2, default=str))
    try:
        workflow.run()
    finally:
        workflow.finalize()
    return workflow
