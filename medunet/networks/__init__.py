"""Networks: the 2015 U-Net in 2D and 3D."""

from __future__ import annotations

from medunet.networks.unet2015 import UNet2015

__all__ = ["UNet2015"]
