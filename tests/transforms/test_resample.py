"""Separable resampling to a spacing: MONAI's Spacingd grid, exact in slabs, invertible."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.data import MetaTensor
from monai.transforms import Compose, Invertd, Spacingd

from medunet.transforms import ResampleToSpacingd
from medunet.transforms.resample import resample_axis, resampled_size, source_span

AFFINE = np.array([[1.3, 0, 0, 4], [0, 0.9, 0, -2], [0, 0, 2.2, 7], [0, 0, 0, 1]], float)


def _image(seed: int = 0) -> MetaTensor:
    x = np.random.default_rng(seed).normal(size=(1, 23, 19, 17)).astype(np.float32)
    return MetaTensor(x, affine=AFFINE)


@pytest.mark.parametrize("pixdim", [(1.0, 1.0, 1.0), (2.0, 0.5, 3.1)])
def test_the_grid_and_values_of_monais_spacingd(pixdim):
    ours = ResampleToSpacingd("image", pixdim=pixdim)({"image": _image()})["image"]
    monai = Spacingd("image", pixdim=pixdim, mode="bilinear")({"image": _image()})["image"]
    assert ours.shape == monai.shape
    np.testing.assert_allclose(ours.affine, monai.affine)
    np.testing.assert_allclose(ours.numpy(), monai.numpy(), atol=1e-5)


def test_labels_take_the_nearest_voxel_and_keep_their_dtype():
    label = MetaTensor(torch.arange(6, dtype=torch.int64).view(1, 6, 1, 1), affine=np.eye(4))
    out = ResampleToSpacingd("label", pixdim=(0.5, 1, 1), mode="nearest")({"label": label})
    assert out["label"].dtype == torch.int64
    assert out["label"].flatten().tolist() == [0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]  # halves up


def test_any_slab_is_bit_for_bit_the_whole_resampled():
    x = torch.from_numpy(np.random.default_rng(3).normal(size=(2, 5, 4, 17)).astype(np.float32))
    scale = 0.7 / 2.2
    size = resampled_size(17, scale)
    whole = resample_axis(x, 3, scale, 17, 0, size)
    for start in range(0, size, 6):
        stop = min(start + 6, size)
        lo, hi = source_span(start, stop, scale, 17, "bilinear")
        part = resample_axis(x[..., lo:hi], 3, scale, 17, start, stop, offset=lo)
        assert torch.equal(part, whole[..., start:stop])


def test_invertd_brings_labels_back_onto_the_input_grid():
    pre = Compose([ResampleToSpacingd("image", pixdim=(2.0, 0.5, 3.1))])
    image = _image()
    d = pre({"image": image})
    d["pred"] = (d["image"] > 0).float()
    back = Invertd("pred", transform=pre, orig_keys="image", nearest_interp=True)(d)["pred"]
    assert back.shape == image.shape
    np.testing.assert_allclose(back.affine, AFFINE)
    assert set(np.unique(back.numpy())) <= {0.0, 1.0}


def test_bad_spacings_are_refused():
    with pytest.raises(ValueError, match="positive"):
        ResampleToSpacingd("image", pixdim=(1.0, 0.0, 1.0))
    with pytest.raises(ValueError, match="give 3 spacings"):
        ResampleToSpacingd("image", pixdim=(1.0, 1.0))({"image": _image()})
