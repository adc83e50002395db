"""Networks: the 2015 U-Net in 2D and 3D, and its tile arithmetic."""

from __future__ import annotations

from medunet.networks.tiles import TileGeometry, tile_geometry_of
from medunet.networks.unet2015 import UNet2015

__all__ = ["TileGeometry", "UNet2015", "tile_geometry_of"]
