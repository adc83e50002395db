"""The memory bound of ``medunet infer`` (``--max-memory``): its default from the machine,
the tile and the block it allows, and the check that one tile fits.

The peak resident memory of a prediction is what the process holds before it starts (Python,
PyTorch, MONAI and the model: measured when the bound is resolved), one tile with its
block's window and logits (on a CPU), and the buffers that grow with the image (whole) or
with the block (streamed: the stripes and slabs live in the work folder, mapped a window at
a time). The tile's activation budget is what the bound leaves beside the base, in steps of
:data:`TILE_STEP` MiB, at most the bundle's own; the block is a fixed share of the bound.
A bound that cannot hold the base and the smallest budget is a one-line error naming the
smallest bound that can.
"""

from __future__ import annotations

import itertools
import math
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

__all__ = [
    "BLOCK_BYTES",
    "BLOCK_PAD",
    "BLOCK_SHARE",
    "DEFAULT_SHARE",
    "GB",
    "MAX_BLOCK",
    "MB",
    "TILE_PEAK",
    "TILE_SHARE",
    "TILE_STEP",
    "MemoryBound",
    "available_memory_bytes",
    "resident_bytes",
]

GB = 2**30
MB = 2**20
#: the default bound: this share of the memory available when ``medunet infer`` starts
DEFAULT_SHARE = 0.5
#: on a CPU, this share of the bound beyond the base goes to one tile (activations, its
#: block's window and logits); the rest to the block's labelling
TILE_SHARE = 0.8
#: a tile's real peak with its block over its activation estimate
#: (:meth:`TileGeometry.estimate_activation_mb`; measured 1.38 to 1.54 for 684^2 to 1460^2
#: tiles of the 2D network on a CPU)
TILE_PEAK = 1.5
#: tile budgets are whole steps of this (MiB), so the few MB the base varies by between runs
#: rarely change the tile (a resumed run refuses another tile)
TILE_STEP = 128
#: at most this share of the bound goes to a streamed block's labelling buffers
BLOCK_SHARE = 0.1
#: bytes per pixel of those buffers (2D: per pixel of the block and its margins; 3D: per
#: voxel of a slab of slices)
BLOCK_BYTES = {2: 60, 3: 40}
#: pixels a 2D block's buffers reach beyond it on each side (the labelling margin, rounded up)
BLOCK_PAD = 128
#: the largest block (2D: pixels per side; 3D: slices per slab)
MAX_BLOCK = {2: 1024, 3: 64}


def available_memory_bytes() -> int | None:
    """Memory available to this process now: the system's available memory (psutil, else
    ``/proc/meminfo``), held to the cgroup's limit less its usage (containers, SLURM jobs);
    ``None`` where neither can be read."""
    available = None
    try:
        import psutil

        available = int(psutil.virtual_memory().available)
    except Exception:  # not installed, or no such information on this system
        meminfo = Path("/proc/meminfo")
        if meminfo.is_file():
            for line in meminfo.read_text().splitlines():
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
    v1 = "/sys/fs/cgroup/memory/memory."
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (v1 + "limit_in_bytes", v1 + "usage_in_bytes"),
    ):
        try:
            limit = Path(limit_file).read_text().strip()
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 2**60:
            room = max(int(limit) - usage, 0)
            available = room if available is None else min(available, room)
        break
    return available


def resident_bytes() -> int:
    """This process's resident memory now (Linux), else its peak so far (other POSIX
    systems), else 0 (where neither can be read)."""
    statm = Path("/proc/self/statm")
    if statm.is_file():
        return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    try:
        import resource  # POSIX only
    except ImportError:
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


@dataclass(frozen=True)
class MemoryBound:
    """What ``--max-memory`` allows a prediction.

    Attributes:
        limit_bytes: the bound on the process's peak resident memory.
        base_bytes: what the process holds before predicting (measured, the model included).
        cpu: whether the network runs on the CPU (its activations then count).
        source: how the bound was chosen, for the log.
    """

    limit_bytes: int
    base_bytes: int = 0
    cpu: bool = True
    source: str = "--max-memory"

    @classmethod
    def resolve(
        cls,
        max_memory_gb: float | None,
        model: Path | None = None,
        cpu: bool = True,
        resident: int | None = None,
    ) -> MemoryBound:
        """The bound of ``--max-memory`` (``None``: :data:`DEFAULT_SHARE` of the memory
        available now, at least 1 GB), with what the predicting process already holds
        (``resident``; default: this process's :func:`resident_bytes`) and ``model``'s
        weights as its base."""
        resident = resident_bytes() if resident is None else int(resident)
        base = resident + (model.stat().st_size if model and model.is_file() else 0)
        if max_memory_gb is not None:
            return cls(int(max_memory_gb * GB), base, cpu)
        available = available_memory_bytes()
        if available is None:
            return cls(2 * GB, base, cpu, "default; the available memory is unknown")
        limit = max(int(DEFAULT_SHARE * available), GB)
        source = f"default: {DEFAULT_SHARE:.0%} of the {available / GB:.1f} GB available"
        return cls(limit, base, cpu, source)

    def tile_memory_mb(self, bundle_mb: float | None) -> float | None:
        """A tile's activation budget (MiB): the bundle's, held on a CPU to what the bound
        leaves beside the base, in steps of :data:`TILE_STEP` (``None``: the bundle sets
        none, and its inferer chooses)."""
        if not self.cpu or bundle_mb is None:
            return bundle_mb
        room = TILE_SHARE * (self.limit_bytes - self.base_bytes) / TILE_PEAK / MB
        return min(float(bundle_mb), float(max(TILE_STEP * math.floor(room / TILE_STEP), 0)))

    def block_size(self, spatial_dims: int, slice_pixels: int = 1) -> int:
        """The block the bound allows: 2D, pixels per side (blocks and their margins within
        :data:`BLOCK_SHARE` of the bound); 3D, slices per slab (``slice_pixels`` each)."""
        room = BLOCK_SHARE * self.limit_bytes / BLOCK_BYTES[spatial_dims]
        if spatial_dims == 2:
            size = int(math.sqrt(room)) - 2 * BLOCK_PAD
        else:
            size = int(room // max(int(slice_pixels), 1))
        return max(1, min(MAX_BLOCK[spatial_dims], size))

    def fixed_bytes(self, bundle_tile_mb: float | None) -> float:
        """What the process holds for any image: its base and, on a CPU, one tile of the
        budget :meth:`tile_memory_mb` gives."""
        tile = self.tile_memory_mb(bundle_tile_mb)
        if not self.cpu or tile is None:
            return float(self.base_bytes)
        if tile < TILE_STEP:  # no room for a tile beside the base
            return math.inf
        return self.base_bytes + TILE_PEAK * tile * MB

    def block_bytes(self, spatial_dims: int, slice_pixels: int = 1) -> float:
        """The labelling buffers of the block :meth:`block_size` gives."""
        block = self.block_size(spatial_dims, slice_pixels)
        if spatial_dims == 2:
            return BLOCK_BYTES[2] * (block + 2 * BLOCK_PAD) ** 2
        return BLOCK_BYTES[3] * block * max(int(slice_pixels), 1)

    def check(
        self, bundle_tile_mb: float | None, spatial_dims: int, slice_pixels: int, what: str
    ) -> None:
        """Raise a one-line error naming the smallest bound that works when the base, one
        tile and one block (of slices of ``slice_pixels``, 3D) do not fit; ``what`` names
        the input."""

        def fits(bound: MemoryBound) -> bool:
            need = bound.fixed_bytes(bundle_tile_mb)
            return need + bound.block_bytes(spatial_dims, slice_pixels) <= bound.limit_bytes

        if fits(self):
            return
        tenths = next(
            n for n in itertools.count(1) if fits(replace(self, limit_bytes=n * GB // 10))
        )
        raise ValueError(
            f"{what}: --max-memory {self.limit_bytes / GB:.2f} GB cannot hold medunet "
            f"({self.base_bytes / GB:.2f} GB with the model) and one tile; use --max-memory "
            f"{tenths / 10:.1f} or more."
        )

    def describe(self) -> str:
        """The bound and where it comes from, for the run's log."""
        return f"memory bound {self.limit_bytes / GB:.1f} GB ({self.source})"
