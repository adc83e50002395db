"""Helpers of the CLI tests: the real ``medunet`` command line, as a subprocess, on tiny data.

Every error path checks what a terminal shows (standard output and error together): exit
code 2, at most three lines, no traceback, the last line ``medunet <command>: error: ...``
naming the file or option and the fix, and that no partial output was left behind.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

MEDUNET = [sys.executable, "-m", "medunet"]
TINY_2D = ["--set", "channels=[4,8,16]", "--set", "output_tile=20", "--set", "num_workers=0",
           "--set", "iterations_per_epoch=2", "--set", "val_interval=1",
           "--no-progress"]  # fmt: skip
TINY_3D = ["--set", "channels=[4,8]", "--set", "output_tile=16", "--set", "num_workers=0",
           "--set", "iterations_per_epoch=2", "--set", "val_interval=1", "--set", "num_classes=3",
           "--set", "modality=MR", "--no-progress"]  # fmt: skip


def _read_pty(cmd: list[str], env: dict, timeout: float) -> tuple[int, str]:
    """Run ``cmd`` with a pseudo-terminal as its stdin, stdout and stderr (as in a shell)."""
    master, slave = os.openpty()
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # the terminal closed: the process ended
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


def medunet(*args: str | Path, timeout: float = 600, tty: bool = False):
    """The ``medunet`` command as a user runs it: standard output and error together, as a
    terminal shows them (``proc.stdout`` and ``proc.stderr`` both hold that text); with
    ``tty`` under a pseudo-terminal, otherwise through a pipe."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONIOENCODING="utf-8")
    cmd = [*MEDUNET, *map(str, args)]
    if tty:
        code, text = _read_pty(cmd, env, timeout)
    else:
        done = subprocess.run(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, env=env,
            encoding="utf-8", errors="replace",
        )  # fmt: skip
        code, text = done.returncode, done.stdout
    return subprocess.CompletedProcess(cmd, code, stdout=text, stderr=text)


def terminal_lines(text: str) -> list[str]:
    """What stays on a terminal: lines, each as its last carriage-return rewrite."""
    return [ln.split("\r")[-1] for ln in text.splitlines() if ln.split("\r")[-1].strip()]


def ok(proc: subprocess.CompletedProcess) -> str:
    if proc.returncode != 0:
        pytest.fail(f"exit code {proc.returncode}:\n{proc.stdout[-5000:]}")
    return proc.stdout


def one_line_error(proc: subprocess.CompletedProcess, command: str, *needles: str) -> str:
    """The error line of a failed command, checking what the terminal shows: exit code 2, at
    most 3 lines in all, no traceback, the last line ``medunet <command>: error: ...`` with
    the file or option and the fix (``needles``)."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-4000:])
    assert "Traceback" not in proc.stdout, proc.stdout[-4000:]
    lines = terminal_lines(proc.stdout)
    assert len(lines) <= 3, "\n".join(lines[-20:])
    assert lines and lines[-1].startswith(f"medunet {command}: error:"), lines
    for needle in needles:
        assert needle in lines[-1], lines[-1]
    return lines[-1]


def no_temp_files(folder: Path) -> None:
    left = [p for p in folder.rglob("*") if p.name.startswith(".") or ".tmp" in p.name]
    assert not left, left
