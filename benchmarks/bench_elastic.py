"""Elastic deformation: medunet's RandCoarseElasticd vs MONAI's elastic transforms.

Same input (image + label), side by side in one process, median of several calls each.

    python benchmarks/bench_elastic.py

Targets (issue 4): 3D 128^3 >= 5x faster than Rand3DElasticd(sigma_range=(5, 7),
magnitude_range=(50, 150)); 2D 512^2 >= 2x faster than Rand2DElasticd(spacing=(20, 20),
magnitude_range=(1, 2)).
"""

from __future__ import annotations

import statistics
import time

import torch
from monai.transforms import Rand2DElasticd, Rand3DElasticd

from medunet.transforms import RandCoarseElasticd

KEYS = ("image", "label")
MODES = ("bilinear", "nearest")


def median_seconds(transform, data: dict, repeats: int) -> float:
    transform(data)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        transform(data)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    torch.manual_seed(0)
    cases = [
        (
            "3D 128^3",
            (128, 128, 128),
            Rand3DElasticd(
                KEYS, sigma_range=(5, 7), magnitude_range=(50, 150), prob=1.0, mode=MODES
            ),
            7,
        ),
        (
            "2D 512^2",
            (512, 512),
            Rand2DElasticd(KEYS, spacing=(20, 20), magnitude_range=(1, 2), prob=1.0, mode=MODES),
            25,
        ),
    ]
    print(f"torch threads: {torch.get_num_threads()}")
    for name, shape, monai_t, repeats in cases:
        data = {"image": torch.rand(1, *shape), "label": torch.randint(0, 3, (1, *shape)).float()}
        ours = RandCoarseElasticd(KEYS, grid_size=3, std=10.0, mode=MODES)
        monai_t.set_random_state(0)
        ours.set_random_state(0)
        t_monai = median_seconds(monai_t, data, repeats)
        t_ours = median_seconds(ours, data, repeats)
        print(
            f"{name} image+label | MONAI {type(monai_t).__name__} {t_monai * 1e3:8.1f} ms | "
            f"medunet RandCoarseElasticd {t_ours * 1e3:7.1f} ms | speed-up {t_monai / t_ours:5.1f}x"
        )


if __name__ == "__main__":
    main()
