"""Helpers for the bundle tests: synthetic datasets, ``python -m monai.bundle`` runs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from scipy import ndimage as ndi

from medunet.data import random_blobs

ROOT = Path(__file__).resolve().parents[2]
BUNDLES = ROOT / "bundles"
PRESETS = ROOT / "configs"
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


def task(bundle: Path, *names: str) -> list[Path]:
    """A task's config files of a bundle folder: ``names`` (``"train"``, ``"evaluate"``...),
    as ``python -m monai.bundle run --config_file`` takes them (train.yaml and inference.yaml
    run alone)."""
    return [bundle / "configs" / f"{n}.yaml" for n in names]


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
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1", PYTHONIOENCODING="utf-8")
    return subprocess.run(
        cmd, cwd=ROOT, capture_output=True, timeout=timeout, env=env,
        encoding="utf-8", errors="replace",
    )  # fmt: skip


def check(proc: subprocess.CompletedProcess) -> str:
    """The process's output; fails the test with its tail when it did not succeed."""
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        pytest.fail(f"exit code {proc.returncode}:\n{out[-6000:]}")
    return out


class IntensityClasses(torch.nn.Module):
    """A stand-in network whose classes are read off the intensities (image = 100 * label,
    CT window [0, 200] -> 0.5 * label): tests the geometry of inference, not learning."""

    def __init__(self, num_classes: int = 3) -> None:
        super().__init__()
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        classes = torch.arange(self.num_classes, dtype=x.dtype, device=x.device)
        return -10.0 * (2.0 * x - classes.view(1, -1, *([1] * (x.dim() - 2)))) ** 2


def blocks_volume(shape=(30, 26, 18), seed: int = 0) -> np.ndarray:
    """An integer label volume of a few boxes (classes 1 and 2) on background 0."""
    rng = np.random.default_rng(seed)
    lab = np.zeros(shape, np.uint8)
    for cls in (1, 2, 1):
        lo = [int(rng.integers(2, n // 2)) for n in shape]
        hi = [min(n - 2, a + int(rng.integers(4, n // 2))) for a, n in zip(lo, shape, strict=True)]
        lab[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] = cls
    return lab


def write_dicom_series(volume: np.ndarray, folder: Path, spacing, origin, direction) -> None:
    """A CT DICOM series (one file per slice) of ``volume`` ``(z, y, x)`` with SimpleITK."""
    import SimpleITK as sitk

    folder.mkdir(parents=True, exist_ok=True)
    image = sitk.GetImageFromArray(volume.astype(np.int16))
    image.SetSpacing([float(s) for s in spacing])
    image.SetOrigin([float(o) for o in origin])
    image.SetDirection([float(v) for v in np.asarray(direction, float).ravel()])
    d = image.GetDirection()
    orientation = "\\".join(f"{v:.6f}" for v in (d[0], d[3], d[6], d[1], d[4], d[7]))
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    series = "1.2.826.0.1.3680043.2.1125.1.20261125"
    for z in range(image.GetDepth()):
        slc = image[:, :, z]
        position = image.TransformIndexToPhysicalPoint((0, 0, z))
        for tag, value in (
            ("0008|0060", "CT"),
            ("0020|000e", series),
            ("0020|000d", series + ".1"),
            ("0008|0018", f"{series}.{z + 2}"),
            ("0020|0037", orientation),
            ("0020|0032", "\\".join(f"{p:.6f}" for p in position)),
            ("0020|0013", str(z + 1)),
            ("0018|0050", f"{spacing[2]:.6f}"),
            ("0028|1052", "0"),
            ("0028|1053", "1"),
        ):
            slc.SetMetaData(tag, value)
        writer.SetFileName(str(folder / f"slice{z:03d}.dcm"))
        writer.Execute(slc)


def kill_a_worker_once(work: Path, pattern: str, killed: dict, most: int) -> None:
    """SIGKILL one dask worker process (a child of this one) once the first file matching
    ``pattern`` is in the work folder ``work``, if fewer than ``most`` are there then (most of
    the run still to come); records in ``killed["done"]`` how many were. A child that ends
    while it is looked at is passed over, not fatal to the search."""
    import psutil

    deadline = time.monotonic() + 600  # a loaded machine starts dask slowly
    while time.monotonic() < deadline:
        done = len(list(work.glob(pattern)))
        if done:
            for child in psutil.Process().children(recursive=True):
                try:
                    line = " ".join(child.cmdline())
                except psutil.Error:
                    continue
                if "spawn_main" in line and "resource_tracker" not in line:
                    if done < most:
                        killed["done"] = done
                        child.send_signal(signal.SIGKILL)
                    return
        time.sleep(0.01)


def rasterise(feature: dict, shape: tuple[int, int]) -> np.ndarray:
    """The pixels whose centres a GeoJSON feature's rings enclose (even-odd), as QuPath
    reads its polygons (``[x, y]``, the origin at the top-left pixel's corner)."""
    from skimage.draw import polygon as draw_polygon

    geometry = feature["geometry"]
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    out = np.zeros(shape, bool)
    for polygon in polygons:
        for ring in polygon:
            xy = np.asarray(ring, float) - 0.5  # pixel centres at integer coordinates
            rr, cc = draw_polygon(xy[:, 1], xy[:, 0], shape)
            out[rr, cc] ^= True
    return out


def make_volume_dataset(root: Path, affine: np.ndarray, n: int = 2) -> Path:
    """``imagesTr``/``labelsTr`` of ``n`` block volumes (28 x 24 x 16, classes 0..2) and
    ``imagesTs/scan.nii.gz`` (28 x 20 x 16), NIfTI with ``affine``."""
    import nibabel as nib

    for sub in ("imagesTr", "labelsTr", "imagesTs"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        labels = blocks_volume((28, 24, 16), seed=i)
        image = labels * 60.0 + np.random.default_rng(i).normal(0, 10, labels.shape)
        nib.save(nib.Nifti1Image(image.astype(np.float32), affine),
                 root / "imagesTr" / f"vol{i}.nii.gz")  # fmt: skip
        nib.save(nib.Nifti1Image(labels, affine), root / "labelsTr" / f"vol{i}.nii.gz")
    nib.save(nib.Nifti1Image(image[:, :20].astype(np.float32), affine),
             root / "imagesTs" / "scan.nii.gz")  # fmt: skip
    return root
