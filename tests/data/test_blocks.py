"""Reading images by windows: the one mirror-index helper, mirrored windows, exact
percentiles one block at a time, and what cannot be streamed."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from medunet.data.blocks import border_indices, iter_blocks, open_blocks, percentiles, read_window


@pytest.mark.parametrize(
    ("start", "length", "size"), [(-5, 20, 7), (3, 4, 10), (-30, 80, 9), (0, 5, 1)]
)
def test_border_indices_match_numpy_pad(start, length, size):
    x = np.arange(size)
    pad = 200
    for mode, np_mode in (("reflect", "reflect"), ("replicate", "edge")):
        padded = np.pad(x, pad, mode=np_mode) if size > 1 else np.zeros(2 * pad + 1, int)
        np.testing.assert_array_equal(
            x[border_indices(start, length, size, mode)], padded[pad + start : pad + start + length]
        )
    with pytest.raises(ValueError, match="borders are one of"):
        border_indices(0, 3, 3, "wrap")


def test_blocks_cover_the_image_once():
    seen = np.zeros((7, 10), int)
    for start, stop in iter_blocks((7, 10), (3, 4)):
        seen[start[0] : stop[0], start[1] : stop[1]] += 1
    assert (seen == 1).all()


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
