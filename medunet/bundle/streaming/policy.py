"""When an input is streamed, and in which blocks: its estimated in-memory peak against
``--max-memory``, or the block size given."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from medunet.bundle.streaming.memory import GB, MemoryBound
from medunet.data.blocks import open_blocks
from medunet.data.headers import VolumeHeader

__all__ = ["BYTES_PER_PIXEL", "StreamOptions", "in_memory_bytes", "slice_pixels",
           "streamed_block_size"]  # fmt: skip

logger = logging.getLogger(__name__)

#: peak bytes of the in-memory path per input pixel (measured: an 8192^2 uint16 image took
#: 6.9 GB with the demo's model, about 100 B/px; a volume about 60 B/voxel at the training
#: spacing), for deciding when to stream
BYTES_PER_PIXEL = {2: 100, 3: 60}


@dataclass
class StreamOptions:
    """How ``medunet infer`` streams.

    Attributes:
        block_size: block edge in pixels, or slices per slab (``None``: stream only above
            ``max_memory_gb``, in the blocks it allows).
        max_memory_gb: the bound on the process's peak memory (GB): inputs whose whole
            prediction would need more are streamed, in blocks it allows (``None``: a share
            of the memory available, :class:`~.memory.MemoryBound`).
        resume: continue an interrupted streamed prediction of the same input and settings.
        margin: pixels each block's labelling reaches into its neighbours.
    """

    block_size: int | None = None
    max_memory_gb: float | None = None
    resume: bool = False
    margin: int = 64


def in_memory_bytes(
    channels: int, shape: Sequence[int], spatial_dims: int, zoom: float = 1.0
) -> float:
    """Estimated peak memory of predicting an image of ``channels`` x ``shape`` whole
    (``zoom``: voxels at the training spacing per voxel of the file)."""
    return BYTES_PER_PIXEL[spatial_dims] * channels * math.prod(shape) * zoom


def streamed_block_size(
    path: str | Path,
    options: StreamOptions,
    spatial_dims: int,
    zoom: float = 1.0,
    header: VolumeHeader | None = None,
    bound: MemoryBound | None = None,
    tile_mb: float | None = None,
) -> int | None:
    """The block size to stream ``path`` with, or ``None`` to predict it whole (``header``:
    the volume's, already read: its shape and channels, without opening the file again).

    ``bound`` (default: ``options.max_memory_gb`` alone, nothing held beside it): the input
    is predicted whole when the bound's base, one tile of ``tile_mb`` (the bundle's budget)
    and the whole image fit in it; else streamed in the blocks the bound allows."""
    if options.block_size is not None:
        return int(options.block_size)
    lower = str(path).lower()
    if not lower.endswith((".tif", ".tiff", ".nii", ".nii.gz")) and not Path(path).is_dir():
        return None
    if header is not None:
        channels, shape = header.channels, header.shape
    else:
        try:
            source = open_blocks(path)
        except ValueError:
            return None  # not streamable (axes, format): the whole-image path reports problems
        channels, shape = source.channels, source.shape
    if len(shape) != spatial_dims:
        return None
    if bound is None:
        bound = MemoryBound(int((options.max_memory_gb or 2.0) * GB))
    estimate = bound.fixed_bytes(tile_mb) + in_memory_bytes(channels, shape, spatial_dims, zoom)
    if estimate <= bound.limit_bytes:
        return None
    block = bound.block_size(spatial_dims, slice_pixels(shape, zoom))
    logger.info(
        "%s: predicting it whole would take about %.1f GB (more than the %.1f GB bound): "
        "streaming it in blocks of %d",
        path,
        estimate / GB,
        bound.limit_bytes / GB,
        block,
    )
    return block


def slice_pixels(shape: Sequence[int], zoom: float = 1.0) -> int:
    """Voxels of one slice of a slab (the file's last axis), at the larger of the file's and
    the training spacing's grid (``zoom``: voxels there per voxel of the file)."""
    return int(math.prod(shape[:-1]) * max(zoom, 1.0)) if len(shape) == 3 else 1
