"""When an input is streamed, and in which blocks."""

from __future__ import annotations

import logging

import numpy as np
import tifffile

from medunet.bundle.streaming.memory import GB, MemoryBound
from medunet.bundle.streaming.policy import (
    BYTES_PER_PIXEL,
    StreamOptions,
    in_memory_bytes,
    streamed_block_size,
)
from medunet.data.headers import VolumeHeader


def test_the_estimate_scales_with_channels_pixels_and_zoom():
    assert in_memory_bytes(1, (100, 200), 2) == BYTES_PER_PIXEL[2] * 20000
    assert in_memory_bytes(2, (10, 10, 10), 3, zoom=0.5) == BYTES_PER_PIXEL[3] * 2 * 1000 * 0.5


def test_a_given_block_size_always_streams():
    assert streamed_block_size("anything.png", StreamOptions(block_size=96), 2) == 96


def test_streams_only_above_the_memory_limit(tmp_path, caplog):
    image = tmp_path / "cells.tif"
    tifffile.imwrite(image, np.zeros((256, 512), np.uint16))  # about 12.5 MiB whole
    roomy = StreamOptions(max_memory_gb=1.0)
    assert streamed_block_size(image, roomy, 2) is None
    tight = StreamOptions(max_memory_gb=0.01)
    with caplog.at_level(logging.INFO, logger="medunet.bundle.streaming.policy"):
        block = streamed_block_size(image, tight, 2)
    assert block == MemoryBound(int(0.01 * GB)).block_size(2) < 1024
    assert "more than the 0.0 GB bound" in caplog.text and f"blocks of {block}" in caplog.text
    assert streamed_block_size(tmp_path / "cells.png", tight, 2) is None  # not streamable


def test_a_volume_is_judged_from_its_header_at_the_training_spacing(tmp_path):
    header = VolumeHeader(tmp_path / "ct.nii.gz", (512, 512, 400), np.eye(4))  # never opened
    limit = in_memory_bytes(1, header.shape, 3) / 2**30
    options = StreamOptions(max_memory_gb=limit * 0.9)
    expected = MemoryBound(int(limit * 0.9 * GB)).block_size(3, 512 * 512)
    assert streamed_block_size(header.path, options, 3, header=header) == expected
    coarser = streamed_block_size(header.path, options, 3, zoom=0.5, header=header)
    assert coarser is None  # half the voxels at the training spacing: it fits whole
    assert streamed_block_size(header.path, options, 2, header=header) is None  # not 2D


def test_what_the_process_holds_counts_against_the_bound(tmp_path):
    image = tmp_path / "cells.tif"
    tifffile.imwrite(image, np.zeros((256, 512), np.uint16))  # about 12.5 MiB whole
    options = StreamOptions(max_memory_gb=1.0)
    assert streamed_block_size(image, options, 2, bound=MemoryBound(GB, GB // 4)) is None
    held = MemoryBound(GB, int(0.99 * GB))  # the base leaves no room for the image
    assert streamed_block_size(image, options, 2, bound=held) is not None
