"""Images resized so their objects have the size the network is planned for, and back.

A valid U-Net sees a fixed number of pixels around each output pixel (its receptive field);
objects several times wider than it (large nuclei on a fine pixel grid) are judged from
their texture rather than their shape, and cost many pixels per object. Like nnU-Net's
resampling to a target spacing (and Cellpose's rescaling to a target diameter), the
microscopy plan can therefore train and predict at ``image_scale`` < 1 (2D):

- :class:`Rescaled` resizes image (area averaging) and labels (nearest) after loading and
  normalisation, and records the original size in the image's meta (``scaled_from``); the
  pixel size in the meta stays the input's, so outputs are written with it;
- :class:`RestoreScaled` brings predictions (instance labels: nearest; probabilities:
  bilinear) back to that size at the end of inference, so outputs lie on the input's grid.

Everything between them (weight map, tiles, post-processing, calibration, the smallest
object size) works in scaled pixels. A scale of 1 changes nothing.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import torch
import torch.nn.functional as F
from monai.config import KeysCollection, NdarrayOrTensor
from monai.transforms import MapTransform
from monai.utils import convert_to_dst_type, ensure_tuple_rep

__all__ = ["SCALED_FROM", "Rescaled", "RestoreScaled", "resize"]

#: the meta key holding the spatial size before :class:`Rescaled`
SCALED_FROM = "scaled_from"
_MODES = ("area", "bilinear", "nearest")


def resize(x: NdarrayOrTensor, size: Sequence[int], mode: str) -> NdarrayOrTensor:
    """``(C, *spatial)`` resized to ``size`` (``area``, ``bilinear``/trilinear, ``nearest``
    exact for integer labels), same type and dtype as ``x``."""
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}.")
    t = torch.as_tensor(x.as_tensor() if hasattr(x, "as_tensor") else x)
    if tuple(t.shape[1:]) == tuple(size):
        return x
    dims = t.ndim - 1
    kind = "trilinear" if (mode == "bilinear" and dims == 3) else mode
    work = t.double() if mode == "nearest" else t.float()
    kwargs = {"align_corners": False} if kind in ("bilinear", "trilinear") else {}
    out = F.interpolate(work[None], size=tuple(int(s) for s in size), mode=kind, **kwargs)[0]
    out = out.to(t.dtype) if mode == "nearest" or t.is_floating_point() else out.round().to(t.dtype)
    result = convert_to_dst_type(out, x)[0]
    if hasattr(x, "meta") and hasattr(result, "meta"):
        result.meta = dict(x.meta)
    return result


class Rescaled(MapTransform):
    """Resize ``keys`` by ``scale`` per spatial axis (one size for all keys).

    Args:
        keys: image and label keys.
        scale: the factor (e.g. 0.33: a third of the pixels along each axis); 1: unchanged.
        mode: per key, ``area`` (images, downscaling), ``bilinear`` or ``nearest`` (labels).

    Shapes:
        each key ``(C, *spatial)`` -> ``(C, *round(spatial * scale))``; the first key's meta
        gets ``scaled_from`` (the spatial size before).
    """

    def __init__(
        self,
        keys: KeysCollection,
        scale: float = 1.0,
        mode: Sequence[str] | str = ("area", "nearest"),
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        if not 0.0 < float(scale) <= 4.0:
            raise ValueError(f"image_scale must be in (0, 4], got {scale}.")
        self.scale = float(scale)
        self.mode = ensure_tuple_rep(mode, len(self.keys))

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict:
        d = dict(data)
        if self.scale == 1.0:
            return d
        size = None
        for key, mode in self.key_iterator(d, self.mode):
            spatial = tuple(int(n) for n in d[key].shape[1:])
            size = size or tuple(max(1, round(n * self.scale)) for n in spatial)
            d[key] = resize(d[key], size, mode)
            if hasattr(d[key], "meta"):
                d[key].meta[SCALED_FROM] = list(spatial)
        return d


class RestoreScaled(MapTransform):
    """Resize predictions back to the size the image had before :class:`Rescaled`.

    Args:
        keys: prediction keys (``(C, *spatial)``).
        source_key: the network's input (its meta holds ``scaled_from``).
        mode: per key, ``nearest`` (labels) or ``bilinear`` (probabilities).
    """

    def __init__(
        self,
        keys: KeysCollection,
        source_key: str = "image",
        mode: Sequence[str] | str = "nearest",
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.source_key = source_key
        self.mode = ensure_tuple_rep(mode, len(self.keys))

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict:
        d = dict(data)
        meta = getattr(d.get(self.source_key), "meta", {}) or {}
        size = meta.get(SCALED_FROM)
        if size is None:
            return d
        size = [int(n) for n in (size.tolist() if hasattr(size, "tolist") else size)]
        for key, mode in self.key_iterator(d, self.mode):
            d[key] = resize(d[key], size, mode)
        return d
