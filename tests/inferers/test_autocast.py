"""Mixed precision for the forward pass: float32 out, the same as float32 within bf16's
precision, a no-op when off."""

from __future__ import annotations

import pytest
import torch
from monai.inferers import SimpleInferer

from medunet.inferers import AutocastInferer, OverlapTileInferer
from medunet.inferers.autocast import autocast_network
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


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError, match="autocast"):
        AutocastInferer("int8")
    with pytest.raises(ValueError, match="autocast"):
        OverlapTileInferer(autocast="fp8")
