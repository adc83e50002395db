"""Training through the bundle: each case is read once (the check hands its loads on)."""

from __future__ import annotations

from collections import Counter

import nibabel as nib
import numpy as np
import pytest
from bundle_helpers import blocks_volume

from medunet.bundle import run_training
from medunet.data import handoff
from medunet.data.headers import OpenedNiftiReader


@pytest.mark.slow
def test_each_case_is_read_once(tmp_path, monkeypatch):
    data = tmp_path / "vols"
    for sub in ("imagesTr", "labelsTr"):
        (data / sub).mkdir(parents=True)
    for i in range(3):
        labels = blocks_volume((24, 20, 12), seed=i)
        image = labels * 50.0 + np.random.default_rng(i).normal(0, 5, labels.shape)
        affine = np.diag([1.5, 1.5, 2.0, 1.0])
        nib.save(nib.Nifti1Image(image.astype(np.float32), affine),
                 data / "imagesTr" / f"v{i}.nii.gz")  # fmt: skip
        nib.save(nib.Nifti1Image(labels, affine), data / "labelsTr" / f"v{i}.nii.gz")
    reads: Counter[str] = Counter()
    decode = OpenedNiftiReader.get_data

    def counted(self, img):
        reads.update(str(f) for f in self.filenames)
        return decode(self, img)

    monkeypatch.setattr(OpenedNiftiReader, "get_data", counted)
    run_training("unet2015_ct_mri", data, tmp_path / "run", epochs=1, progress=False,
                 settings=["channels=[4,8]", "output_tile=16", "num_workers=0",
                           "iterations_per_epoch=2", "num_classes=3", "modality=MR"])  # fmt: skip
    assert len(reads) == 6, reads  # every image and label
    assert set(reads.values()) == {1}, reads  # each decoded once: check and training share
    assert not handoff._kept  # nothing is held after the training
