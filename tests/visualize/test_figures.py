"""The demo's pictures: written atomically, never over an existing file."""

from __future__ import annotations

import numpy as np
import pytest

from medunet.data import random_blobs
from medunet.visualize.figures import overlay_png, training_curve_png, weight_map_png

PNG = b"\x89PNG\r\n\x1a\n"


def test_overlay_marks_and_refuses_to_overwrite(tmp_path):
    truth = random_blobs((64, 64), 8, seed=0)
    pred = (truth > 0).astype(np.int32)  # everything merged: M marks
    image = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    path = overlay_png(image, pred, truth, tmp_path / "overlay.png", title="t")
    assert path.read_bytes()[:8] == PNG
    with pytest.raises(FileExistsError):
        overlay_png(image, pred, truth, path)
    overlay_png(image, pred, None, path, overwrite=True)  # no truth: contours only
    assert path.read_bytes()[:8] == PNG


def test_weight_map_of_2d_and_3d(tmp_path):
    assert weight_map_png(np.ones((8, 10)), tmp_path / "w2.png").read_bytes()[:8] == PNG
    assert weight_map_png(np.ones((3, 8, 10)), tmp_path / "w3.png").read_bytes()[:8] == PNG


def test_training_curve_with_and_without_scores(tmp_path):
    scalars = {"train_loss_epoch": [(1, 0.9), (2, 0.5)], "val_ap50": [(2, 0.7)]}
    assert training_curve_png(scalars, tmp_path / "c.png").read_bytes()[:8] == PNG
    assert training_curve_png({}, tmp_path / "empty.png").read_bytes()[:8] == PNG
