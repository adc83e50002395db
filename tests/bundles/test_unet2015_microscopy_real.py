"""The microscopy bundle on real data: nuclei2d cut into tiles, brief training, real scores."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import tifffile
from bundle_helpers import QUIET, check, copy_bundle, run_bundle, task


def _tiles(shared_data, root):
    """The 512x512 image as four 256x256 tiles: three to train on, the last held out."""
    image = tifffile.imread(shared_data / "nuclei2d" / "image.tif")
    labels = tifffile.imread(shared_data / "nuclei2d" / "labels.tif")
    names = []
    for i, (y, x) in enumerate([(0, 0), (0, 256), (256, 0), (256, 256)]):
        name = f"tile{i}.tif"
        for sub, array in (("imagesTr", image), ("labelsTr", labels)):
            (root / sub).mkdir(parents=True, exist_ok=True)
            tifffile.imwrite(
                root / sub / name, np.ascontiguousarray(array[y : y + 256, x : x + 256])
            )
        names.append(name)
    entry = [{"image": f"imagesTr/{n}", "label": f"labelsTr/{n}"} for n in names]
    (root / "split.json").write_text(json.dumps({"training": entry[:3], "validation": entry[3:]}))
    return root / "split.json"


@pytest.mark.slow
def test_brief_training_on_real_nuclei_scores(tmp_path, shared_data):
    split = _tiles(shared_data, tmp_path / "data")
    bundle = copy_bundle("unet2015_microscopy", tmp_path)
    train = task(bundle, "train")
    common = [
        "--bundle_root", str(bundle), "--dataset_dir", str(tmp_path / "data"),
        "--datalist", str(split), "--channels", "[8,16,32,64]", "--output_tile", "68",
        "--num_workers", "0", *QUIET,
    ]  # fmt: skip
    check(run_bundle(train, *common, "--train#trainer#max_epochs", "3",
                     "--iterations_per_epoch", "60", "--val_interval", "3",
                     "--optimizer_name", "adam", "--learning_rate", "0.002"))  # fmt: skip
    check(run_bundle(task(bundle, "train", "evaluate"), *common,
                     "--output_dir", str(tmp_path / "scores")))  # fmt: skip

    def score(name):
        with open(tmp_path / "scores" / f"val_{name}_raw.csv") as f:
            return float(list(csv.reader(f))[1][1])

    # held-out tile (about 30 nuclei): a non-trivial segmentation after 180 steps
    assert score("foreground_iou") > 0.6
    assert score("ap50") > 0.25
    assert score("rand_error") < 0.5
