"""RandCoarseElastic(d): the paper's coarse-grid elastic deformation, 2D and 3D."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from monai.data import MetaTensor

from medunet.transforms import (
    CoarseElastic,
    RandCoarseElastic,
    RandCoarseElasticd,
    dense_displacement,
)


def _coordinate_image(shape: tuple[int, ...]) -> torch.Tensor:
    """``(d, *shape)``: channel i holds the i-th pixel coordinate."""
    return torch.stack(
        torch.meshgrid(*[torch.arange(n, dtype=torch.float32) for n in shape], indexing="ij")
    )


@pytest.mark.parametrize("shape", [(33, 40), (17, 20, 15)])
def test_zero_std_is_identity(shape):
    img = torch.rand(2, *shape)
    out = RandCoarseElastic(std=0.0)(img)
    torch.testing.assert_close(out, img, atol=1e-5, rtol=0)


def test_dense_field_is_torch_bicubic_in_2d_and_interpolates_control_points():
    coarse = torch.randn(2, 3, 3) * 10
    dense = dense_displacement(coarse, (41, 57))
    ref = F.interpolate(coarse[None], size=(41, 57), mode="bicubic", align_corners=True)[0]
    torch.testing.assert_close(dense, ref, atol=1e-4, rtol=0)
    coarse3 = torch.randn(3, 3, 3, 3)
    dense3 = dense_displacement(coarse3, (21, 11, 31))
    torch.testing.assert_close(dense3[:, ::10, ::5, ::15], coarse3, atol=1e-5, rtol=0)


def test_control_point_statistics_match_std():
    t = RandCoarseElastic(grid_size=3, std=10.0)
    t.set_random_state(123)
    samples = np.stack([t.sample_displacements((64, 64)) for _ in range(400)])
    assert samples.shape == (400, 2, 3, 3)
    assert abs(samples.std() - 10.0) < 0.4
    assert abs(samples.mean()) < 0.4
    spaced = RandCoarseElastic(std=10.0, spacing=(2.0, 5.0)).set_random_state(1)
    s = np.stack([spaced.sample_displacements((32, 32)) for _ in range(400)])
    assert abs(s[:, 0].std() - 5.0) < 0.3 and abs(s[:, 1].std() - 2.0) < 0.15


@pytest.mark.parametrize("shape", [(48, 40), (24, 20, 18)])
def test_labels_keep_their_values_with_nearest(shape):
    labels = torch.randint(0, 5, (1, *shape), dtype=torch.int32) * 7
    out = RandCoarseElastic(mode="nearest").set_random_state(0)(labels)
    assert out.dtype == torch.int32
    assert set(out.unique().tolist()) <= set(labels.unique().tolist())
    assert not torch.equal(out, labels)  # it did deform


@pytest.mark.parametrize("shape", [(40, 36), (20, 18, 16)])
def test_image_label_and_weight_move_together(shape):
    coords = _coordinate_image(shape)
    data = {
        "image": coords.clone(),
        "label": coords.round().long(),
        "weight": coords.clone().numpy(),
    }
    t = RandCoarseElasticd(("image", "label", "weight"), mode=("bilinear", "nearest", "bilinear"))
    out = t.set_random_state(5)(data)
    assert isinstance(out["weight"], np.ndarray)
    torch.testing.assert_close(torch.from_numpy(out["weight"]), out["image"])
    # nearest reads the pixel the bilinear sample lies in: within half a pixel per axis
    assert (out["label"].float() - out["image"]).abs().max() <= 0.5 + 1e-4
    moved = (out["image"] - coords).abs().max()
    assert moved > 1.0


def test_replay_with_same_seed_and_with_coarse_elastic():
    img = torch.rand(1, 30, 30)
    a = RandCoarseElasticd("image").set_random_state(42)({"image": img})["image"]
    t = RandCoarseElasticd("image").set_random_state(42)
    b = t({"image": img})["image"]
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    replay = CoarseElastic()(img, t.rand_elastic.displacements)
    torch.testing.assert_close(replay, a, rtol=0, atol=0)
    c = t({"image": img})["image"]
    assert not torch.equal(b, c)


def test_prob_zero_leaves_data_alone():
    img = torch.rand(1, 20, 20)
    assert RandCoarseElasticd("image", prob=0.0)({"image": img})["image"] is img


def test_metatensor_meta_and_reflection_padding():
    img = MetaTensor(torch.rand(1, 25, 25), affine=torch.diag(torch.tensor([0.5, 0.5, 1.0, 1.0])))
    out = RandCoarseElastic(std=30.0).set_random_state(3)(img)
    assert isinstance(out, MetaTensor)
    torch.testing.assert_close(out.affine, img.affine)
    assert out.min() >= img.min() - 1e-6 and out.max() <= img.max() + 1e-6  # no zeros padded in


def test_coarse_elastic_shift_and_reflection_exact():
    img = torch.arange(10.0).view(1, 1, 10).expand(1, 4, 10).contiguous()
    shift = torch.zeros(2, 3, 3)
    shift[1] = 2.0  # read 2 pixels to the right everywhere
    out = CoarseElastic()(img, shift)
    expected = torch.tensor([2, 3, 4, 5, 6, 7, 8, 9, 8, 7], dtype=torch.float32)
    torch.testing.assert_close(out[0, 0], expected)
    border = CoarseElastic(padding_mode="border")(img, shift)
    torch.testing.assert_close(border[0, 0, -3:], torch.tensor([9.0, 9.0, 9.0]))
    zeros = CoarseElastic(padding_mode="zeros", mode="nearest")(img, shift)
    torch.testing.assert_close(zeros[0, 0, -2:], torch.tensor([0.0, 0.0]))


def test_errors():
    with pytest.raises(ValueError, match="same spatial shape"):
        RandCoarseElasticd(("image", "label"))(
            {"image": torch.rand(1, 20, 20), "label": torch.zeros(1, 20, 21)}
        )
    with pytest.raises(ValueError, match="mode must be one of"):
        RandCoarseElastic(mode="linear")
    with pytest.raises(ValueError, match="padding_mode"):
        CoarseElastic(padding_mode="wrap")
    with pytest.raises(ValueError, match="2D only"):
        CoarseElastic(mode="bicubic")(torch.rand(1, 8, 8, 8), torch.zeros(3, 3, 3, 3))
    with pytest.raises(ValueError, match="std"):
        RandCoarseElastic(std=-1)
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        RandCoarseElastic()(torch.rand(1, 30))
