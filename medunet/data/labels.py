"""Checking label arrays: shared by the label readers, the label transforms, the bundles'
input check (:class:`~medunet.transforms.CheckPaird`) and the command line."""

from __future__ import annotations

import numpy as np
from monai.config import NdarrayOrTensor
from monai.utils import convert_data_type

from medunet.messages import setting

__all__ = ["check_instance_labels", "check_label_values"]


def check_label_values(arr: np.ndarray, name: str, num_classes: int | None = None) -> None:
    """Refuse labels that are not integer ids >= 0 (and, with ``num_classes``, below it).

    Integral float values are accepted (MONAI loads labels as float32).

    Args:
        arr: label values, any shape.
        name: what the message calls the labels (a file name, or a transform's input).
        num_classes: class maps: values must be ``< num_classes``; ``None``: any id.

    Raises:
        ValueError: one line naming ``name``, what is wrong and the fix.
    """
    if arr.size == 0:
        return
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} holds NaN or inf; fix the label file.")
        if not np.array_equal(arr, np.round(arr)):
            raise ValueError(
                f"{name} holds non-integer values: labels are integers (class or object ids), "
                f"got non-integral {arr.dtype} values (interpolated labels, or an image given "
                "as the label?); resample labels with mode='nearest'."
            )
    elif not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
        raise ValueError(f"{name} has dtype {arr.dtype}; labels hold integer ids.")
    low, high = arr.min(), arr.max()
    if low < 0:
        raise ValueError(
            f"{name} holds negative values (min {low}); labels must be >= 0 (0 = background)."
        )
    if num_classes is not None and high >= num_classes:
        raise ValueError(
            f"{name} holds class {int(high)} but the model has {num_classes} classes "
            f"(0..{num_classes - 1}); {setting('num_classes', int(high) + 1)}, or fix the label."
        )


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
    check_label_values(arr, f"{owner}'s label")
    return arr[0].astype(np.int64 if arr.max() > np.iinfo(np.int32).max else np.int32)
