"""A cohort on dask.distributed: ``medunet infer --cluster`` against one process.

A cohort of MNI152 T1 volumes (the template, each copy shifted in the world by its affine)
is predicted three times, each run its own process measured by the kernel (wall time, peak
resident memory of the largest process of its tree, from ``wait4``):

| run | what |
| --- | --- |
| one process | ``medunet infer`` (torch's threads over the cores) |
| local:1 | ``--cluster local:1``: one worker process, one thread |
| local:2 | ``--cluster local:2``: two worker processes, one thread each |

Every run's segmentations are compared with the one-process run's (voxel for voxel). A cost
model predicts local:N from local:1 (``start + cases * per_case / N``, with ``start`` the
cluster's start-up and the client's checks) and is checked against the measured local:2.
The model is a short ``quick_cpu_ct_mri`` training on the left hemisphere (the figures are
about time and memory, not quality; ``--model`` gives another).

    python benchmarks/bench_scale.py [--cases 8] [--model M]

Results: ``benchmarks/results/scale.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
MEDUNET = [sys.executable, "-m", "medunet"]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_large_image import measured  # noqa: E402


def cohort(folder: Path, cases: int) -> Path:
    """``cases`` copies of the MNI152 T1, each shifted by a few millimetres."""
    import nibabel as nib

    folder.mkdir(parents=True, exist_ok=True)
    t1 = nib.load(SHARED / "mni152" / "t1.nii.gz")
    data = np.asarray(t1.dataobj).astype(np.float32)
    for i in range(cases):
        affine = t1.affine.copy()
        affine[:3, 3] += [2.0 * i, -1.0 * i, 0.5 * i]
        nib.save(nib.Nifti1Image(data, affine), folder / f"case{i:02d}.nii.gz")
    return folder


def train(work: Path, seconds: float, log: Path) -> Path:
    from medunet.data.mni import write_hemisphere_split

    model = work / "run" / "models" / "model.pt"
    if model.is_file():
        return model
    data = write_hemisphere_split(SHARED / "mni152", work / "split", step=2)
    measured([*MEDUNET, "train", "unet2015_ct_mri", "--data", data, "--output", work / "run",
              "--preset", "quick_cpu_ct_mri", "--time-budget", str(seconds), "--no-progress",
              "--overwrite"], log)  # fmt: skip
    return model


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def same(a: Path, b: Path, inputs: Path) -> bool:
    """Whether ``b`` holds the segmentations of ``inputs`` that ``a`` holds, voxel for voxel."""
    import nibabel as nib

    names = sorted(p.name.replace(".nii.gz", "_seg.nii.gz") for p in inputs.glob("*.nii.gz"))
    if names != sorted(p.name for p in b.glob("*_seg.nii.gz")):
        return False
    return all(
        np.array_equal(np.asarray(nib.load(a / n).dataobj), np.asarray(nib.load(b / n).dataobj))
        for n in names
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=8)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--train-seconds", type=float, default=120.0)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each, in turn")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "bench_scale")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    if not (SHARED / "mni152" / "t1.nii.gz").is_file():
        print(f"skipped: {SHARED / 'mni152'} is absent")
        return 0
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    log = work / "log.txt"
    model = args.model or train(work, args.train_seconds, log)
    cases = cohort(work / "cohort", args.cases)
    n, half = args.cases, args.cases // 2
    halved = work / "cohort_half"
    halved.mkdir(exist_ok=True)
    for p in sorted(cases.glob("*.nii.gz"))[:half]:
        if not (halved / p.name).exists():
            (halved / p.name).symlink_to(p)
    runs = {"one process": (cases, []), "local:1": (cases, ["--cluster", "local:1"]),
            f"local:1, {half} cases": (halved, ["--cluster", "local:1"]),
            "local:2": (cases, ["--cluster", "local:2"])}  # fmt: skip
    rows = {
        name: {"run": name, "cases": len(list(inputs.glob("*.nii.gz"))), "seconds": [],
               "peak_rss_gb": [], "identical": True}
        for name, (inputs, _) in runs.items()
    }  # fmt: skip
    for _ in range(args.repeats):  # in turn, so that a slow spell of the machine hits all
        for name, (inputs, extra) in runs.items():
            out = work / name.replace(":", "").replace(", ", "_").replace(" ", "_")
            cmd = [*MEDUNET, "infer", "unet2015_ct_mri", inputs, "--model", model, "--output",
                   out, "--overwrite", "--no-progress", *extra]  # fmt: skip
            run = measured(cmd, log)
            row = rows[name]
            row["seconds"].append(run["seconds"])
            row["peak_rss_gb"].append(run["peak_rss_gb"])
            if name != "one process":
                row["identical"] &= same(work / "one_process", out, inputs)
            print(json.dumps({"run": name, **run}), flush=True)
    rows = list(rows.values())
    for row in rows:
        row["mean_s"], row["std_s"] = float(np.mean(row["seconds"])), float(np.std(row["seconds"]))
    by = {r["run"]: r["mean_s"] for r in rows}
    # the cost model from the two one-worker runs: start-up s and one-thread time t per case
    # (s + n t and s + n/2 t), then local:N = s + ceil(n / N) t, checked against local:2
    per_case = (by["local:1"] - by[f"local:1, {half} cases"]) / (n - half)
    start = by["local:1"] - n * per_case
    predicted = {f"local:{k}": start + -(-n // k) * per_case for k in (1, 2, 4, 8)}
    result = {
        "machine": f"{cpu_name()}, {os.cpu_count()} cores",
        "repeats": args.repeats,
        "cases": n,
        "date": time.strftime("%Y-%m-%d"),
        "rows": rows,
        "cost_model": {"start_s": start, "per_case_s": per_case},
        "predicted_seconds": predicted,
        "local:2 measured / predicted": by["local:2"] / predicted["local:2"],
    }
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "scale.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# A cohort on dask.distributed ({n} MNI152 volumes, {result['machine']}, "
        f"{result['date']}; mean +- std of {args.repeats} runs each, in turn)",
        "",
        "| run | cases | seconds | s per case | peak RSS (GB, largest process) | identical |",
        "| --- | --- | --- | --- | --- | --- |",
        *[
            f"| {r['run']} | {r['cases']} | {r['mean_s']:.1f} +- {r['std_s']:.1f} | "
            f"{r['mean_s'] / r['cases']:.1f} | {max(r['peak_rss_gb']):.2f} | {r['identical']} |"
            for r in rows
        ],
        "",
        f"cost model (from the two local:1 runs): {start:.1f} s start-up + {per_case:.1f} s per "
        "case per worker; predicted "
        + ", ".join(f"{k} {v:.0f} s" for k, v in predicted.items())
        + f"; local:2 measured / predicted: {result['local:2 measured / predicted']:.2f}",
    ]
    (args.results / "scale.md").write_text("\n".join(lines) + "\n")
    return 0 if all(r["identical"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
