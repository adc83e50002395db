"""Intensity normalisation by modality: CT windowing or MRI percentile clipping + z-score.

CT intensities are Hounsfield units with a fixed meaning, so a window (``(-57, 164)`` for
abdominal soft tissue, MONAI's spleen bundle) is clipped and scaled to [0, 1]. MRI
intensities are arbitrary per scan: each channel is clipped to its own percentiles (of the
non-zero voxels, so the empty background does not count) and standardised to zero mean and
unit variance (nnU-Net's recipe). Constant images give zeros instead of dividing by zero;
NaN or infinite values are refused with a one-line error naming the file.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import torch
from monai.config import KeysCollection, NdarrayOrTensor
from monai.transforms import MapTransform, Transform
from monai.utils import convert_to_dst_type

from medunet.transforms.checks import source_name

__all__ = ["ModalityNormalize", "ModalityNormalized"]


class ModalityNormalize(Transform):
    """Normalise a channel-first image ``(C, *spatial)`` for its modality.

    Args:
        modality: ``"CT"`` (window) or ``"MR"`` (percentile clip + z-score per channel).
        window: CT ``(low, high)`` in HU, mapped to [0, 1].
        percentiles: MRI ``(low, high)`` percentiles of the non-zero voxels.

    Shapes:
        input and output ``(C, *spatial)``, float32, MetaTensor meta kept.
    """

    backend = ["torch", "numpy"]

    def __init__(
        self,
        modality: str = "CT",
        window: Sequence[float] = (-57.0, 164.0),
        percentiles: Sequence[float] = (0.5, 99.5),
    ) -> None:
        modality = str(modality).upper()
        if modality in ("MRI",):
            modality = "MR"
        if modality not in ("CT", "MR"):
            raise ValueError(f"modality must be 'CT' or 'MR', got {modality!r}.")
        if len(window) != 2 or window[0] >= window[1]:
            raise ValueError(f"window must be (low, high) with low < high, got {window}.")
        if len(percentiles) != 2 or not 0 <= percentiles[0] < percentiles[1] <= 100:
            raise ValueError(f"percentiles must be 0 <= low < high <= 100, got {percentiles}.")
        self.modality = modality
        self.window = (float(window[0]), float(window[1]))
        self.percentiles = (float(percentiles[0]), float(percentiles[1]))

    def __call__(self, img: NdarrayOrTensor) -> NdarrayOrTensor:
        """The normalised image."""
        x = torch.as_tensor(img.as_tensor() if hasattr(img, "as_tensor") else img).float()
        if not torch.isfinite(x).all():
            raise ValueError(
                f"{source_name(img)} contains NaN or infinite intensities; fix or mask the scan."
            )
        if self.modality == "CT":
            low, high = self.window
            out = (x.clamp(low, high) - low) / (high - low)
        else:
            out = torch.empty_like(x)
            for c in range(x.shape[0]):
                ch = x[c]
                values = ch[ch != 0] if bool((ch != 0).any()) else ch.reshape(-1)
                lo, hi = np.percentile(values.numpy(), self.percentiles)
                ch = ch.clamp(float(lo), float(hi))
                std = float(ch.std())
                out[c] = (ch - ch.mean()) / std if std > 1e-8 else torch.zeros_like(ch)
        return convert_to_dst_type(out, img, dtype=torch.float32)[0]


class ModalityNormalized(MapTransform):
    """Dictionary wrapper of :class:`ModalityNormalize`."""

    def __init__(
        self,
        keys: KeysCollection = "image",
        modality: str = "CT",
        window: Sequence[float] = (-57.0, 164.0),
        percentiles: Sequence[float] = (0.5, 99.5),
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.transform = ModalityNormalize(modality, window, percentiles)

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.transform(d[key])
        return d
