"""The plan derived from a fingerprint: label kinds, scale-relative settings, volumes."""

from __future__ import annotations

import numpy as np
import pytest
from planning_helpers import fingerprint_of, nuclei

from medunet.planning import make_plan


def test_ten_times_larger_objects_get_ten_times_sigma_and_100_times_min_size():
    """In the images' own pixels: sigma and the smallest object scale with the objects
    (the plan may work on a resized image: its sizes are then divided back)."""
    small = make_plan(fingerprint_of([nuclei(1)]), "cpu", 300).settings
    large = make_plan(fingerprint_of([nuclei(10)]), "cpu", 300).settings
    s_small, s_large = small.get("image_scale", 1.0), large.get("image_scale", 1.0)
    assert s_small == 1.0 and s_large < 0.5  # 200 px objects are planned on a smaller image
    sigma_ratio = (large["sigma"] / s_large) / (small["sigma"] / s_small)
    size_ratio = (large["min_object_size"] / s_large**2) / (small["min_object_size"] / s_small**2)
    assert sigma_ratio == pytest.approx(10.0, rel=0.05)
    assert size_ratio == pytest.approx(100.0, rel=0.15)
    assert large["calibrate_min_sizes"] != small["calibrate_min_sizes"]


def test_microscopy_rules():
    touching = make_plan(fingerprint_of([nuclei(1, s) for s in range(3)]), "cpu").settings
    assert touching["label_instances"] == "labels" and touching["border_class"] is True
    assert touching["val_regions"] == 0.2 and touching["val_fraction"] == 0.0  # 3 images
    assert touching["calibrate_metric"] == "ap50" and touching["fill_holes"] is True
    binary = make_plan(fingerprint_of([(nuclei(1) > 0).astype(np.uint8)] * 12), "cpu").settings
    assert binary["label_instances"] == "connected_components"
    assert binary["border_class"] is False  # components never touch
    assert binary["val_fraction"] == 0.2 and binary["val_regions"] == 0.0  # 12 images
    # balanced class weights: the grid reaches the background share
    f = float(np.mean(nuclei(1) > 0))
    assert max(binary["calibrate_mask_thresholds"]) == pytest.approx(1 - f, abs=0.01)
    gpu = make_plan(fingerprint_of([nuclei(1)]), "cuda", None).settings
    assert gpu["channels"][0] == 64 and gpu["optimizer_name"] == "sgd"
    assert gpu["output_tile"] >= 388 or gpu["output_tile"] >= 192


def _mr_volume():
    """The fingerprint of one MR volume (40 x 48 x 24, one class): 32^3 tiles on a CPU."""
    lab = np.zeros((40, 48, 24), np.uint8)
    lab[10:30, 10:30, 5:20] = 1
    return fingerprint_of([lab], [np.where(lab > 0, 300.0, 0.0)], classes=True)


def _cells() -> np.ndarray:
    """Membranes: 18 x 18 px cells filling the image, 2-px membranes between them."""
    cells = np.ones((120, 120), np.uint8) * 255
    for offset in (0, 1):
        cells[offset::20, :] = 0
        cells[:, offset::20] = 0
    return cells


def test_membranes_drop_small_seeds_and_objects_keep_every_seed():
    """A seed under half the 5th-percentile cell is a gap or an organelle in membranes; a
    separate small object's seed is its own."""
    membranes = make_plan(fingerprint_of([_cells()]), "cpu").settings
    assert membranes["min_seed_size"] == round(18 * 18 / 2)
    objects = make_plan(fingerprint_of([nuclei(1)]), "cpu").settings
    assert objects["min_seed_size"] == 0
    # a merge joins two whole cells: membranes take the safe side within one std error
    assert membranes["calibrate_tolerance"] == "1se" and objects["calibrate_tolerance"] == 0.0


def test_test_time_augmentation_for_membranes_and_volumes_only():
    """Membranes (a gap merges two cells) and volumes (nnU-Net's mirroring) average the
    views that training's flips and rotations covered; separate objects take one pass."""
    membranes = make_plan(fingerprint_of([_cells()]), "cpu").settings
    assert membranes["calibrate_metric"] == "rand_error" and membranes["tta"] == "rot90"
    assert "tta" not in make_plan(fingerprint_of([nuclei(1)]), "cpu").settings
    volume = _mr_volume()
    assert make_plan(volume, "cpu").settings["tta"] == "flips"


def test_elastic_deformation_keeps_the_paper_s_10_px_unless_it_folds_the_tile():
    """A 3-point grid over t pixels folds where neighbouring displacements differ by more
    than (t - 1) / 2: the plan keeps that 4 std away, so only small tiles get less."""
    settings = make_plan(fingerprint_of([nuclei(1)]), "cpu").settings
    assert settings["elastic_std"] == 10.0  # 188 px input tiles: control points 94 px apart
    volume = _mr_volume()
    small = make_plan(volume, "cpu").settings  # 32^3 tiles
    tile = small["output_tile"]
    assert small["elastic_std"] == pytest.approx((tile - 1) / 2 / (4 * 2**0.5), abs=0.01)
    assert small["elastic_std"] < 10.0


def test_normalisation_from_the_foreground_and_background_medians():
    lab = nuclei(1)
    rng = np.random.default_rng(0)
    image = np.where(lab > 0, 80.0, 20.0) + rng.normal(0, 2, lab.shape)
    image[:3, :3] = 4000.0  # a few saturated pixels do not move the scale
    settings = make_plan(fingerprint_of([lab], [image]), "cpu").settings
    f = float(np.mean(lab > 0))
    assert settings["percentile_low"] == pytest.approx(100 * (1 - f) / 2, abs=3)
    assert settings["percentile_high"] == pytest.approx(100 * (1 - f / 2), abs=3)


def test_volume_plan():
    rng = np.random.default_rng(0)
    lab = np.zeros((40, 48, 24), np.uint8)
    lab[10:30, 10:30, 5:20] = 1
    lab[15:25, 15:25, 8:15] = 2
    ct = np.where(lab > 0, 40.0, -1000.0) + rng.normal(0, 5, lab.shape)
    fp = fingerprint_of([lab, lab], [ct, ct], classes=True, spacing=(0.8, 0.8, 4.0))
    settings = make_plan(fp, "cpu", 600).settings
    assert settings["num_classes"] == 3 and settings["modality"] == "CT"
    assert settings["ct_window"][0] > -200 and settings["ct_window"][1] < 200
    assert settings["target_spacing"] == [0.8, 0.8, 4.0]  # the 10th percentile of 4, 4
    assert settings["padding"] == "same" and "val_regions" not in settings
    assert settings["channels"] == [8, 16, 32]  # a CPU budget: a shallow net, more steps
    assert settings["output_tile"] == 32  # no bigger than the 24-voxel axis allows (x16)
    gpu = make_plan(fp, "cuda", 600).settings
    assert len(gpu["channels"]) == 5 and gpu["channels"][0] == 32
    mr = fingerprint_of([lab], [np.where(lab > 0, 300.0, 0.0)], classes=True)
    assert make_plan(mr, "cpu").settings["modality"] == "MR"


def test_no_objects_is_an_error():
    with pytest.raises(ValueError, match="no objects"):
        make_plan(fingerprint_of([np.zeros((32, 32), np.int32)]), "cpu")
