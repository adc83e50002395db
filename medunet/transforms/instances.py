"""Instance labels to the class targets a segmentation loss trains on."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
import torch
from monai.config import KeysCollection, NdarrayOrTensor
from monai.transforms import MapTransform, Transform
from monai.utils import convert_to_dst_type
from scipy import ndimage as ndi

from medunet.data.labels import check_instance_labels

__all__ = [
    "INSTANCE_MODES",
    "InstanceToSemantic",
    "InstanceToSemanticd",
    "LabelComponentsd",
    "label_components",
]

#: how a label image gives objects: as it is, or the connected components of its foreground
INSTANCE_MODES = ("labels", "connected_components")


def label_components(labels: np.ndarray, mode: str = "connected_components") -> np.ndarray:
    """The objects of a label image ``(*spatial)``: ``labels`` as they are (``"labels"``) or
    the connected components of ``labels > 0`` with full connectivity
    (``"connected_components"``: binary masks such as EM cell interiors). int32 0..K."""
    if mode not in INSTANCE_MODES:
        raise ValueError(f"mode must be one of {INSTANCE_MODES}, got {mode!r}.")
    labels = np.asarray(labels)
    if mode == "labels":
        return labels
    return ndi.label(labels > 0, structure=np.ones((3,) * labels.ndim, bool))[0].astype(np.int32)


class InstanceToSemantic(Transform):
    """Map instance labels to classes: 0 background, 1 object, optionally 2 touching border.

    Args:
        border_class: if True, object pixels that touch a *different* object (within the
            full 3^d neighbourhood, widened by ``border_width - 1`` pixels) become class 2,
            so a network can learn the separation lines explicitly (3 output channels).
        border_width: width in pixels of the touching border on each side.

    Shapes:
        input ``(1, H, W)`` or ``(1, H, W, D)`` non-negative integer instance labels
        (checked by :func:`~medunet.data.labels.check_instance_labels`); output the
        same shape, int64 (torch) or int64 numpy, keeping MetaTensor meta.
    """

    backend = ["numpy", "torch"]

    def __init__(self, border_class: bool = False, border_width: int = 1) -> None:
        if border_width < 1:
            raise ValueError(f"border_width must be >= 1, got {border_width}.")
        self.border_class = border_class
        self.border_width = border_width

    def __call__(self, labels: NdarrayOrTensor) -> NdarrayOrTensor:
        """Class labels for ``labels`` ``(1, *spatial)``."""
        lab = check_instance_labels(labels, "InstanceToSemantic", allow_empty=True).astype(np.int64)
        out = (lab > 0).astype(np.int64)
        if self.border_class and lab.size:
            size = 2 * self.border_width + 1
            others = np.where(lab > 0, lab, lab.max() + 1)
            touching = (ndi.maximum_filter(lab, size=size) > lab) | (
                ndi.minimum_filter(others, size=size) < lab
            )
            out[(lab > 0) & touching] = 2
        return convert_to_dst_type(out[None], labels, dtype=torch.int64)[0]


class InstanceToSemanticd(MapTransform):
    """Dictionary wrapper of :class:`InstanceToSemantic`.

    Args:
        keys: instance label keys to convert.
        output_key: where to write the classes (default: in place, replacing the key). Keep the
            instance labels under their key when a later transform (the weight map) needs them.
    """

    def __init__(
        self,
        keys: KeysCollection,
        border_class: bool = False,
        border_width: int = 1,
        output_key: str | None = None,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        if output_key is not None and len(self.keys) != 1:
            raise ValueError("output_key needs exactly one input key.")
        self.output_key = output_key
        self.transform = InstanceToSemantic(border_class, border_width)

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            d[self.output_key or key] = self.transform(d[key])
        return d


class LabelComponentsd(MapTransform):
    """Objects of a label image as instance labels: as they are (``mode="labels"``) or the
    connected components of its foreground (``mode="connected_components"``, full
    connectivity), for binary labels such as EM cell interiors separated by membranes.

    Shapes:
        ``(1, *spatial)`` -> the same shape, int32 labels 0..K.
    """

    def __init__(
        self, keys: KeysCollection, mode: str = "labels", allow_missing_keys: bool = False
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        if mode not in INSTANCE_MODES:
            raise ValueError(f"mode must be one of {INSTANCE_MODES}, got {mode!r}.")
        self.mode = mode

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict:
        d = dict(data)
        if self.mode == "labels":
            return d
        for key in self.key_iterator(d):
            lab = check_instance_labels(d[key], "LabelComponentsd", allow_empty=True)
            comps = label_components(lab, self.mode)
            d[key] = convert_to_dst_type(comps[None], d[key], dtype=torch.int32)[0]
        return d
