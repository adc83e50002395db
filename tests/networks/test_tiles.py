"""TileGeometry: one interface for the inferer and the tile sampler, for any network."""

from __future__ import annotations

import pytest
import torch

from medunet.inferers import OverlapTileInferer
from medunet.networks import TileGeometry, UNet2015, tile_geometry_of
from medunet.transforms import RandTileCropd


def test_the_papers_network():
    geometry = UNet2015(2, 1, 2).tile_geometry
    assert geometry.output_size(572) == 388 and geometry.input_size_for(388) == 572
    assert geometry.halo() == 92 and geometry.alignment == 16
    assert geometry.nearest_valid_hint(570) == "556 or 572"
    with pytest.raises(ValueError, match="nearest valid size: 556 or 572"):
        geometry.output_size(570)


def test_neutral_geometry_for_other_networks():
    geometry = tile_geometry_of(torch.nn.Conv2d(1, 2, 1))
    assert geometry == TileGeometry(0, valid=False)
    assert geometry.output_size(37) == 37 and geometry.input_size_for(37) == 37
    assert geometry.halo() == 0 and geometry.context_halo() == 0 and geometry.alignment == 1


class _Shrinking(torch.nn.Module):
    """Not a UNet2015: a valid 5x5 convolution stack that declares its own tile geometry."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 5)  # loses 2 pixels per side
        self.tile_geometry = TileGeometry(0, valid=True)  # 4 pixels lost per level: 2 a side

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def test_any_network_with_a_geometry_is_tiled_seamlessly():
    net = _Shrinking().eval()
    x = torch.randn(1, 1, 30, 34)
    with torch.no_grad():
        tiled = OverlapTileInferer(roi_size=12)(x, net)
        whole = net(torch.nn.functional.pad(x, (2, 2, 2, 2), mode="reflect"))
    assert tiled.shape == (1, 2, 30, 34)
    torch.testing.assert_close(tiled, whole, rtol=1e-5, atol=1e-5)


def test_the_tile_sampler_reads_the_same_geometry():
    crop = RandTileCropd(["image"], network=_Shrinking(), output_size=10, spatial_dims=2)
    assert crop.input_tile == (14, 14) and crop.output_tile == (10, 10)
