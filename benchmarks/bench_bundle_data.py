"""Training data pipelines: each bundle's vs the same recipe from stock MONAI parts.

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

The CT/MRI bundle (``--case mni152``) on the left hemisphere of the real MNI152 T1 with
grey/white matter labels (../shared/data/mni152, 1 mm, 98x233x189), 96^3 tiles:

- medunet: the bundle's ``train#dataset``: loading, RAS orientation, resampling to the
  stored median spacing, foreground crop and MRI normalisation cached on disk; then
  class-balanced ``RandTileCropd`` and ``paper_augmentations`` in 3D per sample.
- stock MONAI: the same deterministic steps recomputed for every sample (no cache),
  ``SpatialPadd`` (reflect) + ``RandCropByLabelClassesd`` (equal class ratios),
  ``Rand3DElasticd`` (sigma 5-7, magnitude 50-150), ``RandAffined``, flips and gray values.

    python benchmarks/bench_bundle_data.py [--samples 40] [--case nuclei2d|mni152|all]

Targets (issues 8 and 9): medunet >= 3x the samples per second of the stock pipeline.
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
    CropForegroundd,
    DeleteItemsd,
    EnsureTyped,
    LoadImaged,
    NormalizeIntensityd,
    Orientationd,
    Rand2DElasticd,
    Rand3DElasticd,
    RandAdjustContrastd,
    RandAffined,
    RandCropByLabelClassesd,
    RandFlipd,
    RandRotate90d,
    RandScaleIntensityd,
    RandShiftIntensityd,
    RandSpatialCropd,
    ScaleIntensityRangePercentilesd,
    Spacingd,
    SpatialPadd,
)
from monai.utils import set_determinism

from medunet.bundle import resolve_bundle
from medunet.data import write_hemisphere_split
from medunet.transforms import BoundaryWeightMapd, InstanceToSemanticd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "nuclei2d"
MNI = ROOT.parent / "shared" / "data" / "mni152"
KEYS = ("image", "label", "weight")
MODES = ("bilinear", "nearest", "bilinear")


def bundle_dataset(data: list[dict], cache_dir: str, bundle: str = "unet2015_microscopy", **kw):
    parser = ConfigParser()
    parser.read_config([str(f) for f in resolve_bundle(bundle).configs("train")])
    parser["train#dataset#data"] = data
    parser["cache_dir"] = cache_dir
    parser["bundle_root"] = cache_dir
    for key, value in kw.items():
        parser[key] = value
    return parser.get_parsed_content("train#dataset")


def stock_volume_dataset(data: list[dict]):
    keys, modes = ("image", "label"), ("bilinear", "nearest")
    transforms = Compose(
        [
            LoadImaged(keys, image_only=True, ensure_channel_first=True),
            Orientationd(keys, axcodes="RAS"),
            Spacingd(keys, pixdim=(1.0, 1.0, 1.0), mode=modes),
            CropForegroundd(keys, source_key="image", margin=8, allow_smaller=True),
            NormalizeIntensityd("image", nonzero=True),
            SpatialPadd(keys, spatial_size=(96, 96, 96), mode="reflect"),
            RandCropByLabelClassesd(
                keys, "label", spatial_size=(96, 96, 96), num_classes=3, num_samples=1
            ),
            Rand3DElasticd(
                keys, sigma_range=(5, 7), magnitude_range=(50, 150), prob=1.0, mode=modes
            ),
            RandAffined(keys, prob=0.5, rotate_range=(math.pi, 0, 0), mode=modes),
            RandFlipd(keys, prob=0.5, spatial_axis=0),
            RandFlipd(keys, prob=0.5, spatial_axis=1),
            RandFlipd(keys, prob=0.5, spatial_axis=2),
            RandScaleIntensityd("image", factors=0.2, prob=0.5),
            RandShiftIntensityd("image", offsets=0.1, prob=0.5),
            RandAdjustContrastd("image", gamma=(0.7, 1.5), prob=0.5),
            EnsureTyped(keys, dtype=torch.float32, track_meta=False),
        ]
    )
    return Dataset(data, transforms)


class _First:
    """Dataset view returning the first sample of list-returning (num_samples) croppers."""

    def __init__(self, dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i):
        item = self.dataset[i]
        return item[0] if isinstance(item, list) else item


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


def report(name: str, result: dict) -> None:
    (ours_sps, ours_shape), (stock_sps, stock_shape) = result["ours"], result["stock"]
    print(f"== {name}")
    print(f"stock MONAI (no cache)  | {stock_sps:6.2f} samples/s | {stock_shape}")
    print(f"medunet bundle (cached) | {ours_sps:6.2f} samples/s | {ours_shape}")
    print(f"speed-up {ours_sps / stock_sps:.1f}x (target >= 3x)")


def nuclei2d(samples: int) -> None:
    data = [{"image": str(DATA / "image.tif"), "label": str(DATA / "labels.tif")}]
    with tempfile.TemporaryDirectory() as tmp:
        ours = bundle_dataset(data, tmp)
        ours[0]  # fill the disk cache (once per image and setting, as in a real run)
        stock = stock_dataset(data)
        stock[0]  # warm-up
        report(
            "microscopy, nuclei2d 512^2, 572^2 tiles",
            interleaved({"ours": ours, "stock": stock}, samples),
        )


def mni152(samples: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        split = write_hemisphere_split(MNI, Path(tmp) / "data")
        data = [
            {
                "image": str(split / "imagesTr/mni_left.nii.gz"),
                "label": str(split / "labelsTr/mni_left.nii.gz"),
            }
        ]
        ours = bundle_dataset(data, tmp, "unet2015_ct_mri", modality="MR", num_classes=3)
        ours[0]
        stock = _First(stock_volume_dataset(data))
        stock[0]
        report(
            "CT/MRI, MNI152 left hemisphere 1 mm, 96^3 tiles",
            interleaved({"ours": ours, "stock": stock}, samples),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--case", choices=("nuclei2d", "mni152", "all"), default="all")
    args = parser.parse_args()
    set_determinism(0)
    print(f"torch threads: {torch.get_num_threads()}, {args.samples} samples each")
    if args.case in ("nuclei2d", "all"):
        if not DATA.is_dir():
            raise SystemExit(f"{DATA} is absent: this benchmark runs on the real nuclei2d image.")
        nuclei2d(args.samples)
    if args.case in ("mni152", "all"):
        if not MNI.is_dir():
            raise SystemExit(f"{MNI} is absent: this benchmark runs on the real MNI152 volume.")
        mni152(args.samples)


if __name__ == "__main__":
    main()
