"""Training tiles: sized by the network, mirror-padded, output windows anywhere."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medunet.networks import UNet2015
from medunet.transforms import RandTileCropd, tile_geometry


def test_tile_geometry_uses_the_network():
    net = UNet2015(2, 1, 2)
    assert tile_geometry(net, 388, 2) == ((572, 572), (388, 388))
    assert tile_geometry(None, (10, 12), 2) == ((10, 12), (10, 12))


def test_tiles_are_mirror_padded_crops_with_the_same_window_for_every_key():
    net = UNet2015(2, 1, 2, channels=(4, 8))
    crop = RandTileCropd(["image", "label"], network=net, output_size=8, num_samples=6)
    crop.set_random_state(0)
    image = torch.arange(20 * 30, dtype=torch.float32).reshape(1, 20, 30)
    samples = crop({"image": image, "label": image.clone(), "name": "x"})
    halo = crop.halo[0]
    padded = np.pad(image[0].numpy(), halo + 40, mode="reflect")
    for sample, (y0, x0) in zip(samples, crop._starts, strict=True):
        assert tuple(sample["image"].shape) == (1, *crop.input_tile)
        assert torch.equal(sample["image"], sample["label"]) and sample["name"] == "x"
        want = padded[
            40 + y0 : 40 + y0 + crop.input_tile[0], 40 + x0 : 40 + x0 + crop.input_tile[1]
        ]
        np.testing.assert_array_equal(sample["image"][0].numpy(), want)
    assert net.output_size(crop.input_tile[0]) == crop.output_tile[0] >= 8


def test_every_pixel_can_be_an_output_pixel_even_on_small_images():
    crop = RandTileCropd("image", output_size=(6, 6), spatial_dims=2)
    crop.set_random_state(1)
    seen = np.zeros((4, 9), bool)
    for _ in range(200):
        crop.randomize((4, 9))
        (y0, x0) = crop._starts[0]
        seen[max(y0, 0) : y0 + 6, max(x0, 0) : x0 + 6] = True
    assert seen.all()


def test_mismatched_keys_are_refused():
    crop = RandTileCropd(["image", "label"], output_size=4, spatial_dims=2)
    with pytest.raises(ValueError, match="must match"):
        crop({"image": torch.zeros(1, 8, 8), "label": torch.zeros(1, 8, 9)})
