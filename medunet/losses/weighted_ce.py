"""Pixel-weighted cross-entropy (the paper's eq. 1) and its combination with soft Dice."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from monai.losses import DiceLoss
from torch import nn

__all__ = ["WeightedCrossEntropyLoss", "WeightedDiceCELoss", "center_crop_to"]


def center_crop_to(x: torch.Tensor, spatial_shape: Sequence[int]) -> torch.Tensor:
    """Centre-crop the spatial axes of ``x`` ``(B, C, *spatial)`` to ``spatial_shape``.

    The crop starts at ``(size - target) // 2`` on each axis, the same offset the network's
    crop-and-concatenate uses, so a label tile of the input's size lines up with the output of
    an unpadded (valid) network.
    """
    for axis, size in enumerate(spatial_shape, start=2):
        x = x.narrow(axis, (x.shape[axis] - size) // 2, size)
    return x


def _align(logits: torch.Tensor, name: str, t: torch.Tensor) -> torch.Tensor:
    """Check ``t`` ``(B, 1, *spatial')`` against ``logits`` ``(B, C, *spatial)``; crop it."""
    if logits.dim() < 3:
        raise ValueError(f"logits must be (B, C, *spatial), got shape {tuple(logits.shape)}.")
    expected = f"(B, 1, *spatial) with B={logits.shape[0]}"
    if t.dim() != logits.dim() or t.shape[0] != logits.shape[0] or t.shape[1] != 1:
        raise ValueError(
            f"{name} must be {expected} to match logits {tuple(logits.shape)}, got "
            f"{tuple(t.shape)}."
        )
    out_shape = logits.shape[2:]
    if any(s < o for s, o in zip(t.shape[2:], out_shape, strict=True)):
        raise ValueError(
            f"{name} {tuple(t.shape)} is spatially smaller than logits {tuple(logits.shape)}; "
            "it must be the same size or larger (larger is centre-cropped to the logits)."
        )
    return center_crop_to(t, out_shape)


def _class_targets(target: torch.Tensor, num_classes: int, ignore_index: int | None):
    """Integer class labels ``(B, *spatial)`` from ``(B, 1, *spatial)``, validated."""
    if target.is_floating_point():
        if not torch.equal(target, target.round()):
            raise ValueError(
                "target must hold integer class labels; got non-integral float values "
                "(resample labels with mode='nearest')."
            )
    target = target[:, 0].long()
    valid = target if ignore_index is None else target[target != ignore_index]
    if valid.numel() and (valid.min() < 0 or valid.max() >= num_classes):
        raise ValueError(
            f"target labels must be in [0, {num_classes - 1}] for {num_classes} logit "
            f"channels, found [{int(valid.min())}, {int(valid.max())}]."
        )
    return target


def _prepare(
    logits: torch.Tensor, target: torch.Tensor, weight_map: torch.Tensor, ignore_index: int | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Checked, cropped ``labels`` and float32 ``weights`` ``(B, *spatial)``, and ``keep``
    (False on ignored pixels, whose label is then set to 0)."""
    labels = _class_targets(_align(logits, "target", target), logits.shape[1], ignore_index)
    weights = _align(logits, "weight_map", weight_map)[:, 0].float()
    if not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()):
        raise ValueError(
            "weight_map must be finite and >= 0, found NaN, inf or negative weights; "
            "recompute the weight map (BoundaryWeightMap) or clip it."
        )
    keep = torch.ones_like(labels, dtype=torch.bool)
    if ignore_index is not None:
        keep = labels != ignore_index
        labels = torch.where(keep, labels, torch.zeros_like(labels))
    return labels, weights, keep


def _weighted_nll(
    logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor, keep: torch.Tensor
) -> torch.Tensor:
    """``-w(x) log softmax(logits)[label(x)]`` per pixel ``(B, *spatial)``, in float32."""
    with torch.autocast(device_type=logits.device.type, enabled=False):
        log_p = F.log_softmax(logits.float(), dim=1)
        nll = -log_p.gather(1, labels.unsqueeze(1)).squeeze(1)
        return torch.where(keep, weights * nll, torch.zeros_like(nll))


class WeightedCrossEntropyLoss(nn.Module):
    """Pixel-weighted cross-entropy: mean over pixels of ``-w(x) log softmax(logits)[t(x)]``.

    Computed in float32 even under autocast. When the logits are spatially smaller than the
    target and weight map (a valid-convolution network), target and weight map are
    centre-cropped to the logits (see :func:`center_crop_to`); any other mismatch is a
    ``ValueError``.

    Args:
        reduction: ``"mean"`` (over all non-ignored pixels of the batch), ``"sum"`` or
            ``"none"`` (returns ``(B, 1, *spatial)``).
        ignore_index: a target value whose pixels contribute nothing (and are not counted).

    Shapes:
        logits ``(B, C, *spatial)``; target ``(B, 1, *spatial')`` integer class labels
        (integral floats accepted); weight_map ``(B, 1, *spatial')``, ``spatial' >= spatial``.
    """

    def __init__(self, reduction: str = "mean", ignore_index: int | None = None) -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}.")
        self.reduction = reduction
        self.ignore_index = ignore_index

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, weight_map: torch.Tensor
    ) -> torch.Tensor:
        """The weighted loss (a scalar unless ``reduction="none"``)."""
        labels, weights, keep = _prepare(logits, target, weight_map, self.ignore_index)
        per_pixel = _weighted_nll(logits, labels, weights, keep)
        if self.reduction == "none":
            return per_pixel.unsqueeze(1)
        if self.reduction == "sum":
            return per_pixel.sum()
        return per_pixel.sum() / keep.sum().clamp_min(1)


class WeightedDiceCELoss(nn.Module):
    """``lambda_ce * WeightedCrossEntropyLoss + lambda_dice * DiceLoss`` (MONAI's soft Dice).

    For volumetric users who want Dice's robustness to class imbalance as well as the
    paper's boundary weights. The Dice part uses softmax probabilities and one-hot targets
    (computed here, in float32).

    Args:
        lambda_ce: weight of the pixel-weighted cross-entropy.
        lambda_dice: weight of the soft Dice loss.
        include_background: whether Dice includes channel 0.
        ignore_index: passed to the cross-entropy (ignored pixels are also masked out of Dice).
        dice_kwargs: further arguments of ``monai.losses.DiceLoss`` (e.g. ``squared_pred``).

    Shapes:
        as :class:`WeightedCrossEntropyLoss`.
    """

    def __init__(
        self,
        lambda_ce: float = 1.0,
        lambda_dice: float = 1.0,
        include_background: bool = True,
        ignore_index: int | None = None,
        dice_kwargs: dict | None = None,
    ) -> None:
        super().__init__()
        if lambda_ce < 0 or lambda_dice < 0:
            raise ValueError(f"lambdas must be >= 0, got {lambda_ce}, {lambda_dice}.")
        self.lambda_ce, self.lambda_dice = float(lambda_ce), float(lambda_dice)
        self.ignore_index = ignore_index
        self.dice = DiceLoss(
            include_background=include_background, softmax=False, **(dice_kwargs or {})
        )

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, weight_map: torch.Tensor
    ) -> torch.Tensor:
        """The combined scalar loss."""
        labels, weights, keep = _prepare(logits, target, weight_map, self.ignore_index)
        ce = _weighted_nll(logits, labels, weights, keep).sum() / keep.sum().clamp_min(1)
        onehot = F.one_hot(labels, logits.shape[1]).movedim(-1, 1).float()
        probs = torch.softmax(logits.float(), dim=1)
        if self.ignore_index is not None:  # masked pixels add nothing to intersections or sums
            mask = keep.unsqueeze(1)
            onehot, probs = onehot * mask, probs * mask
        dice = self.dice(probs, onehot)
        return self.lambda_ce * ce + self.lambda_dice * dice
