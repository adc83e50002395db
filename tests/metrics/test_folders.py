"""Scoring a folder of predictions against a folder of labels (``medunet evaluate``)."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import tifffile

from medunet.data import random_blobs
from medunet.metrics import segmentation_scores
from medunet.metrics.folders import evaluate_folders, format_table, volume_scores, write_csv


def _folders(tmp_path, cases=("a", "b")):
    pred, truth = tmp_path / "pred", tmp_path / "truth"
    pred.mkdir()
    truth.mkdir()
    for i, case in enumerate(cases):
        labels = random_blobs((40, 36), 5, seed=i).astype(np.uint16)
        tifffile.imwrite(truth / f"{case}.tif", labels)
        tifffile.imwrite(pred / f"{case}_labels.tif", labels if i == 0 else labels * 0)
        tifffile.imwrite(pred / f"{case}_prob.tif", np.zeros((40, 36), np.float32))  # skipped
    return pred, truth


def test_pairs_cases_by_name_and_adds_the_mean(tmp_path):
    pred, truth = _folders(tmp_path)
    rows = evaluate_folders(pred, truth)
    assert [r["case"] for r in rows] == ["a", "b", "mean"]
    assert rows[0]["ap50"] == 1.0 and rows[1]["ap50"] == 0.0
    assert rows[2]["ap50"] == pytest.approx(0.5)
    b = tifffile.imread(truth / "b.tif")
    assert rows[1] == {"case": "b", **segmentation_scores(b * 0, b)}
    table = format_table(rows).splitlines()
    assert len(table) == 4 and table[0].split()[0] == "case"


def test_connected_components_make_the_objects_of_binary_truths(tmp_path):
    pred, truth = tmp_path / "pred", tmp_path / "truth"
    pred.mkdir()
    truth.mkdir()
    cells = np.zeros((20, 30), np.uint8)
    cells[2:9, 2:12], cells[2:9, 15:28] = 255, 255  # two cells, one value
    tifffile.imwrite(truth / "em.tif", cells)
    tifffile.imwrite(pred / "em_labels.tif", (cells > 0).astype(np.uint16) * [[1] * 14 + [2] * 16])
    whole = evaluate_folders(pred, truth)[0]  # one object of truth, split in two
    parts = evaluate_folders(pred, truth, truth_instances="connected_components")[0]
    assert parts["ap50"] == 1.0 and whole["ap50"] < 1.0
    with pytest.raises(ValueError, match="--truth-instances"):
        evaluate_folders(pred, truth, truth_instances="blobs")


def test_names_the_missing_case_and_the_mismatched_grid(tmp_path):
    pred, truth = _folders(tmp_path)
    (pred / "b_labels.tif").unlink()
    with pytest.raises(ValueError, match=r"no prediction for 1 case.*'b'"):
        evaluate_folders(pred, truth)
    tifffile.imwrite(pred / "b_labels.tif", np.zeros((20, 36), np.uint16))
    with pytest.raises(ValueError, match="same image grid"):
        evaluate_folders(pred, truth)
    with pytest.raises(ValueError, match="is not a folder"):
        evaluate_folders(tmp_path / "nowhere", truth)


def test_volumes_get_dice_and_hd95_in_mm(tmp_path):
    pred, truth = tmp_path / "pred", tmp_path / "truth"
    pred.mkdir()
    truth.mkdir()
    labels = np.zeros((12, 12, 12), np.uint8)
    labels[3:9, 3:9, 3:9] = 1
    affine = np.diag([2.0, 1.0, 1.0, 1.0])
    nib.save(nib.Nifti1Image(labels, affine), truth / "v.nii.gz")
    nib.save(nib.Nifti1Image(np.roll(labels, 1, axis=0), affine), pred / "v_seg.nii.gz")
    row = evaluate_folders(pred, truth)[0]
    assert set(row) == {"case", "dice_1", "hd95_1"}
    assert row["dice_1"] == pytest.approx(2 * 180 / 432) and row["hd95_1"] == pytest.approx(2.0)
    assert volume_scores(labels, labels, (1, 1, 1)) == {"dice_1": 1.0, "hd95_1": 0.0}
    nib.save(nib.Nifti1Image(labels, np.eye(4)), pred / "v_seg.nii.gz")
    with pytest.raises(ValueError, match="different affines"):
        evaluate_folders(pred, truth)


def test_csv_is_written_whole_and_not_over_an_existing_file(tmp_path):
    rows = [{"case": "a", "ap50": 1.0}, {"case": "mean", "ap50": 1.0}]
    path = write_csv(rows, tmp_path / "scores.csv")
    assert path.read_text().splitlines() == ["case,ap50", "a,1.0", "mean,1.0"]
    with pytest.raises(FileExistsError):
        write_csv(rows, path)
    write_csv(rows[:1], path, overwrite=True)
    assert len(path.read_text().splitlines()) == 2
