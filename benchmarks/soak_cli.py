"""A long run of the command line: training resumed again and again, inference of good and
bad inputs in turn. Not part of the test suite (about 30 minutes on 2 cores).

Every call is its own process, as a user runs it. The soak checks that

- each call ends as it should: exit 0 with its outputs for good inputs, exit 2 with one
  error line (stdout and stderr together) for bad ones;
- a failed call leaves nothing behind (no output, no temporary file);
- a resumed training continues its checkpoint (the epoch count grows by one per cycle);
- memory stays flat: the peak resident memory of the calls (from ``wait4``) in the last
  tenth of the soak against the first tenth.

    python benchmarks/soak_cli.py [--minutes 30] [--inferences 200]

Results: ``benchmarks/results/soak_cli.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import tifffile

ROOT = Path(__file__).resolve().parents[1]
MEDUNET = [sys.executable, "-m", "medunet"]
TINY = ["--set", "channels=[4,8,16]", "--set", "output_tile=20", "--set", "num_workers=0",
        "--set", "iterations_per_epoch=4", "--set", "val_interval=1", "--no-progress"]  # fmt: skip


def call(args: list) -> dict:
    """One command: exit code, the terminal's text, seconds, peak RSS (MiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen([*MEDUNET, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)  # fmt: skip
    out = proc.stdout.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(proc.pid, 0)
    return {
        "code": os.waitstatus_to_exitcode(status),
        "text": out,
        "seconds": time.perf_counter() - start,
        "rss_mib": usage.ru_maxrss / 1024,
    }


def dataset(root: Path) -> Path:
    from medunet.data import random_blobs

    for sub in ("imagesTr", "labelsTr"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i in range(3):
        labels = random_blobs((64, 72), 10, (3, 7), seed=i).astype(np.uint16)
        image = (labels > 0) * 800 + np.random.default_rng(i).normal(100, 20, labels.shape)
        tifffile.imwrite(root / "imagesTr" / f"c{i}.tif", image.clip(0).astype(np.uint16))
        tifffile.imwrite(root / "labelsTr" / f"c{i}.tif", labels)
    return root


def inputs(root: Path) -> list[tuple[str, Path, int]]:
    """``(kind, path, expected exit code)``: good images and the bad-input table's kinds."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    good = root / "good.tif"
    tifffile.imwrite(good, (rng.random((90, 110)) * 1000).astype(np.uint16))
    constant = root / "constant.tif"
    tifffile.imwrite(constant, np.full((40, 40), 7, np.uint16))
    nan = root / "nan.tif"
    tifffile.imwrite(nan, np.full((30, 30), np.nan, np.float32))
    truncated = root / "truncated.tif"
    tifffile.imwrite(truncated, np.ones((64, 64), np.uint16))
    truncated.write_bytes(truncated.read_bytes()[:200])
    text = root / "text.tif"
    text.write_text("not an image")
    wrong = root / "volume.nii.gz"
    wrong.write_bytes(b"\x1f\x8b not really")
    return [("good", good, 0), ("constant", constant, 0), ("nan", nan, 2),
            ("truncated", truncated, 2), ("text", text, 2), ("wrong_extension", wrong, 2),
            ("missing", root / "missing.tif", 2)]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--inferences", type=int, default=200)
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "soak_cli")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    data = dataset(args.work / "data")
    cases = inputs(args.work / "inputs")
    run = args.work / "run"
    first = call(["train", "unet2015_microscopy", "--data", data, "--output", run,
                  "--epochs", "1", *TINY])  # fmt: skip
    if first["code"] != 0:
        print(first["text"][-3000:])
        return 1
    model = run / "models" / "model.pt"
    records, problems, epochs = [], [], 1
    deadline = time.monotonic() + 60 * args.minutes
    n = 0
    while n < args.inferences or time.monotonic() < deadline:
        if n % 20 == 19:  # a training resume cycle: one more epoch on the same run
            epochs += 1
            result = call(["train", "unet2015_microscopy", "--data", data, "--output", run,
                           "--resume", "--epochs", epochs, *TINY])  # fmt: skip
            records.append(
                {"kind": "train_resume", **{k: result[k] for k in ("code", "seconds", "rss_mib")}}
            )
            if result["code"] != 0 or f"epoch {epochs}/{epochs}" not in result["text"]:
                problems.append(f"resume to epoch {epochs}: {result['text'][-500:]}")
        kind, path, expected = cases[n % len(cases)]
        out = args.work / "out" / f"{n:04d}"
        result = call(["infer", "unet2015_microscopy", path, "--model", model, "--output", out])
        records.append({"kind": kind, **{k: result[k] for k in ("code", "seconds", "rss_mib")}})
        lines = [ln for ln in result["text"].splitlines() if ln.strip()]
        if result["code"] != expected:
            problems.append(f"{kind}: exit {result['code']}, expected {expected}")
        elif expected == 2:
            if len(lines) > 3 or "Traceback" in result["text"] or "error:" not in lines[-1]:
                problems.append(f"{kind}: terminal output {lines[-5:]}")
            left = [p for p in out.rglob("*")] if out.exists() else []
            if left:
                problems.append(f"{kind}: left {left}")
        elif not list(out.glob("*_labels.tif")):
            problems.append(f"{kind}: no prediction")
        if out.exists() and expected == 0:
            shutil.rmtree(out)
        n += 1
    tenth = max(1, len(records) // 10)
    infer_rss = [r["rss_mib"] for r in records if r["kind"] != "train_resume"]
    summary = {
        "calls": len(records),
        "inferences": sum(r["kind"] != "train_resume" for r in records),
        "train_resume_cycles": sum(r["kind"] == "train_resume" for r in records),
        "problems": problems,
        "minutes": round(sum(r["seconds"] for r in records) / 60, 1),
        "rss_first_tenth_mib": round(statistics.median(infer_rss[:tenth]), 1),
        "rss_last_tenth_mib": round(statistics.median(infer_rss[-tenth:]), 1),
    }
    summary["rss_growth"] = round(
        summary["rss_last_tenth_mib"] / summary["rss_first_tenth_mib"] - 1, 4
    )
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "soak_cli.json").write_text(
        json.dumps({**summary, "records": records}, indent=1)
    )
    text = "\n".join(f"- {k}: {v}" for k, v in summary.items())
    (args.results / "soak_cli.md").write_text(
        "# CLI soak (benchmarks/soak_cli.py)\n\n" + text + "\n"
    )
    print(text)
    return 0 if not problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
