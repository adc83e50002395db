"""Test-time augmentation as turns of the image: each flip or rotation, and where it moves
every region of the image.

The paper's inference may average over rotations and reflections. A turn ``T`` maps the
image ``x`` to ``T(x)``; predicting ``T(x)`` and turning the prediction back gives one of
the averaged predictions. To predict only a region of ``T(x)`` (a streamed block, or the
whole image as one region) the turn must also map boxes: :class:`Turn` keeps, besides the
two tensor functions, which axis of the image each axis of ``T(x)`` reads and whether it
runs backwards, found by turning a small probe (so the functions are the only definition).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

__all__ = ["TTA_MODES", "Turn", "tta_turns"]

TTA_MODES = (None, "flips", "rot90")

Tensor = torch.Tensor


@dataclass(frozen=True)
class Turn:
    """One flip or rotation of the spatial axes of ``(B, C, *spatial)`` tensors.

    Attributes:
        forward: ``x -> T(x)``.
        inverse: ``T(x) -> x``.
        axes: axis ``a`` of ``T(x)`` runs along axis ``axes[a]`` of ``x``...
        reversed: ...backwards where ``reversed[a]``.
    """

    forward: Callable[[Tensor], Tensor]
    inverse: Callable[[Tensor], Tensor]
    axes: tuple[int, ...]
    reversed: tuple[bool, ...]

    def shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        """The spatial shape of ``T(x)`` for ``x`` of ``shape``."""
        return tuple(int(shape[p]) for p in self.axes)

    def box(
        self, shape: Sequence[int], start: Sequence[int], stop: Sequence[int]
    ) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The box ``[start, stop)`` of ``x`` (of ``shape``) in ``T(x)``'s coordinates."""
        out_start, out_stop = [], []
        for p, rev in zip(self.axes, self.reversed, strict=True):
            lo, hi = int(start[p]), int(stop[p])
            if rev:
                lo, hi = int(shape[p]) - hi, int(shape[p]) - lo
            out_start.append(lo)
            out_stop.append(hi)
        return tuple(out_start), tuple(out_stop)

    def box_back(
        self, shape: Sequence[int], start: Sequence[int], stop: Sequence[int]
    ) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The box ``[start, stop)`` of ``T(x)`` in ``x``'s coordinates (``shape``: x's)."""
        back_start, back_stop = [0] * len(self.axes), [0] * len(self.axes)
        for a, (p, rev) in enumerate(zip(self.axes, self.reversed, strict=True)):
            lo, hi = int(start[a]), int(stop[a])
            if rev:
                lo, hi = int(shape[p]) - hi, int(shape[p]) - lo
            back_start[p], back_stop[p] = lo, hi
        return tuple(back_start), tuple(back_stop)


def _pairs(mode: str | None, spatial_dims: int) -> list[tuple[Callable, Callable]]:
    """(forward, inverse) pairs on ``(B, C, *spatial)`` tensors, the identity first."""
    if mode is None:
        return [(lambda t: t, lambda t: t)]
    if mode == "flips":
        axes = [2 + i for i in range(spatial_dims)]
        flip_sets = [c for r in range(len(axes) + 1) for c in itertools.combinations(axes, r)]
        return [
            (lambda t, f=f: t.flip(f) if f else t, lambda t, f=f: t.flip(f) if f else t)
            for f in flip_sets
        ]
    pairs = []  # rot90: the 8 rotations/reflections of the first two spatial axes
    for k in range(4):
        for flip in (False, True):

            def fwd(t: Tensor, k: int = k, flip: bool = flip) -> Tensor:
                t = t.flip(2) if flip else t
                return torch.rot90(t, k, dims=(2, 3))

            def inv(t: Tensor, k: int = k, flip: bool = flip) -> Tensor:
                t = torch.rot90(t, -k, dims=(2, 3))
                return t.flip(2) if flip else t

            pairs.append((fwd, inv))
    return pairs


def _probe(forward: Callable, spatial_dims: int) -> tuple[tuple[int, ...], tuple[bool, ...]]:
    """Which axis of ``x`` each axis of ``forward(x)`` runs along, and which way: turn
    tensors whose values are their own coordinates along each axis."""
    sizes = (3, 5, 7)[:spatial_dims]  # distinct sizes tell the axes apart
    grids = torch.meshgrid(*[torch.arange(n) for n in sizes], indexing="ij")
    turned = [forward(g[None, None])[0, 0] for g in grids]
    axes, backwards = [], []
    for a, n in enumerate(turned[0].shape):
        p = sizes.index(n)
        line = turned[p].movedim(a, 0).reshape(n, -1)[:, 0]
        axes.append(p)
        backwards.append(bool(line[0] > line[-1]))
    return tuple(axes), tuple(backwards)


def tta_turns(mode: str | None, spatial_dims: int) -> list[Turn]:
    """The turns of a test-time augmentation mode, the identity first.

    Args:
        mode: ``None``, ``"flips"`` (every subset of the axes flipped) or ``"rot90"`` (the 8
            rotations and reflections of the first two spatial axes).
        spatial_dims: 2 or 3.
    """
    if mode not in TTA_MODES:
        raise ValueError(f"tta must be one of {TTA_MODES}, got {mode!r}.")
    return [Turn(f, i, *_probe(f, spatial_dims)) for f, i in _pairs(mode, spatial_dims)]
