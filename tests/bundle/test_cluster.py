"""Inputs as tasks on dask.distributed: the files one process writes."""

from __future__ import annotations

import os
import sys
from functools import partial
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from bundle_helpers import blocks_volume

from medunet.bundle import run_inference, run_training
from medunet.bundle.cluster import ClusterSpec, cluster_pool, run_on_cluster


def test_cluster_specs(tmp_path):
    pytest.importorskip("distributed")
    assert ClusterSpec.parse("local:3") == ClusterSpec(workers=3)
    assert ClusterSpec.parse("tcp://10.0.0.5:8786").address == "tcp://10.0.0.5:8786"
    scheduler = tmp_path / "scheduler.json"
    scheduler.write_text("{}")
    assert ClusterSpec.parse(str(scheduler)).address == str(scheduler)
    for bad in ("local:0", "local:x", "slurm"):
        with pytest.raises(ValueError, match="--cluster"):
            ClusterSpec.parse(bad)


def test_without_dask_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    with pytest.raises(ValueError, match=r"pip install 'medunet\[distributed\]'"):
        ClusterSpec.parse("local:2")


@pytest.mark.slow
def test_a_cohort_on_local_workers_is_written_as_one_process_writes_it(tmp_path):
    pytest.importorskip("distributed")
    data = tmp_path / "vols"
    for sub in ("imagesTr", "labelsTr", "imagesTs"):
        (data / sub).mkdir(parents=True)
    affine = np.diag([1.5, 1.5, 2.0, 1.0])
    for i in range(5):
        labels = blocks_volume((24, 20, 12), seed=i)
        image = labels * 50.0 + np.random.default_rng(i).normal(0, 5, labels.shape)
        part = "imagesTr" if i < 2 else "imagesTs"
        nib.save(nib.Nifti1Image(image.astype(np.float32), affine), data / part / f"v{i}.nii.gz")
        if i < 2:
            nib.save(nib.Nifti1Image(labels, affine), data / "labelsTr" / f"v{i}.nii.gz")
    model = run_training("unet2015_ct_mri", data, tmp_path / "run", epochs=1, progress=False,
                         settings=["channels=[4,8]", "output_tile=16", "num_workers=0",
                                   "iterations_per_epoch=2", "num_classes=3",
                                   "modality=MR"])  # fmt: skip
    cohort = data / "imagesTs"
    one = run_inference("unet2015_ct_mri", [cohort], tmp_path / "one", model=model,
                        progress=False)  # fmt: skip
    two = run_inference("unet2015_ct_mri", [cohort], tmp_path / "two", model=model,
                        progress=False, cluster="local:2")  # fmt: skip
    names = sorted(p.name for p in one.glob("*_seg.nii.gz"))
    assert names == ["v2_seg.nii.gz", "v3_seg.nii.gz", "v4_seg.nii.gz"]
    assert sorted(p.name for p in two.iterdir()) == names  # nothing else left
    for name in names:
        a, b = nib.load(one / name), nib.load(two / name)
        np.testing.assert_array_equal(np.asarray(b.dataobj), np.asarray(a.dataobj))
        np.testing.assert_array_equal(b.affine, a.affine)
    with pytest.raises(FileExistsError, match="--overwrite"):  # before any task starts
        run_inference("unet2015_ct_mri", [cohort], two, model=model, progress=False,
                      cluster="local:2")  # fmt: skip


def _write_or_die_once(item: dict, out: str) -> None:
    """A task whose worker dies the first time it runs item 0."""
    marker = Path(out) / "died"
    if item["index"] == 0 and not marker.exists():
        marker.touch()
        os._exit(1)  # the worker process is gone, mid-task
    (Path(out) / f"{item['index']}.txt").write_text(str(item["index"] ** 2))


@pytest.mark.slow
def test_a_task_whose_worker_dies_is_run_again(tmp_path):
    pytest.importorskip("distributed")
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests
    items = [{"index": i} for i in range(4)]
    run_on_cluster(ClusterSpec(workers=2), items, partial(_write_or_die_once, out=str(tmp_path)),
                   progress=False)  # fmt: skip
    assert (tmp_path / "died").exists()
    assert {p.name: p.read_text() for p in tmp_path.glob("*.txt")} == {
        f"{i}.txt": str(i * i) for i in range(4)
    }


def _square_unless_two(x: int) -> int:
    if x == 2:
        raise ValueError("item 2: cannot be squared")
    return x * x


@pytest.mark.slow
def test_a_pool_yields_results_as_they_finish_and_stops_at_a_failure():
    pytest.importorskip("distributed")
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests
    with cluster_pool(ClusterSpec(workers=1)) as pool:
        assert pool.workers == 1
        assert sorted(pool.imap_unordered(_square_unless_two, [0, 1, 3])) == [0, 1, 9]
        got = []
        with pytest.raises(ValueError, match="item 2"):  # a block's error ends the image
            for result in pool.imap_unordered(_square_unless_two, range(6)):
                got.append(result)
        assert set(got) <= {0, 1, 9, 16, 25}
        with pytest.raises(ValueError, match="item 2"):  # inputs: the others still finish
            got = list(pool.imap_unordered(_square_unless_two, range(4), keep_going=True))
