"""The resumable work folder of a streamed prediction, and what a resume must match."""

from __future__ import annotations

import json

import pytest

from medunet.bundle.streaming.work import fingerprint, work_dir


def test_the_fingerprint_follows_input_model_and_settings(tmp_path):
    image, model = tmp_path / "a.tif", tmp_path / "model.pt"
    image.write_bytes(b"image")
    model.write_bytes(b"weights")
    first = fingerprint(image, model, {"block": 64})
    assert fingerprint(image, model, {"block": 64}) == first
    assert fingerprint(image, model, {"block": 128}) != first
    model.write_bytes(b"other weights")  # retrained
    assert fingerprint(image, model, {"block": 64}) != first


def test_an_interrupted_prediction_is_resumed_only_when_it_matches(tmp_path):
    work = work_dir(tmp_path, "cells", "abc", resume=False, overwrite=False)
    assert work == tmp_path / ".cells.stream"
    assert json.loads((work / "meta.json").read_text()) == {"fingerprint": "abc"}
    (work / "stripe_00000.npz").write_bytes(b"done")
    with pytest.raises(FileExistsError, match="pass --resume to continue it, or --overwrite"):
        work_dir(tmp_path, "cells", "abc", resume=False, overwrite=False)
    assert work_dir(tmp_path, "cells", "abc", resume=True, overwrite=False) == work
    assert (work / "stripe_00000.npz").is_file()  # kept for the resume
    with pytest.raises(ValueError, match="another input, model or settings"):
        work_dir(tmp_path, "cells", "xyz", resume=True, overwrite=False)
    work_dir(tmp_path, "cells", "xyz", resume=False, overwrite=True)
    assert not (work / "stripe_00000.npz").exists()
    assert json.loads((work / "meta.json").read_text()) == {"fingerprint": "xyz"}


@pytest.mark.parametrize("bundle", ["unet2015_microscopy", "unet2015_ct_mri"])
def test_both_bundles_tile_streamed_and_whole_inputs_alike(bundle):
    """The streamed inferer keeps the bundle's tile budget (the whole path's): same-padded
    outputs depend on the tiles, so another budget would give another segmentation."""
    from medunet.bundle import layer_config, resolve_bundle
    from medunet.bundle.streaming.work import streaming_inferer

    parser = layer_config(resolve_bundle(bundle), "inference").parser
    whole = parser.get_parsed_content("inferer")
    assert whole.memory_budget_mb == parser["tile_memory_mb"]
    assert streaming_inferer(parser, "cpu").memory_budget_mb == whole.memory_budget_mb
