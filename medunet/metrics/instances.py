"""Object-level scores: optimal one-to-one matching by IoU, AP over thresholds, merges, splits.

IoU of every overlapping (true, predicted) object pair comes from the sparse contingency
table. At a threshold t, true and predicted objects are matched one-to-one to maximise the
number of pairs with IoU >= t (for t >= 0.5 the pairs above t are already unique; below it
the Hungarian algorithm on the pair IoUs decides). Then, as in the Data Science Bowl 2018
and StarDist: ``TP`` matched pairs, ``FP`` unmatched predictions, ``FN`` unmatched truths;
precision ``TP/(TP+FP)``, recall ``TP/(TP+FN)``, F1, and ``AP = TP/(TP+FP+FN)``.

Merges and splits (for the touching cells the weight map exists for): a predicted object
*merges* the true objects of which it covers at least ``cover`` (default half) of the
pixels, when there are two or more; a true object is *split* when two or more predicted
objects each have at least ``cover`` of their pixels inside it. ``merged`` counts the true
objects involved in merges, ``split`` the true objects split.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from medunet.metrics.contingency import contingency_table

__all__ = ["DEFAULT_THRESHOLDS", "match_instances"]

DEFAULT_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))


def _matches(iou: np.ndarray, threshold: float) -> int:
    """Number of one-to-one pairs with IoU >= threshold (maximum matching)."""
    if iou.size == 0:
        return 0
    good = iou >= threshold
    if not good.any():
        return 0
    if threshold > 0.5:  # IoU > 0.5 pairs are unique per row and column
        return int(good.sum())
    rows, cols = linear_sum_assignment(-(good.astype(np.float64) + 1e-6 * iou))
    return int(good[rows, cols].sum())


def match_instances(
    pred: np.ndarray,
    truth: np.ndarray,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    cover: float = 0.5,
) -> dict:
    """Instance scores of label image ``pred`` against ``truth`` (0 = background, 2D/3D).

    Returns:
        ``{"n_true", "n_pred", "thresholds", "tp", "fp", "fn", "precision", "recall", "f1",
        "ap" (lists, one value per threshold), "mean_ap" (over thresholds), "merged",
        "split", "merging_ids" (the predicted objects that merge), "split_ids" (the true
        objects split), "iou_matched_mean" (mean IoU of the pairs matched at 0.5)}``.
    """
    table, truth_ids, pred_ids = contingency_table(truth, pred)
    t_fg, p_fg = truth_ids != 0, pred_ids != 0
    overlap = (
        table[t_fg][:, p_fg].toarray().astype(np.float64)
        if t_fg.any() and p_fg.any()
        else (np.zeros((int(t_fg.sum()), int(p_fg.sum()))))
    )
    t_size = np.asarray(table.sum(axis=1), dtype=np.float64).ravel()[t_fg]
    p_size = np.asarray(table.sum(axis=0), dtype=np.float64).ravel()[p_fg]
    union = t_size[:, None] + p_size[None, :] - overlap
    iou = np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)
    n_true, n_pred = len(t_size), len(p_size)
    result: dict = {
        "n_true": n_true,
        "n_pred": n_pred,
        "thresholds": [float(t) for t in thresholds],
    }
    for name in ("tp", "fp", "fn", "precision", "recall", "f1", "ap"):
        result[name] = []
    for t in thresholds:
        tp = _matches(iou, float(t))
        fp, fn = n_pred - tp, n_true - tp
        result["tp"].append(tp)
        result["fp"].append(fp)
        result["fn"].append(fn)
        result["precision"].append(tp / (tp + fp) if tp + fp else 1.0)
        result["recall"].append(tp / (tp + fn) if tp + fn else 1.0)
        result["f1"].append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0)
        result["ap"].append(tp / (tp + fp + fn) if tp + fp + fn else 1.0)
    result["mean_ap"] = float(np.mean(result["ap"])) if thresholds else float("nan")
    # merges: a prediction covering >= cover of two or more true objects
    covers_true = overlap >= cover * t_size[:, None] if n_true else overlap.astype(bool)
    merging_preds = covers_true.sum(axis=0) >= 2
    result["merged"] = int(covers_true[:, merging_preds].any(axis=1).sum()) if n_pred else 0
    result["merging_ids"] = [int(i) for i in pred_ids[p_fg][merging_preds]]
    # splits: a true object holding >= cover of two or more predictions' pixels
    covers_pred = overlap >= cover * p_size[None, :] if n_pred else overlap.astype(bool)
    split_trues = covers_pred.sum(axis=1) >= 2
    result["split"] = int(split_trues.sum()) if n_true else 0
    result["split_ids"] = [int(i) for i in truth_ids[t_fg][split_trues]]
    matched = iou[iou >= 0.5]
    result["iou_matched_mean"] = float(matched.mean()) if matched.size else 0.0
    return result
