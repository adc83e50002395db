"""Networks: the 2015 U-Net in 2D and 3D, its tile arithmetic, and its ONNX form."""

from __future__ import annotations

from medunet.networks.onnx import OnnxRuntimeNetwork, export_onnx
from medunet.networks.tiles import TileGeometry, tile_geometry_of
from medunet.networks.unet2015 import UNet2015

__all__ = ["OnnxRuntimeNetwork", "TileGeometry", "UNet2015", "export_onnx", "tile_geometry_of"]
