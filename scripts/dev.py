#!/usr/bin/env python3
"""Set up medunet in a virtual environment and run the demo, the tests or the linter.

Usage (from the repository root, with nothing but Python 3.10+ installed)::

    python3 scripts/dev.py demo    # set up, then run the demo on the embedded sample
    python3 scripts/dev.py test    # set up, then lint and run the test suite
    python3 scripts/dev.py setup   # only set up
    python3 scripts/dev.py lint    # set up, then ruff check + ruff format --check
    python3 scripts/dev.py label --studies DIR [--port 8000] [--host 127.0.0.1]
                                   # set up .venv-label, then serve both bundles with MONAI Label

Environment variables:
    MEDUNET_VENV   where the virtual environment lives (default: ``.venv`` in the repository).
    MEDUNET_TORCH  pip requirement used to install torch when no torch is importable
                   (default: ``torch==2.13.0``, a CPU wheel on the project's machines; e.g.
                   ``torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128`` for CUDA).

    MEDUNET_LABEL_VENV  the MONAI Label environment (default: ``.venv-label``).
    MEDUNET_LABEL_TORCH torch and torchvision for it (default: ``torch==2.14.1
                   torchvision==0.29.1``: the newest pair whose torchvision imports on a
                   CPU-only machine here; PyPI's torchvision for torch 2.13 does not import
                   beside the CPU torch 2.13 wheel).
    MEDUNET_SKIP_LABEL=1  ``test`` does not set up the MONAI Label environment (its
                   end-to-end test is then skipped).

MONAI Label 0.8.5 pins numpy<2 and its DICOM extras need pydicom<3, so it lives in its own
environment, ``.venv-label``, with medunet installed into it; monailabel is installed
without its ``sam2`` requirement (a source package that compiles against a CUDA torch; the
medunet app serves no SAM models).

A torch that is already importable is never replaced: if the Python running this script
has one, the virtual environment is created with ``--system-site-packages`` and reuses it.
Setup is skipped when ``pyproject.toml`` has not changed since the last successful setup.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TORCH = "torch==2.13.0"


def _venv_dir() -> Path:
    return Path(os.environ.get("MEDUNET_VENV", ROOT / ".venv")).resolve()


def _venv_python(vdir: Path) -> Path:
    return vdir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _run(cmd: list[str], **kw) -> int:
    print("+ " + " ".join(shlex.quote(str(c)) for c in cmd), flush=True)
    return subprocess.call([str(c) for c in cmd], **kw)


def _check(cmd: list[str]) -> None:
    rc = _run(cmd)
    if rc != 0:
        sys.exit(f"dev.py: command failed with exit code {rc}: {' '.join(map(str, cmd))}")


def _imports_torch(python: Path | str) -> bool:
    probe = "import torch, sys; sys.stdout.write(torch.__version__)"
    res = subprocess.run([str(python), "-c", probe], capture_output=True, text=True)
    return res.returncode == 0


def _stamp() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update(os.environ.get("MEDUNET_TORCH", DEFAULT_TORCH).encode())
    return digest.hexdigest()


def setup() -> Path:
    """Create the virtual environment (once) and install torch (if absent) and medunet."""
    vdir = _venv_dir()
    py = _venv_python(vdir)
    stamp_file = vdir / ".medunet-setup"
    if py.exists() and stamp_file.exists() and stamp_file.read_text() == _stamp():
        return py
    if not py.exists():
        reuse = _imports_torch(sys.executable)
        print(
            f"dev.py: creating virtual environment {vdir}"
            + (" (reusing the torch already installed)" if reuse else ""),
            flush=True,
        )
        venv.EnvBuilder(with_pip=True, system_site_packages=reuse).create(vdir)
    if _imports_torch(py):
        print("dev.py: torch already importable, leaving it as it is", flush=True)
    else:
        torch_req = shlex.split(os.environ.get("MEDUNET_TORCH", DEFAULT_TORCH))
        _check([py, "-m", "pip", "install", "--disable-pip-version-check", *torch_req])
    _check([py, "-m", "pip", "install", "--disable-pip-version-check", "-e", f"{ROOT}[dev]"])
    if not _imports_torch(py):
        sys.exit("dev.py: torch is still not importable after setup; set MEDUNET_TORCH")
    stamp_file.write_text(_stamp())
    return py


LABEL_TORCH = "torch==2.14.1 torchvision==0.29.1"
LABEL_PINS = ["numpy<2", "pydicom<3", "pynetdicom<3", "dicomweb-client<0.60"]
# monailabel 0.8.5's requirements, less sam2 and the monai extras the app does not use
# (mlflow, openslide, lmdb, gdown); torch/torchvision come from MEDUNET_LABEL_TORCH
LABEL_REQUIREMENTS = [
    "monailabel==0.8.5",
    "monai[fire,ignite,itk,nibabel,pillow,psutil,skimage,tensorboard,tqdm]>=1.4.0",
    "uvicorn>=0.29.0", "pydantic>=2.7.0", "pydantic-settings>=2.2.1", "python-dotenv>=1.0.1",
    "fastapi>=0.110.2", "python-multipart>=0.0.9", "httpx>=0.27.0", "schedule>=1.2.1",
    "dicomweb-client[gcp]>=0.59.1", "timeloop>=1.0.2", "expiringdict>=1.2.2",
    "expiring_dict>=1.1.0", "cachetools>=5.3.3", "watchdog>=4.0.0", "pydicom>=2.4.4",
    "pydicom-seg>=0.4.1", "pynetdicom>=2.0.2", "pynrrd>=1.0.0", "numpymaxflow>=0.0.7",
    "girder-client>=3.2.3", "ninja>=1.11.1.1", "einops>=0.7.0", "pyyaml>=6.0.1",
    "filelock>=3.11.0", "passlib>=1.7.4", "pyjwt>=2.8.0", "bcrypt>=4.1.2", "shapely>=2.0.4",
    "requests>=2.31.0", "requests-toolbelt>=1.0.0", "urllib3>=2.2.1", "scikit-learn", "scipy",
    "google-auth>=2.29.0",
]  # fmt: skip


def label_venv_dir() -> Path:
    return Path(os.environ.get("MEDUNET_LABEL_VENV", ROOT / ".venv-label")).resolve()


def _label_stamp() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update(os.environ.get("MEDUNET_LABEL_TORCH", LABEL_TORCH).encode())
    digest.update(" ".join(LABEL_REQUIREMENTS + LABEL_PINS).encode())
    return digest.hexdigest()


def setup_label() -> Path:
    """Create the MONAI Label environment (once): torch + torchvision, monailabel, medunet."""
    vdir = label_venv_dir()
    py = _venv_python(vdir)
    stamp_file = vdir / ".medunet-label-setup"
    if py.exists() and stamp_file.exists() and stamp_file.read_text() == _label_stamp():
        return py
    if not py.exists():
        print(f"dev.py: creating the MONAI Label environment {vdir}", flush=True)
        venv.EnvBuilder(with_pip=True).create(vdir)
    pip = [py, "-m", "pip", "install", "--disable-pip-version-check"]
    probe = subprocess.run([str(py), "-c", "import torchvision"], capture_output=True)
    if probe.returncode != 0:
        _check([*pip, *shlex.split(os.environ.get("MEDUNET_LABEL_TORCH", LABEL_TORCH))])
    _check([*pip, "--no-deps", "monailabel==0.8.5"])
    _check([*pip, *LABEL_REQUIREMENTS[1:], *LABEL_PINS, "-e", str(ROOT)])
    _check([py, "-c", "import torchvision, monailabel.interfaces.app, medunet.bundle"])
    stamp_file.write_text(_label_stamp())
    return py


def label(argv: list[str]) -> int:
    """``label --studies DIR [--port 8000] [--host 127.0.0.1] [--conf KEY VALUE ...]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="dev.py label", description="serve the bundles")
    parser.add_argument("--studies", required=True, help="folder of studies (and labels)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to serve the network")
    parser.add_argument("--conf", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"))
    args = parser.parse_args(argv)
    studies = Path(args.studies).expanduser().resolve()
    if not studies.is_dir():
        print(f"dev.py label: error: --studies {args.studies} is not a folder; create it or "
              "give the folder of your images.", file=sys.stderr)  # fmt: skip
        return 2
    py = setup_label()
    cmd = [
        py, "-m", "monailabel.main", "start_server", "--app", ROOT / "apps" / "monailabel",
        "--studies", studies, "--host", args.host, "--port", str(args.port),
    ]  # fmt: skip
    for key, value in args.conf:
        cmd += ["--conf", key, value]
    env = dict(os.environ, MONAI_LABEL_TRACKING_ENABLED="false")
    print("+ " + " ".join(shlex.quote(str(c)) for c in cmd), flush=True)
    return serve(cmd, env)


#: seconds the server (and its training or inference processes) get to stop after a signal
STOP_GRACE_S = 5.0


def serve(cmd: list, env: dict) -> int:
    """Run the server in a process group of its own; SIGTERM or SIGINT here stop the whole
    group (the server and any training or inference process it started) within
    ``STOP_GRACE_S`` seconds, then kill what is left. Models are written atomically, so an
    interrupted training leaves the previous ``model.pt`` as it was."""
    import signal
    import time

    proc = subprocess.Popen([str(c) for c in cmd], env=env, start_new_session=True)
    stopping: dict[str, float] = {}

    def stop(signum, frame) -> None:  # only flags and signals: the loop below waits
        if "at" not in stopping:
            print(f"dev.py label: stopping the server ({signal.Signals(signum).name})",
                  flush=True)  # fmt: skip
            stopping["at"] = time.monotonic()
            _signal_group(proc.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while proc.poll() is None:
        if "at" in stopping and time.monotonic() - stopping["at"] > STOP_GRACE_S:
            _signal_group(proc.pid, signal.SIGKILL)
        time.sleep(0.2)
    _signal_group(proc.pid, signal.SIGKILL)  # training or inference processes left over
    return 0 if "at" in stopping else proc.returncode


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def lint(py: Path) -> int:
    rc = _run([py, "-m", "ruff", "check", "."], cwd=ROOT)
    return rc or _run([py, "-m", "ruff", "format", "--check", "."], cwd=ROOT)


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "test"
    extra = argv[2:]
    if cmd not in {"setup", "demo", "test", "lint", "label", "label-setup"}:
        print(__doc__)
        return 2
    if cmd == "label":
        return label(extra)
    if cmd == "label-setup":
        setup_label()
        return 0
    py = setup()
    if cmd == "setup":
        return 0
    if cmd == "lint":
        return lint(py)
    if cmd == "demo":
        return _run([py, "-m", "medunet", "demo", *extra], cwd=ROOT)
    rc = lint(py)
    if rc != 0:
        print("dev.py: lint failed; fix with: ruff format . && ruff check --fix .")
        return rc
    if os.environ.get("MEDUNET_SKIP_LABEL") == "1":
        return _run([py, "-m", "pytest", *(extra or PARALLEL)], cwd=ROOT)
    return test_with_label_env(py, extra)


#: the whole suite on every core, each test file on one worker (its module fixtures once)
PARALLEL = ["-n", "auto", "--dist", "loadfile"]


def test_with_label_env(py: Path, extra: list[str]) -> int:
    """The test suite while the MONAI Label environment is set up beside it (mostly disk
    work), then the tests that need that environment (``tests/apps``)."""
    log_path = label_venv_dir().parent / ".venv-label-setup.log"
    with open(log_path, "w") as log:
        setup_proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "label-setup"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        print(f"dev.py: setting up the MONAI Label environment in the background ({log_path})")
        if extra:  # chosen tests: run them once the label environment is there
            rc_label = setup_proc.wait()
            return rc_label or _run([py, "-m", "pytest", *extra], cwd=ROOT)
        rc = _run([py, "-m", "pytest", *PARALLEL, "--ignore=tests/apps"], cwd=ROOT)
        rc_label = setup_proc.wait()
    if rc_label != 0:
        print(Path(log_path).read_text()[-5000:])
        print(f"dev.py: MONAI Label environment setup failed (exit {rc_label}); see {log_path}")
        return rc_label
    return rc or _run([py, "-m", "pytest", "tests/apps"], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
