"""Pixel-level scores of a binary segmentation: foreground IoU, Dice and pixel error."""

from __future__ import annotations

import numpy as np

__all__ = ["dice", "foreground_iou", "pixel_error"]


def _binary(pred: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, truth = np.asarray(pred) > 0, np.asarray(truth) > 0
    if pred.shape != truth.shape:
        raise ValueError(f"prediction {pred.shape} and truth {truth.shape} differ in shape.")
    return pred, truth


def foreground_iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """|P & T| / |P | T| of the foregrounds (labels > 0); 1.0 when both are empty."""
    p, t = _binary(pred, truth)
    union = np.count_nonzero(p | t)
    return float(np.count_nonzero(p & t) / union) if union else 1.0


def dice(pred: np.ndarray, truth: np.ndarray) -> float:
    """2 |P & T| / (|P| + |T|) of the foregrounds; 1.0 when both are empty."""
    p, t = _binary(pred, truth)
    total = np.count_nonzero(p) + np.count_nonzero(t)
    return float(2.0 * np.count_nonzero(p & t) / total) if total else 1.0


def pixel_error(pred: np.ndarray, truth: np.ndarray) -> float:
    """Fraction of pixels whose foreground/background assignment differs (ISBI 2012)."""
    p, t = _binary(pred, truth)
    return float(np.count_nonzero(p != t) / p.size) if p.size else 0.0
