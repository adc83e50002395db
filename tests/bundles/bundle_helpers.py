"""Helpers for the bundle tests: synthetic datasets, ``python -m monai.bundle`` runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from scipy import ndimage as ndi

from medunet.data import random_blobs

ROOT = Path(__file__).resolve().parents[2]
BUNDLES = ROOT / "bundles"
TINY_2D = ["--channels", "[4,8,16]", "--output_tile", "20", "--num_workers", "0"]
TINY_3D = ["--channels", "[4,8]", "--output_tile", "8", "--num_workers", "0"]
QUIET = ["--show_progress", "False"]


def make_dataset(root: Path, dims: int = 2, n: int = 3, test: bool = True) -> Path:
    """``imagesTr``/``labelsTr`` (and ``imagesTs``) of blob images, ImageJ TIFF."""
    shape = (48, 56) if dims == 2 else (12, 30, 34)
    for sub in ("imagesTr", "labelsTr", "imagesTs"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        labels = random_blobs(shape, 8, (3, 7), seed=i).astype(np.uint16)
        rng = np.random.default_rng(i)
        image = ndi.gaussian_filter((labels > 0).astype(np.float32), 1) * 800
        image = (image + rng.normal(100, 20, shape)).clip(0).astype(np.uint16)
        meta = {"axes": "ZYX" if dims == 3 else "YX"}
        if dims == 3:
            meta["spacing"] = 2.0
        kw = {"imagej": True, "metadata": meta, "resolution": (2.0, 2.0)}
        tifffile.imwrite(root / "imagesTr" / f"case{i}.tif", image, **kw)
        tifffile.imwrite(root / "labelsTr" / f"case{i}.tif", labels, **kw)
        if test and i == 0:
            tifffile.imwrite(root / "imagesTs" / f"new{i}.tif", image, **kw)
    return root


def copy_bundle(name: str, dest: Path) -> Path:
    """A copy of a shipped bundle (so that its models/ and eval/ stay out of the repo)."""
    target = dest / name
    shutil.copytree(
        BUNDLES / name, target, ignore=shutil.ignore_patterns("models", "eval", "cache")
    )
    return target


def run_bundle(
    config_files: list[Path | str],
    *args: str,
    launcher: list[str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess:
    """``python -m monai.bundle run`` from the repository root; returns the finished process."""
    files = [str(f) for f in config_files]
    config = files[0] if len(files) == 1 else "[" + ",".join(f"'{f}'" for f in files) + "]"
    cmd = [
        *(launcher or [sys.executable]),
        "-m",
        "monai.bundle",
        "run",
        "--config_file",
        config,
        *args,
    ]
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)


def check(proc: subprocess.CompletedProcess) -> str:
    """The process's output; fails the test with its tail when it did not succeed."""
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        pytest.fail(f"exit code {proc.returncode}:\n{out[-6000:]}")
    return out
