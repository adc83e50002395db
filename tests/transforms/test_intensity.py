"""Modality normalisation: the CT window, MR percentiles of the non-zero voxels + z-score."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from medunet.transforms import ModalityNormalize, ModalityNormalized


def test_ct_window_maps_to_0_1_and_clips():
    x = torch.tensor([[[-1000.0, -57.0, 53.5, 164.0, 3000.0]]])
    out = ModalityNormalize("CT", window=(-57, 164))(x)
    assert out.flatten().tolist() == pytest.approx([0.0, 0.0, 0.5, 1.0, 1.0])


def test_mr_uses_percentiles_of_the_nonzero_voxels_per_channel():
    rng = np.random.default_rng(0)
    brain = rng.normal(300.0, 40.0, size=(2, 20, 20, 10)).astype(np.float32)
    brain[1] *= 5.0  # another scale per channel
    brain[:, :5] = 0.0  # background, excluded from the statistics
    out = ModalityNormalize("MR", percentiles=(1, 99))(torch.from_numpy(brain))
    for c in range(2):
        ch = brain[c]
        lo, hi = np.percentile(ch[ch != 0], (1, 99))
        clipped = np.clip(ch, lo, hi)
        expected = (clipped - clipped.mean()) / clipped.std(ddof=1)  # torch's std: unbiased
        np.testing.assert_allclose(out[c].numpy(), expected, rtol=1e-4, atol=1e-4)
        assert float(out[c].mean()) == pytest.approx(0.0, abs=1e-5)


def test_constant_images_give_zeros_and_meta_is_kept():
    flat = MetaTensor(torch.full((1, 4, 4, 4), 7.0), meta={"filename_or_obj": "flat.nii.gz"})
    out = ModalityNormalized("image", modality="mri")({"image": flat})["image"]
    assert isinstance(out, MetaTensor) and out.meta["filename_or_obj"] == "flat.nii.gz"
    assert out.dtype == torch.float32 and not out.any()


def test_refuses_nonfinite_intensities_and_bad_settings():
    bad = MetaTensor(torch.zeros(1, 3, 3, 3), meta={"filename_or_obj": "scan.nii.gz"})
    bad[0, 1, 1, 1] = float("nan")
    with pytest.raises(ValueError, match=r"scan\.nii\.gz contains NaN"):
        ModalityNormalize("MR")(bad)
    with pytest.raises(ValueError, match="'CT' or 'MR'"):
        ModalityNormalize("PET")
    with pytest.raises(ValueError, match="low < high"):
        ModalityNormalize("CT", window=(100, -100))
    with pytest.raises(ValueError, match="percentiles"):
        ModalityNormalize("MR", percentiles=(50, 101))


def test_mr_statistics_of_a_memory_map_normalise_any_slab_as_the_whole(tmp_path):
    rng = np.random.default_rng(1)
    volume = rng.normal(500.0, 80.0, size=(1, 12, 10, 37)).astype(np.float32)
    volume[..., :4] = 0.0
    norm = ModalityNormalize("MR", percentiles=(0.5, 99.5))
    whole = norm(torch.from_numpy(volume))
    mapped = np.lib.format.open_memmap(tmp_path / "v.npy", mode="w+", dtype=np.float32,
                                       shape=volume.shape)  # fmt: skip
    mapped[:] = volume
    stats = norm.statistics(mapped)  # read 16 slices at a time
    for z0, z1 in [(0, 5), (5, 23), (23, 37)]:
        part = norm.apply(torch.from_numpy(volume[..., z0:z1].copy()), stats)
        assert torch.equal(part, whole[..., z0:z1])  # bit for bit
