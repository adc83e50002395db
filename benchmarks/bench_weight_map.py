"""Boundary weight map: medunet's border_term vs the naive per-object reference.

Runs both side by side in one process on the same labels and prints the speed ratio, both
peak memories (tracemalloc: numpy and scipy allocations) and the max abs difference.

    python benchmarks/bench_weight_map.py            # 2D real nuclei + 3D 128^3 / 300 blobs
    python benchmarks/bench_weight_map.py --no-3d    # only the 2D case

Targets (issue 3): 2D >= 20x, 3D >= 30x with peak extra memory < 1 GB, max diff < 1e-3.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from pathlib import Path

import numpy as np
import tifffile

from medunet.data import load_sample, random_blobs
from medunet.transforms import border_term, naive_border_term

REAL_LABELS = Path(__file__).resolve().parent.parent.parent / "shared/data/nuclei2d/labels.tif"


def measure(fn, labels: np.ndarray, repeats: int) -> tuple[float, float, np.ndarray]:
    """Best-of-``repeats`` seconds, peak traced memory in MB, and the result."""
    best = float("inf")
    for _ in range(repeats):
        tracemalloc.start()
        start = time.perf_counter()
        out = fn(labels)
        best = min(best, time.perf_counter() - start)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return best, peak, out


def compare(name: str, labels: np.ndarray, repeats_fast: int, repeats_naive: int) -> None:
    t_naive, mem_naive, ref = measure(naive_border_term, labels, repeats_naive)
    t_fast, mem_fast, out = measure(border_term, labels, repeats_fast)
    n_obj = len(np.unique(labels)) - 1
    print(
        f"{name:<34} objects {n_obj:4d} | naive {t_naive:7.2f} s {mem_naive:8.0f} MB | "
        f"medunet {t_fast:6.3f} s {mem_fast:6.0f} MB | speed-up {t_naive / t_fast:6.1f}x | "
        f"max |diff| {np.abs(out - ref).max():.1e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-3d", action="store_true", help="skip the 3D case")
    args = parser.parse_args()
    if REAL_LABELS.is_file():
        labels_2d, name = tifffile.imread(REAL_LABELS).astype(np.int32), "2D nuclei2d 512^2 (real)"
    else:
        labels_2d, name = load_sample()[1], "2D embedded sample 512^2 (real)"
    compare(name, labels_2d, repeats_fast=5, repeats_naive=2)
    if not args.no_3d:
        labels_3d = random_blobs((128, 128, 128), 300, radius_range=(3, 7), seed=0)
        compare("3D 128^3 random blobs (seed 0)", labels_3d, repeats_fast=3, repeats_naive=1)


if __name__ == "__main__":
    main()
