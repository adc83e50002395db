"""The U-Net of Ronneberger, Fischer and Brox (MICCAI 2015), in 2D and 3D.

The paper's network (its Figure 1) with 1 input and 2 output channels::

    572x572 -> [3x3 conv, ReLU] x2 -> 2x2 max-pool -> ... (channels 64, 128, 256, 512, 1024)
            -> [2x2 up-conv, crop-and-concatenate, [3x3 conv, ReLU] x2] x4 -> 1x1 conv -> 388x388

Unpadded ("valid") convolutions shrink each map by 2 pixels per conv, so the output is
smaller than the input, and an input size is usable only if every 2x2 max-pool sees an
even size. That tile arithmetic is :class:`~medunet.networks.tiles.TileGeometry`, exposed
as ``UNet2015.tile_geometry`` (the overlap-tile inferer and the training tile sampler read
it), with :meth:`UNet2015.output_size` and friends as shortcuts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from monai.networks.layers.factories import Conv, Dropout, Norm, Pool
from torch import nn

from medunet.networks.tiles import SizeLike, TileGeometry

__all__ = ["UNet2015"]


def _he_init(module: nn.Module) -> None:
    """He (Kaiming normal) initialisation: std = sqrt(2 / N), N = incoming connections.

    For a k^d convolution with C_in input channels, N = C_in * k^d (the paper's rule). For
    the 2x2 stride-2 up-convolution every output voxel receives exactly one kernel tap per
    input channel, so N = C_in. Biases start at zero.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d)):
            fan_in = m.in_channels * math.prod(m.kernel_size)
        elif isinstance(m, (nn.ConvTranspose2d, nn.ConvTranspose3d)):
            fan_in = m.in_channels * math.prod(m.kernel_size) // math.prod(m.stride)
        else:
            continue
        nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_in))
        if m.bias is not None:
            nn.init.zeros_(m.bias)


class _DoubleConv(nn.Sequential):
    """Two 3x3 (3x3x3) convolutions, each followed by optional normalisation and ReLU."""

    def __init__(
        self, spatial_dims: int, in_ch: int, out_ch: int, pad: int, norm: str | None
    ) -> None:
        layers: list[nn.Module] = []
        for c_in in (in_ch, out_ch):
            layers.append(Conv[Conv.CONV, spatial_dims](c_in, out_ch, kernel_size=3, padding=pad))
            if norm is not None:
                norm_type = Norm[norm, spatial_dims]
                layers.append(norm_type(out_ch, affine=True))
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class _UpBlock(nn.Module):
    """2x2 up-convolution halving the channels, centre-crop-and-concatenate, two 3x3 convs."""

    def __init__(
        self, spatial_dims: int, in_ch: int, out_ch: int, pad: int, norm: str | None
    ) -> None:
        super().__init__()
        self.up = Conv[Conv.CONVTRANS, spatial_dims](in_ch, out_ch, kernel_size=2, stride=2)
        self.convs = _DoubleConv(spatial_dims, 2 * out_ch, out_ch, pad, norm)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)
        for d in range(2, x.dim()):
            skip = skip.narrow(d, (skip.shape[d] - x.shape[d]) // 2, x.shape[d])
        return self.convs(torch.cat([skip, x], dim=1))


class UNet2015(nn.Module):
    """The original U-Net (Ronneberger et al. 2015), for 2D images and 3D volumes.

    Args:
        spatial_dims: 2 for images, 3 for volumes.
        in_channels: input channels (1 for a grey-value image).
        out_channels: output channels (number of classes; the logits are not normalised).
        channels: feature channels per level, from the top of the contracting path to the
            bottom; the depth is ``len(channels)`` (``len(channels) - 1`` max-pools). The paper
            uses ``(64, 128, 256, 512, 1024)``; 3D U-Net uses e.g. ``(32, 64, 128, 256)``.
        padding: ``"valid"`` (the paper: unpadded convolutions, the output is smaller than the
            input) or ``"same"`` (zero-padded convolutions, the output has the input's size;
            cheaper for 3D volumes where valid halos are costly).
        norm: ``None`` (the paper), ``"batch"`` or ``"instance"``, after each 3x3 convolution.
        dropout: dropout probability at the end of the contracting path (the paper uses it;
            0 disables it).

    Shapes:
        input ``(B, in_channels, *spatial)`` with each spatial size valid (see
        :meth:`valid_input_size`); output ``(B, out_channels, *output_size(spatial))``.

    Example:
        >>> net = UNet2015(spatial_dims=2, in_channels=1, out_channels=2)
        >>> net.output_size(572)
        388
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        channels: Sequence[int] = (64, 128, 256, 512, 1024),
        padding: str = "valid",
        norm: str | None = None,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}.")
        if padding not in ("valid", "same"):
            raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}.")
        if norm not in (None, "batch", "instance"):
            raise ValueError(f"norm must be None, 'batch' or 'instance', got {norm!r}.")
        if int(in_channels) < 1 or int(out_channels) < 1:
            raise ValueError(
                f"in_channels and out_channels must be positive, got {in_channels} and "
                f"{out_channels} (in_channels: image channels, e.g. 1; out_channels: classes)."
            )
        if len(channels) < 2 or any(int(c) < 1 for c in channels):
            raise ValueError(f"channels needs at least two positive entries, got {channels}.")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}.")
        self.spatial_dims = spatial_dims
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.channels = tuple(int(c) for c in channels)
        self.padding = padding
        pad = 0 if padding == "valid" else 1
        #: the tile arithmetic (valid sizes, output sizes, halos) the inferer and sampler read
        self.tile_geometry = TileGeometry(
            len(self.channels) - 1, padding == "valid", spatial_dims, self.channels
        )

        self.encoder = nn.ModuleList()
        prev = in_channels
        for ch in self.channels:
            self.encoder.append(_DoubleConv(spatial_dims, prev, ch, pad, norm))
            prev = ch
        self.pool = Pool[Pool.MAX, spatial_dims](kernel_size=2, stride=2)
        self.dropout = Dropout[Dropout.DROPOUT, spatial_dims](p=dropout)
        self.decoder = nn.ModuleList(
            _UpBlock(spatial_dims, self.channels[i + 1], self.channels[i], pad, norm)
            for i in reversed(range(len(self.channels) - 1))
        )
        self.head = Conv[Conv.CONV, spatial_dims](self.channels[0], out_channels, kernel_size=1)
        _he_init(self)

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, out_channels, *output_size(spatial))`` for ``x`` ``(B, C, *spatial)``."""
        if not torch.jit.is_scripting():
            self._check_input(x)
        skips: list[torch.Tensor] = []
        for i, block in enumerate(self.encoder):
            if i > 0:
                x = self.pool(x)
            x = block(x)
            skips.append(x)
        x = self.dropout(x)
        for i, up in enumerate(self.decoder):
            x = up(x, skips[-2 - i])
        return self.head(x)

    @torch.jit.unused
    def _check_input(self, x: torch.Tensor) -> None:
        if x.dim() != self.spatial_dims + 2:
            raise ValueError(
                f"UNet2015(spatial_dims={self.spatial_dims}) expects input of shape "
                f"(B, C, {', '.join('*' * self.spatial_dims)}), got {tuple(x.shape)}; "
                "add the batch and channel axes (e.g. x[None, None])."
            )
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"UNet2015 expects {self.in_channels} input channel(s), got {x.shape[1]} "
                f"(input shape {tuple(x.shape)})."
            )
        for size in x.shape[2:]:
            if not self.tile_geometry.is_valid(int(size)):
                hint = self.tile_geometry.nearest_valid_hint(int(size))
                raise ValueError(
                    f"UNet2015 input spatial size {int(size)} (shape {tuple(x.shape)}) is not "
                    f"valid for padding={self.padding!r} and depth {len(self.channels)} (every "
                    "2x2 max-pool needs an even size and the output at least 1 pixel). "
                    f"Nearest valid size: {hint}; crop or pad "
                    "the input, or use an OverlapTileInferer."
                )

    # -------------------------------------------------------- tile arithmetic
    @property
    def num_pools(self) -> int:
        """Number of 2x2 max-pools (``len(channels) - 1``)."""
        return len(self.channels) - 1

    def output_size(self, input_size: SizeLike) -> SizeLike:
        """Spatial output size for an input size (:meth:`TileGeometry.output_size`)."""
        return self.tile_geometry.output_size(input_size)

    def input_size_for(self, output_size: SizeLike) -> SizeLike:
        """Smallest valid input size giving at least ``output_size``
        (:meth:`TileGeometry.input_size_for`)."""
        return self.tile_geometry.input_size_for(output_size)

    def valid_input_size(self, near: SizeLike) -> SizeLike:
        """The valid input size nearest to ``near`` (:meth:`TileGeometry.valid_input_size`)."""
        return self.tile_geometry.valid_input_size(near)

    def halo(self) -> int:
        """Pixels lost on each side of a valid input (:meth:`TileGeometry.halo`)."""
        return self.tile_geometry.halo()
