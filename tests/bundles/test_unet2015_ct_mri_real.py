"""The CT/MRI bundle on real data: MNI152 grey/white matter, left hemisphere -> right."""

from __future__ import annotations

import csv

import pytest
from bundle_helpers import QUIET, check, copy_bundle, run_bundle, task

from medunet.data import write_hemisphere_split


@pytest.mark.slow
def test_brief_training_on_mni152_hemispheres(tmp_path, shared_data):
    data = write_hemisphere_split(shared_data / "mni152", tmp_path / "data", step=2)
    bundle = copy_bundle("unet2015_ct_mri", tmp_path)
    common = [
        "--bundle_root", str(bundle), "--dataset_dir", str(data),
        "--datalist", str(data / "evaluate.json"), "--modality", "MR", "--num_classes", "3",
        "--channels", "[8,16,32]", "--halo", "8", "--num_workers", "0", *QUIET,
    ]  # fmt: skip
    train = task(bundle, "train")
    # validation (the right hemisphere) only after the last epoch: no model selection on it
    check(run_bundle(train, *common, "--output_tile", "32", "--train#trainer#max_epochs", "5",
                     "--iterations_per_epoch", "40", "--val_interval", "5",
                     "--optimizer_name", "adam", "--learning_rate", "0.001"))  # fmt: skip
    check(run_bundle(task(bundle, "train", "evaluate"), *common,
                     "--output_dir", str(tmp_path / "scores")))  # fmt: skip
    with open(tmp_path / "scores" / "val_mean_dice_raw.csv") as f:
        row = list(csv.reader(f))[1]
    gm, wm = float(row[1]), float(row[2])
    # held-out hemisphere, 2 mm, after 200 steps of a tiny network: clearly learnt
    assert gm > 0.6 and wm > 0.5, (gm, wm)
