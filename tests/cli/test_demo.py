"""``medunet demo``: every output, never over an earlier demo."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
from cli_helpers import medunet, no_temp_files, ok, one_line_error


@pytest.mark.slow
def test_demo_writes_every_output_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "demo"
    stdout = ok(medunet("demo", "--output", out, "--steps", "100", "--no-progress"))
    for name in ("prediction_labels.tif", "probability.tif", "overlay.png", "weight_map.png",
                 "training_curve.png", "metrics.json"):  # fmt: skip
        assert (out / name).is_file(), name
        assert str(out / name) in stdout
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("foreground_iou", "dice", "pixel_error", "rand_error", "warping_error", "ap50",
                "ap75", "merged", "split"):  # fmt: skip
        assert key in metrics and np.isfinite(metrics[key]), key
    assert metrics["nuclei_true"] == 57 and metrics["steps"] == 100
    assert tifffile.imread(out / "prediction_labels.tif").shape == (512, 256)
    assert tifffile.imread(out / "probability.tif").shape == (512, 256)
    before = (out / "metrics.json").read_bytes()
    proc = medunet("demo", "--output", out, "--steps", "100")
    one_line_error(proc, "demo", "exists from an earlier demo", "--overwrite")
    assert (out / "metrics.json").read_bytes() == before
    no_temp_files(out)
