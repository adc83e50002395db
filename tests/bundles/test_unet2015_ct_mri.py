"""The CT/MRI bundle: metadata, a train -> evaluate -> infer smoke run through
``python -m monai.bundle``, and the world-exact round trip of inference for RAS, LPS,
oblique, anisotropic NIfTI and a DICOM series."""

from __future__ import annotations

import json
import math

import nibabel as nib
import numpy as np
import pytest
import torch
from bundle_helpers import (
    BUNDLES,
    QUIET,
    ROOT,
    blocks_volume,
    check,
    copy_bundle,
    run_bundle,
    task,
    write_dicom_series,
)
from monai.bundle import ConfigParser, verify_metadata, verify_net_in_out
from monai.transforms import LoadImage

NAME = "unet2015_ct_mri"
CONFIGS = BUNDLES / NAME / "configs"
SCHEMA = ROOT / "tests" / "bundles" / "meta_schema_20240725.json"
TINY = ["--channels", "[4,8]", "--output_tile", "16", "--num_workers", "0"]


def test_layout_metadata_and_net_in_out():
    for name in ("metadata.json", "common.yaml", "train.yaml", "inference.yaml", "evaluate.yaml",
                 "multi_gpu_train.yaml", "logging.conf"):  # fmt: skip
        assert (CONFIGS / name).is_file(), name
    assert (BUNDLES / NAME / "docs" / "README.md").is_file() and (
        BUNDLES / NAME / "LICENSE"
    ).is_file()
    verify_metadata(meta_file=str(CONFIGS / "metadata.json"), filepath=str(SCHEMA))
    verify_net_in_out(
        net_id="network_def",
        meta_file=str(CONFIGS / "metadata.json"),
        config_file=str(CONFIGS / "inference.yaml"),
        device="cpu",
    )
    meta = ConfigParser.load_config_file(CONFIGS / "metadata.json")
    assert len(meta["network_data_format"]["inputs"]["image"]["spatial_shape"]) == 3


def _rotation_z(degrees: float) -> np.ndarray:
    a = math.radians(degrees)
    return np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])


def _affine(spacing, rotation=None, origin=(-20.0, 15.0, 7.5)) -> np.ndarray:
    affine = np.eye(4)
    affine[:3, :3] = (np.eye(3) if rotation is None else rotation) @ np.diag(spacing)
    affine[:3, 3] = origin
    return affine


GEOMETRIES = {
    "ras": _affine((1.0, 1.0, 1.0)),
    "lps": _affine((1.0, 1.0, 1.0), np.diag([-1.0, -1.0, 1.0])),
    "oblique": _affine((1.0, 1.0, 1.0), _rotation_z(20.0) @ np.diag([-1.0, 1.0, 1.0])),
    "anisotropic": _affine((0.5, 0.5, 1.5), np.diag([1.0, -1.0, 1.0])),
}


def _infer_in_process(bundle, data_dir, out_dir, target_spacing):
    """The bundle's own inference.yaml with a stand-in network that reads classes off the
    intensities, so the saved labels must equal the input's labels voxel for voxel."""
    parser = ConfigParser()
    parser.read_config([str(c) for c in task(bundle, "inference")])
    parser["bundle_root"] = str(bundle)
    parser["dataset_dir"] = str(data_dir)
    parser["output_dir"] = str(out_dir)
    parser["target_spacing"] = list(target_spacing)
    parser["ct_window"] = [0, 200]
    parser["num_classes"] = 3
    parser["network_def"] = {"_target_": "bundle_helpers.IntensityClasses", "num_classes": 3}
    parser["handlers"] = []
    parser["inferer#roi_size"] = 24
    parser["halo"] = 0  # the stand-in network is pointwise: no context needed
    parser["inferer#progress"] = False
    parser.get_parsed_content("evaluator").run()


@pytest.mark.parametrize("name", sorted(GEOMETRIES))
def test_inference_overlays_the_input_exactly(tmp_path, name):
    affine = GEOMETRIES[name]
    labels = blocks_volume(seed=len(name))
    data = tmp_path / "data" / "imagesTs"
    data.mkdir(parents=True)
    nib.save(nib.Nifti1Image((labels * 100).astype(np.int16), affine), data / "case.nii.gz")
    bundle = copy_bundle(NAME, tmp_path)
    # resampled to half the voxel size and back: every input voxel centre is on the working
    # grid, so nearest-neighbour inversion must give back exactly the input's labels
    _infer_in_process(bundle, tmp_path / "data", tmp_path / "out", (0.5, 0.5, 0.5))
    seg = nib.load(tmp_path / "out" / "case_seg.nii.gz")
    np.testing.assert_allclose(seg.affine, affine, atol=1e-5)
    assert seg.shape == labels.shape and np.issubdtype(seg.get_data_dtype(), np.integer)
    np.testing.assert_array_equal(np.asarray(seg.dataobj), labels)


def test_dicom_series_inference_overlays_the_series(tmp_path):
    labels = blocks_volume((14, 24, 20), seed=3)  # (z, y, x) slices
    direction = _rotation_z(15.0)
    folder = tmp_path / "data" / "imagesTs" / "series1"
    write_dicom_series(labels * 100, folder, (0.8, 0.7, 2.0), (-40.0, -30.0, 12.0), direction)
    bundle = copy_bundle(NAME, tmp_path)
    _infer_in_process(bundle, tmp_path / "data", tmp_path / "out", (0.4, 0.35, 1.0))
    loaded = LoadImage(image_only=True)(str(folder))  # MONAI/ITK: RAS affine of the series
    seg = nib.load(tmp_path / "out" / "series1_seg.nii.gz")
    np.testing.assert_allclose(seg.affine, np.asarray(loaded.affine), atol=1e-4)
    # world position of voxel (0, 0, 0): the first slice's ImagePositionPatient, LPS -> RAS
    np.testing.assert_allclose(seg.affine[:3, 3], [40.0, 30.0, 12.0], atol=1e-4)
    np.testing.assert_allclose(
        np.linalg.norm(seg.affine[:3, :3], axis=0), (0.8, 0.7, 2.0), atol=1e-5
    )
    np.testing.assert_array_equal(np.asarray(seg.dataobj), np.asarray(loaded) / 100)


def _nifti_dataset(root, n=3):
    for sub in ("imagesTr", "labelsTr", "imagesTs"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        labels = blocks_volume((28, 24, 16), seed=i)
        rng = np.random.default_rng(i)
        image = (labels * 60.0 + rng.normal(0, 10, labels.shape)).astype(np.float32)
        affine = _affine((1.2, 1.2, 2.0), np.diag([-1.0, -1.0, 1.0]))
        nib.save(nib.Nifti1Image(image, affine), root / "imagesTr" / f"vol{i}.nii.gz")
        nib.save(nib.Nifti1Image(labels, affine), root / "labelsTr" / f"vol{i}.nii.gz")
        if i == 0:
            nib.save(nib.Nifti1Image(image, affine), root / "imagesTs" / f"scan{i}.nii.gz")
    return root


@pytest.mark.slow
def test_train_evaluate_infer_nifti(tmp_path):
    data = _nifti_dataset(tmp_path / "data")
    bundle = copy_bundle(NAME, tmp_path)
    common = ["--bundle_root", str(bundle), "--dataset_dir", str(data), *TINY, *QUIET,
              "--num_classes", "3", "--modality", "MR"]  # fmt: skip
    train = task(bundle, "train")
    out = check(run_bundle(train, *common, "--train#trainer#max_epochs", "1",
                           "--iterations_per_epoch", "2", "--val_interval", "1"))  # fmt: skip
    assert "val_mean_dice" in out and "val_hd95" in out
    stored = json.loads((bundle / "models" / "spacing.json").read_text())
    assert stored["spacing"] == pytest.approx([1.2, 1.2, 2.0])  # training set median, RAS axes
    out = check(run_bundle(task(bundle, "train", "evaluate"), *common,
                           "--output_dir", str(tmp_path / "scores")))  # fmt: skip
    assert (tmp_path / "scores" / "val_mean_dice_raw.csv").is_file()
    check(run_bundle(task(bundle, "inference"), "--bundle_root", str(bundle),
                     "--dataset_dir", str(data), "--output_dir", str(tmp_path / "pred"),
                     "--channels", "[4,8]", "--num_classes", "3", "--modality", "MR"))  # fmt: skip
    seg = nib.load(tmp_path / "pred" / "scan0_seg.nii.gz")
    source = nib.load(data / "imagesTs" / "scan0.nii.gz")
    assert seg.shape == source.shape and np.allclose(seg.affine, source.affine)
    assert set(np.unique(np.asarray(seg.dataobj))) <= {0, 1, 2}
    # a fresh run over the earlier one is refused before anything is overwritten
    proc = run_bundle(train, *common, "--train#trainer#max_epochs", "1")
    assert proc.returncode != 0 and "exists from an earlier run" in proc.stdout + proc.stderr
    assert (
        torch.load(bundle / "models" / "checkpoint.pt", weights_only=False)["trainer"]["iteration"]
        == 2
    )


def test_multichannel_cases_are_stacked_and_bad_pairs_named(tmp_path):
    root = tmp_path / "data"
    for sub in ("imagesTr", "labelsTr"):
        (root / sub).mkdir(parents=True)
    labels = blocks_volume((20, 18, 12), seed=1)
    affine = _affine((1.0, 1.0, 2.0))
    for c in range(2):  # two MRI sequences of one case
        image = (labels * (c + 1) * 50.0).astype(np.float32)
        nib.save(nib.Nifti1Image(image, affine), root / "imagesTr" / f"brain_{c:04d}.nii.gz")
    nib.save(nib.Nifti1Image(labels, affine), root / "labelsTr" / "brain.nii.gz")
    parser = ConfigParser()
    parser.read_config([str(c) for c in task(CONFIGS.parent, "train")])
    parser["dataset_dir"] = str(root)
    parser["target_spacing"] = [1.0, 1.0, 2.0]
    parser["modality"] = "MR"
    parser["in_channels"] = 2
    parser["num_classes"] = 3
    items = parser.get_parsed_content("train#dataset#data")
    assert len(items) == 1 and len(items[0]["image"]) == 2
    prepare = parser.get_parsed_content("validate#preprocessing")
    sample = prepare(items[0])
    assert sample["image"].shape[0] == 2 and sample["image"].shape[1:] == sample["label"].shape[1:]
    shifted = affine.copy()
    shifted[:3, 3] += 5.0  # the label sits 5 mm elsewhere: refused, both files named
    nib.save(nib.Nifti1Image(labels, shifted), root / "labelsTr" / "brain.nii.gz")
    with pytest.raises(RuntimeError) as err:
        prepare(items[0])
    cause = err.value
    while cause.__cause__ is not None:
        cause = cause.__cause__
    assert "brain.nii.gz has affine" in str(cause) and "brain_0000.nii.gz" in str(cause)


@pytest.mark.parametrize("weight_map", [False, True])
def test_weight_map_switch_reaches_the_loss(tmp_path, weight_map):
    data = _nifti_dataset(tmp_path / "data", n=1)
    parser = ConfigParser()
    parser.read_config([str(c) for c in task(CONFIGS.parent, "train")])
    parser["dataset_dir"] = str(data)
    parser["target_spacing"] = [1.2, 1.2, 2.0]
    parser["cache"] = "none"
    parser["weight_map"] = weight_map
    parser["channels"], parser["output_tile"], parser["num_classes"] = [4, 8], 16, 3
    sample = parser.get_parsed_content("train#dataset")[0]
    assert sample["label"].shape[0] == (2 if weight_map else 1) and "weight" not in sample
    if weight_map:
        assert float(sample["label"][1].max()) > 1.5  # border weights between structures
    net = parser.get_parsed_content("network_def")
    loss = parser.get_parsed_content("loss")(net(sample["image"][None]), sample["label"][None])
    assert torch.isfinite(loss)
