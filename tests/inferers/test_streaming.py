"""Streamed overlap-tile inference: the whole image's tiles, block by block."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
import torch

from medunet.data.blocks import open_blocks, percentiles, read_window
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
    assert len(grid) > 4 and all(b % grid.plan["stride"][0] == 0 for b in grid.block)
    np.testing.assert_allclose(out, whole, atol=1e-5)


def test_test_time_augmentation_per_block(tmp_path):
    """Each block averages its own flips: the flipped tiles sit at the block's pooling phase,
    not the whole flipped image's, so the result is a valid TTA, not the whole image's."""
    net = UNet2015(2, 1, 3, (4, 8, 16)).eval()
    image = np.random.default_rng(0).random((96, 100), dtype=np.float32)
    out, _ = _streamed(tmp_path, net, image, OverlapTileInferer(roi_size=60, tta="flips"), 40)
    plain, _ = _streamed(tmp_path, net, image, OverlapTileInferer(roi_size=60), 40)
    assert out.shape == plain.shape and np.isfinite(out).all() and not np.allclose(out, plain)


def test_windows_are_mirrored_like_the_whole_image(tmp_path):
    image = np.arange(30, dtype=np.uint16).reshape(5, 6)
    tifffile.imwrite(tmp_path / "x.tif", image)
    window = read_window(open_blocks(tmp_path / "x.tif"), (-2, 3), (9, 6))[0]
    np.testing.assert_array_equal(window, np.pad(image, 3, mode="reflect")[1:10, 6:12])


def test_percentiles_of_integer_images_are_exact(tmp_path):
    image = np.random.default_rng(1).integers(0, 4000, (300, 257)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "x.tif", image, tile=(64, 64))
    got = percentiles(open_blocks(tmp_path / "x.tif"), [1.0, 99.8], block=100)
    np.testing.assert_allclose(got[0], np.percentile(image, [1.0, 99.8]))


def test_unstreamable_inputs_are_refused_with_the_reason(tmp_path):
    tifffile.imwrite(tmp_path / "z.tif", np.zeros((3, 8, 8), np.uint8), imagej=True,
                     metadata={"axes": "ZYX"})  # fmt: skip
    with pytest.raises(ValueError, match="Z-stacks and time series are predicted whole"):
        open_blocks(tmp_path / "z.tif")
    (tmp_path / "x.png").write_bytes(b"")
    with pytest.raises(ValueError, match="streamed inference reads TIFF, OME-Zarr and NIfTI"):
        open_blocks(tmp_path / "x.png")
