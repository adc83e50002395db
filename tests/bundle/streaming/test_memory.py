"""The memory bound: its default, the tile and block it allows, and the one-line error."""

from __future__ import annotations

import pytest

import medunet.bundle.streaming.memory as memory
from medunet.bundle.streaming.memory import (
    GB,
    MAX_BLOCK,
    TILE_STEP,
    MemoryBound,
    available_memory_bytes,
    resident_bytes,
)


def test_the_machine_is_measured():
    assert resident_bytes() > 10 * 2**20  # this Python with pytest holds more than 10 MB
    available = available_memory_bytes()
    assert available is None or available > 0


def test_the_default_is_a_share_of_the_available_memory(monkeypatch):
    monkeypatch.setattr(memory, "available_memory_bytes", lambda: 8 * GB)
    bound = MemoryBound.resolve(None)
    assert bound.limit_bytes == 4 * GB and "50% of the 8.0 GB available" in bound.describe()
    monkeypatch.setattr(memory, "available_memory_bytes", lambda: None)
    assert MemoryBound.resolve(None).limit_bytes == 2 * GB
    assert MemoryBound.resolve(3.0).limit_bytes == 3 * GB  # --max-memory wins


def test_the_tile_budget_is_what_the_bound_leaves_in_whole_steps():
    base = GB // 2
    tiles = [MemoryBound(n * GB // 2, base).tile_memory_mb(1024) for n in (2, 3, 4, 8, 40)]
    assert all(t % TILE_STEP == 0 for t in tiles) and tiles == sorted(tiles)
    assert tiles[0] < 1024 and tiles[-1] == 1024  # the bundle's budget is the most
    assert MemoryBound(2 * GB, base).tile_memory_mb(None) is None  # none set: the inferer's
    assert MemoryBound(GB, base, cpu=False).tile_memory_mb(1024) == 1024  # a GPU's own memory


def test_blocks_shrink_with_the_bound_and_never_exceed_the_largest():
    sizes = [MemoryBound(int(g * GB)).block_size(2) for g in (0.1, 0.5, 2, 64)]
    assert sizes == sorted(sizes) and sizes[-1] == MAX_BLOCK[2] and sizes[0] < MAX_BLOCK[2]
    slabs = [MemoryBound(int(g * GB)).block_size(3, 1024 * 1024) for g in (0.5, 64)]
    assert slabs[0] < slabs[1] == MAX_BLOCK[3]


def test_a_bound_too_small_for_one_tile_names_the_smallest_that_works():
    bound = MemoryBound(GB // 4, base_bytes=GB // 2)
    with pytest.raises(ValueError) as err:
        bound.check(1024, 2, 1, "slide.tif")
    message = str(err.value)
    assert "\n" not in message and message.startswith("slide.tif: --max-memory 0.25 GB")
    smallest = float(message.rsplit("--max-memory ", 1)[1].split()[0])
    MemoryBound(int(smallest * GB), GB // 2).check(1024, 2, 1, "slide.tif")  # it works
    with pytest.raises(ValueError):  # and a tenth less does not
        MemoryBound(int((smallest - 0.1) * GB), GB // 2).check(1024, 2, 1, "slide.tif")
