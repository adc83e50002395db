"""tune_glibc_malloc: freed large blocks stay in the heap, until release_free_memory hands
them back (each run in a process of its own, as the setting is process-wide)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

PROBE = """
import sys
import torch
from medunet.inferers import release_free_memory, tune_glibc_malloc

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096

tuned = tune_glibc_malloc() if sys.argv[1] != "plain" else None
before = rss()
x = torch.ones(64, 1024, 1024)  # 256 MiB, above glibc's default mmap threshold
later = torch.ones(1024, 1024)  # allocated after it: the freed block is inside the heap
total = float(x.sum())
del x
if sys.argv[1] == "released":
    assert release_free_memory()
print(tuned, total, rss() - before)
"""


def _kept_after_free(mode: str) -> tuple[str, float, int]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0], float(out[1]), int(out[2])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="needs glibc")
def test_freed_large_blocks_stay_in_the_heap():
    tuned, total, kept = _kept_after_free("tuned")
    plain, _, returned = _kept_after_free("plain")
    assert tuned == "True" and plain == "None" and total == 64 * 1024 * 1024
    assert kept > 200 * 2**20  # the 256 MiB block is kept for the next tile
    assert returned < 64 * 2**20  # untuned, glibc unmaps it on free


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="needs glibc")
def test_released_memory_goes_back_to_the_system():
    tuned, _, kept = _kept_after_free("released")
    assert tuned == "True" and kept < 64 * 2**20  # a streamed block's memory, handed back
