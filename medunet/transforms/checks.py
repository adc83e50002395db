"""Checking that an image and its label belong together, naming both files when not."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
import torch
from monai.config import KeysCollection, NdarrayOrTensor
from monai.transforms import MapTransform
from monai.utils import convert_data_type

from medunet.data.labels import check_label_values
from medunet.messages import setting

__all__ = ["CheckImaged", "CheckPaird", "source_name"]


def source_name(x: NdarrayOrTensor, default: str = "the image") -> str:
    """The file an array was loaded from (MetaTensor ``filename_or_obj``), for messages."""
    meta = getattr(x, "meta", None) or {}
    return str(meta.get("filename_or_obj") or default)


def _name(x: NdarrayOrTensor, key: Hashable) -> str:
    return source_name(x, f"<{key}>")


class CheckPaird(MapTransform):
    """Refuse image/label pairs whose spatial shapes, pixel sizes or positions differ.

    Args:
        keys: the keys compared with each other (e.g. ``("image", "label")``).
        spacing_rtol: relative tolerance on the pixel size (from MetaTensor ``pixdim``).
        affine_atol: tolerance (in the affine's units, mm for scans) on the rest of the
            affine: origin and axis directions.
        num_classes: label values must be below it (class maps); ``None``: any (instance
            labels). Labels must be integers >= 0 either way.

    Raises:
        ValueError: one line naming both files and both values; or the label file when its
            values are not class/instance ids, or the same file given as image and label.
    """

    def __init__(
        self,
        keys: KeysCollection = ("image", "label"),
        spacing_rtol: float = 1e-3,
        affine_atol: float = 1e-3,
        num_classes: int | None = None,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.spacing_rtol = spacing_rtol
        self.affine_atol = affine_atol
        self.num_classes = num_classes

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict:
        d = dict(data)
        keys = list(self.key_iterator(d))
        if len(keys) < 2:
            return d
        ref_key = keys[0]
        ref = d[ref_key]
        for key in keys[1:]:
            x = d[key]
            if _name(x, key) == _name(ref, ref_key):
                raise ValueError(
                    f"{_name(x, key)} is given as both {ref_key} and {key}; point {ref_key} at the "
                    "image and label at its annotation."
                )
            arr = convert_data_type(x, np.ndarray)[0]
            check_label_values(arr, _name(x, key), self.num_classes)
            if tuple(x.shape[1:]) != tuple(ref.shape[1:]):
                raise ValueError(
                    f"{_name(x, key)} has spatial shape {tuple(x.shape[1:])} but "
                    f"{_name(ref, ref_key)} has {tuple(ref.shape[1:])}; image and label must "
                    "cover the same pixels."
                )
            a, b = getattr(ref, "pixdim", None), getattr(x, "pixdim", None)
            if a is not None and b is not None:
                a, b = np.asarray(a, float), np.asarray(b, float)
                if a.shape == b.shape and not np.allclose(a, b, rtol=self.spacing_rtol):
                    raise ValueError(
                        f"{_name(x, key)} has pixel size {b.tolist()} but {_name(ref, ref_key)} "
                        f"has {a.tolist()}; resave the label with the image's pixel size."
                    )
            fa, fb = getattr(ref, "affine", None), getattr(x, "affine", None)
            if fa is not None and fb is not None:
                fa, fb = np.asarray(fa, float), np.asarray(fb, float)
                if fa.shape == fb.shape and not np.allclose(fa, fb, atol=self.affine_atol):
                    raise ValueError(
                        f"{_name(x, key)} has affine {np.round(fb, 4).tolist()} but "
                        f"{_name(ref, ref_key)} has {np.round(fa, 4).tolist()}: they do not "
                        "overlay in world coordinates; resample the label onto the image's grid."
                    )
        return d


class CheckImaged(MapTransform):
    """Refuse images the network cannot take, naming the file: a channel count other than
    the network's, NaN or infinite intensities (or replace those).

    Args:
        keys: image keys (channel-first).
        channels: the channel count the network takes (``in_channels``); ``None``: any.
        replace: ``None`` refuses NaN/Inf (default); a number replaces NaN and +-Inf with
            it (the bundles' ``nonfinite_value`` setting).

    Raises:
        ValueError: one line with the file, what is wrong and the fix.
    """

    def __init__(
        self,
        keys: KeysCollection,
        channels: int | None = None,
        replace: float | None = None,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.channels = channels
        self.replace = replace

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            x = d[key]
            if self.channels is not None and x.shape[0] != self.channels:
                raise ValueError(
                    f"{_name(x, key)} has {x.shape[0]} channels (shape {tuple(x.shape)}) but the "
                    f"model takes {self.channels}; convert the image (e.g. to grayscale, one "
                    f"volume per channel file) or {setting('in_channels', x.shape[0])}."
                )
            bad = ~torch.isfinite(x) if isinstance(x, torch.Tensor) else ~np.isfinite(x)
            n_bad = int(bad.sum())
            if not n_bad:
                continue
            if self.replace is None:
                raise ValueError(
                    f"{_name(x, key)} holds {n_bad} NaN/Inf values; repair the image, or "
                    f"replace them ({setting('nonfinite_value', 0)})."
                )
            x = x.clone() if isinstance(x, torch.Tensor) else x.copy()
            x[bad] = self.replace
            d[key] = x
        return d
