"""Per-class Dice and 95% Hausdorff distance of multi-class volumes, in physical units.

:class:`VolumeScore` takes the network's class probabilities (or logits) and the integer
label volume, arg-maxes and one-hot encodes them, and computes MONAI's Dice and 95th
percentile Hausdorff distance per foreground class. Distances use the voxel spacing of the
label's MetaTensor (its ``pixdim``), so they are millimetres on a scan's grid. The buffer
holds one row per image and one column per foreground class (MetricsSaver writes them as
``class0, class1, ...``); the aggregate is the mean over images and classes, ignoring NaN.

One rule for a class missing somewhere (validation and ``medunet evaluate`` alike): absent
from both prediction and truth, Dice and HD95 are NaN (nothing to score); predicted but
absent from the truth (or the reverse), Dice is 0 and HD95 NaN (no distance exists).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import torch
from monai.metrics import CumulativeIterationMetric, compute_hausdorff_distance

__all__ = ["VolumeScore", "class_dice"]


def class_dice(pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Dice per image and channel of one-hot ``(B, C, *spatial)`` tensors: ``(B, C)``, NaN
    where a class is absent from both, 0 where it is in only one of them."""
    dims = tuple(range(2, pred.dim()))
    inter = (pred * truth).sum(dims)
    total = pred.sum(dims) + truth.sum(dims)
    nan = torch.full_like(total, float("nan"))
    return torch.where(total > 0, 2.0 * inter / total.clamp_min(1e-12), nan)


def _spacing(y: torch.Tensor) -> list[float] | None:
    pixdim = getattr(y, "pixdim", None)
    if pixdim is None:
        return None
    values = np.asarray(pixdim, dtype=float).ravel()
    return [float(v) for v in values[: y.dim() - 2]] if values.size >= y.dim() - 2 else None


class VolumeScore(CumulativeIterationMetric):
    """``"dice"`` or ``"hd95"`` (millimetres) per foreground class and image.

    Args:
        name: ``"dice"`` or ``"hd95"``.
        spacing: voxel size per axis for HD95 when the labels carry none (plain tensors);
            a MetaTensor's ``pixdim`` takes precedence.

    Shapes:
        ``y_pred`` ``(B, C, *spatial)`` probabilities or logits (C classes); ``y``
        ``(B, 1, *spatial)`` integer labels. Returns ``(B, C - 1)``.
    """

    def __init__(self, name: str = "dice", spacing: Sequence[float] | None = None) -> None:
        super().__init__()
        if name not in ("dice", "hd95"):
            raise ValueError(f"name must be 'dice' or 'hd95', got {name!r}.")
        self.name = name
        self.spacing = [float(s) for s in spacing] if spacing is not None else None

    def _compute_tensor(self, y_pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        num_classes = y_pred.shape[1]
        if y.shape[1] != 1 or y.shape[2:] != y_pred.shape[2:]:
            raise ValueError(
                f"VolumeScore needs labels (B, 1, *spatial) matching {tuple(y_pred.shape)}, "
                f"got {tuple(y.shape)}."
            )
        spacing = _spacing(y) or self.spacing
        pred = torch.as_tensor(y_pred).argmax(1, keepdim=True)
        truth = torch.as_tensor(y).long()
        if truth.min() < 0 or truth.max() >= num_classes:
            raise ValueError(
                f"labels hold classes {int(truth.min())}..{int(truth.max())} but the network "
                f"predicts {num_classes}; set num_classes to the number of label classes."
            )
        onehot_p = torch.nn.functional.one_hot(pred[:, 0], num_classes).movedim(-1, 1).float()
        onehot_t = torch.nn.functional.one_hot(truth[:, 0], num_classes).movedim(-1, 1).float()
        if self.name == "dice":
            return class_dice(onehot_p, onehot_t)[:, 1:]
        with warnings.catch_warnings():
            # a class missing from prediction or truth is NaN by this metric's rule (above);
            # MONAI warns about it, and about its own deprecated internal argument
            warnings.filterwarnings("ignore", message=".*may result in nan/inf distance")
            warnings.filterwarnings("ignore", message=".*always_return_as_numpy")
            return compute_hausdorff_distance(
                onehot_p, onehot_t, include_background=False, percentile=95, spacing=spacing
            )

    def aggregate(self) -> torch.Tensor:
        """Mean over images and classes, NaN (absent classes) ignored."""
        data = self.get_buffer()
        if not isinstance(data, torch.Tensor) or data.numel() == 0:
            return torch.tensor(float("nan"))
        finite = data[torch.isfinite(data)]
        return finite.float().mean() if finite.numel() else torch.tensor(float("nan"))
