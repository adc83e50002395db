"""Mixed precision for the forward pass: float32 out, the same as float32 within bf16's
precision, a no-op when off."""

from __future__ import annotations

import pytest
import torch
from monai.inferers import SimpleInferer

from medunet.inferers import AutocastInferer, OverlapTileInferer
from medunet.inferers.autocast import autocast_network, channels_last
from medunet.networks import UNet2015


def _net():
    torch.manual_seed(0)
    return UNet2015(2, 1, 2, channels=(4, 8)).eval()


def test_off_is_the_plain_forward_pass():
    net, x = _net(), torch.rand(1, 1, 44, 44)
    assert autocast_network(net, None) is net
    assert torch.equal(AutocastInferer(None)(x, net), SimpleInferer()(x, net))


def test_bf16_returns_float32_close_to_float32():
    net, x = _net(), torch.rand(1, 1, 44, 44)
    with torch.no_grad():
        ref = net(x)
        out = AutocastInferer("bf16")(x, net)
        tiled = OverlapTileInferer(roi_size=(44, 44), autocast="bf16")(
            torch.rand(1, 1, 60, 50), net
        )
    assert out.dtype == torch.float32 and tiled.dtype == torch.float32
    assert out.shape == ref.shape
    assert torch.allclose(out, ref, atol=0.05 * float(ref.abs().max()) + 1e-3)


@pytest.mark.parametrize("shape", [(1, 1, 44, 44), (2, 1, 28, 28, 28)])
def test_bf16_on_a_cpu_feeds_channels_last_and_returns_contiguous_float32(shape):
    dims = len(shape) - 2
    torch.manual_seed(0)
    net = UNet2015(dims, 1, 2, channels=(4, 8)).eval()
    seen = []
    net.register_forward_pre_hook(lambda _, args: seen.append(args[0]))
    x = torch.rand(*shape)
    with torch.no_grad():
        out = autocast_network(net, "bf16")(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            ref = net(x).float()
    fmt = torch.channels_last if dims == 2 else torch.channels_last_3d
    assert seen[0].stride() == x.to(memory_format=fmt).stride() != x.stride()
    assert out.dtype == torch.float32 and out.is_contiguous() and out.shape == ref.shape
    # the same products summed in another order: they differ by bfloat16's rounding
    assert torch.allclose(out, ref, atol=0.02 * float(ref.abs().max()))
    y = torch.rand(3, 5)
    assert channels_last(y) is y


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError, match="autocast"):
        AutocastInferer("int8")
    with pytest.raises(ValueError, match="autocast"):
        OverlapTileInferer(autocast="fp8")
