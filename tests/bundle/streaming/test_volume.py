"""Streamed CT/MRI volumes through the bundle: slabs on the input's own grid."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from bundle_helpers import blocks_volume

from medunet.bundle import StreamOptions, run_inference, run_training

pytestmark = pytest.mark.slow


def test_streamed_volume_on_the_input_grid(tmp_path):
    data = tmp_path / "vols"
    for sub in ("imagesTr", "labelsTr"):
        (data / sub).mkdir(parents=True)
    affine = np.diag([-1.2, 1.2, 2.0, 1.0])
    for i in range(2):
        labels = blocks_volume((28, 24, 16), seed=i)
        image = labels * 60.0 + np.random.default_rng(i).normal(0, 10, labels.shape)
        nib.save(
            nib.Nifti1Image(image.astype(np.float32), affine), data / "imagesTr" / f"v{i}.nii.gz"
        )
        nib.save(nib.Nifti1Image(labels, affine), data / "labelsTr" / f"v{i}.nii.gz")
    tiny = ["channels=[4,8]", "output_tile=16", "num_workers=0", "iterations_per_epoch=4",
            "val_interval=1", "num_classes=3", "modality=MR",
            "autocast=null"]  # bf16 tiles of other sizes differ by 1e-2: float32 here  # fmt: skip
    model = run_training("unet2015_ct_mri", data, tmp_path / "run", epochs=2, settings=tiny,
                         progress=False)  # fmt: skip
    labels = blocks_volume((40, 36, 30), seed=5)
    volume = labels * 60.0 + np.random.default_rng(0).normal(0, 10, labels.shape)
    shifted = affine.copy()
    shifted[:3, 3] = [10, -5, 3]
    nib.save(nib.Nifti1Image(volume.astype(np.float32), shifted), tmp_path / "x.nii.gz")
    run_inference("unet2015_ct_mri", [tmp_path / "x.nii.gz"], tmp_path / "whole", model=model,
                  progress=False)  # fmt: skip
    run_inference("unet2015_ct_mri", [tmp_path / "x.nii.gz"], tmp_path / "stream", model=model,
                  progress=False, stream=StreamOptions(block_size=8))  # fmt: skip
    whole, streamed = (
        nib.load(d / "x_seg.nii.gz") for d in (tmp_path / "whole", tmp_path / "stream")
    )
    assert streamed.shape == whole.shape == (40, 36, 30)
    np.testing.assert_allclose(streamed.affine, shifted)
    agree = (np.asarray(whole.dataobj) == np.asarray(streamed.dataobj)).mean()
    assert agree >= 0.95, agree  # no foreground crop, per-slab resampling: nearly the same
