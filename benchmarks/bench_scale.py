"""A slide and a cohort on dask.distributed: ``medunet infer --cluster`` against one process.

**The slide** (the embedded nuclei sample tiled to 16384^2, uint16 tiled BigTIFF; the model a
short ``quick_cpu_microscopy`` training, as in ``bench_large_image.py``) is streamed by one
process, by ``--cluster local:1`` and ``local:2`` (its blocks are tasks, the client labels
the stripes), and by ``local:2`` with ``--max-memory 1, 2, 4`` (each process's bound).
Every process of a run is sampled for its resident memory (psutil, every 0.2 s: the client
and each worker apart); labels and probabilities are compared with the one-process run's
(one-to-one objects, pixels with the same object, largest probability difference). A cost
model, from the local:1 run's log (blocks, seconds of the block phase, the rest: start-up,
percentiles, writing), predicts local:N as ``rest + blocks * per_block / N``, with the bytes
each block reads and writes, and is checked against the measured local:2.

**The cohort** of MNI152 T1 volumes (the template, each copy shifted in the world by its
affine) is predicted three times, each run its own process measured by the kernel (wall time, peak
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

    python benchmarks/bench_scale.py [--slide 16384] [--cases 8] [--model M]
        [--no-slide] [--no-volume] [--volume-memory 2] [--no-cohort]

**The volume** (the MNI152 T1 tiled to 512 x 512 x 700, as in ``bench_large_image.py``) is
streamed with ``--max-memory 2`` by one process, ``local:1`` and ``local:2`` (its slabs and
blocks are tasks, the client crops, normalises and writes), each process sampled as for the
slide, the segmentations compared voxel for voxel, and a cost model from local:1 (each pass's
tasks in ``ceil(tasks / N)`` rounds, plus the rest) checked against local:2.

Results: ``benchmarks/results/scale_slide.json`` and ``.md`` (the slide),
``benchmarks/results/scale_volume.json`` and ``.md`` (the volume),
``benchmarks/results/scale.json`` and ``.md`` (the cohort).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
MEDUNET = [sys.executable, "-m", "medunet"]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_large_image import (  # noqa: E402
    VOLUME_SHAPE,
    measured,
    tiled_sample,
    train_models,
    volume_file,
)


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


def sampled(cmd: list[str], log: Path) -> dict:
    """Run ``cmd``; its wall time and the peak resident memory (GB) of each of its processes
    (the command's own, its workers'), sampled every 0.2 s."""
    import psutil

    start = time.perf_counter()
    peaks: dict[int, float] = {}
    with open(log, "a") as f:
        f.write("$ " + " ".join(map(str, cmd)) + "\n")
        f.flush()
        proc = subprocess.Popen([str(c) for c in cmd], stdout=f, stderr=subprocess.STDOUT)
        root = psutil.Process(proc.pid)
        roles: dict[int, str] = {proc.pid: "client"}
        while proc.poll() is None:
            try:
                family = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                family = []
            for p in family:
                try:
                    rss = p.memory_info().rss / 2**30
                    if p.pid not in roles:
                        line = " ".join(p.cmdline())
                        roles[p.pid] = "tracker" if "resource_tracker" in line else "worker"
                except psutil.Error:
                    continue
                peaks[p.pid] = max(peaks.get(p.pid, 0.0), rss)
            time.sleep(0.2)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[2:4]} failed ({proc.returncode}); see {log}")
    workers = sorted(
        (peaks[pid] for pid, r in roles.items() if r == "worker" and peaks.get(pid, 0.0) > 0.05),
        reverse=True,
    )  # fmt: skip  (not the short-lived helpers dask spawns)
    return {"seconds": time.perf_counter() - start, "client_gb": peaks.get(proc.pid, 0.0),
            "worker_gb": workers}  # fmt: skip


def compare_slides(a: Path, b: Path, name: str, rows: int = 1024) -> dict:
    """Labels one-to-one and pixels alike, probabilities' largest difference: ``b`` against
    ``a``, a band of ``rows`` at a time (a slide's labels do not fit in memory as lists)."""
    import tifffile
    import zarr

    arrays = {}
    for key, d in (("a", a), ("b", b)):
        for kind in ("labels", "prob"):
            store = tifffile.imread(d / f"{name}_{kind}.tif", aszarr=True)
            arrays[key, kind] = (store, zarr.open(store, mode="r"))
    la, lb = arrays["a", "labels"][1], arrays["b", "labels"][1]
    pa, pb = arrays["a", "prob"][1], arrays["b", "prob"][1]
    pairs, diff = np.zeros(0, np.uint64), 0.0
    for y in range(0, la.shape[0], rows):
        x = np.asarray(la[y : y + rows]).astype(np.uint64)
        z = np.asarray(lb[y : y + rows]).astype(np.uint64)
        pairs = np.union1d(pairs, np.unique((x << np.uint64(32)) | z))
        band = np.abs(np.asarray(pa[y : y + rows]) - np.asarray(pb[y : y + rows]))
        diff = max(diff, float(band.max()))
    # one-to-one pairs with background paired to background: the same labels, renumbered,
    # on every pixel
    first, second = pairs >> np.uint64(32), pairs & np.uint64(0xFFFFFFFF)
    objects = first > 0
    one_to_one = (
        len(np.unique(first)) == len(first)  # every object of a is one object of b
        and len(np.unique(second)) == len(second)  # and the other way round
        and bool(np.all((first > 0) == (second > 0)))  # background is background
    )
    for store, _ in arrays.values():
        store.close()
    return {"objects": int(objects.sum()), "one_to_one_objects": bool(one_to_one),
            "prob_max_abs_diff": diff}  # fmt: skip


def block_costs(model: Path, image: Path, block: int) -> dict:
    """Bytes a block task reads (its window, with the network's halo) and writes (its
    probabilities), for the cost model."""
    from medunet.bundle.inference import model_config
    from medunet.bundle.registry import resolve_bundle
    from medunet.data.blocks import open_blocks
    from medunet.inferers.streaming import StreamGrid

    parser = model_config(resolve_bundle("unet2015_microscopy"), model).parser_with()
    network = parser.get_parsed_content("network_def")
    inferer = parser.get_parsed_content("inferer")
    source = open_blocks(image)
    grid = StreamGrid.create(inferer, network, source.shape, block)
    (_, window), side = grid.window((0, 0), grid.block), grid.block
    itemsize = np.dtype(source.dtype).itemsize * source.channels
    return {"blocks": len(grid), "block": list(side),
            "read_bytes": int(np.prod(window)) * itemsize,
            "written_bytes": int(np.prod(side)) * 2 * 4}  # fmt: skip


def block_phase(log: Path) -> tuple[int, float]:
    """``(blocks, seconds)`` of the last run's block phase (its "objects in N blocks" line)."""
    text = log.read_text().split("\n$ ")[-1]
    match = re.findall(r"objects in (\d+) blocks, (\d+) s", text)
    return int(match[-1][0]), float(match[-1][1])


def slide_runs(work: Path, size: int, log: Path, block: int | None = None) -> dict:
    model, _ = train_models(work / "models", log)
    image = tiled_sample(work / f"slide_{size}.tif", size)
    runs = {"one process": [], "local:2": ["--cluster", "local:2"],
            "local:1": ["--cluster", "local:1"],
            **{f"local:2, --max-memory {gb}": ["--cluster", "local:2", "--max-memory", str(gb)]
               for gb in (2, 1, 4)}}  # fmt: skip
    rows = []
    for name, extra in runs.items():
        out = work / ("slide_" + re.sub(r"[^a-z0-9]+", "_", name).strip("_"))
        cmd = [*MEDUNET, "infer", "unet2015_microscopy", image, "--model", model, "--output",
               out, "--overwrite", "--no-progress", *extra]  # fmt: skip
        if block is not None:
            cmd += ["--block-size", str(block)]
        row = {"run": name, **sampled(cmd, log)}
        row["blocks"], row["block_seconds"] = block_phase(log)
        row["max_memory_gb"] = float(extra[-1]) if "--max-memory" in extra else None
        if name != "one process":
            name_stem = next(out.glob("*_labels.tif")).name[: -len("_labels.tif")]
            row.update(compare_slides(work / "slide_one_process", out, name_stem))
        print(json.dumps(row), flush=True)
        rows.append(row)
        (work / "slide_rows.json").write_text(json.dumps(rows, indent=2))  # a long run may be cut
        if name != "one process":
            shutil.rmtree(out)  # 3 GB a run
    by = {r["run"]: r for r in rows}
    one = by["local:1"]
    block = int(re.findall(r"blocks of (\d+)", log.read_text())[-1])
    costs = block_costs(model, image, block)
    per_block = one["block_seconds"] / one["blocks"]
    rest = one["seconds"] - one["block_seconds"]
    predicted = {f"local:{k}": rest + one["blocks"] * per_block / k for k in (1, 2, 4, 8)}
    ratio = by["local:2"]["seconds"] / predicted["local:2"]
    return {"size": size, "pixels": size * size, "rows": rows,
            "cost_model": {**costs, "per_block_s": per_block, "rest_s": rest},
            "predicted_seconds": predicted, "local:2 measured / predicted": ratio}  # fmt: skip


def slide_lines(slide: dict, machine: str) -> list[str]:
    cost = slide["cost_model"]
    lines = [
        f"# A {slide['size']}^2 slide on dask.distributed ({machine}, one run each)",
        "",
        "| run | seconds | ns per pixel | client peak RSS (GB) | worker peak RSS (GB) | "
        "--max-memory (each process) | objects | one-to-one | prob max diff |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in slide["rows"]:
        workers = ", ".join(f"{w:.2f}" for w in r["worker_gb"]) or "-"
        bound = f"{r['max_memory_gb']:g} GB" if r["max_memory_gb"] else "default"
        lines.append(
            f"| {r['run']} | {r['seconds']:.0f} | {1e9 * r['seconds'] / slide['pixels']:.0f} | "
            f"{r['client_gb']:.2f} | {workers} | {bound} | {r.get('objects', '-')} | "
            f"{r.get('one_to_one_objects', '-')} | {r.get('prob_max_abs_diff', '-')} |"
        )
    lines += [
        "",
        f"cost model (from local:1): {cost['blocks']} blocks of {cost['block'][0]}^2, each "
        f"reading {cost['read_bytes'] / 2**20:.1f} MiB and writing "
        f"{cost['written_bytes'] / 2**20:.1f} MiB, {cost['per_block_s']:.2f} s per block on "
        f"one worker thread, {cost['rest_s']:.0f} s for the rest (start-up, percentiles, "
        "writing); predicted "
        + ", ".join(f"{k} {v:.0f} s" for k, v in slide["predicted_seconds"].items())
        + f"; local:2 measured / predicted: {slide['local:2 measured / predicted']:.2f}",
        "",
    ]
    return lines


def volume_phases(log: Path) -> tuple[int, float, int, float]:
    """``(slabs, seconds, blocks, seconds)`` of the last run's two task passes."""
    text = log.read_text().split("\n$ ")[-1]
    slabs = re.findall(r"resampled (\d+) slabs in ([\d.]+) s", text)[-1]
    blocks = re.findall(r"predicted (\d+) blocks in ([\d.]+) s", text)[-1]
    return int(slabs[0]), float(slabs[1]), int(blocks[0]), float(blocks[1])


def volume_runs(work: Path, log: Path, bound: float) -> dict:
    """The 512 x 512 x 700 volume of ``bench_large_image.py`` streamed with ``--max-memory
    bound`` (each process's) by one process, ``local:1`` and ``local:2`` (its slabs and blocks
    are tasks); per-process peak memory, the segmentations compared voxel for voxel, and the
    cost model ``rest + task seconds / N`` from local:1, checked against local:2."""
    import nibabel as nib

    _, model = train_models(work / "models", log)
    path = volume_file(work)
    runs = {"one process": [], "local:1": ["--cluster", "local:1"],
            "local:2": ["--cluster", "local:2"]}  # fmt: skip
    rows, first = [], None
    for name, extra in runs.items():
        out = work / ("volume_" + re.sub(r"[^a-z0-9]+", "_", name).strip("_"))
        cmd = [*MEDUNET, "infer", "unet2015_ct_mri", path, "--model", model, "--output", out,
               "--overwrite", "--no-progress", "--max-memory", str(bound), *extra]  # fmt: skip
        row = {"run": name, **sampled(cmd, log), "max_memory_gb": bound}
        row["slabs"], row["slab_seconds"], row["blocks"], row["block_seconds"] = volume_phases(log)
        seg = np.asarray(nib.load(out / "volume_seg.nii.gz").dataobj)
        assert seg.shape == VOLUME_SHAPE, seg.shape
        if first is None:
            first = seg
        row["identical"] = bool(np.array_equal(seg, first))
        print(json.dumps(row), flush=True)
        rows.append(row)
    return {"shape": list(VOLUME_SHAPE), "voxels": int(np.prod(VOLUME_SHAPE)), "rows": rows,
            **volume_cost_model(rows)}  # fmt: skip


def volume_cost_model(rows: list[dict]) -> dict:
    """From local:1: a slab task's and a block task's one-thread time and the rest (start-up,
    crop and statistics, writing); local:N runs the tasks of each pass in ``ceil(n / N)``
    rounds. Checked against local:2."""
    by = {r["run"]: r for r in rows}
    one = by["local:1"]
    per_slab, per_block = one["slab_seconds"] / one["slabs"], one["block_seconds"] / one["blocks"]
    rest = one["seconds"] - one["slab_seconds"] - one["block_seconds"]
    predicted = {
        f"local:{k}": rest + -(-one["slabs"] // k) * per_slab + -(-one["blocks"] // k) * per_block
        for k in (1, 2, 4, 8)
    }
    cost = {"slabs": one["slabs"], "per_slab_s": per_slab, "blocks": one["blocks"],
            "per_block_s": per_block, "rest_s": rest}  # fmt: skip
    ratio = by["local:2"]["seconds"] / predicted["local:2"]
    return {"cost_model": cost, "predicted_seconds": predicted,
            "local:2 measured / predicted": ratio}  # fmt: skip


def volume_lines(volume: dict, machine: str) -> list[str]:
    cost = volume["cost_model"]
    lines = [
        f"# A {'x'.join(map(str, volume['shape']))} volume on dask.distributed ({machine}, one "
        "run each)",
        "",
        "| run | seconds | ns per voxel | client peak RSS (GB) | worker peak RSS (GB) | "
        "--max-memory (each process) | slabs, s | blocks, s | identical |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in volume["rows"]:
        workers = ", ".join(f"{w:.2f}" for w in r["worker_gb"]) or "-"
        lines.append(
            f"| {r['run']} | {r['seconds']:.0f} | {1e9 * r['seconds'] / volume['voxels']:.0f} | "
            f"{r['client_gb']:.2f} | {workers} | {r['max_memory_gb']:g} GB | "
            f"{r['slabs']}, {r['slab_seconds']:.0f} | {r['blocks']}, {r['block_seconds']:.0f} | "
            f"{r['identical']} |"
        )
    lines += [
        "",
        f"cost model (from local:1): {cost['slabs']} slab tasks of {cost['per_slab_s']:.2f} s "
        f"and {cost['blocks']} block tasks of {cost['per_block_s']:.1f} s on one worker thread, "
        f"each pass in ceil(tasks / N) rounds, {cost['rest_s']:.0f} s for the rest (start-up, "
        "the crop and statistics, writing); predicted "
        + ", ".join(f"{k} {v:.0f} s" for k, v in volume["predicted_seconds"].items())
        + f"; local:2 measured / predicted: {volume['local:2 measured / predicted']:.2f}",
        "",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slide", type=int, default=16384, help="the slide's edge (pixels)")
    parser.add_argument(
        "--block-size",
        type=int,
        default=None,
        help="the slide's block size (default: what each bound allows)",
    )
    parser.add_argument("--no-slide", action="store_true")
    parser.add_argument("--no-cohort", action="store_true")
    parser.add_argument("--no-volume", action="store_true")
    parser.add_argument("--volume-memory", type=float, default=2.0, help="the volume's bound")
    parser.add_argument("--cases", type=int, default=8)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--train-seconds", type=float, default=120.0)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each, in turn")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "bench_scale")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    log = work / "log.txt"
    machine = f"{cpu_name()}, {os.cpu_count()} cores"
    args.results.mkdir(parents=True, exist_ok=True)
    if not args.no_slide:
        slide = slide_runs(work, args.slide, log, args.block_size)
        slide.update(machine=machine, date=time.strftime("%Y-%m-%d"))
        (args.results / "scale_slide.json").write_text(json.dumps(slide, indent=2) + "\n")
        (args.results / "scale_slide.md").write_text("\n".join(slide_lines(slide, machine)))
        if not all(r.get("one_to_one_objects", True) for r in slide["rows"]):
            return 1
    if not args.no_volume and (SHARED / "mni152" / "t1.nii.gz").is_file():
        volume = volume_runs(work, log, args.volume_memory)
        volume.update(machine=machine, date=time.strftime("%Y-%m-%d"))
        (args.results / "scale_volume.json").write_text(json.dumps(volume, indent=2) + "\n")
        (args.results / "scale_volume.md").write_text("\n".join(volume_lines(volume, machine)))
        if not all(r["identical"] for r in volume["rows"]):
            return 1
    if args.no_cohort:
        return 0
    if not (SHARED / "mni152" / "t1.nii.gz").is_file():
        print(f"skipped: {SHARED / 'mni152'} is absent")
        return 0
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
        "machine": machine,
        "repeats": args.repeats,
        "cases": n,
        "date": time.strftime("%Y-%m-%d"),
        "rows": rows,
        "cost_model": {"start_s": start, "per_case_s": per_case},
        "predicted_seconds": predicted,
        "local:2 measured / predicted": by["local:2"] / predicted["local:2"],
    }
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
