"""tune_glibc_malloc: applied where glibc is, a no-op elsewhere."""

from __future__ import annotations

import platform

import pytest
import torch

from medunet.inferers import tune_glibc_malloc


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="needs glibc")
def test_glibc_accepts_the_thresholds_and_torch_still_works():
    assert tune_glibc_malloc() is True
    x = torch.ones(64, 1024, 1024)  # a 256 MiB block, now served from the heap
    assert float(x.sum()) == 64 * 1024 * 1024
