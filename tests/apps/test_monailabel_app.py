"""End to end: the MONAI Label app serves, infers with and trains both bundles, offline.

Runs the documented command, ``python3 scripts/dev.py label --studies DIR --port P``, in
the label environment (``.venv-label``; skipped when it is absent: ``scripts/dev.py test``
creates it), on a free loopback port, with tiny presets so that training takes seconds.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import tifffile
from bundle_helpers import blocks_volume, make_dataset

ROOT = Path(__file__).resolve().parents[2]
LABEL_VENV = Path(os.environ.get("MEDUNET_LABEL_VENV", ROOT / ".venv-label"))
STARTUP_S = 240
CT_AFFINE = np.array(
    [[-1.2, 0.0, 0.0, 20.0], [0.0, -1.2, 0.0, 15.0], [0.0, 0.0, 2.0, -7.0], [0, 0, 0, 1]]
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (LABEL_VENV / "bin" / "python").exists(),
        reason=f"MONAI Label environment {LABEL_VENV} is absent (scripts/dev.py label-setup)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _studies(root: Path) -> Path:
    """Two labelled and one unlabelled study of each kind, in MONAI Label's local layout."""
    final = root / "labels" / "final"
    final.mkdir(parents=True)
    for i in range(3):
        labels = blocks_volume((28, 24, 16), seed=i)
        noise = np.random.default_rng(i).normal(0, 10, labels.shape)
        image = (labels * 60.0 + noise).astype(np.float32)
        nib.save(nib.Nifti1Image(image, CT_AFFINE), root / f"vol{i}.nii.gz")
        if i < 2:
            nib.save(nib.Nifti1Image(labels, CT_AFFINE), final / f"vol{i}.nii.gz")
    cells = make_dataset(root / "_cells", n=3, test=False)
    for i in range(3):
        tifffile.imwrite(root / f"cells{i}.tif", tifffile.imread(cells / f"imagesTr/case{i}.tif"))
        if i < 2:
            tifffile.imwrite(
                final / f"cells{i}.tif", tifffile.imread(cells / f"labelsTr/case{i}.tif")
            )
    return root


def _presets(root: Path) -> dict[str, Path]:
    common = "num_workers: 0\niterations_per_epoch: 2\nval_interval: 1\n"
    micro = root / "tiny_microscopy.yaml"
    micro.write_text(f"channels: [4, 8, 16]\noutput_tile: 20\n{common}")
    ct = root / "tiny_ct_mri.yaml"
    ct.write_text(f"channels: [4, 8]\noutput_tile: 16\nnum_classes: 3\nmodality: MR\n{common}")
    return {"unet2015_microscopy": micro, "unet2015_ct_mri": ct}


def _request(method: str, url: str, body: dict | None = None, timeout: float = 300):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _start(tmp_path: Path, studies: Path, env_extra: dict | None = None):
    """The documented command on a free port; returns (process, base URL, log)."""
    port = _free_port()
    log = open(tmp_path / "server.log", "w+")
    cmd = [sys.executable, str(ROOT / "scripts" / "dev.py"), "label", "--studies", str(studies),
           "--port", str(port), "--conf", "models_dir", str(tmp_path / "models")]  # fmt: skip
    for name, preset in _presets(tmp_path).items():
        cmd += ["--conf", f"{name}.preset", str(preset)]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", **(env_extra or {}))
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_S
    while True:
        try:
            status, _ = _request("GET", f"{base}/info/", timeout=5)
            if status == 200:
                return proc, base, log
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.seek(0)
            pytest.fail(f"server did not start in {STARTUP_S} s:\n{log.read()[-5000:]}")
        time.sleep(2)


def _stop(proc, log) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)  # stopped by its PID
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    log.close()


@pytest.fixture
def server(tmp_path):
    studies = _studies(tmp_path / "studies")
    outside_volume = tmp_path / "secret.nii.gz"
    outside_volume.write_bytes((studies / "vol2.nii.gz").read_bytes())
    (studies / "link.nii.gz").symlink_to(outside_volume)  # a study that leads elsewhere
    proc, base, log = _start(tmp_path, studies)
    server_pid = int(
        subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True
        ).stdout.split()[0]
    )
    yield {
        "base": base,
        "proc": proc,
        "server_pid": server_pid,
        "log": log,
        "models": tmp_path / "models",
        "studies": studies,
    }
    _stop(proc, log)


def _infer(base: str, model: str, image: str) -> tuple[int, bytes]:
    return _request("POST", f"{base}/infer/{model}?image={image}&output=image", body={})


def _train(base: str, model: str) -> None:
    status, body = _request(
        "POST", f"{base}/train/{model}?run_sync=true",
        body={"max_epochs": 1, "device": "cpu", "val_split": 0.5},
    )  # fmt: skip
    assert status == 200, body[-2000:]


def test_serve_infer_train_reinfer(server, tmp_path):
    base = server["base"]
    status, body = _request("GET", f"{base}/info/")
    info = json.loads(body)
    assert set(info["models"]) == {"unet2015_ct_mri", "unet2015_microscopy"}
    assert info["models"]["unet2015_microscopy"]["dimension"] == 2
    assert info["models"]["unet2015_ct_mri"]["dimension"] == 3
    for name in info["models"]:  # before training: served, and says so
        assert info["models"][name]["trained"] is False
        assert "needs training" in info["models"][name]["description"]
    assert set(info["trainers"]) == {"unet2015_ct_mri", "unet2015_microscopy"}
    status, body = _infer(base, "unet2015_ct_mri", "vol2")
    assert status >= 400 and b"needs training" in body

    for name in ("unet2015_ct_mri", "unet2015_microscopy"):
        _train(base, name)
        assert (server["models"] / name / "models" / "model.pt").is_file(), name

    status, body = _infer(base, "unet2015_ct_mri", "vol2")
    assert status == 200, body[-2000:]
    seg_path = tmp_path / "seg.nii.gz"
    seg_path.write_bytes(body)
    seg = nib.load(seg_path)
    study = nib.load(server["studies"] / "vol2.nii.gz")
    assert seg.shape == study.shape
    assert np.allclose(seg.affine, study.affine, atol=1e-4)

    status, body = _infer(base, "unet2015_microscopy", "cells2")
    assert status == 200, body[-2000:]
    labels = np.squeeze(tifffile.imread(io.BytesIO(body)))
    assert labels.shape == tifffile.imread(server["studies"] / "cells2.tif").shape
    status, body = _infer(base, "unet2015_microscopy", "vol2")  # not a microscopy study
    assert status >= 400 and b"pick the other model" in body

    # a new checkpoint is picked up by the next inference
    model = server["models"] / "unet2015_microscopy" / "models" / "model.pt"
    before = model.stat().st_mtime
    time.sleep(1.1)
    _train(base, "unet2015_microscopy")
    assert model.stat().st_mtime > before
    status, _ = _infer(base, "unet2015_microscopy", "cells2")
    assert status == 200
    server["log"].flush()
    server["log"].seek(0)
    assert "Reload model from cache" in server["log"].read()
    status, body = _request("GET", f"{base}/info/")
    assert json.loads(body)["models"]["unet2015_microscopy"]["trained"] is True


def _upload(method: str, url: str, name: str, payload: bytes) -> tuple[int, bytes]:
    """A multipart file upload (MONAI Label's datastore endpoints take form files: ``file``
    for an image, ``label`` for a label)."""
    boundary = "medunetboundary"
    field = "label" if "/datastore/label" in url else "file"
    body = (
        (
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="{field}"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + payload
        + f"\r\n--{boundary}--\r\n".encode()
    )
    req = urllib.request.Request(url, data=body, method=method)
    req.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_datastore_refuses_names_that_leave_the_studies(server, tmp_path):
    base, studies = server["base"], server["studies"]
    volume = (studies / "vol2.nii.gz").read_bytes()
    outside = tmp_path / "outside"
    outside.mkdir()
    for url in (
        f"{base}/datastore/image?image=../outside/evil",
        f"{base}/datastore/image?image=%2Ftmp%2Fevil",
        f"{base}/datastore/label?image=vol2&tag=..%2F..%2Foutside",
        f"{base}/datastore/label?image=..%2Fvol2&tag=final",
    ):
        status, body = _upload("PUT", url, "x.nii.gz", volume)
        assert status == 400, (url, status, body[-300:])
        assert b"not a plain name" in body, body[-300:]
    for url in (f"{base}/datastore/image?image=..%2Fstudies%2Fvol2",
                f"{base}/datastore/label?label=..%2Fvol0&tag=final"):  # fmt: skip
        status, body = _request("GET", url)
        assert status == 400, (url, status, body[-300:])
    status, body = _request("GET", f"{base}/datastore/image?image=link")
    assert status == 400 and b"outside the studies folder" in body, body[-300:]
    assert list(outside.iterdir()) == [] and not Path("/tmp/evil.nii.gz").exists()
    status, _ = _request("GET", f"{base}/datastore/image?image=vol2")  # a plain name works
    assert status == 200


def test_sigterm_during_training_stops_everything_and_keeps_the_model(server):
    import torch

    base, proc = server["base"], server["proc"]
    _train(base, "unet2015_ct_mri")
    model = server["models"] / "unet2015_ct_mri" / "models" / "model.pt"
    status, body = _request(
        "POST", f"{base}/train/unet2015_ct_mri",  # in the background: a long run
        body={"max_epochs": 500, "device": "cpu", "val_split": 0.5},
    )  # fmt: skip
    assert status == 200, body[-2000:]
    group = os.getpgid(server["server_pid"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until the training process is running
        children = subprocess.run(["pgrep", "-g", str(group)], capture_output=True, text=True)
        if len(children.stdout.split()) >= 2:
            break
        time.sleep(0.5)
    time.sleep(3)
    start = time.monotonic()
    os.kill(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)
    stopped = time.monotonic() - start
    assert stopped <= 10, stopped
    left = subprocess.run(["pgrep", "-g", str(group)], capture_output=True, text=True)
    assert left.stdout.strip() == "", left.stdout  # no server, no training process left
    state = torch.load(model, map_location="cpu", weights_only=True)  # still a whole model
    assert isinstance(state, dict) and state


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_soak_sequential_and_concurrent_infer(server, tmp_path):
    """100 sequential and 4x25 concurrent /infer requests: none fails, and resident memory
    after warm-up grows less than 10% (the figures go to soak.json beside the test)."""
    from concurrent.futures import ThreadPoolExecutor

    base, pid = server["base"], server["proc"].pid
    for name in ("unet2015_ct_mri", "unet2015_microscopy"):
        _train(base, name)
    studies = [("unet2015_ct_mri", "vol2"), ("unet2015_microscopy", "cells2")]

    def one(i: int) -> int:
        return _infer(base, *studies[i % 2])[0]

    warm = [one(i) for i in range(10)]
    rss_warm = _rss_kib(pid)
    start = time.monotonic()
    sequential = [one(i) for i in range(100)]
    rss_sequential = _rss_kib(pid)
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(one, range(100)))
    seconds = time.monotonic() - start
    rss_end = _rss_kib(pid)
    figures = {
        "requests": len(sequential) + len(concurrent),
        "failed": sum(s != 200 for s in warm + sequential + concurrent),
        "seconds": round(seconds, 1),
        "rss_after_warmup_mib": round(rss_warm / 1024, 1),
        "rss_after_sequential_mib": round(rss_sequential / 1024, 1),
        "rss_end_mib": round(rss_end / 1024, 1),
        "growth": round(rss_end / rss_warm - 1, 4),
    }
    (tmp_path / "soak.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures))
    assert figures["failed"] == 0, figures
    assert figures["growth"] < 0.10, figures


def test_exported_bundle_is_served_with_its_weights(tmp_path):
    """A run exported by ``medunet export --format bundle`` into a ``$MEDUNET_BUNDLES``
    folder is listed as trained and infers, in the layout MONAI Label writes."""
    data = make_dataset(tmp_path / "data", n=3, test=False)
    medunet = [sys.executable, "-m", "medunet"]
    tiny = ["--set", "channels=[4,8,16]", "--set", "output_tile=20", "--set", "num_workers=0",
            "--set", "iterations_per_epoch=2", "--set", "val_interval=1"]  # fmt: skip
    model = tmp_path / "run" / "models" / "model.pt"
    for args in (
        ["train", "unet2015_microscopy", "--data", data, "--output", tmp_path / "run",
         "--epochs", "1", "--no-progress", *tiny],
        ["export", "unet2015_microscopy", "--model", model, "--format", "bundle",
         "--output", tmp_path / "exported" / "cells_v1"],
    ):  # fmt: skip
        done = subprocess.run(
            [*medunet, *map(str, args)],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    studies = _studies(tmp_path / "studies")
    proc, base, log = _start(tmp_path, studies, {"MEDUNET_BUNDLES": str(tmp_path / "exported")})
    try:
        status, body = _request("GET", f"{base}/info/")
        model = json.loads(body)["models"]["cells_v1"]
        assert model["trained"] is True and model["dimension"] == 2
        status, body = _infer(base, "cells_v1", "cells2")
        assert status == 200, body[-2000:]
        labels = np.squeeze(tifffile.imread(io.BytesIO(body)))
        assert labels.shape == tifffile.imread(studies / "cells2.tif").shape
    finally:
        _stop(proc, log)
