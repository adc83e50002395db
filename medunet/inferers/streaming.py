"""Overlap-tile inference of images larger than memory: one block at a time, same tiles.

Overlap-tile inference already splits an image into tiles that each own the output pixels
where their context is complete (:class:`~medunet.inferers.OverlapTileInferer`). A
:class:`StreamGrid` groups those very tiles into blocks (a whole number of tiles per axis)
and gives, for each block, the window of the image its tiles read: the block grown by the
network's halo, mirrored beyond the image's borders exactly as the whole image is mirrored.
:func:`predict_block` runs the block's tiles over that window. The tiles, their inputs and
so their outputs are the whole-image prediction's; only the order of the work changes, and
only one block's window and output are in memory at a time. With test-time augmentation
each turn of the image reads the window its own tiles need
(:meth:`~medunet.inferers.OverlapTileInferer.predict_region`), so a block is the whole
turned image's prediction there too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch

from medunet.data.blocks import iter_blocks
from medunet.inferers.overlap_tile import OverlapTileInferer
from medunet.inferers.tile_plan import TilePlan

__all__ = ["StreamGrid", "predict_block"]


@dataclass(frozen=True)
class StreamGrid:
    """Blocks of whole tiles over an image.

    Attributes:
        shape: the image's spatial shape.
        plan: the whole image's tile plan (:meth:`OverlapTileInferer.plan`).
        block: block size per axis, a multiple of the tile stride.
    """

    shape: tuple[int, ...]
    plan: TilePlan
    block: tuple[int, ...]

    @classmethod
    def create(
        cls,
        inferer: OverlapTileInferer,
        network: Callable,
        shape: Sequence[int],
        block_size: int | Sequence[int],
    ) -> StreamGrid:
        """The grid for ``shape`` with blocks of about ``block_size`` pixels per axis,
        rounded to whole tiles (at least one)."""
        shape = tuple(int(n) for n in shape)
        plan = inferer.plan(shape, network)
        sizes = [block_size] * len(shape) if isinstance(block_size, int) else list(block_size)
        if len(sizes) != len(shape) or any(int(b) < 1 for b in sizes):
            raise ValueError(f"block size {block_size} needs a positive size per axis.")
        block = tuple(
            max(1, round(int(b) / s)) * s for b, s in zip(sizes, plan.stride, strict=True)
        )
        return cls(shape, plan, block)

    @property
    def counts(self) -> tuple[int, ...]:
        """Blocks per axis."""
        return tuple(math.ceil(n / b) for n, b in zip(self.shape, self.block, strict=True))

    def __len__(self) -> int:
        return math.prod(self.counts)

    def blocks(self) -> Iterator[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]:
        """``(index, start, stop)`` of every block, row-major (the last axis fastest)."""
        for start, stop in iter_blocks(self.shape, self.block):
            yield tuple(s // b for s, b in zip(start, self.block, strict=True)), start, stop

    def window(
        self, start: Sequence[int], stop: Sequence[int]
    ) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """``(window start, window size)`` in image coordinates: what the tiles owning
        ``[start, stop)`` read (it reaches beyond the image where the block is at a border:
        read it mirrored, as the whole image is)."""
        return self.plan.window(start, stop)


def predict_block(
    inferer: OverlapTileInferer,
    network: Callable,
    grid: StreamGrid,
    read: Callable[[Sequence[int], Sequence[int]], torch.Tensor],
    start: Sequence[int],
    stop: Sequence[int],
    sw_device: torch.device | str | None = None,
) -> torch.Tensor:
    """The network's output ``(1, out_C, *(stop - start))`` for one block: the whole
    image's prediction of it, test-time augmentation included
    (:meth:`OverlapTileInferer.predict_region`).

    Args:
        read: ``read(window start, window size)`` -> ``(1, C, *size)``: a window of the image
            (mirrored beyond its borders), normalised as the network expects.
    """

    def checked(w_start: Sequence[int], w_size: Sequence[int]) -> torch.Tensor:
        return inferer.check_inputs(read(w_start, w_size), network)

    return inferer.predict_region(checked, grid.shape, start, stop, network, sw_device)
