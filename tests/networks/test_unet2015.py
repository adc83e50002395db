"""UNet2015: the paper's configuration, tile arithmetic, 2D/3D, padding modes, export."""

from __future__ import annotations

import io

import pytest
import torch
from torch import nn

from medunet.networks import UNet2015

SMALL = (4, 8, 16)


def _convs(net: nn.Module) -> list[nn.Module]:
    kinds = (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d)
    return [m for m in net.modules() if isinstance(m, kinds)]


def test_paper_configuration_counts():
    """The paper's network: 23 conv layers, 31,030,658 parameters for 1 in / 2 out.

    Hand count from the paper's layer list (weights + biases):
    contracting 1-64-64 | 64-128-128 | 128-256-256 | 256-512-512 | 512-1024-1024:
      640 + 36,928 + 73,856 + 147,584 + 295,168 + 590,080 + 1,180,160 + 2,359,808
      + 4,719,616 + 9,438,208 = 18,841,048
    up-convs 2x2 (1024->512, 512->256, 256->128, 128->64):
      2,097,664 + 524,544 + 131,200 + 32,832 = 2,786,240
    expanding (1024->512->512, 512->256->256, 256->128->128, 128->64->64):
      4,719,104 + 2,359,808 + 1,179,904 + 590,080 + 295,040 + 147,584 + 73,792 + 36,928
      = 9,402,240
    head 1x1 64->2: 130.  Total 31,030,658.
    """
    net = UNet2015(spatial_dims=2, in_channels=1, out_channels=2)
    assert len(_convs(net)) == 23
    assert sum(p.numel() for p in net.parameters()) == 31_030_658


def test_paper_sizes_572_to_388():
    net = UNet2015(spatial_dims=2, in_channels=1, out_channels=2)
    assert net.output_size(572) == 388
    assert net.input_size_for(388) == 572
    assert net.halo() == 92
    out = net.to("meta")(torch.empty(1, 1, 572, 572, device="meta"))
    assert tuple(out.shape) == (1, 2, 388, 388)


def test_he_initialisation_std():
    net = UNet2015(spatial_dims=2, in_channels=1, out_channels=2)
    conv = net.encoder[3][2]  # 512 -> 512, 3x3: N = 4608
    assert conv.weight.std().item() == pytest.approx((2.0 / (512 * 9)) ** 0.5, rel=0.02)
    up = net.decoder[0].up  # 1024 -> 512 2x2 stride 2: N = 1024
    assert up.weight.std().item() == pytest.approx((2.0 / 1024) ** 0.5, rel=0.02)
    assert all(m.bias.abs().max() == 0 for m in _convs(net))


@pytest.mark.parametrize("spatial_dims", [2, 3])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("norm", [None, "batch", "instance"])
def test_forward_backward(spatial_dims, padding, norm):
    net = UNet2015(spatial_dims, 2, 3, SMALL, padding=padding, norm=norm, dropout=0.2)
    size = net.input_size_for(4 if padding == "valid" else 8)
    x = torch.randn(2, 2, *([size] * spatial_dims), requires_grad=True)
    y = net(x)
    expected = net.output_size(size)
    assert y.shape == (2, 3, *([expected] * spatial_dims))
    y.square().mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert all(p.grad is not None for p in net.parameters())


def test_3d_unet_channels():
    net = UNet2015(3, 1, 2, channels=(32, 64, 128, 256))
    assert net.output_size(132) == 44
    assert net.input_size_for(44) == 132
    out = net.to("meta")(torch.empty(1, 1, 132, 132, 116, device="meta"))
    assert tuple(out.shape) == (1, 2, 44, 44, net.output_size(116))


@pytest.mark.parametrize("channels", [(2, 4), (2, 4, 8), (2, 4, 8, 16)])
def test_context_halo_is_the_receptive_field_radius(channels):
    net = UNet2015(2, 1, 1, channels, padding="same").eval()
    for m in net.modules():  # positive weights: every dependency shows
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.uniform_(m.weight, 0.1, 0.2)
            nn.init.constant_(m.bias, 0.1)
    radius = 0
    net = net.double()
    base = torch.rand(1, 1, 160, 160, dtype=torch.float64)
    for offset in range(net.tile_geometry.alignment):
        c = 80 + offset
        bumped = base.clone()
        bumped[0, 0, c, c] += 5.0
        with torch.no_grad():
            changed = torch.nonzero((net(bumped) - net(base))[0, 0].abs() > 0)
        radius = max(radius, c - int(changed[:, 0].min()), int(changed[:, 0].max()) - c)
    assert radius == net.tile_geometry.context_halo()


def test_anisotropic_sizes_per_axis():
    net = UNet2015(2, 1, 2, SMALL)
    assert net.output_size((44, 52)) == (net.output_size(44), net.output_size(52))
    y = net(torch.randn(1, 1, 44, 52))
    assert tuple(y.shape[2:]) == net.output_size((44, 52))


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("depth", [2, 3, 5])
def test_tile_arithmetic_round_trips(padding, depth):
    net = UNet2015(2, 1, 1, tuple(2**i for i in range(depth)), padding=padding)
    for n in range(1, 300):
        size = net.input_size_for(n)
        assert net.output_size(size) >= n
        assert size == 1 or net.input_size_for(n) <= size
        # it is the smallest: the next smaller valid input gives less than n
        below, _ = net.tile_geometry.nearest_valid_sizes(size - 1)
        assert below is None or net.output_size(below) < n
        near = net.valid_input_size(n + 50)
        assert net.output_size(near) >= 1


def test_valid_input_size_is_nearest():
    net = UNet2015(2, 1, 2)
    assert net.valid_input_size(572) == 572
    assert net.valid_input_size(570) == 572
    assert net.valid_input_size(560) == 556
    assert net.valid_input_size(10) == net.input_size_for(1)


def test_invalid_size_error_names_nearest_sizes():
    net = UNet2015(2, 1, 2)
    with pytest.raises(ValueError, match=r"570.*Nearest valid size: 556 or 572"):
        net.to("meta")(torch.empty(1, 1, 570, 572, device="meta"))
    with pytest.raises(ValueError, match="nearest valid size: 556 or 572"):
        net.output_size(570)
    small = UNet2015(2, 1, 2, SMALL)
    with pytest.raises(ValueError, match="Nearest valid size: 44;"):
        small(torch.randn(1, 1, 8, 8))


def test_bad_input_errors():
    net = UNet2015(2, 1, 2, SMALL)
    with pytest.raises(ValueError, match="expects 1 input channel"):
        net(torch.randn(1, 3, 44, 44))
    with pytest.raises(ValueError, match=r"add the batch and channel axes"):
        net(torch.randn(44, 44))
    with pytest.raises(ValueError, match="padding"):
        UNet2015(2, 1, 2, padding="zeros")
    with pytest.raises(ValueError, match="spatial_dims"):
        UNet2015(1, 1, 2)
    with pytest.raises(ValueError, match="norm"):
        UNet2015(2, 1, 2, norm="group")


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
@pytest.mark.parametrize("spatial_dims", [2, 3])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_torchscript_export_and_reload(spatial_dims, padding):
    net = UNet2015(spatial_dims, 1, 2, SMALL, padding=padding, norm="batch", dropout=0.3).eval()
    size = net.input_size_for(4 if padding == "valid" else 8)
    x = torch.randn(1, 1, *([size] * spatial_dims))
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(net), buffer)
    buffer.seek(0)
    loaded = torch.jit.load(buffer)
    with torch.no_grad():
        assert torch.equal(loaded(x), net(x))


def test_non_positive_channel_counts_say_what_they_are():
    with pytest.raises(ValueError, match="in_channels and out_channels must be positive, got 0"):
        UNet2015(2, 0, 2)
    with pytest.raises(ValueError, match="must be positive"):
        UNet2015(3, 1, 0)
