"""Checking that an image and its label belong together, naming both files when not."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
from monai.config import KeysCollection, NdarrayOrTensor
from monai.transforms import MapTransform

__all__ = ["CheckPaird"]


def _name(x: NdarrayOrTensor, key: Hashable) -> str:
    meta = getattr(x, "meta", None) or {}
    return str(meta.get("filename_or_obj") or f"<{key}>")


class CheckPaird(MapTransform):
    """Refuse image/label pairs whose spatial shapes or pixel sizes differ.

    Args:
        keys: the keys compared with each other (e.g. ``("image", "label")``).
        spacing_rtol: relative tolerance on the pixel size (from MetaTensor ``pixdim``).

    Raises:
        ValueError: one line naming both files and both values.
    """

    def __init__(
        self,
        keys: KeysCollection = ("image", "label"),
        spacing_rtol: float = 1e-3,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.spacing_rtol = spacing_rtol

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict:
        d = dict(data)
        keys = list(self.key_iterator(d))
        if len(keys) < 2:
            return d
        ref_key = keys[0]
        ref = d[ref_key]
        for key in keys[1:]:
            x = d[key]
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
        return d
