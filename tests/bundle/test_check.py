"""The dataset check of a bundle's training: every problem at once, nothing written."""

from __future__ import annotations

import numpy as np
import tifffile
from bundle_helpers import make_dataset

from medunet.bundle import check_dataset, layer_config, resolve_bundle
from medunet.bundle.training import data_overrides


def _check(data):
    config = layer_config(resolve_bundle("unet2015_microscopy"), "train")
    return check_dataset(config, data_overrides(data))


def test_a_good_dataset_is_summarised(tmp_path):
    data = make_dataset(tmp_path / "d", n=3)
    report = _check(data)
    assert report.ok, report.problems
    assert report.training + report.validation >= 3
    assert report.shapes and report.objects > 0
    assert "objects" in report.summary()


def test_every_bad_case_is_one_problem_line_and_nothing_is_written(tmp_path):
    data = make_dataset(tmp_path / "d", n=3, test=False)
    (data / "imagesTr" / "case1.tif").write_bytes(b"not a tiff")  # unreadable
    label = data / "labelsTr" / "case2.tif"
    tifffile.imwrite(label, np.zeros((5, 7), np.uint16))  # another shape than its image
    before = sorted(p for p in tmp_path.rglob("*"))
    report = _check(data)
    assert not report.ok and len(report.problems) == 2, report.problems
    assert any("case1" in p for p in report.problems)
    assert any("case2" in p for p in report.problems)
    assert all("\n" not in p for p in report.problems)
    assert sorted(p for p in tmp_path.rglob("*")) == before
