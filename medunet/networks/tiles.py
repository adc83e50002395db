"""Tile arithmetic of a U-Net: valid input sizes, output sizes, halos, activation memory.

Unpadded ("valid") 3x3 convolutions shrink each map by 2 pixels per conv, so a U-Net's
output is smaller than its input, and an input size is usable only if every 2x2 max-pool
sees an even size (the paper's 572 -> 388). :class:`TileGeometry` holds that arithmetic for
one network shape; :class:`~medunet.networks.UNet2015` exposes it as ``tile_geometry``, and
the overlap-tile inferer and the training tile sampler read it through
:func:`tile_geometry_of`, which gives any other network (every size valid, output = input,
no pooling grid) the neutral geometry.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["SizeLike", "TileGeometry", "tile_geometry_of"]

SizeLike = int | Sequence[int]


@dataclass(frozen=True)
class TileGeometry:
    """Input/output sizes of a U-Net with ``num_pools`` 2x2 max-pools.

    Args:
        num_pools: number of 2x2 max-pools (``len(channels) - 1``); 0 for a network without
            a pooling grid.
        valid: unpadded convolutions (two 3x3 per level: 4 pixels lost per level) or not.
        spatial_dims: 2 or 3.
        channels: feature channels per level, for :meth:`estimate_activation_mb` (empty:
            no estimate).
    """

    num_pools: int
    valid: bool = True
    spatial_dims: int = 2
    channels: tuple[int, ...] = ()

    @property
    def alignment(self) -> int:
        """The pooling grid ``2^pools``: tiles whose pools line up with the whole image's
        start at multiples of it."""
        return 2**self.num_pools

    @property
    def _shrink(self) -> int:
        return 4 if self.valid else 0

    def _out_1d(self, n: int) -> int | None:
        """Output size for input size ``n`` along one axis, or None if ``n`` is not valid."""
        s = self._shrink
        for _ in range(self.num_pools):
            n -= s
            if n < 2 or n % 2:
                return None
            n //= 2
        n -= s
        if n < 1:
            return None
        for _ in range(self.num_pools):
            n = 2 * n - s
            if n < 1:
                return None
        return n

    def _in_from_bottom(self, b: int) -> int:
        """Input size whose bottom (pre-convolution) map has size ``b``."""
        for _ in range(self.num_pools):
            b = 2 * b + self._shrink
        return b

    def _smallest_bottom(self) -> int:
        b = 1
        while self._out_1d(self._in_from_bottom(b)) is None:
            b += 1
        return b

    @staticmethod
    def _map(size: SizeLike, fn: Callable[[int], int]) -> SizeLike:
        if isinstance(size, int):
            return fn(int(size))
        return tuple(fn(int(s)) for s in size)

    def is_valid(self, n: int) -> bool:
        """Whether ``n`` is a valid input size along one axis."""
        return self._out_1d(int(n)) is not None

    def nearest_valid_sizes(self, n: int) -> tuple[int | None, int]:
        """Largest valid size <= n (None if there is none) and smallest valid size >= n."""
        smallest = self._smallest_bottom()
        below = None
        b = smallest
        while self._in_from_bottom(b) <= n:
            below = self._in_from_bottom(b)
            b += 1
        above = self._in_from_bottom(max(b, smallest))
        if below == n:
            above = n
        return below, above

    def nearest_valid_hint(self, n: int) -> str:
        """``"below or above"``: the valid sizes around ``n``, for error messages."""
        below, above = self.nearest_valid_sizes(n)
        return f"{below} or {above}" if below is not None else f"{above}"

    def output_size(self, input_size: SizeLike) -> SizeLike:
        """Spatial output size for an input size (int, or one int per spatial axis).

        Raises:
            ValueError: if the size is not valid; the message names the nearest valid sizes.
        """

        def one(n: int) -> int:
            out = self._out_1d(n)
            if out is None:
                raise ValueError(
                    f"input size {n} is not valid for this U-Net ({self.num_pools} pools, "
                    f"{'valid' if self.valid else 'same'} padding); nearest valid size: "
                    f"{self.nearest_valid_hint(n)}."
                )
            return out

        return self._map(input_size, one)

    def input_size_for(self, output_size: SizeLike) -> SizeLike:
        """Smallest valid input size whose output size is at least ``output_size``."""

        def one(n: int) -> int:
            if n < 1:
                raise ValueError(f"output size must be positive, got {n}.")
            b = self._smallest_bottom()
            while self._out_1d(self._in_from_bottom(b)) < n:
                b += 1
            return self._in_from_bottom(b)

        return self._map(output_size, one)

    def valid_input_size(self, near: SizeLike) -> SizeLike:
        """The valid input size nearest to ``near`` (the smaller one on a tie)."""

        def one(n: int) -> int:
            below, above = self.nearest_valid_sizes(n)
            if below is None or above - n < n - below:
                return above
            return below

        return self._map(near, one)

    def halo(self) -> int:
        """Pixels lost on each side of a valid input: ``(input - output) / 2`` (0 for same)."""
        n = self.input_size_for(1)
        return (n - self._out_1d(n)) // 2

    def context_halo(self) -> int:
        """Receptive-field radius in pixels (the same for either padding).

        Each level's two 3x3 convolutions reach 2 pixels at scale ``2^level`` in the encoder,
        the bottom and the decoder: ``2 * (3 * 2^P - 2)`` for ``P`` pools, the valid halo.
        Where a pixel sits inside its ``2^P`` pooling block adds up to ``2^P - 1`` more on one
        side (a bottom pixel feeds a whole block). So ``2 * (3 * 2^P - 2) + 2^P - 1``: 107 for
        the paper's depth; 0 for a network without pools. A same-padded network's outputs
        nearer than this to a tile border depend on the tile's zero padding.
        """
        if self.num_pools == 0 and not self.channels:
            return 0
        pools = self.alignment
        return 2 * (3 * pools - 2) + pools - 1

    def estimate_activation_mb(self, input_size: SizeLike, batch_size: int = 1) -> float:
        """Estimated peak activation memory of an inference forward pass, in MiB.

        Documented estimate (float32): the encoder maps kept for the skip connections,
        ``sum_l c_l * n_l^d``, plus a working set of three maps (input, output, concatenation)
        at the largest level, ``max_l 3 * 2 * c_l * n_l^d``, with ``n_l`` the map size at level
        ``l``. It tracks the real peak within a small factor and grows with the tile volume;
        the overlap-tile inferer uses it to choose a tile for its memory budget.
        """
        if not self.channels:
            raise ValueError("this geometry has no channels: no activation estimate.")
        sizes = [input_size] if isinstance(input_size, int) else list(input_size)
        if len(sizes) == 1:
            sizes = sizes * self.spatial_dims
        kept, working = 0.0, 0.0
        for level, ch in enumerate(self.channels):
            sizes = [max(n - self._shrink, 1) for n in sizes]
            voxels = math.prod(sizes)
            kept += ch * voxels
            working = max(working, 6.0 * ch * voxels)
            if level < self.num_pools:
                sizes = [n // 2 for n in sizes]
        return 4.0 * batch_size * (kept + working) / 2**20


def tile_geometry_of(network: object) -> TileGeometry:
    """The network's ``tile_geometry`` (a :class:`~medunet.networks.UNet2015`'s), or the
    neutral one of a network without: every size valid, output = input, no pooling grid."""
    geometry = getattr(network, "tile_geometry", None)
    return geometry if isinstance(geometry, TileGeometry) else TileGeometry(0, valid=False)
