"""One ``medunet infer`` resolves its config once: the bundle's files are parsed by one
``ConfigParser.read_config`` (MONAI's workflow), every other step takes the layered config
medunet loaded, and each input's header is read once before the workflow reads the image."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from bundle_helpers import blocks_volume
from monai.bundle import ConfigParser

from medunet.bundle import StreamOptions, run_inference, run_training
from medunet.inferers import overlap_tile

pytestmark = pytest.mark.slow

TINY = ["channels=[4,8]", "output_tile=16", "num_workers=0", "iterations_per_epoch=2",
        "val_interval=1", "num_classes=3", "modality=MR"]  # fmt: skip


@pytest.fixture(scope="module")
def volume_model(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("infer")
    for sub in ("imagesTr", "labelsTr"):
        (root / "data" / sub).mkdir(parents=True)
    for i in range(2):
        labels = blocks_volume((28, 24, 16), seed=i)
        image = labels * 60.0 + np.random.default_rng(i).normal(0, 10, labels.shape)
        affine = np.diag([1.2, 1.2, 2.0, 1.0])
        nib.save(nib.Nifti1Image(image.astype(np.float32), affine),
                 root / "data" / "imagesTr" / f"v{i}.nii.gz")  # fmt: skip
        nib.save(nib.Nifti1Image(labels, affine), root / "data" / "labelsTr" / f"v{i}.nii.gz")
    return run_training("unet2015_ct_mri", root / "data", root / "run", epochs=1, settings=TINY,
                        progress=False)  # fmt: skip


def _counting(monkeypatch, owner, name: str) -> list:
    calls: list = []
    original = getattr(owner, name)

    def counted(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
def test_one_parse_and_one_header_read_per_input(tmp_path, monkeypatch, volume_model, streamed):
    scan = tmp_path / "scan.nii.gz"
    labels = blocks_volume((30, 26, 18), seed=4)
    nib.save(nib.Nifti1Image((labels * 60.0).astype(np.float32), np.diag([1.2, 1.2, 2.0, 1.0])),
             scan)  # fmt: skip
    reads = _counting(monkeypatch, ConfigParser, "read_config")
    loads = _counting(monkeypatch, nib, "load")
    stream = StreamOptions(block_size=8) if streamed else None
    run_inference("unet2015_ct_mri", [scan], tmp_path / "out", model=volume_model,
                  progress=False, stream=stream)  # fmt: skip
    assert (tmp_path / "out" / "scan_seg.nii.gz").is_file()
    # whole: MONAI's workflow parses the files once; streamed: nothing parses them again
    assert len(reads) == (0 if streamed else 1), reads
    header_reads = [a for a in loads if Path(str(a[0])) == scan]
    # medunet's header check opens it; the workflow's loader or the stream takes that image
    assert len(header_reads) == 1, header_reads


def test_a_planned_volume_model_averages_mirrored_views_unless_told_none(
    tmp_path, monkeypatch, volume_model
):
    """The plan's ``tta: flips`` reaches inference through the run's plan.yaml; ``--tta
    none`` (``tta="none"``) predicts in one pass."""
    modes: list = []
    original = overlap_tile.tta_turns
    monkeypatch.setattr(overlap_tile, "tta_turns", lambda m, d: modes.append(m) or original(m, d))
    scan = tmp_path / "scan.nii.gz"
    nib.save(nib.Nifti1Image((blocks_volume((30, 26, 18), seed=5) * 60.0).astype(np.float32),
                             np.diag([1.2, 1.2, 2.0, 1.0])), scan)  # fmt: skip
    run_inference("unet2015_ct_mri", [scan], tmp_path / "a", model=volume_model, progress=False)
    assert modes and set(modes) == {"flips"}
    modes.clear()
    run_inference("unet2015_ct_mri", [scan], tmp_path / "b", model=volume_model, progress=False,
                  tta="none")  # fmt: skip
    assert modes and set(modes) == {None}


def test_a_cluster_run_refuses_every_existing_output_format_before_it_starts(tmp_path):
    from medunet.bundle.inference import _refuse_existing

    datalist = [{"image": str(tmp_path / "a.tif")}]
    out = tmp_path / "out"
    out.mkdir()
    (out / "ab.geojson").write_text("{}")  # another input's: kept
    _refuse_existing(datalist, out, overwrite=False)
    for name in ("a.geojson", "a.ome.zarr", "a_labels.tif"):
        (out / name).mkdir() if name.endswith(".zarr") else (out / name).write_text("")
        with pytest.raises(FileExistsError, match=name.replace(".", r"\.")):
            _refuse_existing(datalist, out, overwrite=False)
        _refuse_existing(datalist, out, overwrite=True)
        (out / name).rmdir() if name.endswith(".zarr") else (out / name).unlink()
