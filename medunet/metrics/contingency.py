"""The sparse contingency table of two label images, shared by the Rand and instance metrics."""

from __future__ import annotations

import numpy as np
from scipy import sparse

__all__ = ["contingency_table", "relabel_sequential"]


def relabel_sequential(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, compact)``: the sorted distinct values and the labels (flattened) as indices
    into them.

    Non-negative integer labels whose largest id is about the pixel count or less (a label
    image numbered 1..K) are compacted through a lookup table, in time linear in the pixels
    and memory no more than sorting takes; other values are sorted (``np.unique``), with
    the same result.
    """
    flat = np.asarray(labels).ravel()
    if flat.size and flat.dtype.kind in "biu":
        low, high = int(flat.min()), int(flat.max())
        if low >= 0 and high <= flat.size + 65536:
            keys = flat.astype(np.intp, copy=False)
            present = np.zeros(high + 1, bool)
            present[keys] = True
            index = np.cumsum(present, dtype=np.int64) - 1
            return np.flatnonzero(present).astype(flat.dtype), index[keys]
    ids, compact = np.unique(flat, return_inverse=True)
    return ids, compact.astype(np.int64)


def contingency_table(
    truth: np.ndarray, pred: np.ndarray
) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """Pixel counts ``n[i, j]`` of truth label ``i`` overlapping predicted label ``j``.

    Both arrays may hold any non-negative integer ids (they are compacted first), in 2D or
    3D; memory is proportional to the number of distinct overlapping pairs.

    Returns:
        ``(table, truth_ids, pred_ids)``: a CSR matrix of shape ``(len(truth_ids),
        len(pred_ids))`` and the label value of each row and column.
    """
    truth, pred = np.asarray(truth), np.asarray(pred)
    if truth.shape != pred.shape:
        raise ValueError(f"truth {truth.shape} and prediction {pred.shape} differ in shape.")
    truth_ids, t = relabel_sequential(truth)
    pred_ids, p = relabel_sequential(pred)
    ones = np.ones(t.size, dtype=np.int64)
    table = sparse.coo_matrix((ones, (t, p)), shape=(len(truth_ids), len(pred_ids))).tocsr()
    table.sum_duplicates()
    return table, truth_ids, pred_ids
