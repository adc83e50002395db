"""``medunet infer`` refusing what it cannot predict (the end-to-end runs are in test_train.py)."""

from __future__ import annotations

import pytest
from bundle_helpers import make_dataset
from cli_helpers import medunet, one_line_error


def test_infer_without_model_says_where_it_looked(tmp_path):
    image = make_dataset(tmp_path / "data", n=1) / "imagesTs" / "new0.tif"
    proc = medunet("infer", "unet2015_microscopy", image, "--output", tmp_path / "out",
                   "--model", tmp_path / "run" / "models" / "model.pt")  # fmt: skip
    one_line_error(proc, "infer", "no trained model at", "run/models/model.pt", "medunet train")
    assert not (tmp_path / "out").exists()


def test_an_unknown_output_format_is_one_line_naming_the_choices(tmp_path):
    image = make_dataset(tmp_path / "data", n=1) / "imagesTs" / "new0.tif"
    model = tmp_path / "run" / "models" / "model.pt"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"")  # the formats are checked before the weights are read
    proc = medunet("infer", "unet2015_microscopy", image, "--output", tmp_path / "out",
                   "--model", model, "--output-format", "tiff,pdf")  # fmt: skip
    one_line_error(proc, "infer", "pdf", "tiff, zarr, geojson")
    proc = medunet("infer", "unet2015_ct_mri", image, "--output", tmp_path / "out",
                   "--model", model, "--output-format", "geojson")  # fmt: skip
    one_line_error(proc, "infer", "geojson", "nifti, seg.nrrd")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("name", "needles"),
    [
        ("model.onnx", ("model.onnx is not a readable ONNX model", "export it again")),
        ("model.pt", ("model.pt is not a PyTorch model file", "RUN/models/model.pt")),
    ],
    ids=["onnx", "pytorch"],
)
def test_a_file_that_is_no_model_is_one_line_and_no_output_folder(tmp_path, name, needles):
    image = make_dataset(tmp_path / "data", n=1) / "imagesTs" / "new0.tif"
    model = tmp_path / name
    model.write_text("not a model")
    proc = medunet("infer", "unet2015_microscopy", image, "--output", tmp_path / "out",
                   "--model", model)  # fmt: skip
    one_line_error(proc, "infer", *needles)
    assert not (tmp_path / "out").exists()
