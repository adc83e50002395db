"""Streamed overlap-tile inference: the whole image's tiles, block by block."""

from __future__ import annotations

import numpy as np
import tifffile
import torch

from medunet.data.blocks import open_blocks, read_window
from medunet.inferers import OverlapTileInferer
from medunet.inferers.streaming import StreamGrid, predict_block
from medunet.networks import UNet2015


def _streamed(tmp_path, net, image, inferer, block):
    tifffile.imwrite(tmp_path / "x.tif", image, tile=(32, 32))
    source = open_blocks(tmp_path / "x.tif")
    grid = StreamGrid.create(inferer, net, source.shape, block)
    out = None
    with torch.no_grad():
        for _, start, stop in grid.blocks():
            w_start, w_size = grid.window(start, stop)
            window = torch.as_tensor(read_window(source, w_start, w_size))[None]
            part = predict_block(inferer, net, grid, window, start, stop)[0].numpy()
            if out is None:
                out = np.zeros((part.shape[0], *image.shape), np.float32)
            out[:, start[0] : stop[0], start[1] : stop[1]] = part
    return out, grid


def test_blocks_equal_the_whole_image(tmp_path):
    net = UNet2015(2, 1, 3, (4, 8, 16)).eval()
    image = np.random.default_rng(0).random((150, 170), dtype=np.float32)
    inferer = OverlapTileInferer(roi_size=60)
    with torch.no_grad():
        whole = inferer(torch.as_tensor(image)[None, None], net)[0].numpy()
    out, grid = _streamed(tmp_path, net, image, inferer, 40)
    assert len(grid) > 4 and all(b % grid.plan.stride[0] == 0 for b in grid.block)
    np.testing.assert_allclose(out, whole, atol=1e-5)


def test_test_time_augmentation_per_block(tmp_path):
    """Each block averages its own flips: every flip of the block's window is stitched from
    the same tiles, turned back, averaged, and the block's core kept."""
    net = UNet2015(2, 1, 3, (4, 8, 16)).eval()
    image = np.random.default_rng(0).random((96, 100), dtype=np.float32)
    inferer = OverlapTileInferer(roi_size=60, tta="flips")
    out, grid = _streamed(tmp_path, net, image, inferer, 40)
    plain, _ = _streamed(tmp_path, net, image, OverlapTileInferer(roi_size=60), 40)
    source = open_blocks(tmp_path / "x.tif")
    expected = np.zeros_like(out)
    with torch.no_grad():
        for _, start, stop in grid.blocks():
            w_start, w_size = grid.window(start, stop)
            window = torch.as_tensor(read_window(source, w_start, w_size))[None]
            flips = [(), (2,), (3,), (2, 3)]
            mean = sum(
                inferer.stitch(window.flip(f), net, grid.plan, torch.device("cpu")).flip(f)
                for f in flips
            ) / len(flips)
            core = (slice(None), *(slice(a, b) for a, b in zip(start, stop, strict=True)))
            expected[core] = mean[(0, slice(None), *grid.plan.core(start, stop))].numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5)
    assert np.abs(out - plain).max() > 1e-3  # the flips do change a U-Net's output
