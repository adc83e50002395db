"""Where the tiles of an overlap-tile prediction lie: one frozen dataclass, exact arithmetic.

:meth:`OverlapTileInferer.plan <medunet.inferers.OverlapTileInferer.plan>` makes it for an
image; the whole-image prediction pads the image by ``pads`` and runs ``tiles`` tiles; a
streamed block reads :meth:`TilePlan.window` of the image and keeps :meth:`TilePlan.core` of
the prediction, so its tiles are the whole image's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["TilePlan"]


@dataclass(frozen=True)
class TilePlan:
    """The tile geometry over an image, per spatial axis.

    Attributes:
        roi: the input tile.
        offset: where the pixels a tile owns start in its input tile (the mirror padding
            before the image, too).
        stride: the pixels a tile owns (the step between tiles).
        tiles: tiles along the axis.
        pad_after: mirror padding after the image, so the last tile ends at the padded border.
    """

    roi: tuple[int, ...]
    offset: tuple[int, ...]
    stride: tuple[int, ...]
    tiles: tuple[int, ...]
    pad_after: tuple[int, ...]

    @classmethod
    def over(
        cls,
        image_size: Sequence[int],
        roi: Sequence[int],
        offset: Sequence[int],
        stride: Sequence[int],
    ) -> TilePlan:
        """The plan covering ``image_size`` with tiles ``roi`` that own ``stride`` pixels
        from ``offset`` on.

        Raises:
            ValueError: a stride below one pixel (the tile owns nothing).
        """
        if any(int(s) < 1 for s in stride):
            raise ValueError(f"tiles {tuple(roi)} own {tuple(stride)} pixels; use larger tiles.")
        size = tuple(int(n) for n in image_size)
        tiles = tuple(math.ceil(n / int(s)) for n, s in zip(size, stride, strict=True))
        padded = [(t - 1) * int(s) + int(r) for t, s, r in zip(tiles, stride, roi, strict=True)]
        after = tuple(p - n - int(o) for p, n, o in zip(padded, size, offset, strict=True))
        return cls(
            tuple(int(r) for r in roi),
            tuple(int(o) for o in offset),
            tuple(int(s) for s in stride),
            tiles,
            after,
        )

    @property
    def pad_before(self) -> tuple[int, ...]:
        """Mirror padding before the image: the first tile's owned pixels start at 0."""
        return self.offset

    @property
    def pads(self) -> list[tuple[int, int]]:
        """``(before, after)`` per axis, as :func:`~medunet.inferers.mirror_pad` takes them."""
        return list(zip(self.pad_before, self.pad_after, strict=True))

    def window(
        self, start: Sequence[int], stop: Sequence[int]
    ) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """``(window start, window size)`` in image coordinates: what the tiles owning
        ``[start, stop)`` read (beyond the image at its borders: read it mirrored, as the
        whole image is). Any box: the tiles are the whole image's, the window their union."""
        w_start, w_size = [], []
        for s, e, r, o, st in zip(start, stop, self.roi, self.offset, self.stride, strict=True):
            first, last = int(s) // st, -(-int(e) // st)  # the owning tiles: first .. last-1
            w_start.append(first * st - o)
            w_size.append((last - first - 1) * st + r)
        return tuple(w_start), tuple(w_size)

    def core(self, start: Sequence[int], stop: Sequence[int]) -> tuple[slice, ...]:
        """Where ``[start, stop)`` lies in the prediction of its :meth:`window`."""
        w_start, _ = self.window(start, stop)
        return tuple(
            slice(int(s) - w, int(e) - w) for s, e, w in zip(start, stop, w_start, strict=True)
        )
