"""The dataset fingerprint: label kinds, objects, intensities, RAS axes, its summary."""

from __future__ import annotations

import json

import numpy as np
import pytest
from planning_helpers import fingerprint_of, nuclei

from medunet.planning import case_fingerprint


def test_label_kinds():
    inst = fingerprint_of([nuclei(1)])
    assert inst.label_kind == "instances"
    binary = fingerprint_of([(nuclei(1) > 0).astype(np.uint8) * 255])
    assert binary.label_kind == "binary"
    # cells filling the image, 2-pixel membranes between them (EM-like)
    cells = np.ones((120, 120), np.uint8) * 255
    cells[::20, :] = 0
    cells[1::20, :] = 0
    cells[:, ::20] = 0
    cells[:, 1::20] = 0
    assert fingerprint_of([cells]).label_kind == "membranes"
    volume = np.zeros((20, 20, 20), np.uint8)
    volume[5:10] = 1
    volume[10:15] = 2
    assert fingerprint_of([volume], classes=True).label_kind == "classes"


def test_two_touching_squares_and_one_apart():
    lab = np.zeros((40, 60), np.int32)
    lab[5:15, 5:15], lab[5:15, 15:25] = 1, 2  # touching
    lab[25:35, 40:50] = 3
    fp = fingerprint_of([lab])
    assert fp.object_count == 3 and fp.touching_pairs == 1
    assert fp.touching_fraction == pytest.approx(2 / 3)  # two of three objects touch
    assert fp.foreground_fraction == pytest.approx(300 / 2400)
    assert fp.sizes.tolist() == [100, 100, 100]


def test_intensity_medians_and_their_ranks():
    lab = np.zeros((20, 20), np.int32)
    lab[:5] = 1  # a quarter of the image, the brightest
    image = np.arange(400, dtype=np.float32).reshape(20, 20)[::-1].copy()
    fp = fingerprint_of([lab], [image])
    assert fp.intensity("foreground")[4] == pytest.approx(np.median(image[:5]))
    assert fp.rank("foreground") == pytest.approx(87.5, abs=0.5)  # the median of the top 25%
    assert fp.rank("background") == pytest.approx(37.5, abs=0.5)


def test_a_volume_is_measured_on_its_ras_axes():
    lab = np.zeros((4, 6, 8), np.int32)  # stored (S, R, A)
    lab[1:3, 1:4, 2:6] = 1
    affine = np.diag([3.0, 1.0, 2.0, 1.0])[:, [2, 0, 1, 3]]
    case = case_fingerprint("v", lab[None].astype(np.float32), lab, 3, classes=True, affine=affine)
    assert case.shape == (6, 8, 4) and case.spacing == pytest.approx((3.0, 1.0, 2.0))
    assert case.class_fractions == pytest.approx({0: 1 - 24 / 192, 1: 24 / 192})


def test_the_summary_is_json():
    fp = fingerprint_of([nuclei(1), nuclei(1, 1)], spacing=(0.5, 0.5))
    summary = json.loads(json.dumps(fp.summary()))
    assert summary["cases"] == 2 and summary["label_kind"] == "instances"
    assert summary["spacing"] == {"median": [0.5, 0.5], "anisotropy": 1.0}
    assert summary["objects"]["count"] == fp.object_count
    assert [c["name"] for c in summary["per_case"]] == ["case0", "case1"]
