"""Images with nothing in them still get a result: a full-size, all-background one.

A constant scan (all zeros, an empty field of view, a phantom with no structure) is a valid
input, and its correct segmentation is background everywhere, on the input's own grid:

- :func:`foreground_or_all` is the foreground rule for MONAI's ``CropForegroundd``: values
  above 0, or the whole image when nothing is, so an empty scan is not cropped to a few
  voxels that no network tile fits;
- :class:`BlankImageBackgroundd` sets the prediction of an image without any contrast to
  background (0): a network's answer to a constant input is its bias, not a finding.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
import torch
from monai.config import KeysCollection, NdarrayOrTensor
from monai.transforms import MapTransform

__all__ = ["BlankImageBackgroundd", "foreground_or_all", "is_blank"]


def foreground_or_all(image: NdarrayOrTensor) -> NdarrayOrTensor:
    """``image > 0``, or everything where no value is above 0 (for ``CropForegroundd``)."""
    mask = image > 0
    if bool(mask.any()):
        return mask
    return torch.ones_like(mask) if isinstance(mask, torch.Tensor) else np.ones_like(mask)


def is_blank(image: NdarrayOrTensor) -> bool:
    """Whether an image has no contrast at all (every value equal, or no values)."""
    x = image.as_tensor() if hasattr(image, "as_tensor") else image
    size = x.numel() if isinstance(x, torch.Tensor) else np.size(x)
    if size == 0:
        return True
    return bool(x.max() == x.min())


class BlankImageBackgroundd(MapTransform):
    """Predictions (labels) of a blank input image set to background (0).

    Args:
        keys: the prediction keys (class or instance labels).
        source_key: the network's input image.

    Shapes:
        each key as it is (any shape); values become 0 when ``source_key`` is blank.
    """

    def __init__(
        self, keys: KeysCollection, source_key: str = "image", allow_missing_keys: bool = False
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.source_key = source_key

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict:
        d = dict(data)
        if self.source_key not in d or not is_blank(d[self.source_key]):
            return d
        for key in self.key_iterator(d):
            d[key] = d[key] * 0
        return d
