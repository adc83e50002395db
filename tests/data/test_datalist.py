"""Data lists: Decathlon/nnU-Net folders, MONAI datalist JSON, a reproducible split."""

from __future__ import annotations

import json

import pytest

from medunet.data import find_images, list_test_images, training_split


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def _dataset(root, n=5):
    for i in range(n):
        _touch(root / "imagesTr" / f"case{i}.tif")
        _touch(root / "labelsTr" / f"case{i}.tif")
    return root


def test_folder_split_is_seeded_disjoint_and_complete(tmp_path):
    root = _dataset(tmp_path)
    train = training_split(root, "training", val_fraction=0.4, seed=3)
    val = training_split(root, "validation", val_fraction=0.4, seed=3)
    assert len(train) == 3 and len(val) == 2
    names = {d["image"] for d in train} | {d["image"] for d in val}
    assert len(names) == 5
    assert train == training_split(root, "training", val_fraction=0.4, seed=3)
    for item in train + val:
        assert item["label"].replace("labelsTr", "imagesTr") == item["image"]


def test_single_case_validates_on_itself(tmp_path):
    root = _dataset(tmp_path, 1)
    assert training_split(root, "validation") == training_split(root, "training")


def test_channel_files_are_grouped(tmp_path):
    for c in range(2):
        _touch(tmp_path / "imagesTr" / f"case_{c:04d}.tif")
    _touch(tmp_path / "labelsTr" / "case.tif")
    items = training_split(tmp_path, "training", val_fraction=0.0)
    assert len(items) == 1 and [p[-13:] for p in items[0]["image"]] == [
        "case_0000.tif",
        "case_0001.tif",
    ]
    _touch(tmp_path / "imagesTr" / "other_0001.tif")
    with pytest.raises(ValueError, match=r"other.*without gaps"):
        find_images(tmp_path / "imagesTr", (".tif",))


def test_missing_label_and_missing_folder_are_named(tmp_path):
    root = _dataset(tmp_path, 2)
    _touch(root / "imagesTr" / "lonely.tif")
    with pytest.raises(ValueError, match=r"lonely\.tif has no label in .*labelsTr"):
        training_split(root)
    with pytest.raises(ValueError, match=r"not a folder.*dataset_dir"):
        training_split(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="no training images"):
        (tmp_path / "empty" / "imagesTr").mkdir(parents=True)
        (tmp_path / "empty" / "labelsTr").mkdir()
        training_split(tmp_path / "empty")


def test_datalist_json_relative_paths_sections_and_errors(tmp_path):
    root = _dataset(tmp_path, 3)
    datalist = {
        "training": [
            {"image": f"imagesTr/case{i}.tif", "label": f"labelsTr/case{i}.tif"} for i in (0, 1)
        ],
        "validation": [{"image": "imagesTr/case2.tif", "label": "labelsTr/case2.tif"}],
    }
    path = root / "list.json"
    path.write_text(json.dumps(datalist))
    train = training_split(root, "training", datalist=path)
    val = training_split(root, "validation", datalist=path)
    assert [d["image"] for d in val] == [str(root / "imagesTr/case2.tif")] and len(train) == 2
    datalist["training"][1].pop("label")
    path.write_text(json.dumps(datalist))
    with pytest.raises(ValueError, match=r"training\[1\] has no 'label' key"):
        training_split(root, datalist=path)
    datalist["training"][1]["label"] = "labelsTr/missing.tif"
    path.write_text(json.dumps(datalist))
    with pytest.raises(ValueError, match=r"missing\.tif does not exist"):
        training_split(root, datalist=path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not a readable JSON"):
        training_split(root, datalist=path)


def test_test_images(tmp_path):
    _touch(tmp_path / "imagesTs" / "b.png")
    _touch(tmp_path / "imagesTs" / "a.tif")
    _touch(tmp_path / "imagesTs" / "notes.txt")
    assert [d["image"][-5:] for d in list_test_images(tmp_path)] == ["a.tif", "b.png"]
    with pytest.raises(ValueError, match="not a folder"):
        list_test_images(tmp_path / "x")
