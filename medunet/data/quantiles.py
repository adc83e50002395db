"""Exact percentiles of floating-point values read a chunk at a time.

A volume's intensity statistics must be the same whether it is normalised whole or
streamed in slabs (:class:`~medunet.transforms.ModalityNormalize`). The order statistics of
float32 values are found exactly in two passes over the chunks, each holding one 65536-bin
histogram: float32 values map to unsigned 32-bit keys in the same order; the first pass
counts the keys' upper 16 bits, the second the lower 16 bits of the keys in the bins that
hold the ranks sought. The result is numpy's linear percentile of all the values, with
memory independent of their number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

__all__ = ["exact_percentiles"]

_BINS = 1 << 16


def _keys(values: np.ndarray) -> np.ndarray:
    """Unsigned keys in the order of the float32 values (negative values bit-inverted)."""
    bits = np.ascontiguousarray(values, dtype=np.float32).reshape(-1).view(np.uint32)
    return np.where(bits & 0x80000000, ~bits, bits | 0x80000000)


def _value(key: int) -> float:
    bits = key & 0x7FFFFFFF if key & 0x80000000 else ~key & 0xFFFFFFFF
    return float(np.asarray(bits, dtype=np.uint32).view(np.float32))


def exact_percentiles(
    chunks: Callable[[], Iterable[np.ndarray]], q: Sequence[float]
) -> np.ndarray | None:
    """numpy's linear percentiles ``q`` (0-100) of every value the chunks hold, as float32.

    Args:
        chunks: returns a fresh iterable of arrays (any shapes) each time it is called; it
            is called twice.
        q: the percentiles.

    Returns:
        ``(len(q),)`` float64, or ``None`` when the chunks hold no value.
    """
    upper = np.zeros(_BINS, np.int64)
    for chunk in chunks():
        if np.size(chunk):
            upper += np.bincount(_keys(chunk) >> 16, minlength=_BINS)
    total = int(upper.sum())
    if total == 0:
        return None
    rank = np.asarray(q, dtype=np.float64) / 100.0 * (total - 1)
    wanted = np.unique(np.concatenate([np.floor(rank), np.ceil(rank)]).astype(np.int64))
    cumulative = np.cumsum(upper)
    bins = np.searchsorted(cumulative, wanted, side="right")
    lower = {int(b): np.zeros(_BINS, np.int64) for b in np.unique(bins)}
    for chunk in chunks():
        if not np.size(chunk):
            continue
        keys = _keys(chunk)
        high = keys >> 16
        for b, counts in lower.items():
            counts += np.bincount(keys[high == b] & 0xFFFF, minlength=_BINS)
    values = {}
    for r, b in zip(wanted, bins, strict=True):
        before = int(cumulative[b - 1]) if b > 0 else 0
        low = int(np.searchsorted(np.cumsum(lower[int(b)]), r - before, side="right"))
        values[int(r)] = _value((int(b) << 16) | low)
    below = np.array([values[int(r)] for r in np.floor(rank)])
    above = np.array([values[int(r)] for r in np.ceil(rank)])
    return below + (above - below) * (rank - np.floor(rank))
