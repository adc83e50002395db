"""``medunet evaluate`` and ``medunet export`` refusing bad inputs in one line."""

from __future__ import annotations

import numpy as np
import tifffile
from cli_helpers import medunet, one_line_error


def test_export_and_evaluate_bad_inputs(tmp_path):
    proc = medunet("export", "unet2015_microscopy", "--model", tmp_path / "m.pt",
                   "--output", tmp_path / "m.ts")  # fmt: skip
    one_line_error(proc, "export", "m.pt does not exist")
    (tmp_path / "pred").mkdir()
    (tmp_path / "truth").mkdir()
    tifffile.imwrite(tmp_path / "pred" / "a_labels.tif", np.zeros((8, 9), np.uint16))
    tifffile.imwrite(tmp_path / "truth" / "a.tif", np.zeros((8, 8), np.uint16))
    proc = medunet("evaluate", "--pred", tmp_path / "pred", "--truth", tmp_path / "truth",
                   "--output", tmp_path / "s.csv")  # fmt: skip
    one_line_error(proc, "evaluate", "a_labels.tif has shape (8, 9)", "a.tif has (8, 8)")
    assert not (tmp_path / "s.csv").exists()
    proc = medunet("evaluate", "--pred", tmp_path / "nope", "--truth", tmp_path / "truth")
    one_line_error(proc, "evaluate", "--pred", "is not a folder")
