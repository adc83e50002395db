#!/usr/bin/env python3
"""Set up medunet in a virtual environment and run the demo, the tests or the linter.

Usage (from the repository root, with nothing but Python 3.10+ installed)::

    python3 scripts/dev.py demo    # set up, then run the demo on the embedded sample
    python3 scripts/dev.py test    # set up, then lint and run the test suite
    python3 scripts/dev.py setup   # only set up
    python3 scripts/dev.py lint    # set up, then ruff check + ruff format --check

Environment variables:
    MEDUNET_VENV   where the virtual environment lives (default: ``.venv`` in the repository).
    MEDUNET_TORCH  pip requirement used to install torch when no torch is importable
                   (default: ``torch==2.13.0``, a CPU wheel on the project's machines; e.g.
                   ``torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128`` for CUDA).

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


def lint(py: Path) -> int:
    rc = _run([py, "-m", "ruff", "check", "."], cwd=ROOT)
    return rc or _run([py, "-m", "ruff", "format", "--check", "."], cwd=ROOT)


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "test"
    extra = argv[2:]
    if cmd not in {"setup", "demo", "test", "lint"}:
        print(__doc__)
        return 2
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
    return _run([py, "-m", "pytest", *extra], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
