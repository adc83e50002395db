"""The peer of ``bench_quality.py``: what a competent MONAI user builds without medunet.

A plain PyTorch loop over MONAI transforms, networks and losses, trained for a wall-clock
budget and then run on the held-out images of a Decathlon-style folder. It is written the
way MONAI's tutorials and a careful user write it, so that a win over it means something:

- the deterministic part (loading, orientation, foreground crop, normalisation) is cached in
  memory once (``CacheDataset`` over one flat ``Compose``: MONAI caches up to the first
  random transform of *that* list; a ``Compose`` nested inside counts as random and would
  disable the cache, which an earlier version of this file did);
- 2D (microscopy, EM): ``BasicUNet`` (features 16, 16, 32, 64, 128, 16), ``DiceCELoss``,
  random 256x256 crops, batch 4, ``Rand2DElasticd`` (p 0.3) + flips + 90-degree rotations +
  intensity scale/shift, percentile normalisation per image (1, 99.8), Adam 1e-3 with a
  cosine decay over the budget; sliding-window inference (overlap 0.25); objects =
  connected components of p(object) > 0.5, holes filled, those under 64 px removed
  (MONAI's ``RemoveSmallObjects`` at its default size). Instance and binary labels are
  both read as foreground > 0.
- 3D (CT/MRI): RAS, resampled to 2 mm (``--spacing``: on a CPU budget of minutes a user
  trains at a coarser grid), crop to the non-zero foreground (training and inference
  alike), z-score over the non-zero
  voxels (MR; CT: window at the 0.5-99.5 percentiles of the foreground), ``BasicUNet`` 3D
  (features 8, 8, 16, 32, 64, 8), ``DiceCELoss``, 64^3 crops centred on each class
  (background included) equally often (``RandCropByLabelClassesd``), batch 2,
  ``Rand3DElasticd`` (p 0.3) + flips, Adam 1e-3 with a cosine decay over the budget;
  sliding window (overlap 0.25); the probabilities brought back onto the input's grid by
  MONAI's ``Invertd``, then argmax.

Training stops after the step that crosses ``--budget`` seconds, counted from the first
step (the data are read and cached first, as every system of the benchmark does). The last
weights predict.

    python benchmarks/stock_monai.py --data DIR --output OUT --budget 300 --seed 1 [--dims 3
        --num-classes 3]

DIR holds ``imagesTr/``, ``labelsTr/`` and ``imagesTs/``; OUT receives ``<name>_labels.tif``
(2D instance labels) or ``<name>_seg.nii.gz`` (3D classes on the input grid).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
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
    CropForegroundd,
    EnsureChannelFirstd,
    EnsureTyped,
    Invertd,
    Lambdad,
    LoadImaged,
    NormalizeIntensityd,
    Orientationd,
    Rand2DElasticd,
    Rand3DElasticd,
    RandCropByLabelClassesd,
    RandFlipd,
    RandRotate90d,
    RandScaleIntensityd,
    RandShiftIntensityd,
    RandSpatialCropSamplesd,
    RemoveSmallObjects,
    ScaleIntensityRangePercentilesd,
    Spacingd,
    SpatialPadd,
)
from monai.utils import set_determinism
from scipy import ndimage as ndi

FEATURES = {2: (16, 16, 32, 64, 128, 16), 3: (8, 8, 16, 32, 64, 8)}
ROI = {2: (256, 256), 3: (64, 64, 64)}
CROPS = {2: 4, 3: 2}


def _pairs(data: Path, suffix: str) -> list[dict]:
    images = sorted((data / "imagesTr").glob(f"*{suffix}"))
    return [{"image": str(p), "label": str(data / "labelsTr" / p.name)} for p in images]


def _foreground_window(image: np.ndarray) -> tuple[float, float]:
    values = image[image > image.min()] if np.any(image > image.min()) else image.ravel()
    lo, hi = np.percentile(values, (0.5, 99.5))
    return float(lo), float(hi)


def _load(dims: int, keys: list[str], modality: str, spacing: float = 0.0) -> list:
    """Reading and normalisation (numpy axis order for TIFF: PILReader without reversal);
    3D: RAS, resampled to ``spacing`` mm when given."""
    if dims == 2:
        return [
            LoadImaged(keys, reader=PILReader(reverse_indexing=False), image_only=True),
            EnsureChannelFirstd(keys, channel_dim="no_channel"),
            ScaleIntensityRangePercentilesd("image", 1.0, 99.8, 0.0, 1.0, clip=False),
        ]
    load = [
        LoadImaged(keys, image_only=True),
        EnsureChannelFirstd(keys),
        Orientationd(keys, axcodes="RAS", labels=None),
    ]
    if spacing:
        modes = ("bilinear", "nearest")[: len(keys)]
        load.append(Spacingd(keys, pixdim=(spacing,) * 3, mode=modes))
    # the same crop for training and inference (Invertd pads it back)
    load.append(CropForegroundd(keys, source_key="image", margin=4, allow_smaller=True))
    if modality == "CT":

        def window(x):
            lo, hi = _foreground_window(np.asarray(x))
            return (x.clamp(lo, hi) - lo) / (hi - lo)

        return [*load, Lambdad("image", window)]
    return [*load, NormalizeIntensityd("image", nonzero=True)]


def _transforms(dims: int, modality: str, num_classes: int = 2, spacing: float = 0.0) -> Compose:
    """One flat list: deterministic transforms first (cached), then the random ones."""
    keys = ["image", "label"]
    deterministic = _load(dims, keys, modality, spacing)
    roi = ROI[dims]
    if dims == 2:
        deterministic += [
            Lambdad("label", lambda x: (x > 0).float()),
            SpatialPadd(keys, roi, mode="reflect"),
        ]
        rand = [
            RandSpatialCropSamplesd(keys, roi, num_samples=CROPS[2], random_size=False),
            Rand2DElasticd(
                keys,
                spacing=(32, 32),
                magnitude_range=(1, 3),
                prob=0.3,
                mode=("bilinear", "nearest"),
                padding_mode="reflection",
            ),
            RandFlipd(keys, prob=0.5, spatial_axis=0),
            RandFlipd(keys, prob=0.5, spatial_axis=1),
            RandRotate90d(keys, prob=0.5, max_k=3),
            RandScaleIntensityd("image", factors=0.2, prob=0.3),
            RandShiftIntensityd("image", offsets=0.1, prob=0.3),
        ]
    else:
        deterministic += [SpatialPadd(keys, roi, mode="constant")]
        rand = [
            RandCropByLabelClassesd(  # every class (background included) as often
                keys, "label", roi, num_classes=num_classes, num_samples=CROPS[3]
            ),
            Rand3DElasticd(
                keys,
                sigma_range=(5, 8),
                magnitude_range=(50, 150),
                prob=0.3,
                mode=("bilinear", "nearest"),
                padding_mode="zeros",
            ),
            *[RandFlipd(keys, prob=0.5, spatial_axis=a) for a in range(3)],
        ]
    final = [EnsureTyped(keys, dtype=torch.float32, track_meta=False)]
    return Compose(deterministic + rand + final)


def train(args: argparse.Namespace) -> torch.nn.Module:
    set_determinism(seed=args.seed)
    suffix = ".tif" if args.dims == 2 else ".nii.gz"
    transform = _transforms(args.dims, args.modality, args.num_classes, args.spacing)
    dataset = CacheDataset(_pairs(args.data, suffix), transform, progress=False)
    # one image per batch: the crop transform yields 4 (2D) or 2 (3D) tiles of it
    loader = DataLoader(dataset, batch_size=1, shuffle=True, num_workers=0)
    device = torch.device(args.device)
    net = BasicUNet(args.dims, 1, args.num_classes, features=FEATURES[args.dims]).to(device)
    loss_fn = DiceCELoss(to_onehot_y=True, softmax=True)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    steps = 0
    net.train()
    start = time.perf_counter()
    while time.perf_counter() - start < args.budget:
        for item in loader:
            elapsed = time.perf_counter() - start
            for group in opt.param_groups:  # cosine decay over the budget
                group["lr"] = 1e-3 * 0.5 * (1 + math.cos(math.pi * min(elapsed / args.budget, 1)))
            opt.zero_grad()
            image, label = item["image"].to(device), item["label"].to(device)
            loss = loss_fn(net(image), label)
            loss.backward()
            opt.step()
            steps += 1
            if time.perf_counter() - start >= args.budget:
                break
    logging.info("stock MONAI: %d steps in %.0f s", steps, time.perf_counter() - start)
    args.steps = steps
    args.train_seconds = time.perf_counter() - start
    return net


def _fill_holes(labels: np.ndarray) -> np.ndarray:
    filled = labels.copy()
    for index, box in enumerate(ndi.find_objects(labels), start=1):
        if box is not None:
            hole = ndi.binary_fill_holes(labels[box] == index) & (labels[box] == 0)
            filled[box][hole] = index
    return filled


@torch.no_grad()
def predict(net: torch.nn.Module, args: argparse.Namespace) -> None:
    import nibabel as nib
    import tifffile
    from monai.data import MetaTensor

    net.eval()
    load = Compose(_load(args.dims, ["image"], args.modality, args.spacing))
    args.output.mkdir(parents=True, exist_ok=True)
    suffix = ".tif" if args.dims == 2 else ".nii.gz"
    for path in sorted((args.data / "imagesTs").glob(f"*{suffix}")):
        data = load({"image": str(path)})
        image = data["image"]
        logits = sliding_window_inference(
            image.as_tensor()[None].float(), ROI[args.dims], 4, net, overlap=0.25,
            sw_device=args.device, device="cpu",
        )  # fmt: skip
        prob = torch.softmax(logits, 1)[0]
        name = path.name[: -len(suffix)]
        if args.dims == 2:
            labels = _fill_holes(ndi.label(prob[1].numpy() > 0.5)[0].astype(np.int32))
            labels = np.asarray(RemoveSmallObjects()(labels[None]))[0]  # MONAI's default 64 px
            tifffile.imwrite(args.output / f"{name}_labels.tif", labels)
        else:
            # back onto the file's own grid (orientation, spacing): MONAI's Invertd
            data["pred"] = MetaTensor(prob, meta=image.meta,
                                      applied_operations=image.applied_operations)  # fmt: skip
            inverse = Invertd("pred", load, orig_keys="image", nearest_interp=False)(data)
            classes = np.asarray(inverse["pred"].argmax(0)).astype(np.uint8)
            ref = nib.load(str(path))
            nib.save(nib.Nifti1Image(classes, ref.affine), str(args.output / f"{name}_seg.nii.gz"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--budget", type=float, default=300.0, help="training seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dims", type=int, default=2, choices=(2, 3))
    parser.add_argument("--num-classes", type=int, default=2)
    parser.add_argument("--modality", default="MR", choices=("MR", "CT"), help="3D only")
    parser.add_argument(
        "--spacing",
        type=float,
        default=2.0,
        help="3D: train and predict at this isotropic spacing in mm (0: the file's own); "
        "predictions are resampled back onto the input grid",
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
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
