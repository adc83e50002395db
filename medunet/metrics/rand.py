"""Rand errors of the ISBI 2012 challenge: 1 - the foreground-restricted Rand F-score.

Only pixels with a non-zero *truth* label count (the truth's background is ignored); the
prediction's labels, its background included, are compared as they are. With the sparse
contingency table ``n_ij`` of those pixels (N of them), row sums ``a_i``, column sums
``b_j``::

    precision = (sum n_ij^2 - N) / (sum b_j^2 - N)
    recall    = (sum n_ij^2 - N) / (sum a_i^2 - N)
    error     = 1 - 2 precision recall / (precision + recall)

(Arganda-Carreras et al. 2015, Front. Neuroanat.; the same as scikit-image's
``adapted_rand_error``), in time and memory proportional to the pixels plus the distinct
overlapping pairs, so 3D volumes are cheap.

:func:`rand_error` scores the labels as they are: background the prediction leaves inside a
true object is one more segment, so thick predicted boundaries count as merges (no
thinning, as on the challenge's first leaderboard, where the U-Net paper's 0.0382 stands).
:func:`thinned_rand_error` is the challenge's final official score (V_Rand after border
thinning, same paper): the prediction's regions first grow one pixel at a time over its
background (each pixel takes the largest label among its 3^d neighbours) until no true
object pixel is left without a label, so a boundary's width costs nothing and only splits
and merges count.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from medunet.metrics.contingency import contingency_table

__all__ = ["rand_error", "thin_boundaries", "thinned_rand_error"]


def rand_error(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """``(error, precision, recall)`` of instance labels ``pred`` against ``truth``.

    Both are integer label images of one shape (2D or 3D), 0 = background. When the truth
    has no foreground, or no pair of foreground pixels shares a label, precision and recall
    are taken as 1 and 0 for degenerate terms (the error is then 0 only for a perfect match).
    """
    pred, truth = np.asarray(pred), np.asarray(truth)
    if pred.shape != truth.shape:
        raise ValueError(f"prediction {pred.shape} and truth {truth.shape} differ in shape.")
    mask = truth != 0
    n = int(np.count_nonzero(mask))
    if n == 0:
        return (0.0 if not np.any(pred) else 1.0), 1.0, 1.0
    table, _, _ = contingency_table(truth[mask], pred[mask])
    sum_p2 = float((table.data.astype(np.float64) ** 2).sum()) - n
    a = np.asarray(table.sum(axis=1), dtype=np.float64).ravel()
    b = np.asarray(table.sum(axis=0), dtype=np.float64).ravel()
    sum_a2 = float((a**2).sum()) - n
    sum_b2 = float((b**2).sum()) - n
    precision = sum_p2 / sum_b2 if sum_b2 > 0 else 1.0
    recall = sum_p2 / sum_a2 if sum_a2 > 0 else 1.0
    f = 2.0 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return 1.0 - f, precision, recall


def thin_boundaries(pred: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``pred`` with its background inside ``mask`` taken by its regions, grown one pixel at a
    time (each background pixel takes the largest label among its 3^d neighbours), as the
    ISBI 2012 challenge thins boundaries; a prediction without any region is returned as
    it is. Shapes: ``pred`` and ``mask`` ``(*spatial)``, 2D or 3D."""
    pred = np.array(pred, copy=True)
    mask = np.asarray(mask, bool)
    if pred.shape != mask.shape:
        raise ValueError(f"prediction {pred.shape} and mask {mask.shape} differ in shape.")
    if not pred.any():
        return pred
    while True:
        empty = pred == 0
        if not (empty & mask).any():
            return pred
        pred[empty] = ndi.maximum_filter(pred, size=3)[empty]


def thinned_rand_error(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """``(error, precision, recall)`` of :func:`rand_error` after :func:`thin_boundaries`
    of ``pred`` over the truth's objects: the ISBI 2012 challenge's final V_Rand (as an
    error, 1 - V_Rand) of one segmentation."""
    pred, truth = np.asarray(pred), np.asarray(truth)
    if pred.shape != truth.shape:
        raise ValueError(f"prediction {pred.shape} and truth {truth.shape} differ in shape.")
    return rand_error(thin_boundaries(pred, truth != 0), truth)
