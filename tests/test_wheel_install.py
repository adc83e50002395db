"""A built wheel works outside the checkout: bundles, presets and the sample ship inside it;
an editable install finds them at the top of its checkout; pyproject lists every package.

The wheel is built from the tracked files, installed into a fresh virtual environment (its
dependencies, torch first, are reused from this environment through a path file, so nothing
is downloaded), and run from a folder outside the checkout: ``medunet info``, a short demo,
``medunet check`` on a bad dataset, and inference with an exported bundle.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import numpy as np
import pytest
import tifffile

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = None

ROOT = Path(__file__).resolve().parents[1]


def _source_copy(dest: Path) -> Path:
    """The tracked files (what a clone has), so that no stale build output gets in."""
    try:
        files = (
            subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
            .stdout.decode()
            .split("\0")
        )
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: cannot tell the tracked files")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


def _run(cmd: list, cwd: Path, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        encoding="utf-8",
        errors="replace",
    )


def _ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return proc.stdout


def _fresh_venv(tmp_path: Path) -> Path:
    """A virtual environment whose dependencies (torch, monai, ...) are this one's (a path
    file after its own site-packages), so nothing is downloaded; returns its python."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = Path(_ok(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         tmp_path, dict(os.environ))).strip())  # fmt: skip
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    ours |= {p for p in sys.path if p.endswith("site-packages")}
    (site / "zz_reuse_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    return py


def _clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MEDUNET_BUNDLES",
                                                           "MEDUNET_PRESETS")}  # fmt: skip
    env["OMP_NUM_THREADS"] = "1"
    return env


@pytest.mark.skipif(tomllib is None, reason="tomllib is Python 3.11+")
def test_pyproject_lists_every_package():
    """``packages`` is explicit (the bundles and presets are mapped in from the top level):
    a new subpackage of medunet must be listed, or the wheel would lack it."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "medunet").rglob("__init__.py")
    }
    assert set(setuptools["packages"]) == found | {"medunet.bundles", "medunet.configs"}
    assert setuptools["package-dir"] == {"medunet.bundles": "bundles", "medunet.configs": "configs"}


@pytest.mark.slow
def test_editable_install_finds_the_top_level_bundles(tmp_path):
    src = _source_copy(tmp_path / "src")
    py = _fresh_venv(tmp_path)
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    # this environment's setuptools builds it (a fresh venv's own may predate PEP 660)
    build_env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    _ok(_run([py, "-m", "pip", "install", "--no-deps", *isolation, "-e", src], tmp_path,
             build_env))  # fmt: skip
    work = tmp_path / "elsewhere"
    work.mkdir()
    info = _ok(_run([py, "-m", "medunet", "info"], work, _clean_env()))
    assert f"bundles ({src / 'bundles'})" in info and f"presets ({src / 'configs'})" in info, info
    assert "unet2015_microscopy" in info and "quick_cpu_microscopy" in info, info


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_checkout(tmp_path):
    src = _source_copy(tmp_path / "src")
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    _ok(_run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-w",
              tmp_path / "dist", src], tmp_path, dict(os.environ)))  # fmt: skip
    wheel = next((tmp_path / "dist").glob("medunet-*.whl"))
    py = _fresh_venv(tmp_path)
    _ok(_run([py, "-m", "pip", "install", "--no-deps", "--no-index", wheel], tmp_path,
             dict(os.environ)))  # fmt: skip
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = _clean_env()
    medunet = [py, "-m", "medunet"]
    where = _ok(_run([py, "-c", "import medunet; print(medunet.__file__)"], work, env))
    assert "site-packages" in where and str(ROOT) not in where, where  # the installed copy
    info = _ok(_run([*medunet, "info"], work, env))
    assert "unet2015_microscopy" in info and "unet2015_ct_mri" in info, info
    assert "quick_cpu_microscopy" in info and "isbi2012_em" in info, info
    assert str(ROOT) not in info, info
    _ok(_run([*medunet, "demo", "--steps", "20", "--output", "demo", "--no-progress"], work, env))
    metrics = json.loads((work / "demo" / "metrics.json").read_text())
    assert metrics["steps"] == 20 and metrics["nuclei_true"] == 57
    bad = work / "bad"
    for sub in ("imagesTr", "labelsTr"):
        (bad / sub).mkdir(parents=True)
    tifffile.imwrite(bad / "imagesTr" / "a.tif", np.full((32, 32), np.nan, np.float32))
    tifffile.imwrite(bad / "labelsTr" / "a.tif", np.zeros((32, 32), np.uint16))
    proc = _run([*medunet, "check", "unet2015_microscopy", "--data", bad], work, env)
    assert proc.returncode == 2 and "a.tif holds 1024 NaN/Inf values" in proc.stderr
    model = work / "demo" / "run" / "models" / "model.pt"
    _ok(_run([*medunet, "export", "unet2015_microscopy", "--model", model, "--format",
              "bundle", "--output", "exported"], work, env))  # fmt: skip
    data = work / "demo" / "data"
    _ok(_run([py, "-m", "monai.bundle", "run", "--config_file",
              "exported/configs/inference.yaml", "--bundle_root", "exported",
              "--dataset_dir", data, "--output_dir", "pred"], work, env))  # fmt: skip
    assert tifffile.imread(work / "pred" / "nuclei_right_labels.tif").shape == (512, 256)
