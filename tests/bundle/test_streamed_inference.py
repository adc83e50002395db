"""Streamed inference through the bundles: the whole image's result, bounded, resumable."""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import tifffile

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bundles"))
from bundle_helpers import blocks_volume, make_dataset

import medunet.bundle.streaming as streaming
from medunet.bundle import StreamOptions, run_inference, run_training

pytestmark = pytest.mark.slow

TINY = ["channels=[4,8,16]", "output_tile=20", "num_workers=0", "iterations_per_epoch=4",
        "val_interval=1", "border_class=true"]  # fmt: skip
ROI = ["roi_size=60"]  # small tiles, so that a small image has many blocks


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("stream")
    data = make_dataset(root / "data", n=3)
    return run_training("unet2015_microscopy", data, root / "run", epochs=2, settings=TINY,
                        progress=False)  # fmt: skip


def _image(path: Path) -> Path:
    labels = np.zeros((300, 340), np.uint16)
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:300, :340]
    for i in range(60):
        cy, cx = rng.integers(0, 300), rng.integers(0, 340)
        labels[np.hypot(yy - cy, xx - cx) < rng.integers(4, 9)] = i + 1
    image = (labels > 0) * 700.0 + rng.normal(100, 20, labels.shape)
    tifffile.imwrite(path, image.clip(0).astype(np.uint16), tile=(64, 64))
    return path


def _compare(a_dir: Path, b_dir: Path) -> None:
    pa, pb = (tifffile.imread(d / "x_prob.tif") for d in (a_dir, b_dir))
    np.testing.assert_allclose(pb, pa, atol=1e-4)
    la, lb = (tifffile.imread(d / "x_labels.tif").astype(np.int64) for d in (a_dir, b_dir))
    assert ((la > 0) == (lb > 0)).mean() >= 0.999
    pairs = defaultdict(set)
    for x, y in set(zip(la.ravel().tolist(), lb.ravel().tolist(), strict=True)):
        if x and y:
            pairs[x].add(y)
    assert all(len(v) == 1 for v in pairs.values()) and len(pairs) == la.max() == lb.max()


def test_streamed_equals_whole_and_resumes(tmp_path, model, monkeypatch):
    image = _image(tmp_path / "x.tif")
    run_inference("unet2015_microscopy", [image], tmp_path / "whole", model=model,
                  settings=ROI, progress=False)  # fmt: skip
    options = StreamOptions(block_size=64)
    run_inference("unet2015_microscopy", [image], tmp_path / "stream", model=model,
                  settings=ROI, progress=False, stream=options)  # fmt: skip
    _compare(tmp_path / "whole", tmp_path / "stream")
    assert not list((tmp_path / "stream").glob(".*"))  # no work files left
    # interrupted after two stripes: no final file, the work so far kept
    original, calls = streaming._label_stripe, {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(streaming, "_label_stripe", interrupted)
    out = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        run_inference("unet2015_microscopy", [image], out, model=model, settings=ROI,
                      progress=False, stream=options)  # fmt: skip
    assert not (out / "x_labels.tif").exists() and (out / ".x.stream").is_dir()
    with pytest.raises(FileExistsError, match="--resume"):
        run_inference("unet2015_microscopy", [image], out, model=model, settings=ROI,
                      progress=False, stream=options)  # fmt: skip
    monkeypatch.setattr(streaming, "_label_stripe", original)
    resumed = StreamOptions(block_size=64, resume=True)
    run_inference("unet2015_microscopy", [image], out, model=model, settings=ROI,
                  progress=False, stream=resumed)  # fmt: skip
    _compare(tmp_path / "whole", out)


def test_streamed_ome_zarr_output(tmp_path, model):
    import zarr

    image = _image(tmp_path / "x.tif")
    options = StreamOptions(block_size=64, output_format="zarr")
    run_inference("unet2015_microscopy", [image], tmp_path / "z", model=model, settings=ROI,
                  progress=False, stream=options)  # fmt: skip
    group = zarr.open_group(str(tmp_path / "z" / "x_labels.ome.zarr"), mode="r")
    assert (
        group["0"].shape == (300, 340) and group.attrs["multiscales"][0]["axes"][0]["name"] == "y"
    )


def test_streamed_volume_on_the_input_grid(tmp_path):
    data = tmp_path / "vols"
    for sub in ("imagesTr", "labelsTr"):
        (data / sub).mkdir(parents=True)
    affine = np.diag([-1.2, 1.2, 2.0, 1.0])
    for i in range(2):
        labels = blocks_volume((28, 24, 16), seed=i)
        image = labels * 60.0 + np.random.default_rng(i).normal(0, 10, labels.shape)
        nib.save(
            nib.Nifti1Image(image.astype(np.float32), affine), data / "imagesTr" / f"v{i}.nii.gz"
        )
        nib.save(nib.Nifti1Image(labels, affine), data / "labelsTr" / f"v{i}.nii.gz")
    tiny = ["channels=[4,8]", "output_tile=16", "num_workers=0", "iterations_per_epoch=4",
            "val_interval=1", "num_classes=3", "modality=MR",
            "autocast=null"]  # bf16 tiles of other sizes differ by 1e-2: float32 here  # fmt: skip
    model = run_training("unet2015_ct_mri", data, tmp_path / "run", epochs=2, settings=tiny,
                         progress=False)  # fmt: skip
    labels = blocks_volume((40, 36, 30), seed=5)
    volume = labels * 60.0 + np.random.default_rng(0).normal(0, 10, labels.shape)
    shifted = affine.copy()
    shifted[:3, 3] = [10, -5, 3]
    nib.save(nib.Nifti1Image(volume.astype(np.float32), shifted), tmp_path / "x.nii.gz")
    run_inference("unet2015_ct_mri", [tmp_path / "x.nii.gz"], tmp_path / "whole", model=model,
                  progress=False)  # fmt: skip
    run_inference("unet2015_ct_mri", [tmp_path / "x.nii.gz"], tmp_path / "stream", model=model,
                  progress=False, stream=StreamOptions(block_size=8))  # fmt: skip
    whole, streamed = (
        nib.load(d / "x_seg.nii.gz") for d in (tmp_path / "whole", tmp_path / "stream")
    )
    assert streamed.shape == whole.shape == (40, 36, 30)
    np.testing.assert_allclose(streamed.affine, shifted)
    agree = (np.asarray(whole.dataobj) == np.asarray(streamed.dataobj)).mean()
    assert agree >= 0.95, agree  # no foreground crop, per-slab resampling: nearly the same
