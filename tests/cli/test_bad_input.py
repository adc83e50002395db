"""Bad input, table-driven, through the real command line and the bundles.

Each case builds a small dataset or input with one defect, runs ``medunet`` and reads what a
terminal shows (standard output and error together; every other case under a
pseudo-terminal, the others through a pipe): exit code 2, at most three lines, no traceback,
the last line naming the file or option and the fix, and nothing written under a final name
(no checkpoint, no prediction, no temp files). Inputs that must *work* (constant, empty,
one-slice, smaller than a tile) run too and give a full-size, on-grid result.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import tifffile
import torch
from bundle_helpers import blocks_volume, make_dataset, write_dicom_series
from cli_helpers import medunet, no_temp_files, ok, one_line_error

pytestmark = pytest.mark.slow

TINY_2D = ["--set", "channels=[4,8,16]", "--set", "output_tile=20", "--set", "num_workers=0",
           "--set", "iterations_per_epoch=2", "--set", "val_interval=1", "--no-progress",
           "--epochs", "1"]  # fmt: skip
TINY_3D = ["--set", "channels=[4,8]", "--set", "output_tile=16", "--set", "num_workers=0",
           "--set", "iterations_per_epoch=2", "--set", "val_interval=1", "--set", "num_classes=3",
           "--set", "modality=MR", "--no-progress", "--epochs", "1"]  # fmt: skip
AFFINE = np.diag([1.2, 1.2, 2.0, 1.0])


def _nifti_dataset(root: Path, n: int = 2) -> Path:
    for sub in ("imagesTr", "labelsTr"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        labels = blocks_volume((28, 24, 16), seed=i)
        image = (labels * 60.0 + np.random.default_rng(i).normal(0, 10, labels.shape)).astype(
            np.float32
        )
        nib.save(nib.Nifti1Image(image, AFFINE), root / "imagesTr" / f"vol{i}.nii.gz")
        nib.save(nib.Nifti1Image(labels, AFFINE), root / "labelsTr" / f"vol{i}.nii.gz")
    return root


# ---- training: (dataset defect, needles) ---------------------------------------------


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _tif(root: Path, sub: str, name: str = "case1.tif") -> Path:
    return root / sub / name


MICROSCOPY_TRAIN: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "truncated_tiff": (lambda d: _truncate(_tif(d, "imagesTr")), ("case1.tif",)),
    "empty_tiff": (lambda d: _tif(d, "imagesTr").write_bytes(b""), ("case1.tif", "is empty")),
    "text_as_tiff": (
        lambda d: _tif(d, "imagesTr").write_text("hello"),
        ("case1.tif could not be read", "extension matches"),
    ),
    "png_content_as_tiff": (
        lambda d: _tif(d, "labelsTr").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
        ("case1.tif could not be read",),
    ),
    "folder_as_image": (
        lambda d: (_tif(d, "imagesTr").unlink(), _tif(d, "imagesTr").mkdir()),
        ("case1.tif is a folder",),
    ),
    "shape_mismatch": (
        lambda d: tifffile.imwrite(_tif(d, "labelsTr"), np.zeros((10, 12), np.uint16)),
        ("labelsTr/case1.tif has spatial shape (10, 12)", "imagesTr/case1.tif has (48, 56)"),
    ),
    "spacing_mismatch": (
        lambda d: tifffile.imwrite(
            _tif(d, "labelsTr"),
            tifffile.imread(_tif(d, "labelsTr")),
            imagej=True,
            resolution=(1.0, 1.0),
            metadata={"axes": "YX"},
        ),
        ("labelsTr/case1.tif has pixel size", "imagesTr/case1.tif has"),
    ),
    "float_label": (
        lambda d: tifffile.imwrite(_tif(d, "labelsTr"), np.full((48, 56), 0.5, np.float32)),
        ("labelsTr/case1.tif holds non-integer values",),
    ),
    "negative_label": (
        lambda d: tifffile.imwrite(_tif(d, "labelsTr"), np.full((48, 56), -1, np.int16)),
        ("labelsTr/case1.tif holds negative values",),
    ),
    "nan_image": (
        lambda d: tifffile.imwrite(_tif(d, "imagesTr"), np.full((48, 56), np.nan, np.float32)),
        ("imagesTr/case1.tif holds 2688 NaN/Inf values", "nonfinite_value"),
    ),
    "rgb_for_one_channel": (
        lambda d: tifffile.imwrite(
            _tif(d, "imagesTr"),
            np.zeros((48, 56, 3), np.uint8),
            photometric="rgb",
            resolution=(2.0, 2.0),
        ),
        ("imagesTr/case1.tif has 3 channels", "takes 1"),
    ),
    "time_series": (
        lambda d: tifffile.imwrite(
            _tif(d, "imagesTr"),
            np.zeros((3, 48, 56), np.uint16),
            imagej=True,
            metadata={"axes": "TYX"},
        ),
        ("case1.tif",),
    ),
    "empty_dataset": (
        lambda d: [p.unlink() for p in (d / "imagesTr").iterdir()],
        ("imagesTr", "no training images found"),
    ),
    "label_missing": (lambda d: _tif(d, "labelsTr").unlink(), ("case1",)),
}


def _datalist(d: Path, items) -> Path:
    path = d / "list.json"
    path.write_text(json.dumps({"training": items}))
    return path


DATALISTS = {
    "missing_label_key": ([{"image": "imagesTr/case0.tif"}], ("label",)),
    "missing_path": (
        [{"image": "imagesTr/nope.tif", "label": "labelsTr/case0.tif"}] * 2,
        ("nope.tif",),
    ),
    "same_file_as_image_and_label": (
        [{"image": "labelsTr/case0.tif", "label": "labelsTr/case0.tif"}] * 2,
        ("given as both image and label",),
    ),
}


@pytest.mark.parametrize("case", sorted(DATALISTS))
def test_bad_datalists(tmp_path, case):
    data = make_dataset(tmp_path / "data", n=2, test=False)
    items, needles = DATALISTS[case]
    proc = medunet("train", "unet2015_microscopy", "--data", _datalist(data, items),
                   "--output", tmp_path / "run", *TINY_2D, tty=_tty(case, DATALISTS))  # fmt: skip
    one_line_error(proc, "train", *needles)


CT_TRAIN: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "dicom_series_with_a_truncated_slice": (
        lambda d: _dicom_with_truncated_slice(d),
        ("imagesTr/vol1 has (28, 24, 15)", "labelsTr/vol1.nii.gz"),  # ITK skips the slice
    ),
    "truncated_nifti": (
        lambda d: _truncate(d / "imagesTr" / "vol1.nii.gz"),
        ("vol1.nii.gz could not be read", "complete"),
    ),
    "gzip_of_garbage": (
        lambda d: (d / "imagesTr" / "vol1.nii.gz").write_bytes(gzip.compress(b"x" * 500)),
        ("vol1.nii.gz",),
    ),
    "affine_mismatch": (
        lambda d: nib.save(
            nib.Nifti1Image(
                np.asarray(nib.load(d / "labelsTr/vol1.nii.gz").dataobj), AFFINE + _shift()
            ),
            d / "labelsTr" / "vol1.nii.gz",
        ),
        ("labelsTr/vol1.nii.gz has affine", "imagesTr/vol1.nii.gz has"),
    ),
    "class_out_of_range": (
        lambda d: nib.save(
            nib.Nifti1Image(np.full((28, 24, 16), 7, np.uint8), AFFINE),
            d / "labelsTr" / "vol1.nii.gz",
        ),
        ("labelsTr/vol1.nii.gz holds class 7", "num_classes"),
    ),
    "nan_volume": (
        lambda d: nib.save(
            nib.Nifti1Image(np.full((28, 24, 16), np.nan, np.float32), AFFINE),
            d / "imagesTr" / "vol1.nii.gz",
        ),
        ("imagesTr/vol1.nii.gz holds", "NaN/Inf"),
    ),
    "four_d_volume": (
        lambda d: nib.save(
            nib.Nifti1Image(np.zeros((28, 24, 16, 3), np.float32), AFFINE),
            d / "imagesTr" / "vol1.nii.gz",
        ),
        ("imagesTr/vol1.nii.gz has 3 channels", "takes 1"),
    ),
    "nan_in_the_label_affine": (
        lambda d: _nifti_with_affine(d / "labelsTr" / "vol1.nii.gz", NAN_AFFINE),
        ("labelsTr/vol1.nii.gz: its header's affine", "NaN"),
    ),
}


def _dicom_with_truncated_slice(d: Path) -> None:
    (d / "imagesTr" / "vol1.nii.gz").unlink()
    volume = blocks_volume((28, 24, 16), seed=1).transpose(2, 1, 0) * 60
    write_dicom_series(volume, d / "imagesTr" / "vol1", (1.2, 1.2, 2.0), (0, 0, 0), np.eye(3))
    _truncate(sorted((d / "imagesTr" / "vol1").iterdir())[5])


def _shift() -> np.ndarray:
    m = np.zeros((4, 4))
    m[0, 3] = 5.0
    return m


TRAIN_CASES = {
    **{("unet2015_microscopy", k): v for k, v in MICROSCOPY_TRAIN.items()},
    **{("unet2015_ct_mri", k): v for k, v in CT_TRAIN.items()},
}


def _tty(case, table) -> bool:
    """Every other case of a table runs under a pseudo-terminal."""
    return sorted(table).index(case) % 2 == 0


@pytest.mark.parametrize(("bundle", "case"), sorted(TRAIN_CASES))
def test_training_refuses(tmp_path, bundle, case):
    if bundle == "unet2015_ct_mri":
        data, tiny = _nifti_dataset(tmp_path / "data"), TINY_3D
    else:
        data, tiny = make_dataset(tmp_path / "data", n=3, test=False), TINY_2D
    defect, needles = TRAIN_CASES[(bundle, case)]
    defect(data)
    run = tmp_path / "run"
    proc = medunet("train", bundle, "--data", data, "--output", run, *tiny,
                   tty=_tty((bundle, case), TRAIN_CASES))  # fmt: skip
    one_line_error(proc, "train", *needles)
    assert not run.exists()  # the dataset check refuses before anything is written


# ---- inputs that must work ---------------------------------------------------------


@pytest.fixture(scope="module")
def microscopy_model(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("model")
    data = make_dataset(root / "data", n=2, test=False)
    ok(medunet("train", "unet2015_microscopy", "--data", data, "--output", root / "run", *TINY_2D))
    return root / "run" / "models" / "model.pt"


@pytest.mark.parametrize(
    "image",
    [np.full((48, 56), 7, np.uint16), np.zeros((9, 11), np.uint16), np.zeros((1, 300), np.uint8)],
    ids=["constant", "smaller_than_a_tile", "one_row"],
)
def test_inference_handles_constant_and_tiny_images(tmp_path, microscopy_model, image):
    tifffile.imwrite(tmp_path / "x.tif", image)
    ok(medunet("infer", "unet2015_microscopy", tmp_path / "x.tif", "--model", microscopy_model,
               "--output", tmp_path / "out"))  # fmt: skip
    labels = tifffile.imread(tmp_path / "out" / "x_labels.tif")
    assert labels.shape == image.shape
    if image.max() == image.min():  # a blank image holds no objects
        assert labels.max() == 0


INFER_BAD = {
    "multipage_tiff_wrong_page_count": (
        lambda p: tifffile.imwrite(p, np.zeros((3, 20, 20), np.uint16), photometric="minisblack"),
        ("x.tif",),
    ),
    "nan_image": (
        lambda p: tifffile.imwrite(p, np.full((20, 20), np.inf, np.float32)),
        ("x.tif holds 400 NaN/Inf values", "nonfinite_value"),
    ),
    "truncated": (
        lambda p: (tifffile.imwrite(p, np.ones((64, 64), np.uint16)), _truncate(p)),
        ("x.tif",),
    ),
    "folder": (lambda p: p.mkdir(), ("x.tif", "no images found")),
    "wrong_extension": (lambda p: None, ("x.nii.gz", "this bundle reads")),
}


@pytest.mark.parametrize("case", sorted(INFER_BAD))
def test_inference_refuses(tmp_path, microscopy_model, case):
    target = tmp_path / ("x.nii.gz" if case == "wrong_extension" else "x.tif")
    if case == "wrong_extension":
        nib.save(nib.Nifti1Image(np.zeros((4, 4, 4), np.float32), np.eye(4)), target)
    else:
        INFER_BAD[case][0](target)
    out = tmp_path / "out"
    proc = medunet("infer", "unet2015_microscopy", target, "--model", microscopy_model,
                   "--output", out, tty=_tty(case, INFER_BAD))  # fmt: skip
    one_line_error(proc, "infer", *INFER_BAD[case][1])
    assert not out.exists() or not [p for p in out.iterdir() if p.suffix == ".tif"]
    if out.exists():
        no_temp_files(out)


def test_nonfinite_value_option_replaces(tmp_path, microscopy_model):
    image = np.ones((30, 30), np.float32)
    image[3, 4] = np.nan
    tifffile.imwrite(tmp_path / "x.tif", image)
    ok(medunet("infer", "unet2015_microscopy", tmp_path / "x.tif", "--model", microscopy_model,
               "--output", tmp_path / "out", "--set", "nonfinite_value=0"))  # fmt: skip
    assert (tmp_path / "out" / "x_labels.tif").is_file()


def test_unwritable_output(tmp_path, microscopy_model):
    image = tmp_path / "x.tif"
    tifffile.imwrite(image, np.ones((30, 30), np.uint16))
    (tmp_path / "file").write_text("not a folder")
    proc = medunet("infer", "unet2015_microscopy", image, "--model", microscopy_model,
                   "--output", tmp_path / "file" / "out")  # fmt: skip
    one_line_error(proc, "infer", "file")


# ---- CT/MRI inference: bad volumes refused, degenerate ones segmented -----------------


@pytest.fixture(scope="module")
def volume_model(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ctmodel")
    data = _nifti_dataset(root / "data")
    ok(medunet("train", "unet2015_ct_mri", "--data", data, "--output", root / "run", *TINY_3D))
    return root / "run" / "models" / "model.pt"


def _nifti(path: Path, array: np.ndarray) -> None:
    nib.save(nib.Nifti1Image(array, AFFINE), path)


def _nifti_with_affine(path: Path, affine: np.ndarray) -> None:
    """A NIfTI whose sform is ``affine`` as written (nibabel would not refuse it)."""
    img = nib.Nifti1Image(np.ones((28, 24, 16), np.float32), None)
    img.set_sform(affine, code=1)
    img.set_qform(None, code=0)
    nib.save(img, path)


NAN_AFFINE = np.where(np.eye(4, dtype=bool), 1.0, 0.0)
NAN_AFFINE[0, 3] = np.nan
FLAT_AFFINE = np.diag([1.2, 1.2, 0.0, 1.0])  # every slice at the same place


CT_INFER_BAD = {
    "truncated_nifti": (
        lambda p: (_nifti(p, np.ones((28, 24, 16), np.float32)), _truncate(p)),
        ("x.nii.gz could not be read", "complete"),
    ),
    "empty_file": (lambda p: p.write_bytes(b""), ("x.nii.gz",)),
    "text_named_nifti": (lambda p: p.write_text("not a volume"), ("x.nii.gz could not be read",)),
    "nan_volume": (
        lambda p: _nifti(p, np.full((28, 24, 16), np.nan, np.float32)),
        ("x.nii.gz holds", "NaN/Inf", "--set nonfinite_value=0"),
    ),
    "four_d_volume": (
        lambda p: _nifti(p, np.zeros((28, 24, 16, 3), np.float32)),
        ("x.nii.gz has 3 channels", "takes 1"),
    ),
    "nan_in_the_affine": (
        lambda p: _nifti_with_affine(p, NAN_AFFINE),
        ("x.nii.gz: its header's affine", "NaN", "rewrite the header"),
    ),
    "singular_affine": (
        lambda p: _nifti_with_affine(p, FLAT_AFFINE),
        ("x.nii.gz: its header's affine is singular", "voxel sizes 1.2, 1.2, 0"),
    ),
}


@pytest.mark.parametrize("case", sorted(CT_INFER_BAD))
def test_volume_inference_refuses(tmp_path, volume_model, case):
    target = tmp_path / "x.nii.gz"
    CT_INFER_BAD[case][0](target)
    out = tmp_path / "out"
    proc = medunet("infer", "unet2015_ct_mri", target, "--model", volume_model, "--output", out,
                   tty=_tty(case, CT_INFER_BAD))  # fmt: skip
    one_line_error(proc, "infer", *CT_INFER_BAD[case][1])
    assert not out.exists() or not list(out.glob("*.nii.gz"))
    if out.exists():
        no_temp_files(out)


def test_volume_inputs_and_options_refused_before_anything_is_written(tmp_path, volume_model):
    """An empty folder (GDCM finds no series: ITK's C++ warning stays off the terminal), a
    bad option value and a memory bound too small for one tile end in one line, and no
    output folder appears."""
    empty, out = tmp_path / "empty", tmp_path / "out"
    empty.mkdir()
    infer = ["infer", "unet2015_ct_mri", "--model", volume_model, "--output", out]
    proc = medunet(*infer, empty, tty=True)
    line = one_line_error(proc, "infer", "empty: no images found")
    assert "GDCM" not in proc.stdout and "WARNING" not in proc.stdout, proc.stdout
    _nifti(tmp_path / "x.nii.gz", np.ones((28, 24, 16), np.float32))
    for option, value, needle in [("--block-size", "-5", "-5 is not positive"),
                                  ("--block-size", "abc", "'abc' is not a whole number"),
                                  ("--max-memory", "0", "0 is not a positive number")]:  # fmt: skip
        proc = medunet(*infer, tmp_path / "x.nii.gz", option, value)
        line = one_line_error(proc, "infer", f"argument {option}: {needle}", "--help")
        assert line.count("medunet") == 2  # one line, not argparse's whole usage
    proc = medunet(*infer, tmp_path / "x.nii.gz", "--cluster", "slurm")
    one_line_error(proc, "infer", "--cluster slurm", "local:N")
    proc = medunet(*infer, tmp_path / "x.nii.gz", "--max-memory", "0.1")
    one_line_error(proc, "infer", "--max-memory 0.10 GB cannot hold medunet", "or more")
    if not torch.cuda.is_available():
        proc = medunet(*infer, tmp_path / "x.nii.gz", "--device", "cuda")
        one_line_error(proc, "infer", "--device cuda: no CUDA device", "--device cpu")
    assert not out.exists()


@pytest.mark.parametrize(
    "volume",
    [np.zeros((24, 24, 24), np.float32), np.full((24, 24, 24), 300.0, np.float32),
     np.zeros((28, 24, 1), np.float32), np.zeros((5, 6, 4), np.float32)],
    ids=["all_zero", "constant", "one_slice", "smaller_than_a_tile"],
)  # fmt: skip
def test_degenerate_volumes_give_background_on_their_own_grid(tmp_path, volume_model, volume):
    _nifti(tmp_path / "x.nii.gz", volume)
    ok(medunet("infer", "unet2015_ct_mri", tmp_path / "x.nii.gz", "--model", volume_model,
               "--output", tmp_path / "out"))  # fmt: skip
    seg = nib.load(tmp_path / "out" / "x_seg.nii.gz")
    assert seg.shape == volume.shape and np.allclose(seg.affine, AFFINE)
    assert np.asarray(seg.dataobj).max() == 0  # a blank scan is background


def test_single_dicom_file_is_read_and_segmented(tmp_path, volume_model):
    slice_ = (blocks_volume((28, 24, 16), seed=3)[:, :, 8] * 60).T[None]  # (z=1, y, x)
    write_dicom_series(slice_, tmp_path / "series", (1.2, 1.2, 2.0), (0, 0, 0), np.eye(3))
    single = tmp_path / "CT_small.dcm"
    (tmp_path / "series" / "slice000.dcm").rename(single)
    ok(medunet("infer", "unet2015_ct_mri", single, "--model", volume_model,
               "--output", tmp_path / "out"))  # fmt: skip
    seg = nib.load(tmp_path / "out" / "CT_small_seg.nii.gz")
    assert seg.shape == (28, 24, 1)
