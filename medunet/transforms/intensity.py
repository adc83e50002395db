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

from medunet.data.quantiles import exact_percentiles
from medunet.transforms.checks import source_name

__all__ = ["CHUNK", "ModalityNormalize", "ModalityNormalized"]

#: slices of the last axis read at a time for the MRI statistics
CHUNK = 16


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

    def statistics(self, img) -> np.ndarray | None:
        """What the MRI normalisation needs of the whole image: per channel ``(low, high,
        mean, std)`` (the percentiles of the non-zero voxels, then the mean and standard
        deviation of the clipped channel); ``None`` for CT (a fixed window).

        ``img`` is any channel-first array, a memory map of a volume too: it is read
        :data:`CHUNK` slices of the last axis at a time and the percentiles are exact
        (:func:`~medunet.data.quantiles.exact_percentiles`), so a volume normalised in
        slabs with these statistics is bit for bit the volume normalised whole.
        """
        if self.modality == "CT":
            return None
        if isinstance(img, torch.Tensor):
            img = (img.as_tensor() if hasattr(img, "as_tensor") else img).detach().cpu().numpy()
        stats = np.zeros((img.shape[0], 4), np.float64)
        for c in range(img.shape[0]):

            def chunks(c=c):
                depth = img.shape[-1]
                for z in range(0, depth, CHUNK):
                    yield np.asarray(img[c, ..., z : z + CHUNK], dtype=np.float32)

            q = exact_percentiles(lambda: (v[v != 0] for v in chunks()), self.percentiles)
            lo, hi = (np.float32(0.0), np.float32(0.0)) if q is None else np.float32(q)
            count = int(np.prod(img.shape[1:]))
            total = sum(float(np.clip(v, lo, hi).sum(dtype=np.float64)) for v in chunks())
            mean = total / count
            squares = sum(
                float(np.square(np.clip(v, lo, hi).astype(np.float64) - mean).sum())
                for v in chunks()
            )
            std = float(np.sqrt(squares / (count - 1))) if count > 1 else 0.0
            stats[c] = (lo, hi, mean, std)
        return stats

    def apply(self, x: torch.Tensor, stats: np.ndarray | None) -> torch.Tensor:
        """``x`` (float32, ``(C, *spatial)``, the whole image or any part of it) normalised
        with the whole image's :meth:`statistics`, voxel by voxel."""
        if self.modality == "CT":
            low, high = self.window
            return (x.clamp(low, high) - low) / (high - low)
        out = torch.empty_like(x)
        for c in range(x.shape[0]):
            lo, hi, mean, std = (float(v) for v in stats[c])
            if std > 1e-8:
                ch = x[c].clamp(lo, hi)
                out[c] = (ch - torch.tensor(mean, dtype=x.dtype)) / torch.tensor(std, dtype=x.dtype)
            else:
                out[c] = 0.0
        return out

    def __call__(self, img: NdarrayOrTensor, stats: np.ndarray | None = None) -> NdarrayOrTensor:
        """The normalised image (``stats``: the whole image's, when ``img`` is a part)."""
        x = torch.as_tensor(img.as_tensor() if hasattr(img, "as_tensor") else img).float()
        if not torch.isfinite(x).all():
            raise ValueError(
                f"{source_name(img)} contains NaN or infinite intensities; fix or mask the scan."
            )
        if stats is None:
            stats = self.statistics(x)
        return convert_to_dst_type(self.apply(x, stats), img, dtype=torch.float32)[0]


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
