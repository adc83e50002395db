"""Streamed overlap-tile inference: the whole image's tiles, block by block."""

from __future__ import annotations

import numpy as np
import pytest
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

    def read(w_start, w_size):
        return torch.as_tensor(read_window(source, w_start, w_size))[None]

    with torch.no_grad():
        for _, start, stop in grid.blocks():
            part = predict_block(inferer, net, grid, read, start, stop)[0].numpy()
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


@pytest.mark.parametrize("tta", ["flips", "rot90"])
def test_test_time_augmentation_equals_the_whole_image(tmp_path, tta):
    """Each turn of every block reads the window the whole turned image's tiles need there:
    streamed test-time augmentation is the whole image's, on a non-square image whose
    blocks do not divide it."""
    net = UNet2015(2, 1, 3, (4, 8, 16)).eval()
    image = np.random.default_rng(0).random((96, 110), dtype=np.float32)
    inferer = OverlapTileInferer(roi_size=60, tta=tta)
    with torch.no_grad():
        whole = inferer(torch.as_tensor(image)[None, None], net)[0].numpy()
        plain = OverlapTileInferer(roi_size=60)(torch.as_tensor(image)[None, None], net)
    out, grid = _streamed(tmp_path, net, image, inferer, 40)
    assert len(grid) > 4
    np.testing.assert_allclose(out, whole, atol=1e-5)
    assert np.abs(whole - plain[0].numpy()).max() > 1e-3  # the turns do change a U-Net's output
