"""The paper's elastic deformation: random displacements on a coarse grid, smoothly interpolated.

What is done, exactly:

1. **Sampling** (:class:`RandCoarseElastic`): a displacement vector per control point of a
   ``grid_size`` grid (3 x 3 in the paper, 3 x 3 x 3 in 3D), each component drawn from
   ``N(0, std)`` in pixels (or in physical units when ``spacing`` is given, then divided by
   the spacing of its axis). Control points sit at the image corners and evenly in between.
2. **Interpolation** (:func:`dense_displacement`): the coarse field is upsampled to every pixel
   by separable cubic convolution, the Keys kernel with ``a = -0.75`` (the kernel of torch's
   and OpenCV's bicubic; ``align_corners=True``; beyond the grid the edge values repeat). In
   2D this is exactly ``F.interpolate(mode="bicubic", align_corners=True)``; in 3D it is the
   same kernel on the third axis (tricubic). The field passes through the control values
   and is C1-smooth.
3. **Applying** (:class:`CoarseElastic`): output pixel ``p`` takes the input at
   ``p + u(p)`` (``torch.nn.functional.grid_sample``, per-key ``mode``, ``padding_mode``
   reflection by default), on the tensor's own device.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from monai.config import KeysCollection, NdarrayOrTensor
from monai.transforms import MapTransform, RandomizableTransform, Transform
from monai.utils import convert_to_dst_type, convert_to_tensor, ensure_tuple_rep

__all__ = [
    "PAPER_GRID_SIZE",
    "PAPER_STD",
    "CoarseElastic",
    "RandCoarseElastic",
    "RandCoarseElasticd",
    "dense_displacement",
]

#: the paper's coarse grid: 3 control points per axis
PAPER_GRID_SIZE = 3
#: the paper's displacement std, pixels
PAPER_STD = 10.0

_MODES = ("bilinear", "nearest", "bicubic")
_PADDING = ("reflection", "border", "zeros")
_KEYS_A = -0.75


def _cubic_weights(t: torch.Tensor) -> torch.Tensor:
    """Keys cubic-convolution weights for taps at offsets -1, 0, 1, 2 from ``floor(u)``."""
    a = _KEYS_A

    def near(x: torch.Tensor) -> torch.Tensor:  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: torch.Tensor) -> torch.Tensor:  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return torch.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], dim=-1)


def _interp_matrix(n_out: int, n_grid: int, device: torch.device) -> torch.Tensor:
    """``(n_out, n_grid)`` float32 matrix taking control values to pixels along one axis."""
    if n_grid == 1:
        return torch.ones(n_out, 1, device=device)
    u = torch.arange(n_out, dtype=torch.float64, device=device) * ((n_grid - 1) / max(n_out - 1, 1))
    base = u.floor().clamp(max=n_grid - 1)
    w = _cubic_weights(u - base)
    taps = (base.long()[:, None] + torch.arange(-1, 3, device=device)).clamp(0, n_grid - 1)
    matrix = torch.zeros(n_out, n_grid, dtype=torch.float64, device=device)
    matrix.scatter_add_(1, taps, w)
    return matrix.to(torch.float32)


def dense_displacement(displacements: torch.Tensor, spatial_shape: Sequence[int]) -> torch.Tensor:
    """Upsample coarse displacements ``(d, *grid)`` to every pixel: ``(d, *spatial_shape)``.

    Separable cubic convolution (see the module docstring), float32, on
    ``displacements.device``. The trailing axes are interpolated first, while the array is
    small; the first axis last, as one matrix product that writes the full-size field.
    """
    d = displacements.shape[0]
    if displacements.dim() != d + 1 or len(spatial_shape) != d:
        raise ValueError(
            f"displacements must be (d, *grid) with d = {len(spatial_shape)} spatial axes, got "
            f"{tuple(displacements.shape)}."
        )
    grid = displacements.shape[1:]
    field = displacements.to(torch.float32)
    for axis in reversed(range(1, d)):
        matrix = _interp_matrix(int(spatial_shape[axis]), int(grid[axis]), field.device)
        field = torch.movedim(torch.tensordot(field, matrix, dims=([axis + 1], [1])), -1, axis + 1)
    first = _interp_matrix(int(spatial_shape[0]), int(grid[0]), field.device)
    field = first @ field.reshape(d, int(grid[0]), -1)
    return field.reshape(d, *[int(n) for n in spatial_shape])


class CoarseElastic(Transform):
    """Deform an image with given coarse-grid displacements (deterministic; replayable).

    Args:
        mode: ``"bilinear"`` (images, weight maps), ``"nearest"`` (labels) or ``"bicubic"``
            (2D only).
        padding_mode: where ``p + u(p)`` leaves the image: ``"reflection"`` (default, mirror
            about the border pixels), ``"border"`` (repeat them) or ``"zeros"``.

    Shapes:
        img ``(C, *spatial)`` (2D or 3D), numpy or torch/MetaTensor, on any device;
        displacements ``(d, *grid)`` in pixels (channel ``i`` moves along spatial axis ``i``).
        Output: like ``img`` (same type, dtype, device and meta). ``nearest`` copies input
        values (labels keep their dtype and values exactly).
    """

    backend = ["torch", "numpy"]  # grid_sample on the input's device; numpy via a CPU tensor

    def __init__(self, mode: str = "bilinear", padding_mode: str = "reflection") -> None:
        self.mode = _check_mode(mode)
        self.padding_mode = _check_padding(padding_mode)

    @staticmethod
    def source_coordinates(
        displacements: NdarrayOrTensor,
        spatial_shape: Sequence[int],
        padding_mode: str = "reflection",
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """Where each output pixel reads the input: ``p + u(p)``, ``(d, *spatial)`` pixels.

        With ``"reflection"``/``"border"`` the coordinates are folded into the image here, once
        for all keys; with ``"zeros"`` they may lie outside.
        """
        _check_padding(padding_mode)
        disp = convert_to_tensor(displacements, device=device, track_meta=False)
        coords = dense_displacement(disp, spatial_shape)  # becomes p + u(p) in place
        for axis, n in enumerate(spatial_shape):
            shape = [1] * len(spatial_shape)
            shape[axis] = n
            c = coords[axis]
            c += torch.arange(n, dtype=torch.float32, device=c.device).view(shape)
            outside = bool((c.min() < 0) | (c.max() > n - 1))
            if padding_mode == "reflection" and n > 1 and outside:
                # mirror about the border pixels: fold into [0, 2(n-1)), then onto [0, n-1]
                c.remainder_(2.0 * (n - 1)).sub_(n - 1).abs_().neg_().add_(n - 1)
                c.clamp_(0, n - 1)  # float rounding must not leave the image
            elif (padding_mode == "border" or n == 1) and outside:
                c.clamp_(0, n - 1)
        return coords

    @staticmethod
    def resample(
        img: NdarrayOrTensor, coords: torch.Tensor, mode: str = "bilinear"
    ) -> NdarrayOrTensor:
        """Sample ``img`` ``(C, *spatial)`` at ``coords`` ``(d, *spatial)`` (pixel units)."""
        _check_mode(mode)
        x = convert_to_tensor(img, track_meta=False)
        spatial = tuple(x.shape[1:])
        if len(spatial) not in (2, 3) or tuple(coords.shape[1:]) != spatial:
            raise ValueError(
                f"expected a (C, H, W) or (C, H, W, D) image matching the coordinates "
                f"{tuple(coords.shape)}, got {tuple(x.shape)}."
            )
        if mode == "bicubic" and len(spatial) == 3:
            raise ValueError("mode='bicubic' is 2D only; use 'bilinear' for 3D volumes.")
        coords = coords.to(x.device)
        inside = all(
            bool((c.min() >= 0) & (c.max() <= n - 1)) for c, n in zip(coords, spatial, strict=True)
        )
        if mode == "nearest" and inside:
            # flat source index, summed in floating point (exact below 2^24 / 2^53 voxels)
            exact = torch.float32 if math.prod(spatial) < 2**24 else torch.float64
            flat = coords[0].to(exact).round() * math.prod(spatial[1:])
            for axis in range(1, len(spatial)):
                flat.add_(coords[axis].to(exact).round(), alpha=math.prod(spatial[axis + 1 :]))
            out = torch.index_select(x.reshape(x.shape[0], -1), 1, flat.long().view(-1))
            out = out.view(x.shape)
        else:
            work = torch.float64 if x.dtype == torch.float64 else torch.float32
            # grid_sample wants (*spatial, d) normalised to [-1, 1], last spatial axis first
            scale = torch.tensor([2.0 / max(n - 1, 1) for n in spatial[::-1]], device=x.device)
            grid = torch.empty((*spatial, len(spatial)), dtype=work, device=x.device)
            torch.addcmul(
                torch.tensor(-1.0, device=x.device),
                coords.flip(0).movedim(0, -1),
                scale,
                out=grid,
            )
            out = F.grid_sample(
                x.to(work)[None],
                grid[None],
                mode=mode,
                padding_mode="border" if inside else "zeros",
                align_corners=True,
            )[0]
            if not x.is_floating_point():
                out = out.round()
            out = out.to(x.dtype)
        return convert_to_dst_type(out, img)[0]

    def __call__(
        self,
        img: NdarrayOrTensor,
        displacements: NdarrayOrTensor,
        mode: str | None = None,
        padding_mode: str | None = None,
    ) -> NdarrayOrTensor:
        """Deformed ``img``: output pixel ``p`` is ``img`` at ``p + u(p)``."""
        device = img.device if isinstance(img, torch.Tensor) else None
        coords = self.source_coordinates(
            displacements, img.shape[1:], padding_mode or self.padding_mode, device
        )
        return self.resample(img, coords, mode or self.mode)


def _check_mode(mode: str) -> str:
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}.")
    return mode


def _check_padding(padding_mode: str) -> str:
    if padding_mode not in _PADDING:
        raise ValueError(f"padding_mode must be one of {_PADDING}, got {padding_mode!r}.")
    return padding_mode


class RandCoarseElastic(RandomizableTransform):
    """Random elastic deformation as in the paper (3 x 3 grid, std 10 px), 2D and 3D.

    Args:
        grid_size: control points per axis (int, or one per axis).
        std: standard deviation of each displacement component, in pixels (or in ``spacing``
            units).
        prob: probability of deforming at all.
        mode, padding_mode: see :class:`CoarseElastic`.
        spacing: pixel size per axis; ``std`` is then physical and each axis' displacements are
            divided by its spacing.

    Shapes:
        img ``(C, *spatial)``; output the same. ``self.displacements`` holds the last sampled
        field ``(d, *grid)`` in pixels, so a run can be replayed with :class:`CoarseElastic`.
    """

    backend = CoarseElastic.backend

    def __init__(
        self,
        grid_size: int | Sequence[int] = PAPER_GRID_SIZE,
        std: float = PAPER_STD,
        prob: float = 1.0,
        mode: str = "bilinear",
        padding_mode: str = "reflection",
        spacing: Sequence[float] | float | None = None,
    ) -> None:
        RandomizableTransform.__init__(self, prob)
        if std < 0:
            raise ValueError(f"std must be >= 0, got {std}.")
        if any(g < 1 for g in np.atleast_1d(grid_size)):
            raise ValueError(f"grid_size must be >= 1, got {grid_size}.")
        self.grid_size = grid_size
        self.std = float(std)
        self.spacing = spacing
        self.deform = CoarseElastic(mode, padding_mode)
        self.displacements: np.ndarray | None = None

    def randomize(self, spatial_shape: Sequence[int]) -> None:  # type: ignore[override]
        """Decide whether to deform and sample ``self.displacements`` ``(d, *grid)``."""
        super().randomize(None)
        if not self._do_transform:
            return
        self.displacements = self.sample_displacements(spatial_shape)

    def sample_displacements(self, spatial_shape: Sequence[int]) -> np.ndarray:
        """Draw a coarse field ``(d, *grid)`` in pixels from this transform's random state."""
        d = len(spatial_shape)
        grid = ensure_tuple_rep(self.grid_size, d)
        spacing = np.asarray(ensure_tuple_rep(self.spacing or 1.0, d), dtype=np.float64)
        if np.any(spacing <= 0):
            raise ValueError(f"spacing must be positive, got {self.spacing}.")
        disp = self.R.normal(0.0, self.std, size=(d, *grid))
        return disp / spacing.reshape((d,) + (1,) * d)

    def __call__(
        self, img: NdarrayOrTensor, mode: str | None = None, randomize: bool = True
    ) -> NdarrayOrTensor:
        """Deform ``img`` ``(C, *spatial)`` (sampling a new field unless ``randomize=False``)."""
        if randomize:
            self.randomize(img.shape[1:])
        if not self._do_transform or self.displacements is None:
            return img
        return self.deform(img, self.displacements, mode=mode)


class RandCoarseElasticd(RandomizableTransform, MapTransform):
    """Dictionary version: one field per call, applied to every key with its own ``mode``.

    Args:
        keys: keys to deform with identical geometry (e.g. image, label, weight map).
        mode: one mode, or one per key (e.g. ``("bilinear", "nearest", "bilinear")``).
        padding_mode: one padding mode, or one per key.
        grid_size, std, prob, spacing: see :class:`RandCoarseElastic`.

    Raises:
        ValueError: if the keys' spatial shapes differ.
    """

    backend = RandCoarseElastic.backend

    def __init__(
        self,
        keys: KeysCollection,
        grid_size: int | Sequence[int] = PAPER_GRID_SIZE,
        std: float = PAPER_STD,
        prob: float = 1.0,
        mode: str | Sequence[str] = "bilinear",
        padding_mode: str | Sequence[str] = "reflection",
        spacing: Sequence[float] | float | None = None,
        allow_missing_keys: bool = False,
    ) -> None:
        MapTransform.__init__(self, keys, allow_missing_keys)
        RandomizableTransform.__init__(self, prob)
        self.mode = ensure_tuple_rep(mode, len(self.keys))
        self.padding_mode = ensure_tuple_rep(padding_mode, len(self.keys))
        self.rand_elastic = RandCoarseElastic(grid_size, std, 1.0, spacing=spacing)

    def set_random_state(
        self, seed: int | None = None, state: np.random.RandomState | None = None
    ) -> RandCoarseElasticd:
        super().set_random_state(seed, state)
        self.rand_elastic.set_random_state(seed, state)
        return self

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict:
        d = dict(data)
        self.randomize(None)
        keys = list(self.key_iterator(d))
        if not keys:
            return d
        shapes = {str(k): tuple(d[k].shape[1:]) for k in keys}
        if len(set(shapes.values())) > 1:
            raise ValueError(
                f"RandCoarseElasticd needs the same spatial shape for all keys, got {shapes}; "
                "resample them onto one grid first."
            )
        if not self._do_transform:
            return d
        spatial = shapes[str(keys[0])]
        self.rand_elastic.randomize(spatial)
        disp = self.rand_elastic.displacements
        coords: dict[str, torch.Tensor] = {}  # one coordinate field per padding mode
        for key, mode, padding in self.key_iterator(d, self.mode, self.padding_mode):
            device = d[key].device if isinstance(d[key], torch.Tensor) else None
            if padding not in coords:
                coords[padding] = CoarseElastic.source_coordinates(disp, spatial, padding, device)
            d[key] = CoarseElastic.resample(d[key], coords[padding], mode)
        return d
