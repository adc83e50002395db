"""The peer of ``bench_quality.py``: what a MONAI user builds without medunet, from stock parts.

A plain PyTorch loop over MONAI transforms, networks and losses, trained for a wall-clock
budget and then run on the held-out images of a Decathlon-style folder:

- 2D (microscopy, EM): ``BasicUNet`` (features 16, 16, 32, 64, 128, 16), ``DiceCELoss``,
  random 256x256 crops, batch 4, ``Rand2DElasticd`` + flips + 90-degree rotations, Adam 1e-3;
  sliding-window inference (overlap 0.25); objects = connected components of p(object) > 0.5.
  Instance labels and binary labels (EM: 255 = cell) are both read as foreground > 0.
- 3D (CT/MRI): ``BasicUNet`` 3D with the same features, ``DiceCELoss``, random 64^3 crops,
  batch 2, ``Rand3DElasticd`` + flips, Adam 1e-3; sliding window (overlap 0.25); argmax.

Training stops after the step that crosses ``--budget`` seconds (data loading and the first
step included), like ``medunet train --time-budget``. The last weights predict.

    python benchmarks/stock_monai.py --data DIR --output OUT --budget 300 --seed 1 [--dims 3
        --num-classes 3]

DIR holds ``imagesTr/``, ``labelsTr/`` and ``imagesTs/``; OUT receives ``<name>_labels.tif``
(2D instance labels) or ``<name>_seg.nii.gz`` (3D classes on the input grid).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch
from monai.data import CacheDataset, DataLoader, PILReader
from monai.inferers import sliding_window_inference
from monai.losses import DiceCELoss
from monai.networks.nets import BasicUNet
from monai.transforms import (
    Compose,
    EnsureChannelFirstd,
    EnsureTyped,
    Lambdad,
    LoadImaged,
    NormalizeIntensityd,
    Orientationd,
    Rand2DElasticd,
    Rand3DElasticd,
    RandFlipd,
    RandRotate90d,
    RandSpatialCropSamplesd,
    ScaleIntensityRangePercentilesd,
    SpatialPadd,
)
from monai.utils import set_determinism
from scipy import ndimage as ndi

FEATURES = (16, 16, 32, 64, 128, 16)


def _pairs(data: Path, suffix: str) -> list[dict]:
    images = sorted((data / "imagesTr").glob(f"*{suffix}"))
    return [{"image": str(p), "label": str(data / "labelsTr" / p.name)} for p in images]


def _load(dims: int, keys: list[str]) -> list:
    """Reading and normalisation (numpy axis order for TIFF: PILReader without reversal)."""
    if dims == 2:
        return [
            LoadImaged(keys, reader=PILReader(reverse_indexing=False), image_only=True),
            EnsureChannelFirstd(keys, channel_dim="no_channel"),
            ScaleIntensityRangePercentilesd("image", 1.0, 99.8, 0.0, 1.0, clip=True),
        ]
    return [
        LoadImaged(keys, image_only=True),
        EnsureChannelFirstd(keys),
        Orientationd(keys, axcodes="RAS", labels=None),
        NormalizeIntensityd("image", nonzero=True),
    ]


def _transforms(dims: int):
    keys = ["image", "label"]
    load = _load(dims, keys)
    if dims == 2:
        load += [
            Lambdad("label", lambda x: (x > 0).float()),
            SpatialPadd(keys, (256, 256), mode="reflect"),
        ]
        rand = [
            RandSpatialCropSamplesd(keys, (256, 256), num_samples=4, random_size=False),
            Rand2DElasticd(
                keys,
                spacing=(32, 32),
                magnitude_range=(1, 3),
                prob=0.5,
                mode=("bilinear", "nearest"),
                padding_mode="reflection",
            ),
            RandFlipd(keys, prob=0.5, spatial_axis=0),
            RandFlipd(keys, prob=0.5, spatial_axis=1),
            RandRotate90d(keys, prob=0.5, max_k=3),
        ]
    else:
        load += [SpatialPadd(keys, (64, 64, 64), mode="reflect")]
        rand = [
            RandSpatialCropSamplesd(keys, (64, 64, 64), num_samples=2, random_size=False),
            Rand3DElasticd(
                keys,
                sigma_range=(5, 8),
                magnitude_range=(50, 150),
                prob=0.5,
                mode=("bilinear", "nearest"),
                padding_mode="reflection",
            ),
            *[RandFlipd(keys, prob=0.5, spatial_axis=a) for a in range(3)],
        ]
    final = [EnsureTyped(keys, dtype=torch.float32, track_meta=False)]
    return Compose(load), Compose(rand + final)


def train(args: argparse.Namespace) -> torch.nn.Module:
    start = time.perf_counter()
    set_determinism(seed=args.seed)
    suffix = ".tif" if args.dims == 2 else ".nii.gz"
    load, rand = _transforms(args.dims)
    dataset = CacheDataset(_pairs(args.data, suffix), Compose([load, rand]), progress=False)
    # one image per batch: the crop transform yields 4 (2D) or 2 (3D) tiles of it
    loader = DataLoader(dataset, batch_size=1, shuffle=True, num_workers=0)
    net = BasicUNet(args.dims, 1, args.num_classes, features=FEATURES)
    loss_fn = DiceCELoss(to_onehot_y=True, softmax=True)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    steps = 0
    net.train()
    while time.perf_counter() - start < args.budget:
        for item in loader:
            opt.zero_grad()
            loss = loss_fn(net(item["image"]), item["label"])
            loss.backward()
            opt.step()
            steps += 1
            if time.perf_counter() - start >= args.budget:
                break
    logging.info("stock MONAI: %d steps in %.0f s", steps, time.perf_counter() - start)
    args.steps = steps
    args.train_seconds = time.perf_counter() - start
    return net


@torch.no_grad()
def predict(net: torch.nn.Module, args: argparse.Namespace) -> None:
    import nibabel as nib
    import tifffile

    net.eval()
    load = Compose(_load(args.dims, ["image"]))
    args.output.mkdir(parents=True, exist_ok=True)
    suffix = ".tif" if args.dims == 2 else ".nii.gz"
    roi = (256, 256) if args.dims == 2 else (64, 64, 64)
    for path in sorted((args.data / "imagesTs").glob(f"*{suffix}")):
        image = load({"image": str(path)})["image"].as_tensor()[None].float()
        logits = sliding_window_inference(image, roi, 4, net, overlap=0.25)
        prob = torch.softmax(logits, 1)[0]
        name = path.name[: -len(suffix)]
        if args.dims == 2:
            labels = ndi.label(prob[1].numpy() > 0.5)[0].astype(np.int32)
            tifffile.imwrite(args.output / f"{name}_labels.tif", labels)
        else:
            classes = prob.argmax(0).numpy().astype(np.uint8)
            ref = nib.load(str(path))
            # back from RAS to the file's own axes
            ornt = nib.orientations.io_orientation(ref.affine)
            back = nib.orientations.ornt_transform(
                nib.orientations.axcodes2ornt(("R", "A", "S")), ornt
            )
            classes = nib.orientations.apply_orientation(classes, back)
            nib.save(nib.Nifti1Image(classes, ref.affine), str(args.output / f"{name}_seg.nii.gz"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--budget", type=float, default=300.0, help="training seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dims", type=int, default=2, choices=(2, 3))
    parser.add_argument("--num-classes", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.manual_seed(args.seed)
    net = train(args)
    predict(net, args)
    record = {"steps": args.steps, "train_seconds": round(args.train_seconds, 1)}
    (args.output / "train.json").write_text(json.dumps(record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
