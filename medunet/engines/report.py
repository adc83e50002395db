"""A per-image table of the evaluator's scores in the log (MONAI logs only the means)."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from ignite.engine import Engine, Events

__all__ = ["PerImageScores"]

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
