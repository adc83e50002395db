"""The segmentation scores as a MONAI metric, for validation, evaluation and the CLI.

:class:`SegmentationScore` is a MONAI ``CumulativeIterationMetric``: it keeps one value per
image (gathered across DDP ranks by MONAI) and aggregates the mean, so it plugs into
``IgniteMetricHandler`` (per-image details for ``MetricsSaver``'s CSV) like MONAI's own
metrics. :func:`segmentation_scores` computes all of them for one image at once.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from monai.metrics import CumulativeIterationMetric
from monai.utils import convert_data_type

from medunet.metrics.instances import match_instances
from medunet.metrics.pixels import dice, foreground_iou, pixel_error
from medunet.metrics.rand import rand_error, thinned_rand_error
from medunet.metrics.warping import warping_error

__all__ = ["SCORE_NAMES", "SegmentationScore", "segmentation_scores"]

#: name -> (higher is better)
SCORE_NAMES = {
    "foreground_iou": True,
    "dice": True,
    "pixel_error": False,
    "rand_error": False,
    "rand_error_thinned": False,
    "warping_error": False,
    "ap50": True,
    "ap75": True,
    "mean_ap": True,
    "f1_50": True,
    "merged": False,
    "split": False,
}


def segmentation_scores(pred: np.ndarray, truth: np.ndarray, names=None) -> dict[str, float]:
    """The scores ``names`` (default: all of :data:`SCORE_NAMES`) of instance labels ``pred``
    against ``truth`` (arrays of one shape, 2D or 3D, 0 = background). The warping error is
    NaN for 3D volumes (defined here in 2D only)."""
    names = list(SCORE_NAMES) if names is None else list(names)
    unknown = [n for n in names if n not in SCORE_NAMES]
    if unknown:
        raise ValueError(f"unknown score {unknown[0]!r}; choose from {sorted(SCORE_NAMES)}.")
    pred, truth = np.asarray(pred), np.asarray(truth)
    out: dict[str, float] = {}
    if {"ap50", "ap75", "mean_ap", "f1_50", "merged", "split"} & set(names):
        m = match_instances(pred, truth)
        i50, i75 = m["thresholds"].index(0.5), m["thresholds"].index(0.75)
        out.update(
            ap50=m["ap"][i50],
            ap75=m["ap"][i75],
            mean_ap=m["mean_ap"],
            f1_50=m["f1"][i50],
            merged=float(m["merged"]),
            split=float(m["split"]),
        )
    if "foreground_iou" in names:
        out["foreground_iou"] = foreground_iou(pred, truth)
    if "dice" in names:
        out["dice"] = dice(pred, truth)
    if "pixel_error" in names:
        out["pixel_error"] = pixel_error(pred, truth)
    if "rand_error" in names:
        out["rand_error"] = rand_error(pred, truth)[0]
    if "rand_error_thinned" in names:
        out["rand_error_thinned"] = thinned_rand_error(pred, truth)[0]
    if "warping_error" in names:
        out["warping_error"] = warping_error(pred, truth)[0] if pred.ndim == 2 else math.nan
    return {n: float(out[n]) for n in names}


class SegmentationScore(CumulativeIterationMetric):
    """One score of :func:`segmentation_scores` per image, averaged (NaN-aware).

    Args:
        name: one of :data:`SCORE_NAMES` (``"ap50"``, ``"foreground_iou"``, ``"rand_error"``...).

    Shapes:
        ``y_pred`` and ``y``: ``(B, 1, *spatial)`` integer instance labels (or binary masks).
    """

    def __init__(self, name: str = "ap50") -> None:
        super().__init__()
        if name not in SCORE_NAMES:
            raise ValueError(f"unknown score {name!r}; choose from {sorted(SCORE_NAMES)}.")
        self.name = name

    def _compute_tensor(self, y_pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        p = convert_data_type(y_pred, np.ndarray)[0]
        t = convert_data_type(y, np.ndarray)[0]
        if p.shape != t.shape or p.ndim < 4 or p.shape[1] != 1:
            raise ValueError(
                f"SegmentationScore needs (B, 1, *spatial) prediction and truth of one shape, "
                f"got {p.shape} and {t.shape}."
            )
        values = [
            segmentation_scores(p[b, 0].astype(np.int64), t[b, 0].astype(np.int64), [self.name])[
                self.name
            ]
            for b in range(p.shape[0])
        ]
        return torch.tensor(values, dtype=torch.float32).reshape(-1, 1)

    def aggregate(self) -> torch.Tensor:
        """The mean over images, ignoring NaN (e.g. the warping error of 3D volumes)."""
        data = self.get_buffer()
        if not isinstance(data, torch.Tensor) or data.numel() == 0:
            return torch.tensor(float("nan"))
        return torch.nanmean(data.float())
