"""Large images in bounded memory: peak resident memory and time of ``medunet infer``.

Each run is its own process, measured by the kernel (peak resident set size from
``wait4``, wall time), side by side:

| run | what |
| --- | --- |
| in-memory 4096^2 | ``medunet infer`` predicting the image whole (``--max-memory`` high) |
| streamed 4096^2 | ``--block-size 1024``; probabilities and objects compared with in-memory |
| MONAI 4096^2 | ``SlidingWindowInferer``, whole image, output on CPU (same net, same-padded) |
| streamed 16384^2, 32768^2 | tiled BigTIFF in, tiled BigTIFF out, ``--block-size 1024`` |
| volume | a NIfTI 4x larger than the in-memory path holds in 2.5 GB: slabs of 64, and whole |
| bounded | ``--max-memory GB`` alone (or no flag: the default bound), no block size: the peak |
|         | resident memory of the whole process against the bound (``--bounded SIZE:GB,...``; |
|         | ``volume:GB`` for the volume) |

Images are the embedded nuclei sample tiled (uint16, tiled BigTIFF written without holding
the image); the model is a short ``quick_cpu_microscopy`` training on the sample (the
numbers are about memory and time, not quality); the volume is the MNI152 T1 tiled.

    python benchmarks/bench_large_image.py [--sizes 4096,16384,32768] [--no-volume] [--update]
        [--bounded 16384:default,16384:1,16384:2,16384:4,32768:2,volume:2]

Results are written after every run (``--update`` keeps the runs of an earlier call).

Targets (issue 18): 4096^2 streamed == in-memory (probabilities within 1e-4, one-to-one
objects, >= 99.9% of pixels with the same foreground); 16384^2 peak RSS <= 2.5 GB; time per
pixel streamed within 15% of in-memory at 4096^2; 32768^2 and the volume complete, the
streamed volume identical to the whole one (issue 23). Issue 24: 16384^2 with the defaults
within the default bound and 2.5 GB; 32768^2 and the volume with ``--max-memory 2`` within
2.0 GB.
Results: ``benchmarks/results/large_image.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
MEDUNET = [sys.executable, "-m", "medunet"]
VOLUME_SHAPE = (512, 512, 700)


#: runs the command in a process forked from itself and writes its peak RSS (KiB) and exit
#: code: a process started by this one (vfork and exec) would report at least this
#: process's own peak, the kernel carrying it over at exec
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
code = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as f:
    f.write(f"{usage.ru_maxrss} {code}")
sys.exit(code)
"""


def measured(cmd: list[str], log: Path) -> dict:
    """Run ``cmd``; its wall time and peak resident memory (GB: the largest process of its
    tree, from the kernel, through :data:`LAUNCHER`)."""
    start = time.perf_counter()
    usage = log.parent / f".usage.{os.getpid()}"
    with open(log, "a") as f:
        f.write("$ " + " ".join(map(str, cmd)) + "\n")
        f.flush()
        subprocess.run([sys.executable, "-c", LAUNCHER, usage, *map(str, cmd)], stdout=f,
                       stderr=subprocess.STDOUT)  # fmt: skip
    kib, code = (int(v) for v in usage.read_text().split())
    usage.unlink()
    if code != 0:
        raise RuntimeError(f"{cmd[2:4]} failed ({code}); see {log}")
    return {"seconds": time.perf_counter() - start, "peak_rss_gb": kib / 2**20}


def tiled_sample(path: Path, size: int) -> Path:
    """The embedded sample repeated to ``size``^2, written tile by tile (256^2, BigTIFF)."""
    import tifffile

    from medunet.data.sample import sample_paths

    if path.is_file():
        return path
    sample = tifffile.imread(sample_paths()[0])
    n = sample.shape[0]

    def tiles():
        for y in range(0, size, 256):
            for x in range(0, size, 256):
                yield sample[y % n : y % n + 256, x % n : x % n + 256]

    tifffile.imwrite(path, data=tiles(), shape=(size, size), dtype=sample.dtype, tile=(256, 256),
                     bigtiff=True)  # fmt: skip
    return path


def train_models(work: Path, log: Path) -> tuple[Path, Path | None]:
    from medunet.data import write_hemisphere_split
    from medunet.data.sample import write_sample_split

    micro = work / "model_2d" / "models" / "model.pt"
    if not micro.is_file():
        data = write_sample_split(work / "sample", overwrite=True)
        measured([*MEDUNET, "train", "unet2015_microscopy", "--data", data, "--output",
                  micro.parent.parent, "--preset", "quick_cpu_microscopy", "--epochs", "3",
                  "--no-progress", "--overwrite"], log)  # fmt: skip
    volume = work / "model_3d" / "models" / "model.pt"
    if not volume.is_file() and (SHARED / "mni152").is_dir():
        data = write_hemisphere_split(SHARED / "mni152", work / "mni", step=2)
        measured([*MEDUNET, "train", "unet2015_ct_mri", "--data", data, "--output",
                  volume.parent.parent, "--preset", "quick_cpu_ct_mri", "--set", "modality=MR",
                  "--set", "num_classes=3", "--epochs", "2", "--no-progress", "--overwrite"],
                 log)  # fmt: skip
    return micro, volume if volume.is_file() else None


def infer(image: Path, model: Path, out: Path, log: Path, *options: str) -> dict:
    return measured([*MEDUNET, "infer", "unet2015_microscopy", image, "--model", model,
                     "--output", out, "--overwrite", "--no-progress", *options], log)  # fmt: skip


def compare(whole: Path, streamed: Path, name: str) -> dict:
    import tifffile

    pa, pb = (tifffile.imread(d / f"{name}_prob.tif") for d in (whole, streamed))
    la, lb = (tifffile.imread(d / f"{name}_labels.tif").astype(np.int64) for d in (whole, streamed))
    pairs_a, pairs_b = defaultdict(set), defaultdict(set)
    for x, y in set(zip(la.ravel().tolist(), lb.ravel().tolist(), strict=True)):
        if x and y:
            pairs_a[x].add(y)
            pairs_b[y].add(x)
    one_to_one = (
        all(len(v) == 1 for v in pairs_a.values())
        and all(len(v) == 1 for v in pairs_b.values())
        and len(pairs_a) == la.max() == lb.max()
    )
    return {
        "prob_max_abs_diff": float(np.abs(pa - pb).max()),
        "objects": [int(la.max()), int(lb.max())],
        "one_to_one_objects": bool(one_to_one),
        "same_foreground_fraction": float(((la > 0) == (lb > 0)).mean()),
    }


def compare_volumes(streamed: Path, whole: Path) -> dict:
    """The streamed segmentation against the whole one, voxel for voxel."""
    import nibabel as nib

    a, b = (np.asarray(nib.load(d / "volume_seg.nii.gz").dataobj) for d in (streamed, whole))
    return {"same_voxels_fraction": float((a == b).mean()), "differing_voxels": int((a != b).sum())}


def monai_sliding_window(image: Path, model_run: Path, result: Path) -> None:
    """(In a child process) MONAI's SlidingWindowInferer over the whole image on CPU."""
    import tifffile
    import torch
    from monai.inferers import SlidingWindowInferer

    from medunet.bundle import model_config, resolve_bundle
    from medunet.networks import UNet2015

    config = model_config(resolve_bundle("unet2015_microscopy"), model_run).merged()
    net = UNet2015(2, 1, 3 if config["border_class"] else 2, config["channels"], padding="same")
    x = torch.as_tensor(tifffile.imread(image).astype(np.float32))[None, None]
    x = (x - x.mean()) / x.std()
    inferer = SlidingWindowInferer(roi_size=512, sw_batch_size=1, overlap=0.25,
                                   sw_device="cpu", device="cpu")  # fmt: skip
    with torch.no_grad():
        out = torch.softmax(inferer(x, net.eval()), 1)
    result.write_text(json.dumps({"shape": list(out.shape)}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="4096,16384,32768")
    parser.add_argument("--no-volume", action="store_true")
    parser.add_argument(
        "--bounded",
        default="",
        help="SIZE:GB runs with --max-memory GB alone (GB 'default': no flag), e.g. 16384:2",
    )
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "bench_large_image")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument(
        "--update", action="store_true", help="keep the other runs of an existing large_image.json"
    )
    parser.add_argument("--monai-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.monai_child:
        monai_sliding_window(*[Path(p) for p in args.monai_child])
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    log = args.work / "log.txt"
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]  # "": the volume only
    model, volume_model = train_models(args.work, log)
    rows, checks = [], {}
    previous = args.results / "large_image.json"
    if args.update and previous.is_file():
        old = json.loads(previous.read_text())
        rows, checks = old["runs"], old["checks"]

    def add(row: dict) -> None:  # results are written after every run: a long one may be cut
        rows[:] = [r for r in rows if r["run"] != row["run"]] + [row]
        row["us_per_pixel"] = 1e6 * row["seconds"] / row["pixels"]
        print(row, flush=True)
        write_results(args.results, rows, checks)

    for size in sizes:
        image = tiled_sample(args.work / f"slide{size}.tif", size)  # (no _NNNN: a channel)
        pixels = size * size
        if size <= 4096:
            whole = infer(image, model, args.work / f"whole_{size}", log, "--max-memory", "1000")
            add({"run": f"in-memory {size}^2", **whole, "pixels": pixels})
            child = [sys.executable, __file__, "--monai-child", str(image), str(model),
                     str(args.work / "monai.json")]  # fmt: skip
            add({"run": f"MONAI sliding window {size}^2", **measured(child, log), "pixels": pixels})
        streamed = infer(image, model, args.work / f"stream_{size}", log, "--block-size", "1024")
        if size <= 4096:
            checks[f"{size}"] = compare(
                args.work / f"whole_{size}", args.work / f"stream_{size}", f"slide{size}"
            )
            checks[f"{size}"]["time_per_pixel_ratio"] = streamed["seconds"] / whole["seconds"]
        else:
            checks[f"{size}"] = label_shape(
                args.work / f"stream_{size}" / f"slide{size}_labels.tif"
            )
        add({"run": f"streamed {size}^2", **streamed, "pixels": pixels})
    for spec in [b for b in args.bounded.split(",") if b.strip()]:
        size, bound = spec.split(":")
        if size == "volume":  # the 3D volume with --max-memory GB alone
            out = args.work / f"bounded_volume_{bound}"
            run = infer_volume(volume_file(args.work), volume_model, out, log, bound)
            checks[f"volume --max-memory {bound}"] = {"log": bound_lines(log)}
            voxels = int(np.prod(VOLUME_SHAPE))
            add({"run": f"volume 512x512x700, --max-memory {bound}", **run, "pixels": voxels})
            continue
        image = tiled_sample(args.work / f"slide{size}.tif", int(size))
        flags = [] if bound == "default" else ["--max-memory", bound]
        out = args.work / f"bounded_{size}_{bound}"
        run = infer(image, model, out, log, *flags)
        label = "the default bound" if bound == "default" else f"--max-memory {bound}"
        checks[f"{size} {label}"] = {**label_shape(out / f"slide{size}_labels.tif"),
                                     "log": bound_lines(log)}  # fmt: skip
        add({"run": f"streamed {size}^2, {label}", **run, "pixels": int(size) ** 2})
    if volume_model is not None and not args.no_volume:
        rows_3d = volume_runs(args.work, volume_model, log)
        checks["volume"] = compare_volumes(args.work / "stream_volume", args.work / "whole_volume")
        for row in rows_3d:
            add(row)
    print((args.results / "large_image.md").read_text())
    return 0


def infer_volume(path: Path, model: Path, out: Path, log: Path, bound: str) -> dict:
    """``medunet infer`` of the volume with ``--max-memory bound`` alone: wall time and peak
    resident memory; the segmentation's shape is checked."""
    import nibabel as nib

    cmd = [*MEDUNET, "infer", "unet2015_ct_mri", path, "--model", model, "--output", out,
           "--overwrite", "--no-progress", "--max-memory", bound]  # fmt: skip
    run = measured(cmd, log)
    assert nib.load(out / "volume_seg.nii.gz").shape == VOLUME_SHAPE
    return run


def bound_lines(log: Path) -> list[str]:
    """The last run's lines about its bound, tiles and blocks (from the shared log)."""
    text = log.read_text().split("\n$ ")[-1]
    keys = ("memory bound", "tiles of at most", "blocks of")
    return [line.split(" INFO ")[-1] for line in text.splitlines() if any(k in line for k in keys)]


def label_shape(path: Path) -> dict:
    """The shape of a streamed label image, read from its header."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        return {"labels_shape": list(tif.series[0].shape)}


def write_results(results: Path, rows: list[dict], checks: dict) -> None:
    """``large_image.json`` and ``.md`` with the machine, the runs so far and the checks."""
    import torch

    cpu = platform.processor() or platform.machine()
    for line in (
        Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").is_file() else []
    ):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    machine = {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__,
               "date": time.strftime("%Y-%m-%d")}  # fmt: skip
    results.mkdir(parents=True, exist_ok=True)
    record = {"machine": machine, "runs": rows, "checks": checks}
    (results / "large_image.json").write_text(json.dumps(record, indent=2))
    lines = [
        "# Large images in bounded memory (benchmarks/bench_large_image.py)",
        "",
        f"Machine: {cpu}, {os.cpu_count()} cores, no GPU; torch {torch.__version__}; "
        f"{machine['date']}. One run each (memory is the point; times are single runs).",
        "",
        "| run | seconds | peak RSS (GB) | us per pixel |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r['run']} | {r['seconds']:.0f} | {r['peak_rss_gb']:.2f} | {r['us_per_pixel']:.2f} |"
        for r in rows
    ]
    text = "\n".join(lines) + "\n\nchecks: " + json.dumps(checks, indent=2) + "\n"
    (results / "large_image.md").write_text(text)


def volume_file(work: Path) -> Path:
    """A NIfTI volume: the MNI152 T1 tiled to 512 x 512 x 700, 1 mm (written once)."""
    import nibabel as nib

    path = work / "volume.nii"
    shape = VOLUME_SHAPE
    if not path.is_file():
        t1 = np.asarray(nib.load(SHARED / "mni152" / "t1.nii.gz").dataobj).astype(np.float32)
        header = nib.Nifti1Header()
        header.set_data_shape(shape)
        header.set_data_dtype(np.float32)
        affine = np.diag([1.0, 1.0, 1.0, 1.0])
        header.set_qform(affine, code=1)
        header.set_sform(affine, code=1)
        header["magic"] = b"n+1"
        header.set_data_offset(352)
        with open(path, "wb") as f:
            f.write(header.binaryblock + b"\0" * (352 - len(header.binaryblock)))
            reps = [int(np.ceil(n / s)) for n, s in zip(shape[:2], t1.shape[:2], strict=True)]
            plane = None
            for z in range(shape[2]):
                src = t1[:, :, z % t1.shape[2]]
                plane = np.tile(src, reps)[: shape[0], : shape[1]]
                f.write(plane.astype(np.float32).tobytes(order="F"))
    return path


def volume_runs(work: Path, model: Path, log: Path) -> list[dict]:
    """The volume (:func:`volume_file`) streamed in slabs, and predicted whole
    (``--max-memory`` high) for its peak memory."""
    import nibabel as nib

    path, shape = volume_file(work), VOLUME_SHAPE
    out = work / "stream_volume"
    run = measured([*MEDUNET, "infer", "unet2015_ct_mri", path, "--model", model, "--output",
                    out, "--overwrite", "--no-progress", "--block-size", "64"], log)  # fmt: skip
    seg = nib.load(out / "volume_seg.nii.gz")
    assert seg.shape == shape, seg.shape
    whole = measured([*MEDUNET, "infer", "unet2015_ct_mri", path, "--model", model, "--output",
                      work / "whole_volume", "--overwrite", "--no-progress", "--max-memory",
                      "100000"], log)  # fmt: skip
    voxels = int(np.prod(shape))
    return [
        {"run": "streamed volume 512x512x700", **run, "pixels": voxels},
        {"run": "in-memory volume 512x512x700", **whole, "pixels": voxels},
    ]


if __name__ == "__main__":
    raise SystemExit(main())
