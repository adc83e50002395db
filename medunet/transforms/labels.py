"""Checking channel-first instance label arrays, shared by the label-reading transforms."""

from __future__ import annotations

import numpy as np
from monai.config import NdarrayOrTensor
from monai.utils import convert_data_type

__all__ = ["check_instance_labels"]


def check_instance_labels(
    labels: NdarrayOrTensor, owner: str, allow_empty: bool = False
) -> np.ndarray:
    """Validate ``(1, H, W)`` / ``(1, H, W, D)`` instance labels and return them as ``(H, W[, D])``.

    Integral float values are accepted (MONAI loads labels as float32); non-integral floats,
    NaN/inf, other dtypes, negative values, a wrong channel count and (unless
    ``allow_empty``) empty arrays are a one-line ``ValueError`` that names ``owner``.

    Returns:
        int32 labels (int64 when a label exceeds the int32 range).
    """
    arr = convert_data_type(labels, np.ndarray)[0]
    if arr.ndim not in (3, 4) or arr.shape[0] != 1:
        raise ValueError(
            f"{owner} expects channel-first labels (1, H, W) or (1, H, W, D), got shape "
            f"{arr.shape}; add a channel axis (EnsureChannelFirst) or select one channel."
        )
    if arr.size == 0:
        if allow_empty:
            return arr[0].astype(np.int32)
        raise ValueError(f"{owner} got an empty label array of shape {arr.shape}.")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ValueError(f"{owner} labels contain NaN or inf; fix the label file.")
        if not np.array_equal(arr, np.round(arr)):
            raise ValueError(
                f"{owner} needs integers as labels, got non-integral {arr.dtype} values "
                "(interpolated labels?); resample labels with mode='nearest'."
            )
    elif not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
        raise ValueError(f"{owner} needs integer labels, got dtype {arr.dtype}.")
    if arr.min() < 0:
        raise ValueError(f"{owner} labels must be >= 0 (0 = background), found {arr.min()}.")
    return arr[0].astype(np.int64 if arr.max() > np.iinfo(np.int32).max else np.int32)
