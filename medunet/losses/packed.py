"""Threading the weight map through MONAI's trainer: it rides in the label's last channel.

MONAI's ``SupervisedTrainer`` calls ``loss_function(pred, label)`` and nothing else. The
pixel weight map, however, belongs to each sample and must undergo exactly the same
cropping and deformation as the label. The bundles therefore keep ``label`` and ``weight``
as separate keys through the (per-key mode) augmentation, then concatenate them into one
``label`` tensor of two channels (MONAI's ``ConcatItemsd``) as the last training transform.
:class:`PackedWeightLoss` splits that tensor again and calls a weighted loss with
``(pred, classes, weights)``. Nothing else changes: the batch, the trainer, the handlers
and ``prepare_batch`` are MONAI's own, and validation (no weight map) uses plain labels.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["PackedWeightLoss"]


class PackedWeightLoss(nn.Module):
    """Call ``loss(pred, target[:, :1], target[:, 1:2])`` for a ``(class, weight)`` target,
    or ``loss(pred, target, ones)`` for a plain class target (uniform weights, e.g. CT/MRI
    bundles without a weight map).

    Args:
        loss: a loss taking ``(logits, target, weight_map)``, e.g.
            :class:`~medunet.losses.WeightedCrossEntropyLoss` or
            :class:`~medunet.losses.WeightedDiceCELoss`.

    Shapes:
        pred ``(B, C, *spatial)``; target ``(B, 2, *spatial')``: channel 0 integer classes
        (integral floats accepted), channel 1 the pixel weights, or ``(B, 1, *spatial')``
        classes only; ``spatial' >= spatial`` (centre-cropped by the wrapped loss).
    """

    def __init__(self, loss: nn.Module) -> None:
        super().__init__()
        self.loss = loss

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The wrapped loss on the unpacked target."""
        if target.dim() != pred.dim() or target.shape[1] not in (1, 2):
            raise ValueError(
                f"PackedWeightLoss expects a target of (B, 2, *spatial) = (classes, weights) or "
                f"(B, 1, *spatial) classes, got {tuple(target.shape)}; concatenate label and "
                "weight map (ConcatItemsd(keys=['label', 'weight'], name='label'))."
            )
        if target.shape[1] == 1:
            return self.loss(pred, target, torch.ones_like(target, dtype=torch.float32))
        return self.loss(pred, target[:, :1], target[:, 1:2])
