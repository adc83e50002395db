"""Resampling to a target spacing, one axis at a time, so that any slab is exact.

A volume is resampled to the spacing the model was trained at (``Spacingd``'s job in a
stock MONAI pipeline). Here the resampling is *separable*: each axis in turn is
interpolated linearly (images) or by the nearest voxel (labels) along the voxel axes, on
MONAI ``Spacing``'s grid (voxel 0 stays where it is; an axis of ``n`` voxels becomes
``round((n - 1) * spacing / pixdim + 1)``; beyond the last voxel, the border value). Every
output voxel is a fixed pair of input voxels times fixed weights, with the same floating
point operations whatever the size of the array, so a slab of the volume resampled on its
own (:func:`resample_axis` with the slab's global indices) is bit for bit the slab of the
volume resampled whole: streamed inference (:mod:`medunet.bundle.streaming.volume`) gives
the whole-volume answer. The inverse (back onto the input's grid, by the nearest voxel for
class labels) is :func:`nearest_indices` on each axis, so it too can be done a slab at a
time.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import torch
from monai.config import KeysCollection, NdarrayOrTensor
from monai.data import MetaTensor, get_track_meta
from monai.transforms import InvertibleTransform, MapTransform
from monai.utils import TraceKeys, convert_to_dst_type, convert_to_tensor, ensure_tuple_rep
from monai.utils.enums import TransformBackends

__all__ = [
    "MODES",
    "ResampleToSpacing",
    "ResampleToSpacingd",
    "affine_spacing",
    "nearest_indices",
    "resample",
    "resample_axis",
    "resampled_size",
    "source_span",
]

#: interpolation per key: linear for intensities, nearest for labels
MODES = ("bilinear", "nearest")


def _mode(mode: str) -> str:
    mode = {"linear": "bilinear", "trilinear": "bilinear"}.get(str(mode), str(mode))
    if mode not in MODES:
        raise ValueError(f"resampling mode must be one of {MODES}, got {mode!r}.")
    return mode


def affine_spacing(affine: NdarrayOrTensor, spatial_dims: int) -> np.ndarray:
    """Voxel spacing per axis: the lengths of the affine's first ``spatial_dims`` columns."""
    a = np.asarray(affine.detach().cpu() if isinstance(affine, torch.Tensor) else affine)
    return np.sqrt((a[:spatial_dims, :spatial_dims].astype(np.float64) ** 2).sum(0))


def resampled_size(n: int, scale: float) -> int:
    """Voxels of an axis of ``n`` voxels resampled with ``scale`` input voxels per output
    voxel (the output spacing over the input spacing), as MONAI's ``Spacing`` counts them."""
    return max(1, int(np.round((int(n) - 1) / float(scale) + 1.0)))


def _positions(start: int, stop: int, scale: float) -> np.ndarray:
    return np.arange(int(start), int(stop), dtype=np.float64) * float(scale)


def nearest_indices(start: int, stop: int, scale: float, n: int) -> np.ndarray:
    """The input voxel nearest to each output voxel ``start .. stop-1`` (``scale`` input
    voxels per output voxel; an axis of ``n`` input voxels; halves round up)."""
    return np.clip(np.floor(_positions(start, stop, scale) + 0.5), 0, int(n) - 1).astype(np.int64)


def _linear_taps(start: int, stop: int, scale: float, n: int):
    p = _positions(start, stop, scale)
    i0 = np.clip(np.floor(p), 0, int(n) - 1).astype(np.int64)
    i1 = np.minimum(i0 + 1, int(n) - 1)
    return i0, i1, np.clip(p - i0, 0.0, 1.0)


def source_span(start: int, stop: int, scale: float, n: int, mode: str) -> tuple[int, int]:
    """The input voxels ``[lo, hi)`` that the output voxels ``[start, stop)`` read."""
    if _mode(mode) == "nearest":
        idx = nearest_indices(start, stop, scale, n)
        return int(idx[0]), int(idx[-1]) + 1
    i0, i1, _ = _linear_taps(start, stop, scale, n)
    return int(i0[0]), int(i1[-1]) + 1


def resample_axis(
    x: torch.Tensor,
    axis: int,
    scale: float,
    n: int,
    start: int,
    stop: int,
    mode: str = "bilinear",
    offset: int = 0,
) -> torch.Tensor:
    """Output voxels ``[start, stop)`` of one axis resampled.

    Args:
        x: any tensor; along ``axis`` it holds input voxels ``offset .. offset + x.shape[axis]``
            of an axis of ``n`` voxels (all of :func:`source_span` at least).
        scale: input voxels per output voxel.
        mode: ``"bilinear"`` (float32 out) or ``"nearest"`` (the input's dtype).

    Returns:
        ``x`` with ``stop - start`` voxels along ``axis``.
    """
    if _mode(mode) == "nearest":
        idx = nearest_indices(start, stop, scale, n) - int(offset)
        return x.index_select(axis, torch.from_numpy(idx).to(x.device))
    i0, i1, w = _linear_taps(start, stop, scale, n)
    x = x.float()
    a = x.index_select(axis, torch.from_numpy(i0 - int(offset)).to(x.device))
    b = x.index_select(axis, torch.from_numpy(i1 - int(offset)).to(x.device))
    shape = [1] * x.dim()
    shape[axis] = -1
    w1 = torch.from_numpy(w.astype(np.float32)).view(shape).to(x.device)
    w0 = torch.from_numpy((1.0 - w).astype(np.float32)).view(shape).to(x.device)
    return a * w0 + b * w1  # elementwise, one rounding per operation: any slab is exact


def resample(
    x: torch.Tensor,
    scales: Sequence[float],
    sizes: Sequence[int],
    mode: str = "bilinear",
    slab: tuple[int, int, int, int, int] | None = None,
) -> torch.Tensor:
    """Channel-first ``x`` resampled on every spatial axis, the first axis first (the one
    order, so that a slab is the whole's).

    Args:
        slab: ``(axis, n, start, stop, offset)``: along spatial ``axis`` (of ``n`` input
            voxels) ``x`` holds input voxels from ``offset`` on, and only the output voxels
            ``[start, stop)`` are made; ``None``: the whole image.
    """
    for axis, (scale, size) in enumerate(zip(scales, sizes, strict=True)):
        if slab is not None and axis == slab[0]:
            n, start, stop, offset = slab[1:]
            x = resample_axis(x, axis + 1, scale, n, start, stop, mode, offset)
        else:
            x = resample_axis(x, axis + 1, scale, x.shape[axis + 1], 0, size, mode)
    return x


class ResampleToSpacing(InvertibleTransform):
    """Resample a channel-first image to the spacing ``pixdim``, keeping its orientation.

    Args:
        pixdim: the output spacing per spatial axis (one value: every axis).
        mode: ``"bilinear"`` or ``"nearest"``.

    Shapes:
        input ``(C, *spatial)`` with its affine (a MetaTensor; a plain array has spacing 1);
        output ``(C, *resampled)``, float32 for ``"bilinear"``, the affine's columns scaled.
    """

    backend = [TransformBackends.TORCH]

    def __init__(self, pixdim: Sequence[float] | float, mode: str = "bilinear") -> None:
        values = np.atleast_1d(np.asarray(pixdim, dtype=np.float64))
        if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values <= 0):
            raise ValueError(f"pixdim must be positive spacings, got {pixdim}.")
        self.pixdim = tuple(float(v) for v in values)
        self.mode = _mode(mode)

    def scales(self, affine: NdarrayOrTensor, spatial_dims: int) -> list[float]:
        """Input voxels per output voxel on each axis, for an image with ``affine``."""
        pixdim = self.pixdim
        if len(pixdim) == 1:
            pixdim = ensure_tuple_rep(pixdim[0], spatial_dims)
        if len(pixdim) != spatial_dims:
            raise ValueError(
                f"pixdim {self.pixdim} has {len(pixdim)} values for a {spatial_dims}D image; "
                f"give {spatial_dims} spacings."
            )
        spacing = affine_spacing(affine, spatial_dims)
        return [float(p) / float(s) for p, s in zip(pixdim, spacing, strict=True)]

    def __call__(self, img: NdarrayOrTensor, mode: str | None = None) -> NdarrayOrTensor:
        """The resampled image."""
        mode = _mode(mode or self.mode)
        img = convert_to_tensor(img, track_meta=get_track_meta())
        sr = img.dim() - 1
        affine = img.affine if isinstance(img, MetaTensor) else np.eye(sr + 1)
        scales = self.scales(affine, sr)
        sizes = [resampled_size(n, s) for n, s in zip(img.shape[1:], scales, strict=True)]
        data = img.as_tensor() if isinstance(img, MetaTensor) else img
        out = resample(data, scales, sizes, mode)
        meta = self.track_transform_meta(
            img,
            sp_size=sizes,
            affine=torch.as_tensor(np.diag([*scales, 1.0]), dtype=torch.float64),
            extra_info={"scales": scales, "mode": mode},
            orig_size=tuple(int(n) for n in img.shape[1:]),
            transform_info=self.get_transform_info(),
        )
        out = convert_to_tensor(out, track_meta=isinstance(img, MetaTensor))
        return out.copy_meta_from(meta) if isinstance(out, MetaTensor) else out

    def inverse(self, data: torch.Tensor) -> torch.Tensor:
        """Back onto the grid the image had (``mode`` as recorded; ``Invertd`` with
        ``nearest_interp`` makes it nearest, for class labels)."""
        transform = self.pop_transform(data)
        scales = [float(s) for s in transform[TraceKeys.EXTRA_INFO]["scales"]]
        mode = _mode(transform[TraceKeys.EXTRA_INFO]["mode"])
        orig = [int(n) for n in transform[TraceKeys.ORIG_SIZE]]
        x = data.as_tensor() if isinstance(data, MetaTensor) else torch.as_tensor(data)
        out = resample(x, [1.0 / s for s in scales], orig, mode)
        out = convert_to_dst_type(out, data, dtype=out.dtype)[0]
        if isinstance(out, MetaTensor):
            back = torch.as_tensor(np.diag([*(1.0 / s for s in scales), 1.0]), dtype=torch.float64)
            out.affine = data.affine.to(torch.float64) @ back
        return out


class ResampleToSpacingd(MapTransform, InvertibleTransform):
    """Dictionary wrapper of :class:`ResampleToSpacing`: every key on the same grid, each
    with its own ``mode`` (e.g. ``[bilinear, nearest]`` for image and label)."""

    backend = ResampleToSpacing.backend

    def __init__(
        self,
        keys: KeysCollection,
        pixdim: Sequence[float] | float,
        mode: Sequence[str] | str = "bilinear",
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.resampler = ResampleToSpacing(pixdim)
        self.mode = [_mode(m) for m in ensure_tuple_rep(mode, len(self.keys))]

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict:
        d = dict(data)
        for key, mode in self.key_iterator(d, self.mode):
            d[key] = self.resampler(d[key], mode=mode)
        return d

    def inverse(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.resampler.inverse(d[key])
        return d
