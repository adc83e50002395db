"""medunet: the 2015 U-Net recipe as MONAI-native parts and bundles."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
