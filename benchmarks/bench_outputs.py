"""What the viewers' formats cost on a whole slide, and that they read back as the TIFF.

A streamed 16384^2 slide (``medunet infer --block-size 1024``, the model and tiled sample of
``bench_large_image.py``) is predicted twice, each run its own process measured by the
kernel (peak resident memory, wall time): with the default ``--output-format tiff``, and
with ``tiff,zarr,geojson``. Then the second run's outputs are read as the viewers read them:

- ``<name>.ome.zarr`` through ``ome-zarr-py``'s reader: an image node and a labels node, the
  number of pyramid levels, and the labels at level 0 equal to the TIFF's (compared a band
  of rows at a time), validated against the NGFF 0.4 models (``ome-zarr-models``);
- ``<name>.geojson``: one feature per object of the TIFF, and a sample of objects rasterised
  back (pixel centres, even-odd) against the TIFF's pixels (IoU).

    python benchmarks/bench_outputs.py [--size 16384] [--objects 300]

Targets (issue 25): >= 4 pyramid levels, labels at level 0 equal to the TIFF, GeoJSON IoU
>= 0.99 per object. Results: ``benchmarks/results/outputs.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_large_image import ROOT, infer, tiled_sample, train_models

BAND = 1024  # rows compared at a time


def check_ngff(store: Path, tiff: Path) -> dict:
    import tifffile
    import zarr
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader
    from ome_zarr_models.v04 import Image, ImageLabel, Labels

    nodes = list(Reader(parse_url(str(store)))())
    specs = [sorted(type(s).__name__ for s in n.specs) for n in nodes]
    label = nodes[specs.index(["Label", "Multiscales"])]
    image = nodes[specs.index(["Multiscales"])]
    labels = zarr.open(tifffile.imread(tiff, aszarr=True), mode="r")
    level0 = label.data[0]
    equal = all(
        np.array_equal(np.asarray(level0[y : y + BAND]), labels[y : y + BAND])
        for y in range(0, labels.shape[0], BAND)
    )
    group = zarr.open_group(str(store), mode="r")
    name = group["labels"].attrs["labels"][0]
    Image.from_zarr(group)
    Labels.from_zarr(group["labels"])
    ImageLabel.from_zarr(group[f"labels/{name}"])
    return {
        "image_levels": len(image.data),
        "label_levels": len(label.data),
        "level_shapes": [list(d.shape) for d in label.data],
        "labels_level0_equal_tiff": bool(equal),
        "ngff_models_valid": True,
    }


def check_geojson(path: Path, tiff: Path, objects: int) -> dict:
    import tifffile
    import zarr

    sys.path.insert(0, str(ROOT / "tests" / "bundles"))
    from bundle_helpers import rasterise

    features = json.loads(path.read_text())["features"]
    labels = zarr.open(tifffile.imread(tiff, aszarr=True), mode="r")
    count = 0
    for y in range(0, labels.shape[0], BAND):
        count = max(count, int(np.asarray(labels[y : y + BAND]).max()))
    rng = np.random.default_rng(0)
    ious = []
    for index in rng.choice(len(features), min(objects, len(features)), replace=False):
        feature = features[int(index)]
        xy = np.concatenate([np.asarray(r) for p in _polygons(feature) for r in p])
        x0, y0 = xy.min(axis=0).astype(int)
        x1, y1 = xy.max(axis=0).astype(int)
        crop = np.asarray(labels[y0:y1, x0:x1]) == feature["properties"]["measurements"]["Label"]
        shifted = json.loads(json.dumps(feature))
        for polygon in _polygons(shifted):
            for ring in polygon:
                ring[:] = [[x - x0, y - y0] for x, y in ring]
        got = rasterise(shifted, crop.shape)
        ious.append(float((got & crop).sum() / (got | crop).sum()))
    return {"features": len(features), "largest_label": count, "objects_checked": len(ious),
            "min_iou": min(ious), "mean_iou": float(np.mean(ious))}  # fmt: skip


def _polygons(feature: dict) -> list:
    geometry = feature["geometry"]
    return [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=16384)
    parser.add_argument("--objects", type=int, default=300, help="GeoJSON objects rasterised")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "bench_large_image")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    log = args.work / "log_outputs.txt"
    model, _ = train_models(args.work, log)
    image = tiled_sample(args.work / f"slide{args.size}.tif", args.size)
    runs = {}
    for formats in ("tiff", "tiff,zarr,geojson"):
        out = args.work / f"outputs_{formats.replace(',', '_')}"
        runs[formats] = infer(image, model, out, log, "--block-size", "1024",
                              "--output-format", formats)  # fmt: skip
        print(formats, runs[formats], flush=True)
    out = args.work / "outputs_tiff_zarr_geojson"
    stem = f"slide{args.size}"
    checks = {
        "ngff": check_ngff(out / f"{stem}.ome.zarr", out / f"{stem}_labels.tif"),
        "geojson": check_geojson(out / f"{stem}.geojson", out / f"{stem}_labels.tif", args.objects),
    }
    machine = f"{_cpu()}, {_cores()} cores"
    record = {"size": args.size, "runs": runs, "checks": checks, "machine": machine}
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "outputs.json").write_text(json.dumps(record, indent=2))
    base, full = runs["tiff"], runs["tiff,zarr,geojson"]
    lines = [
        f"# Viewer formats on a streamed {args.size}^2 slide ({machine})",
        "",
        "| --output-format | wall s | peak RSS GiB |",
        "| --- | --- | --- |",
        *(f"| {k} | {r['seconds']:.0f} | {r['peak_rss_gb']:.2f} |" for k, r in runs.items()),
        "",
        f"Extra formats: +{full['seconds'] - base['seconds']:.0f} s, peak RSS "
        f"{full['peak_rss_gb'] / base['peak_rss_gb']:.2f}x.",
        "",
        f"NGFF: {checks['ngff']}",
        "",
        f"GeoJSON: {checks['geojson']}",
    ]
    (args.results / "outputs.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            lines = [line for line in f if line.startswith("model name")]
        return lines[0].split(":", 1)[1].strip()
    except (OSError, IndexError):
        return platform.processor() or platform.machine()


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    raise SystemExit(main())
