"""Bundles and presets are found from any working directory, and from extra folders."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from medunet.bundle import (
    layer_config,
    list_bundles,
    list_presets,
    parse_overrides,
    read_configs,
    resolve_bundle,
    resolve_preset,
    shipped_path,
)


def test_shipped_bundles_and_presets_live_in_the_package():
    assert [p.name for p in list_bundles()] == ["unet2015_ct_mri", "unet2015_microscopy"]
    assert all(p.parent == shipped_path("bundles") for p in list_bundles())
    assert {"quick_cpu_microscopy", "quick_cpu_em", "isbi2012_em"} <= set(list_presets())
    bundle = resolve_bundle("unet2015_microscopy")
    assert [f.name for f in bundle.configs("train")] == ["train.yaml"]


def test_found_from_another_working_directory(tmp_path):
    code = (
        "from medunet.bundle import list_bundles, list_presets; "
        "print(len(list_bundles()), len(list_presets()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    bundles, presets = map(int, out.stdout.split())
    assert bundles == 2 and presets >= 8, out.stderr


def test_environment_folders_come_first(tmp_path, monkeypatch):
    mine = tmp_path / "bundles" / "unet2015_microscopy"
    shutil.copytree(resolve_bundle("unet2015_microscopy").root, mine)
    (tmp_path / "presets").mkdir()
    (tmp_path / "presets" / "mine.yaml").write_text("w0: 3.0\n")
    monkeypatch.setenv("MEDUNET_BUNDLES", str(tmp_path / "bundles"))
    monkeypatch.setenv("MEDUNET_PRESETS", str(tmp_path / "presets"))
    assert resolve_bundle("unet2015_microscopy").root == mine.resolve()
    assert resolve_preset("mine") == (tmp_path / "presets" / "mine.yaml").resolve()
    assert "quick_cpu_microscopy" in list_presets()  # the shipped ones are still there


def test_unknown_names_list_the_choices():
    with pytest.raises(ValueError, match=r"choose one of \['unet2015_ct_mri'"):
        resolve_bundle("unet2015")
    with pytest.raises(ValueError, match="quick_cpu_microscopy"):
        resolve_preset("quick_gpu")


def test_layering_order_run_then_presets_then_settings():
    bundle = resolve_bundle("unet2015_microscopy")
    run = {"presets": [str(resolve_preset("quick_cpu_microscopy"))], "set": {"w0": 3.0}}
    config = layer_config(bundle, "train", ["isbi2012_em"], ["sigma=2"], run=run)
    assert [p.stem for p in config.presets] == ["quick_cpu_microscopy", "isbi2012_em"]
    assert config.overrides == {"w0": 3.0, "sigma": 2}
    merged = config.merged()
    assert merged["channels"] == [64, 128, 256, 512, 1024]  # isbi2012_em after quick_cpu
    assert merged["w0"] == 3.0 and merged["sigma"] == 2
    infer = layer_config(bundle, "inference", run=run)
    assert "w0" not in infer.overrides  # an id inference does not have is left out


def test_overrides_are_checked():
    parser = read_configs(resolve_bundle("unet2015_microscopy").configs("train"))
    with pytest.raises(ValueError, match="did you mean w0"):
        parse_overrides(["w00=5"], parser)
    with pytest.raises(ValueError, match="takes a number"):
        parse_overrides(["w0=abc"], parser)
    assert parse_overrides(["learning_rate=1e-4"], parser) == {"learning_rate": 1e-4}
    # the calibration's tolerance is a number or the one-standard-error rule, either way
    assert parse_overrides(["calibrate_tolerance=1se"], parser) == {"calibrate_tolerance": "1se"}
    with pytest.raises(ValueError, match="takes a number or '1se'"):
        parse_overrides(["calibrate_tolerance=2se"], parser)
    parser["calibrate_tolerance"] = "1se"  # as a planned run's plan.yaml sets it
    assert parse_overrides(["calibrate_tolerance=0.2"], parser) == {"calibrate_tolerance": 0.2}
