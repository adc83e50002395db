"""Checking that an image and its label belong together, naming both files when not."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
from monai.config import KeysCollection, NdarrayOrTensor
from monai.transforms import MapTransform

__all__ = ["CheckPaird", "source_name"]


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

    Raises:
        ValueError: one line naming both files and both values.
    """

    def __init__(
        self,
        keys: KeysCollection = ("image", "label"),
        spacing_rtol: float = 1e-3,
        affine_atol: float = 1e-3,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.spacing_rtol = spacing_rtol
        self.affine_atol = affine_atol

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
