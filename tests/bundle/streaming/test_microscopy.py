"""Streamed microscopy through the bundle: the whole image's result (TTA too), bounded,
resumable, as tiled TIFF or OME-Zarr."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import tifffile
from bundle_helpers import kill_a_worker_once

import medunet.bundle.streaming.microscopy as streaming
import medunet.bundle.streaming.tasks as tasks
from medunet.bundle import StreamOptions, run_inference, run_training
from medunet.data.sample import sample_paths, write_sample_split
from medunet.transforms import ProbabilityToInstances

pytestmark = pytest.mark.slow


ROI = ["roi_size=60"]  # small tiles, so that the image has many blocks


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A small model trained on the embedded sample's nuclei (seconds), so that the labels
    compared below are real objects."""
    root = tmp_path_factory.mktemp("stream")
    data = write_sample_split(root / "data", overwrite=True)
    return run_training("unet2015_microscopy", data, root / "run", epochs=4,
                        settings=["channels=[8,16,32]", "num_workers=0",
                                  "iterations_per_epoch=25", "val_interval=1"],
                        progress=False)  # fmt: skip


def _image(path: Path) -> Path:
    """The sample's held-out half (512 x 256, 57 nuclei), as a tiled TIFF."""
    image = tifffile.imread(sample_paths()[0])[:, 256:]
    tifffile.imwrite(path, image, tile=(64, 64))
    return path


def _canonical(labels: np.ndarray) -> np.ndarray:
    """Object ids renumbered in the order they first appear (raster order)."""
    _, first, inverse = np.unique(labels.ravel(), return_index=True, return_inverse=True)
    return np.argsort(np.argsort(first))[inverse].reshape(labels.shape)


def _compare(a_dir: Path, b_dir: Path, atol: float = 1e-4) -> None:
    """The same labels (every pixel, after renumbering) and probabilities within ``atol``."""
    pa, pb = (tifffile.imread(d / "x_prob.tif") for d in (a_dir, b_dir))
    np.testing.assert_allclose(pb, pa, atol=atol, rtol=0)
    la, lb = (tifffile.imread(d / "x_labels.tif").astype(np.int64) for d in (a_dir, b_dir))
    assert la.max() >= 30, la.max()  # real objects, not an empty prediction
    np.testing.assert_array_equal(_canonical(lb), _canonical(la))


@pytest.mark.parametrize("tta", [None, "flips", "rot90"])
def test_streamed_equals_whole_with_and_without_tta(tmp_path, model, tta):
    image = _image(tmp_path / "x.tif")
    run_inference("unet2015_microscopy", [image], tmp_path / "whole", model=model, tta=tta,
                  settings=ROI, progress=False)  # fmt: skip
    run_inference("unet2015_microscopy", [image], tmp_path / "stream", model=model, tta=tta,
                  settings=ROI, progress=False, stream=StreamOptions(block_size=64))  # fmt: skip
    _compare(tmp_path / "whole", tmp_path / "stream")


def test_streamed_resumes_after_an_interruption(tmp_path, model, monkeypatch):
    image = _image(tmp_path / "x.tif")
    run_inference("unet2015_microscopy", [image], tmp_path / "whole", model=model, settings=ROI,
                  progress=False)  # fmt: skip
    options = StreamOptions(block_size=64)
    run_inference("unet2015_microscopy", [image], tmp_path / "stream", model=model, settings=ROI,
                  progress=False, stream=options)  # fmt: skip
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
    growth = ProbabilityToInstances.growth  # a folder begun under another growth rule
    monkeypatch.setattr(ProbabilityToInstances, "growth", "nearest seed")
    with pytest.raises(ValueError, match="another input, model or settings"):
        run_inference("unet2015_microscopy", [image], out, model=model, settings=ROI,
                      progress=False, stream=resumed)  # fmt: skip
    monkeypatch.setattr(ProbabilityToInstances, "growth", growth)
    run_inference("unet2015_microscopy", [image], out, model=model, settings=ROI,
                  progress=False, stream=resumed)  # fmt: skip
    _compare(tmp_path / "whole", out)


def test_streamed_ngff_and_geojson_equal_the_whole_images_and_the_tiff(tmp_path, model):
    import json

    from bundle_helpers import rasterise
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    image = _image(tmp_path / "x.tif")
    formats = "tiff,zarr,geojson"
    run_inference("unet2015_microscopy", [image], tmp_path / "whole", model=model, settings=ROI,
                  progress=False, output_formats=formats)  # fmt: skip
    run_inference("unet2015_microscopy", [image], tmp_path / "stream", model=model, settings=ROI,
                  progress=False, stream=StreamOptions(block_size=64),
                  output_formats=formats)  # fmt: skip
    _compare(tmp_path / "whole", tmp_path / "stream")
    for name in ("whole", "stream"):
        tiff = tifffile.imread(tmp_path / name / "x_labels.tif")
        nodes = list(Reader(parse_url(str(tmp_path / name / "x.ome.zarr")))())
        label = next(n for n in nodes if any(type(s).__name__ == "Label" for s in n.specs))
        np.testing.assert_array_equal(np.asarray(label.data[0]), tiff)
        assert len(label.data) == 2 and label.data[1].shape == (256, 128)
        picture = next(n for n in nodes if [type(s).__name__ for s in n.specs] == ["Multiscales"])
        np.testing.assert_array_equal(np.asarray(picture.data[0]), tifffile.imread(image))
        prob = zarr_level(tmp_path / name / "x_prob.ome.zarr")
        np.testing.assert_array_equal(prob, tifffile.imread(tmp_path / name / "x_prob.tif"))
        features = json.loads((tmp_path / name / "x.geojson").read_text())["features"]
        assert len(features) == len(np.unique(tiff)) - 1 >= 30
        for feature in features:
            mask = tiff == feature["properties"]["measurements"]["Label"]
            got = rasterise(feature, tiff.shape)
            assert (got & mask).sum() / (got | mask).sum() >= 0.99


def zarr_level(path: Path, level: str = "0") -> np.ndarray:
    import zarr

    return zarr.open_group(str(path), mode="r")[level][:]


def test_a_resumed_run_predicts_only_the_blocks_not_yet_predicted(tmp_path, model, monkeypatch):
    image = _image(tmp_path / "x.tif")
    original, calls, interrupt = tasks.BlockTask.__call__, [], {"at": 0}

    def counted(self, index):
        calls.append(index)
        if len(calls) == interrupt["at"]:
            raise KeyboardInterrupt
        return original(self, index)

    monkeypatch.setattr(tasks.BlockTask, "__call__", counted)
    options = StreamOptions(block_size=64)
    run_inference("unet2015_microscopy", [image], tmp_path / "one", model=model, settings=ROI,
                  progress=False, stream=options)  # fmt: skip
    blocks, columns = len(calls), 1 + max(c for _, c in calls)
    assert blocks > 2 * columns + 1, calls
    calls.clear()
    interrupt["at"] = 2 * columns + 2  # two stripes and one block of the third are done
    out = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        run_inference("unet2015_microscopy", [image], out, model=model, settings=ROI,
                      progress=False, stream=options)  # fmt: skip
    calls.clear()
    interrupt["at"] = 0
    resumed = StreamOptions(block_size=64, resume=True)
    run_inference("unet2015_microscopy", [image], out, model=model, settings=ROI,
                  progress=False, stream=resumed)  # fmt: skip
    assert len(calls) == blocks - (2 * columns + 1)
    assert (0, 0) not in calls and (2, 0) not in calls and (2, 1) in calls
    _compare(tmp_path / "one", out, atol=0.0)


def test_blocks_on_dask_workers_are_one_process_result_even_when_a_worker_dies(tmp_path, model):
    pytest.importorskip("distributed")
    image = _image(tmp_path / "x.tif")
    options = StreamOptions(block_size=64)
    run_inference("unet2015_microscopy", [image], tmp_path / "one", model=model, tta="flips",
                  settings=ROI, progress=False, stream=options)  # fmt: skip
    out, killed = tmp_path / "two", {}
    killer = threading.Thread(target=kill_a_worker_once,
                              args=(out / ".x.stream", "prob_*_*.npy", killed, 20))  # fmt: skip
    killer.start()
    run_inference("unet2015_microscopy", [image], out, model=model, tta="flips", settings=ROI,
                  progress=False, stream=options, cluster="local:2")  # fmt: skip
    killer.join()
    assert killed.get("done", 0) > 0  # killed mid-run
    assert not list(out.glob(".*"))  # no work folder left
    assert sorted(p.name for p in out.iterdir()) == ["x_labels.tif", "x_prob.tif"]
    _compare(tmp_path / "one", out, atol=1e-6)
