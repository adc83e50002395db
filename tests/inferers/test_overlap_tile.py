"""OverlapTileInferer: seamless, mirror-padded tiling equals whole-image prediction."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.data import MetaTensor
from torch import nn

from medunet.inferers import OverlapTileInferer, mirror_pad
from medunet.networks import UNet2015


def _np_reflect(x: torch.Tensor, pads: list[tuple[int, int]]) -> torch.Tensor:
    return torch.from_numpy(np.pad(x.numpy(), [(0, 0), (0, 0), *pads], mode="reflect"))


@pytest.mark.parametrize("size", [(101, 67), (45, 130), (76, 76)])
def test_tiled_equals_whole_image_2d_valid(size):
    net = UNet2015(2, 1, 3, (4, 8, 16)).eval()
    inferer = OverlapTileInferer(roi_size=76)
    x = torch.randn(2, 1, *size)
    plan = inferer.plan(size, net)
    assert all(t >= 1 for t in plan.tiles)
    with torch.no_grad():
        tiled = inferer(x, net)
        whole = net(_np_reflect(x, plan.pads))  # manually mirrored, one forward pass
    assert tiled.shape == (2, 3, *size)
    torch.testing.assert_close(tiled, whole[..., : size[0], : size[1]], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("size", [(37, 29, 41), (20, 45, 33)])
def test_tiled_equals_whole_image_3d_valid(size):
    net = UNet2015(3, 1, 2, (2, 4, 8)).eval()
    inferer = OverlapTileInferer(roi_size=(52, 48, 48), sw_batch_size=3)
    x = torch.randn(1, 1, *size)
    plan = inferer.plan(size, net)
    assert np.prod(plan.tiles) > 1
    with torch.no_grad():
        tiled = inferer(x, net)
        whole = net(_np_reflect(x, plan.pads))
    torch.testing.assert_close(
        tiled, whole[..., : size[0], : size[1], : size[2]], atol=1e-4, rtol=1e-4
    )


def test_stride_keeps_the_pooling_grid_aligned():
    net = UNet2015(2, 1, 2)  # the paper: 572 -> 388, 388 % 16 == 4
    plan = OverlapTileInferer(roi_size=572).plan((1000, 1000), net)
    assert net.output_size(572) == 388 and plan.stride == (384, 384)
    assert plan.tiles == (3, 3)


def test_crop_mode_same_padded_network():
    net = UNet2015(2, 1, 2, (4, 8, 16), padding="same").eval()
    inferer = OverlapTileInferer(roi_size=72)  # halo: the receptive-field radius, 23
    size = (64, 80)
    x = torch.randn(1, 1, *size)
    plan = inferer.plan(size, net)
    assert net.tile_geometry.context_halo() == 23
    assert plan.offset == (24, 24)  # the halo rounded up to the 4-pixel pooling grid
    assert np.prod(plan.tiles) > 1
    with torch.no_grad():
        tiled = inferer(x, net)
        mirrored_whole = net(_np_reflect(x, plan.pads))
        plain_whole = net(x)
    crop = (..., slice(24, 24 + size[0]), slice(24, 24 + size[1]))
    torch.testing.assert_close(tiled, mirrored_whole[crop], atol=1e-4, rtol=1e-4)
    # away from the image borders it is the plain whole-image prediction
    torch.testing.assert_close(
        tiled[..., 23:-23, 23:-23], plain_whole[..., 23:-23, 23:-23], atol=1e-4, rtol=1e-4
    )


def test_crop_mode_generic_network_with_declared_halo():
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 2, 3, padding=1))
    inferer = OverlapTileInferer(roi_size=24, halo=2)
    x = torch.randn(1, 1, 50, 37)
    with torch.no_grad():
        tiled = inferer(x, net)
        whole = net(torch.nn.functional.pad(x, (2, 2, 2, 2), mode="reflect"))[..., 2:-2, 2:-2]
    torch.testing.assert_close(tiled, whole, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("size", [(5, 7), (1, 9), (20, 3)])
def test_image_smaller_than_one_tile(size):
    net = UNet2015(2, 1, 2, (4, 8, 16)).eval()
    inferer = OverlapTileInferer(roi_size=76)
    x = torch.randn(1, 1, *size)
    with torch.no_grad():
        out = inferer(x, net)
        plan = inferer.plan(size, net)
        if min(size) > 1:  # numpy cannot reflect a one-pixel axis; we repeat it
            whole = net(_np_reflect(x, plan.pads))[..., : size[0], : size[1]]
            torch.testing.assert_close(out, whole, atol=1e-4, rtol=1e-4)
    assert out.shape == (1, 2, *size) and torch.isfinite(out).all()


def test_mirror_pad_matches_numpy_reflect_including_repeats():
    x = torch.arange(15.0).view(1, 1, 3, 5)
    pads = [(7, 4), (2, 11)]
    torch.testing.assert_close(mirror_pad(x, pads), _np_reflect(x, pads))
    rep = mirror_pad(x, pads, "replicate")
    assert rep.shape == (1, 1, 14, 18) and rep[0, 0, 0, 0] == 0 and rep[0, 0, -1, -1] == 14
    assert mirror_pad(x, pads, "constant")[0, 0, 0, 0] == 0


class _PointwiseNet(nn.Module):
    """1x1 convolutions: equivariant to every flip and rotation."""

    def __init__(self, spatial_dims: int) -> None:
        super().__init__()
        conv = nn.Conv2d if spatial_dims == 2 else nn.Conv3d
        self.net = nn.Sequential(conv(1, 3, 1), nn.Tanh(), conv(3, 2, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@pytest.mark.parametrize("tta", ["flips", "rot90"])
@pytest.mark.parametrize("size", [(30, 22), (12, 14, 10)])
def test_tta_is_exactly_inverted(tta, size):
    net = _PointwiseNet(len(size)).eval()
    x = torch.randn(1, 1, *size)
    with torch.no_grad():
        plain = OverlapTileInferer(roi_size=8)(x, net)
        averaged = OverlapTileInferer(roi_size=8, tta=tta)(x, net)
    torch.testing.assert_close(averaged, plain, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("tta", ["flips", "rot90"])
def test_tta_averages_the_turned_back_predictions(tta):
    """A network that is not equivariant: TTA is the mean of the predictions of every flip
    (rotation) of the image, each turned back; on a non-square image for rot90."""
    net = UNet2015(2, 1, 2, (4, 8, 16)).eval()
    x = torch.randn(1, 1, 40, 52)
    plain = OverlapTileInferer(roi_size=76)
    if tta == "flips":
        turns = [(lambda t, f=f: t.flip(f) if f else t,) * 2 for f in ((), (2,), (3,), (2, 3))]
    else:
        turns = [
            (
                lambda t, k=k, f=f: torch.rot90(t.flip(2) if f else t, k, dims=(2, 3)),
                lambda t, k=k, f=f: (lambda r: r.flip(2) if f else r)(
                    torch.rot90(t, -k, dims=(2, 3))
                ),
            )
            for k in range(4)
            for f in (False, True)
        ]
    with torch.no_grad():
        expected = torch.stack([back(plain(turn(x), net)) for turn, back in turns]).mean(0)
        averaged = OverlapTileInferer(roi_size=76, tta=tta)(x, net)
    torch.testing.assert_close(averaged, expected, atol=1e-5, rtol=1e-5)
    assert (averaged - plain(x, net)).abs().max() > 1e-3  # it is not the identity


def test_metatensor_meta_is_kept():
    net = UNet2015(3, 1, 2, (2, 4)).eval()
    affine = torch.diag(torch.tensor([0.8, 0.8, 2.5, 1.0]))
    x = MetaTensor(torch.randn(1, 1, 15, 17, 9), affine=affine, meta={"filename_or_obj": "ct.nii"})
    with torch.no_grad():
        out = OverlapTileInferer(roi_size=24, device="cpu")(x, net)
    assert isinstance(out, MetaTensor)
    torch.testing.assert_close(out.affine, x.affine)
    assert out.meta["filename_or_obj"] == "ct.nii" and out.shape == (1, 2, 15, 17, 9)


def test_auto_tile_fits_budget_and_covers_image():
    net = UNet2015(2, 1, 2, (16, 32, 64, 128, 256))
    for budget in (64, 256, 1024):
        inferer = OverlapTileInferer(memory_budget_mb=budget)
        plan = inferer.plan((2048, 1000), net)
        assert all(net.tile_geometry.estimate_activation_mb(r) <= budget for r in plan.roi)
        assert all(s % 16 == 0 for s in plan.stride)
        assert all(
            t * s >= n for t, s, n in zip(plan.tiles, plan.stride, (2048, 1000), strict=True)
        )
    small = OverlapTileInferer(memory_budget_mb=64).plan((2048, 2048), net).roi[0]
    large = OverlapTileInferer(memory_budget_mb=1024).plan((2048, 2048), net).roi[0]
    assert large > small


def test_integer_input_gives_float_logits():
    net = UNet2015(2, 1, 2, (4, 8, 16)).eval()
    x = torch.randint(0, 255, (1, 1, 30, 30), dtype=torch.uint8)
    with torch.no_grad():
        out = OverlapTileInferer(roi_size=76)(x, net)
        ref = OverlapTileInferer(roi_size=76)(x.float(), net)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, ref)


def test_bad_inputs():
    net = UNet2015(2, 1, 2, (4, 8, 16)).eval()
    inferer = OverlapTileInferer(roi_size=76)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        inferer(torch.randn(1, 40, 40), net)
    with pytest.raises(ValueError, match="expects 1"):
        inferer(torch.randn(1, 3, 40, 40), net)
    with pytest.raises(ValueError, match="NaN"):
        inferer(torch.full((1, 1, 40, 40), float("nan")), net)
    with pytest.raises(ValueError, match="nearest valid tile: 76 or 80"):
        OverlapTileInferer(roi_size=78)(torch.randn(1, 1, 40, 40), net)
    with pytest.raises(ValueError, match="roi_size=None needs a network with a tile geometry"):
        OverlapTileInferer()(torch.randn(1, 1, 40, 40), _PointwiseNet(2))
    with pytest.raises(ValueError, match="tta"):
        OverlapTileInferer(tta="rot45")
    with pytest.raises(ValueError, match="larger roi_size"):
        OverlapTileInferer(roi_size=16, halo=8)(torch.randn(1, 1, 40, 40), _PointwiseNet(2))
