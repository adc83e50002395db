"""Training data pipeline: the microscopy bundle's vs the same recipe from stock MONAI parts.

Both produce paper-sized training tiles (572x572 input, 388x388 output for the paper's
network) with image, class labels and the boundary weight map, on the real nuclei2d image
(../shared/data/nuclei2d), side by side in one process, one sample at a time (the paper's
batch of one), drawing from the two in turn and reporting the median rate of each:

- medunet: the bundle's own ``train#dataset`` (``train.yaml`` parsed by MONAI's
  ConfigParser): loading, normalisation, weight map and classes cached on disk by
  ``PersistentDataset`` (filled before timing), then ``RandTileCropd`` (mirror-padded tile)
  and ``paper_augmentations`` (coarse elastic, affine, flips, gray values) per sample.
- stock MONAI: ``LoadImaged``, percentile scaling, the weight map and classes recomputed for
  every sample (no cache), ``SpatialPadd`` (reflect) + ``RandSpatialCropd`` for the tile,
  ``Rand2DElasticd`` (spacing 20, magnitude 1-2) + ``RandAffined`` + flips + gray values.

    python benchmarks/bench_bundle_data.py [--samples 40]

Target (issue 8): medunet >= 3x the samples per second of the stock pipeline.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path

import torch
from monai.bundle import ConfigParser
from monai.data import Dataset
from monai.transforms import (
    Compose,
    ConcatItemsd,
    CopyItemsd,
    DeleteItemsd,
    EnsureTyped,
    LoadImaged,
    Rand2DElasticd,
    RandAdjustContrastd,
    RandAffined,
    RandFlipd,
    RandRotate90d,
    RandScaleIntensityd,
    RandShiftIntensityd,
    RandSpatialCropd,
    ScaleIntensityRangePercentilesd,
    SpatialPadd,
)
from monai.utils import set_determinism

from medunet.transforms import BoundaryWeightMapd, InstanceToSemanticd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "nuclei2d"
KEYS = ("image", "label", "weight")
MODES = ("bilinear", "nearest", "bilinear")


def bundle_dataset(data: list[dict], cache_dir: str):
    parser = ConfigParser()
    parser.read_config(str(ROOT / "bundles/unet2015_microscopy/configs/train.yaml"))
    parser["train#dataset#data"] = data
    parser["cache_dir"] = cache_dir
    parser["bundle_root"] = cache_dir
    return parser.get_parsed_content("train#dataset")


def stock_dataset(data: list[dict]):
    halo = (572 - 388) // 2
    transforms = Compose(
        [
            LoadImaged(["image", "label"], image_only=True, ensure_channel_first=True),
            ScaleIntensityRangePercentilesd("image", 1.0, 99.8, 0.0, 1.0, channel_wise=True),
            BoundaryWeightMapd("label", weight_key="weight", w0=10.0, sigma=5.0),
            CopyItemsd("label", names="instances"),
            InstanceToSemanticd("label"),
            SpatialPadd(KEYS, spatial_size=(512 + 2 * halo,) * 2, mode="reflect"),
            RandSpatialCropd(KEYS, roi_size=(572, 572), random_size=False),
            Rand2DElasticd(KEYS, spacing=(20, 20), magnitude_range=(1, 2), prob=1.0, mode=MODES),
            RandAffined(
                KEYS,
                prob=0.5,
                rotate_range=math.pi,
                translate_range=(16, 16),
                mode=MODES,
                padding_mode="reflection",
            ),
            RandRotate90d(KEYS, prob=0.5),
            RandFlipd(KEYS, prob=0.5, spatial_axis=0),
            RandFlipd(KEYS, prob=0.5, spatial_axis=1),
            RandScaleIntensityd("image", factors=0.2, prob=0.5),
            RandShiftIntensityd("image", offsets=0.1, prob=0.5),
            RandAdjustContrastd("image", gamma=(0.7, 1.5), prob=0.5),
            ConcatItemsd(["label", "weight"], "label"),
            DeleteItemsd(["weight", "instances"]),
            EnsureTyped(["image", "label"], dtype=torch.float32, track_meta=False),
        ]
    )
    return Dataset(data, transforms)


def interleaved(datasets: dict, n: int) -> dict[str, tuple[float, tuple]]:
    """Median samples per second of each dataset, drawing from them in turn so that both
    see the same machine load; and the shapes of their last sample."""
    times: dict[str, list[float]] = {name: [] for name in datasets}
    shapes = {}
    for i in range(n):
        for name, dataset in datasets.items():
            start = time.perf_counter()
            sample = dataset[i % len(dataset)]
            times[name].append(time.perf_counter() - start)
            shapes[name] = (tuple(sample["image"].shape), tuple(sample["label"].shape))
    return {name: (1.0 / statistics.median(t), shapes[name]) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"{DATA} is absent: this benchmark runs on the real nuclei2d image.")
    data = [{"image": str(DATA / "image.tif"), "label": str(DATA / "labels.tif")}]
    set_determinism(0)
    print(f"torch threads: {torch.get_num_threads()}, {args.samples} samples each, nuclei2d 512^2")
    with tempfile.TemporaryDirectory() as tmp:
        ours = bundle_dataset(data, tmp)
        ours[0]  # fill the disk cache (once per image and setting, as in a real run)
        stock = stock_dataset(data)
        stock[0]  # warm-up
        result = interleaved({"ours": ours, "stock": stock}, args.samples)
    (ours_sps, ours_shape), (stock_sps, stock_shape) = result["ours"], result["stock"]
    print(f"stock MONAI (no cache, Rand2DElasticd) | {stock_sps:6.2f} samples/s | {stock_shape}")
    print(f"medunet bundle (disk cache, coarse elastic) | {ours_sps:6.2f} samples/s | {ours_shape}")
    print(f"speed-up {ours_sps / stock_sps:.1f}x (target >= 3x)")


if __name__ == "__main__":
    main()
