"""The evaluator's scores in the log: a line per validation, a per-image table at the end.

MONAI's ``StatsHandler`` logs through ignite's engine loggers, which the command line keeps
off the terminal; :class:`ValidationReport` writes the same scores as one medunet line.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from ignite.engine import Engine, Events

__all__ = ["PerImageScores", "ValidationReport"]

logger = logging.getLogger(__name__)


def _names(batch) -> list[str]:
    items = batch if isinstance(batch, list) else [batch]
    names = []
    for item in items:
        image = item.get("image") if isinstance(item, dict) else None
        meta = getattr(image, "meta", None) or {}
        source = meta.get("filename_or_obj", "?")
        source = source[0] if isinstance(source, (list, tuple)) else source
        names.append(Path(str(source)).name)
    return names


class PerImageScores:
    """Log one line per image with every score of ``engine.state.metric_details``.

    Attach it to an evaluator whose metric handlers save details (MONAI's
    ``IgniteMetricHandler`` does by default).
    """

    def __init__(self) -> None:
        self._names: list[str] = []

    def attach(self, engine: Engine) -> None:
        """Collect file names per iteration, log the table when the run completes."""
        engine.add_event_handler(Events.STARTED, lambda e: self._names.clear())
        engine.add_event_handler(Events.ITERATION_COMPLETED, self._collect)
        engine.add_event_handler(Events.COMPLETED, self._report)

    def _collect(self, engine: Engine) -> None:
        self._names.extend(_names(engine.state.batch))

    def _report(self, engine: Engine) -> None:
        details = getattr(engine.state, "metric_details", None) or {}
        columns = {k: torch.as_tensor(v).reshape(len(self._names), -1) for k, v in details.items()}
        if not columns:
            return
        logger.info(
            "per-image scores (one value per class where a score has several): %s",
            ", ".join(columns),
        )
        for i, name in enumerate(self._names):
            values = ", ".join(
                f"{k} " + " ".join(f"{float(x):.4f}" for x in v[i]) for k, v in columns.items()
            )
            logger.info("  %s: %s", name, values)


class ValidationReport:
    """One line per validation: every metric, and the epoch ``model.pt`` holds (the best key
    metric so far, or the epoch the calibration keeps)."""

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.EPOCH_COMPLETED, self._report)

    def _report(self, engine: Engine) -> None:
        metrics = getattr(engine.state, "metrics", None) or {}
        if not metrics:
            return
        values = ", ".join(f"{k} {float(v):.4f}" for k, v in metrics.items())
        best = getattr(engine.state, "best_metric", None)
        key = getattr(engine.state, "key_metric_name", None)
        best_text = (
            f"; model.pt: epoch {engine.state.best_metric_epoch} ({key} {float(best):.4f})"
            if key and best is not None and engine.state.best_metric_epoch > 0
            else ""
        )
        logger.info("validation at epoch %d: %s%s", engine.state.epoch, values, best_text)
