"""Quality at equal compute: medunet against what a user would pick instead, on real data.

For each real dataset, each system trains for the same wall-clock budget, once per seed,
and is scored on a fixed held-out part with the project's metrics
(:func:`medunet.metrics.folders.evaluate_folders`, the code behind ``medunet evaluate``):

| dataset | train -> held out | scores |
| --- | --- | --- |
| nuclei2d | left half -> right half (57 nuclei) | AP@0.5, fg Dice, AP@0.75, merged, split, fg IoU |
| isbi2012 | em_00..em_19 -> em_20..em_24 | Rand, warping and pixel error, AP@0.5, fg Dice |
| nih3t3 | 6 images (first names) -> 12 | AP@0.5, fg Dice, AP@0.75, merged, split |
| mni152 | left -> right hemisphere | grey/white matter Dice, HD95 (mm) |

(fg Dice: foreground Dice; objects of binary truths are their connected components.)

Systems, each run as its own process, as a user would run it:

- ``medunet_plan``: the real command line with the plan alone, what a user gets on data
  no preset saw: ``medunet train BUNDLE --data DIR --time-budget B --seed N`` (no preset,
  no ``--set``) then ``medunet infer``; nuclei2d is ``medunet demo --seed N --time-budget
  B`` (the demo *is* this benchmark's nuclei2d run, planned the same way).
- ``medunet``: the presets tuned on the dataset, used as written (``plan: false``):
  nuclei2d ``--preset quick_cpu_microscopy``; isbi2012 ``--preset isbi2012_em --preset
  quick_cpu_em``; mni152 ``--preset quick_cpu_ct_mri --set modality=MR --set
  num_classes=3``; nih3t3 has none (skipped).
- ``monai``: ``benchmarks/stock_monai.py``, a MONAI pipeline as a competent user writes it
  (a cache that caches, BasicUNet, DiceCE, random crops, MONAI's elastic deformation,
  foreground-aware normalisation in 3D, sliding-window inference).
- ``nnunet``: nnU-Net v2 (``benchmarks/nnunet_v2.py``) when ``nnunetv2`` is importable in
  this Python or in ``--nnunet-python`` (nnU-Net's dependencies in an environment of their
  own); skipped otherwise.

The budget counts training (the clock starts when the training loop starts, after the data
is read, for every system); inference and scoring are not counted. Per system and metric the
script prints mean +- std over the seeds and the ratio of medunet's means to the peers',
and writes ``benchmarks/results/quality.json`` and ``quality.md`` with the machine (CPU
model, cores, torch, GPU).

    python benchmarks/bench_quality.py                       # everything: about 5 h on 2 cores
    python benchmarks/bench_quality.py --plan-only           # the plan and the peers only
    python benchmarks/bench_quality.py --datasets nih3t3 --systems medunet_plan --seeds 1
    python benchmarks/bench_quality.py --budget 1200 --device cuda   # on a GPU
    python benchmarks/bench_quality.py --resume   # after an interruption: only missing runs

Each finished run leaves ``<work>/<dataset>/<system>/seed<N>/record.json``; ``--resume``
reuses those (same budget) and trains the rest (a reused run missing one of the dataset's
metrics is scored again from its saved predictions); ``--update`` keeps the datasets and
systems of an existing ``quality.json`` that this call does not run.

Real data come from ``../shared/data`` (``--shared``); a dataset whose folder is absent is
skipped with a message.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
PEERS = ("monai", "nnunet")
OURS = ("medunet_plan", "medunet")
NNUNET_PYTHON = sys.executable  # --nnunet-python: nnU-Net may live in its own environment


@dataclass(frozen=True)
class Dataset:
    name: str
    folder: str  # under the shared data folder
    dims: int
    metrics: tuple[str, ...]  # reported, the first is the headline
    higher_is_better: tuple[bool, ...]
    truth_instances: str = "labels"


DATASETS = {
    "nuclei2d": Dataset(
        "nuclei2d", "nuclei2d", 2, ("ap50", "dice", "ap75", "merged", "split", "foreground_iou"),
        (True, True, True, False, False, True),
    ),
    "isbi2012": Dataset(
        "isbi2012", "isbi2012", 2,
        ("rand_error", "rand_error_thinned", "warping_error", "pixel_error", "ap50", "dice"),
        (False, False, False, False, True, True), truth_instances="connected_components",
    ),
    "nih3t3": Dataset(
        "nih3t3", "nih3t3", 2, ("ap50", "dice", "ap75", "merged", "split"),
        (True, True, True, False, False), truth_instances="connected_components",
    ),
    "mni152": Dataset(
        "mni152", "mni152", 3, ("dice_1", "dice_2", "hd95_1", "hd95_2"),
        (True, True, False, False),
    ),
}  # fmt: skip
METRIC_NAMES = {
    "dice": "fg Dice", "dice_1": "GM Dice", "dice_2": "WM Dice", "hd95_1": "GM HD95 (mm)",
    "hd95_2": "WM HD95 (mm)",
    "ap50": "AP@0.5", "ap75": "AP@0.75", "foreground_iou": "fg IoU",
    "rand_error_thinned": "rand_error thinned",
}  # fmt: skip


# ----------------------------------------------------------------------------- data
#: the first N images (sorted names) train, the rest are held out
TRAINING_IMAGES = {"isbi2012": 20, "nih3t3": 6}


def prepare(dataset: Dataset, shared: Path, work: Path) -> Path:
    """The dataset as ``imagesTr/labelsTr`` (training) + ``imagesTs/labelsTs`` (held out)."""
    out = work / "data" / dataset.name
    if (out / "labelsTs").is_dir():
        return out
    src = shared / dataset.folder
    if dataset.name == "nuclei2d":
        from medunet.data.sample import write_sample_split

        write_sample_split(out)  # the embedded copy of nuclei2d, as the demo uses it
    elif dataset.name in ("isbi2012", "nih3t3"):
        names = sorted(p.name for p in (src / "imagesTr").glob("*.tif"))
        first = TRAINING_IMAGES[dataset.name]
        for i, name in enumerate(names):
            part = "Tr" if i < first else "Ts"
            for kind in ("images", "labels"):
                (out / f"{kind}{part}").mkdir(parents=True, exist_ok=True)
                shutil.copy(src / f"{kind}Tr" / name, out / f"{kind}{part}")
    else:
        from medunet.data import write_hemisphere_split

        write_hemisphere_split(src, out)
    return out


# -------------------------------------------------------------------------- systems
def _run(cmd: list[str], log: Path, timeout: float) -> float:
    """Run ``cmd`` with its output in ``log``; returns the wall time. Raises on failure."""
    start = time.perf_counter()
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, timeout=timeout, cwd=ROOT)
    if proc.returncode != 0:
        tail = log.read_text().strip().splitlines()[-3:]
        raise RuntimeError(f"{cmd[0]} {cmd[1]} failed (exit {proc.returncode}): {tail}")
    return time.perf_counter() - start


def _medunet(*args: str) -> list[str]:
    return [sys.executable, "-m", "medunet", *args]


#: medunet with the presets tuned on each dataset (``plan: false``: the presets as written);
#: nih3t3 has none (it is the dataset no preset saw)
TUNED = {
    "nuclei2d": ("unet2015_microscopy", ["quick_cpu_microscopy"], ["plan=false"]),
    "isbi2012": ("unet2015_microscopy", ["isbi2012_em", "quick_cpu_em"], []),
    "mni152": (
        "unet2015_ct_mri",
        ["quick_cpu_ct_mri"],
        ["modality=MR", "num_classes=3", "plan=false"],
    ),
}
BUNDLES = {2: "unet2015_microscopy", 3: "unet2015_ct_mri"}


def _train_and_infer(
    bundle: str, presets: list[str], sets: list[str], data: Path, out: Path, seed: int,
    budget: float, dev: list[str],
) -> dict:  # fmt: skip
    log, timeout, run = out / "log.txt", 4 * budget + 900, out / "run"
    train = _medunet("train", bundle, "--data", str(data), "--output", str(run), "--seed",
                     str(seed), "--time-budget", str(budget), "--no-progress", "--overwrite",
                     *[a for p in presets for a in ("--preset", p)],
                     *[a for s in sets for a in ("--set", s)], *dev)  # fmt: skip
    wall = _run(train, log, timeout)
    infer = _medunet("infer", bundle, str(data / "imagesTs"), "--model",
                     str(run / "models" / "model.pt"), "--output", str(out / "pred"),
                     "--overwrite", *dev)  # fmt: skip
    wall += _run(infer, log, timeout)
    return {"wall_seconds": wall, "pred": out / "pred", **_medunet_run_info(run)}


def run_medunet(ds: Dataset, data: Path, out: Path, seed: int, budget: float, device) -> dict:
    """medunet with the dataset's tuned presets."""
    if ds.name not in TUNED:
        raise Skipped("no preset was tuned on it (the plan-only row is medunet here)")
    bundle, presets, sets = TUNED[ds.name]
    dev = ["--device", device] if device else []
    return _train_and_infer(bundle, presets, sets, data, out, seed, budget, dev)


def run_medunet_plan(ds: Dataset, data: Path, out: Path, seed: int, budget: float, device) -> dict:
    """medunet with its plan alone: no preset, no --set (nuclei2d: ``medunet demo``)."""
    dev = ["--device", device] if device else []
    if ds.name == "nuclei2d":
        wall = _run(
            _medunet("demo", "--output", str(out / "demo"), "--seed", str(seed),
                     "--time-budget", str(budget), "--no-progress", "--overwrite", *dev),
            out / "log.txt", 4 * budget + 900,
        )  # fmt: skip
        pred = out / "pred"
        pred.mkdir(exist_ok=True)
        shutil.copy(out / "demo" / "prediction_labels.tif", pred / "nuclei_right_labels.tif")
        return {"wall_seconds": wall, "pred": pred, **_medunet_run_info(out / "demo" / "run")}
    return _train_and_infer(BUNDLES[ds.dims], [], [], data, out, seed, budget, dev)


class Skipped(Exception):
    """A system that does not apply to a dataset (the reason is reported)."""


def _medunet_run_info(run: Path) -> dict:
    import torch

    ckpt = torch.load(run / "models" / "checkpoint.pt", map_location="cpu", weights_only=False)
    trainer = ckpt.get("trainer", {})
    info = {"epochs": trainer.get("epoch"), "steps": trainer.get("iteration")}
    post = run / "models" / "postprocess.json"
    if post.is_file():
        info["postprocess"] = json.loads(post.read_text())
    record = json.loads((run / "run.json").read_text())
    if "plan" in record:
        info["plan"] = record["plan"]["settings"]
    return info


def _peer(
    script: str,
    extra: list[str],
    out: Path,
    budget: float,
    device,
    slack: float,
    python: str = sys.executable,
) -> dict:
    """Run a peer's script (``benchmarks/<script>``); its wall time and ``train.json``."""
    cmd = [python, str(ROOT / "benchmarks" / script), "--output", str(out / "pred"),
           "--budget", str(budget), *extra]  # fmt: skip
    if device:
        cmd += ["--device", device]
    wall = _run(cmd, out / "log.txt", 4 * budget + slack)
    info = json.loads((out / "pred" / "train.json").read_text())
    (out / "pred" / "train.json").unlink()
    return {"wall_seconds": wall, "pred": out / "pred", **info}


def run_monai(ds: Dataset, data: Path, out: Path, seed: int, budget: float, device) -> dict:
    extra = ["--data", str(data), "--seed", str(seed), "--dims", str(ds.dims),
             "--num-classes", "3" if ds.dims == 3 else "2"]  # fmt: skip
    return _peer("stock_monai.py", extra, out, budget, device, 900)


def run_nnunet(ds: Dataset, data: Path, out: Path, seed: int, budget: float, device) -> dict:
    extra = ["--data", str(data), "--work", str(out / "nnunet"), "--seed", str(seed),
             "--dims", str(ds.dims)]  # fmt: skip
    return _peer("nnunet_v2.py", extra, out, budget, device, 1800, NNUNET_PYTHON)


SYSTEMS = {
    "medunet": run_medunet,
    "medunet_plan": run_medunet_plan,
    "monai": run_monai,
    "nnunet": run_nnunet,
}


def available(system: str) -> str | None:
    """Why ``system`` cannot run here (None when it can)."""
    if system == "nnunet":
        probe = [NNUNET_PYTHON, "-c", "import importlib.util as u; "
                 "raise SystemExit(u.find_spec('nnunetv2') is None)"]  # fmt: skip
        if subprocess.run(probe, capture_output=True).returncode != 0:
            return "nnunetv2 is not importable (pip install nnunetv2, or --nnunet-python)"
    return None


# -------------------------------------------------------------------------- records
def write_record(path: Path, run: dict) -> None:
    """One finished run (seed, budget, wall time, steps, scores), written atomically."""
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(run, indent=2, default=str))
    tmp.replace(path)


def reused(path: Path, budget: float) -> dict | None:
    """The finished run recorded at ``path`` for this budget, or None (then it is run)."""
    if not path.is_file():
        return None
    run = json.loads(path.read_text())
    return run if run.get("budget") == budget and "scores" in run else None


# -------------------------------------------------------------------------- scoring
def score(ds: Dataset, pred: Path, data: Path) -> dict[str, float]:
    from medunet.metrics.folders import evaluate_folders

    rows = evaluate_folders(pred, data / "labelsTs", truth_instances=ds.truth_instances)
    mean = rows[-1]
    return {m: float(mean.get(m, math.nan)) for m in ds.metrics}


def summarise(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return math.nan, math.nan
    return statistics.fmean(finite), (statistics.stdev(finite) if len(finite) > 1 else 0.0)


def machine() -> dict:
    import monai
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        # the cores this process may run on (``taskset`` narrows them) and torch's threads
        "cpu": cpu, "cores": len(os.sched_getaffinity(0)), "threads": torch.get_num_threads(),
        "gpu": gpu, "torch": torch.__version__,
        "monai": monai.__version__, "python": platform.python_version(),
        "date": datetime.date.today().isoformat(),
    }  # fmt: skip


# -------------------------------------------------------------------------- report
def report(results: dict, budgets: dict, info: dict, seeds: list[int]) -> str:
    lines = [
        "# Quality at equal training time (benchmarks/bench_quality.py)",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores per run "
        f"({info.get('threads', info['cores'])} torch threads), GPU: {info['gpu'] or 'none'}; "
        f"torch {info['torch']}, MONAI {info['monai']}; {info['date']}. Seeds: "
        f"{', '.join(map(str, seeds))}; mean +- std over the seeds.",
        "",
    ]
    for name, systems in results.items():
        ds = DATASETS[name]
        lines += [f"## {name} (training budget {budgets[name]:.0f} s per run)", ""]
        header = ["system", *[METRIC_NAMES.get(m, m) for m in ds.metrics], "steps", "wall s"]
        lines += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
        for system, runs in systems.items():
            if "skipped" in runs:
                lines.append(f"| {system} | skipped: {runs['skipped']} |")
                continue
            cells = [f"{system} ({runs.get('date', info['date'])})" if runs.get("date") not in
                     (None, info["date"]) else system]  # fmt: skip
            for m in ds.metrics:
                mean, std = runs["summary"][m]
                cells.append(f"{mean:.4f} +- {std:.4f}" if not math.isnan(mean) else "nan")
            steps = [r.get("steps") for r in runs["runs"] if r.get("steps") is not None]
            cells.append(f"{statistics.fmean(steps):.0f}" if steps else "")
            cells.append(f"{statistics.fmean(r['wall_seconds'] for r in runs['runs']):.0f}")
            lines.append("| " + " | ".join(cells) + " |")
        for mine in OURS:
            for peer in PEERS:
                if "summary" not in systems.get(mine, {}) or "summary" not in systems.get(peer, {}):
                    continue
                ratios = []
                for m in ds.metrics:
                    ours = systems[mine]["summary"][m][0]
                    theirs = systems[peer]["summary"][m][0]
                    ratios.append(f"{METRIC_NAMES.get(m, m)} {ours / theirs:.3f}" if theirs else "")
                lines += ["", f"{mine} / {peer} (means): " + ", ".join(r for r in ratios if r)]
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="nuclei2d,isbi2012,nih3t3,mni152")
    parser.add_argument("--systems", default="medunet_plan,medunet,monai,nnunet")
    parser.add_argument(
        "--plan-only",
        action="store_true",
        help="medunet with its plan alone (no dataset preset, no --set) and the peers: "
        "--systems medunet_plan,monai,nnunet",
    )
    parser.add_argument(
        "--seeds", default="3", help="N (seeds 1..N) or a list: 1,2,3 (one seed: 2,)"
    )
    parser.add_argument("--budget", type=float, default=300.0, help="2D training seconds")
    parser.add_argument("--budget-3d", type=float, default=600.0, help="3D training seconds")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: each system's)")
    parser.add_argument("--shared", type=Path, default=SHARED, help="the real data folder")
    parser.add_argument(
        "--nnunet-python",
        default=sys.executable,
        help="the Python that has nnunetv2 (default: this one), e.g. a venv of its own",
    )
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "bench_quality")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where quality.json/.md go")
    parser.add_argument(
        "--update",
        action="store_true",
        help="keep the other datasets of an existing quality.json (re-run one dataset)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the finished runs under --work (their record.json, same budget); "
        "train only the missing ones (a run killed midway is redone)",
    )
    args = parser.parse_args()
    global NNUNET_PYTHON
    NNUNET_PYTHON = args.nnunet_python
    seeds = (
        list(range(1, int(args.seeds) + 1))
        if args.seeds.isdigit()
        else [int(s) for s in args.seeds.split(",") if s.strip()]  # "2,": seed 2 alone
    )
    names = [d.strip() for d in args.datasets.split(",") if d.strip()]
    if args.plan_only:
        args.systems = "medunet_plan,monai,nnunet"
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    for n in names:
        if n not in DATASETS:
            parser.error(f"--datasets: unknown {n!r}; choose from {', '.join(DATASETS)}")
    for s in systems:
        if s not in SYSTEMS:
            parser.error(f"--systems: unknown {s!r}; choose from {', '.join(SYSTEMS)}")
    info = machine()
    print(f"machine: {info}", flush=True)
    results: dict = {}
    budgets = {n: args.budget_3d if DATASETS[n].dims == 3 else args.budget for n in names}
    for name in names:
        ds = DATASETS[name]
        if not (args.shared / ds.folder).is_dir():
            print(f"{name}: skipped, {args.shared / ds.folder} is absent", flush=True)
            continue
        data = prepare(ds, args.shared, args.work)
        results[name] = {}
        for system in systems:
            why = available(system)
            if why:
                print(f"{name} / {system}: skipped, {why}", flush=True)
                results[name][system] = {"skipped": why}
                continue
            runs = []
            for seed in seeds:
                out = args.work / name / system / f"seed{seed}"
                run = reused(out / "record.json", budgets[name]) if args.resume else None
                if run is not None and set(ds.metrics) - set(run["scores"]):
                    run["scores"] = score(ds, Path(run["pred"]), data)  # a metric added since
                    write_record(out / "record.json", run)
                if run is None:
                    shutil.rmtree(out, ignore_errors=True)
                    out.mkdir(parents=True)
                    try:
                        run = SYSTEMS[system](ds, data, out, seed, budgets[name], args.device)
                    except Skipped as why:
                        print(f"{name} / {system}: skipped, {why}", flush=True)
                        runs = None
                        results[name][system] = {"skipped": str(why)}
                        break
                    run.update(seed=seed, budget=budgets[name], pred=str(run["pred"]))
                    run["scores"] = score(ds, Path(run["pred"]), data)
                    write_record(out / "record.json", run)
                scores = run["scores"]
                runs.append({k: v for k, v in run.items() if k != "pred"})
                shown = ", ".join(f"{m} {v:.4f}" for m, v in scores.items())
                print(f"{name} / {system} / seed {seed}: {shown} "
                      f"({run['wall_seconds']:.0f} s)", flush=True)  # fmt: skip
            if runs is None:
                continue
            summary = {m: summarise([r["scores"][m] for r in runs]) for m in ds.metrics}
            results[name][system] = {"runs": runs, "summary": summary, "date": info["date"]}
    previous = args.results / "quality.json"
    if args.update and previous.is_file():
        old = json.loads(previous.read_text())
        for name, systems_run in old["results"].items():
            if name not in results:
                results[name] = systems_run
                budgets[name] = old["budgets"][name]
            elif old["budgets"].get(name) == budgets.get(name):
                for system, runs in systems_run.items():  # the systems not re-run now
                    results[name].setdefault(system, runs)
        results = {n: results[n] for n in DATASETS if n in results}
    text = report(results, budgets, info, seeds)
    print("\n" + text)
    args.results.mkdir(parents=True, exist_ok=True)
    record = {"machine": info, "seeds": seeds, "budgets": budgets, "results": results}
    (args.results / "quality.json").write_text(json.dumps(record, indent=2, default=str))
    (args.results / "quality.md").write_text(text + "\n")
    print(f"written: {args.results / 'quality.json'}, {args.results / 'quality.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
