"""Streamed CT/MRI volumes through the bundle: the whole volume's segmentation, voxel for
voxel, on the input's own grid (reoriented, resampled, cropped, normalised alike)."""

from __future__ import annotations

import threading
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from bundle_helpers import blocks_volume, kill_a_worker_once

import medunet.bundle.streaming.volume_tasks as streaming
from medunet.bundle import StreamOptions, run_inference, run_training

pytestmark = pytest.mark.slow

TINY = ["channels=[4,8]", "output_tile=16", "num_workers=0", "iterations_per_epoch=4",
        "val_interval=1", "num_classes=3", "modality=MR",
        "autocast=null"]  # bf16 tiles of other sizes differ by 1e-2: float32 here  # fmt: skip


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A small model trained at 1.2 x 1.2 x 2.0 mm (seconds)."""
    root = tmp_path_factory.mktemp("volumes")
    data = root / "vols"
    for sub in ("imagesTr", "labelsTr"):
        (data / sub).mkdir(parents=True)
    affine = np.diag([-1.2, 1.2, 2.0, 1.0])
    for i in range(2):
        labels = blocks_volume((28, 24, 16), seed=i)
        image = labels * 60.0 + np.random.default_rng(i).normal(0, 10, labels.shape)
        nib.save(nib.Nifti1Image(image.astype(np.float32), affine),
                 data / "imagesTr" / f"v{i}.nii.gz")  # fmt: skip
        nib.save(nib.Nifti1Image(labels, affine), data / "labelsTr" / f"v{i}.nii.gz")
    return run_training("unet2015_ct_mri", data, root / "run", epochs=2, settings=TINY,
                        progress=False)  # fmt: skip


def _scan(path: Path, affine: np.ndarray) -> Path:
    """A scan on another grid than training's, with a zero border (a real foreground crop)."""
    labels = blocks_volume((40, 36, 30), seed=5)
    volume = labels * 60.0 + np.random.default_rng(0).normal(20, 10, labels.shape)
    volume[:3], volume[:, -4:], volume[..., :2] = 0, 0, 0
    nib.save(nib.Nifti1Image(volume.astype(np.float32), affine), path)
    return path


# axes flipped and permuted (the file's last axis is RAS's first), spacings to resample
LPS = np.array([[0, 0, -1.1, 10], [0, 0.9, 0, -5], [1.7, 0, 0, 3], [0, 0, 0, 1]], float)
PLAIN = np.diag([1.0, 1.3, 2.5, 1.0])


@pytest.mark.parametrize(
    ("affine", "tta", "settings"),
    [(LPS, "none", []), (PLAIN, "flips", []), (LPS, "none", ["modality=CT", "ct_window=[0,90]"])],
    ids=["reoriented-MR", "flips-MR", "reoriented-CT"],
)
def test_streamed_volume_is_the_whole_volumes_segmentation(tmp_path, model, affine, tta,
                                                           settings):  # fmt: skip
    scan = _scan(tmp_path / "x.nii.gz", affine)
    run_inference("unet2015_ct_mri", [scan], tmp_path / "whole", model=model, tta=tta,
                  settings=settings, progress=False)  # fmt: skip
    run_inference("unet2015_ct_mri", [scan], tmp_path / "stream", model=model, tta=tta,
                  settings=settings, progress=False,
                  stream=StreamOptions(block_size=7))  # fmt: skip
    whole, streamed = (nib.load(tmp_path / d / "x_seg.nii.gz") for d in ("whole", "stream"))
    assert streamed.shape == whole.shape == (40, 36, 30)
    np.testing.assert_allclose(streamed.affine, affine)
    w, s = np.asarray(whole.dataobj), np.asarray(streamed.dataobj)
    assert 100 < (w > 0).sum() < w.size - 100  # boundaries to get right, not a blank
    np.testing.assert_array_equal(s, w)
    assert not list((tmp_path / "stream").glob(".*"))  # no work files left


def test_slicer_segmentation_streamed_and_whole_is_the_nifti_with_named_segments(tmp_path, model):
    nrrd = pytest.importorskip("nrrd")
    scan = _scan(tmp_path / "x.nii.gz", LPS)
    settings = ["class_names=[grey matter, white matter]"]
    for name, stream in (("whole", None), ("stream", StreamOptions(block_size=7))):
        run_inference("unet2015_ct_mri", [scan], tmp_path / name, model=model, progress=False,
                      settings=settings, stream=stream,
                      output_formats="nifti,seg.nrrd")  # fmt: skip
    nifti = nib.load(tmp_path / "whole" / "x_seg.nii.gz")
    for name in ("whole", "stream"):
        data, header = nrrd.read(str(tmp_path / name / "x_seg.seg.nrrd"))
        np.testing.assert_array_equal(data, np.asarray(nifti.dataobj))
        lps = np.diag([-1.0, -1.0, 1.0]) @ nifti.affine[:3]
        np.testing.assert_allclose(header["space directions"], lps[:, :3].T, atol=1e-6)
        np.testing.assert_allclose(header["space origin"], lps[:, 3], atol=1e-6)
        assert [header["Segment0_Name"], header["Segment1_Name"]] == ["grey matter", "white matter"]
    run_inference("unet2015_ct_mri", [scan], tmp_path / "only", model=model, progress=False,
                  output_formats="seg.nrrd")  # fmt: skip
    assert [p.name for p in (tmp_path / "only").iterdir()] == ["x_seg.seg.nrrd"]


def test_streamed_volume_resumes_after_an_interruption(tmp_path, model, monkeypatch):
    scan = _scan(tmp_path / "x.nii.gz", LPS)
    run_inference("unet2015_ct_mri", [scan], tmp_path / "whole", model=model, progress=False)
    original, calls = streaming.predict_block, {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # the second block of the pass
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(streaming, "predict_block", interrupted)
    out, options = tmp_path / "resumed", StreamOptions(block_size=7)
    with pytest.raises(KeyboardInterrupt):
        run_inference("unet2015_ct_mri", [scan], out, model=model, progress=False, stream=options)
    assert not (out / "x_seg.nii.gz").exists() and (out / ".x.stream").is_dir()
    monkeypatch.setattr(streaming, "predict_block", original)
    run_inference("unet2015_ct_mri", [scan], out, model=model, progress=False,
                  stream=StreamOptions(block_size=7, resume=True))  # fmt: skip
    np.testing.assert_array_equal(
        np.asarray(nib.load(out / "x_seg.nii.gz").dataobj),
        np.asarray(nib.load(tmp_path / "whole" / "x_seg.nii.gz").dataobj),
    )


def test_a_volume_on_dask_workers_is_one_process_result_when_a_worker_dies(tmp_path, model):
    pytest.importorskip("distributed")
    scan = _scan(tmp_path / "x.nii.gz", LPS)
    options = StreamOptions(block_size=3)
    run_inference("unet2015_ct_mri", [scan], tmp_path / "one", model=model, progress=False,
                  stream=options)  # fmt: skip
    out, killed = tmp_path / "two", {}
    # a worker is killed at the first mark, before the blocks' pass (the slower one) ends
    killer = threading.Thread(target=kill_a_worker_once,
                              args=(out / ".x.stream", "*.done", killed, 10**6))  # fmt: skip
    killer.start()
    run_inference("unet2015_ct_mri", [scan], out, model=model, progress=False, stream=options,
                  cluster="local:2")  # fmt: skip
    killer.join()
    assert killed.get("done", 0) > 0  # killed mid-run
    assert sorted(p.name for p in out.iterdir()) == ["x_seg.nii.gz"]  # no work folder left
    np.testing.assert_array_equal(
        np.asarray(nib.load(out / "x_seg.nii.gz").dataobj),
        np.asarray(nib.load(tmp_path / "one" / "x_seg.nii.gz").dataobj),
    )
