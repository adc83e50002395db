"""The demo: the 2015 recipe end to end on the embedded nuclei sample, on the CPU.

1. Boundary weight map (w0 = 10, sigma = 5) from the instance labels of the left half.
2. Training of a small valid :class:`~medunet.networks.UNet2015` on random mirror-padded
   tiles, with the paper's augmentation (coarse elastic deformation, shift/rotation, flips,
   gray values) applied to image, classes and weight map together, and the pixel-weighted
   cross-entropy on the network's (smaller) output.
3. Overlap-tile inference on the held-out right half.
4. Foreground Dice and object counts (touching nuclei must come out separated) against the
   real annotation; prediction, checkpoint and metrics are written atomically.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import tifffile
import torch
from monai.utils import set_determinism
from scipy import ndimage as ndi

from medunet.data import atomic_path, load_sample
from medunet.inferers import OverlapTileInferer
from medunet.losses import WeightedCrossEntropyLoss
from medunet.networks import UNet2015
from medunet.transforms import BoundaryWeightMap, InstanceToSemantic, paper_augmentations

__all__ = ["run_demo"]

logger = logging.getLogger(__name__)

DEMO_CHANNELS = (16, 32, 64, 128)
DEMO_OUTPUT_TILE = 100


def _dice(pred: np.ndarray, truth: np.ndarray) -> float:
    inter = np.logical_and(pred, truth).sum()
    total = pred.sum() + truth.sum()
    return float(2.0 * inter / total) if total else 1.0


def _count_objects(mask: np.ndarray, min_size: int = 15) -> int:
    labels, n = ndi.label(mask)
    sizes = np.bincount(labels.ravel())[1:]
    return int((sizes >= min_size).sum()) if n else 0


def run_demo(
    out_dir: str | Path = "runs/demo", steps: int = 60, seed: int = 0, overwrite: bool = False
) -> dict:
    """Run the demo and return its metrics (also written to ``out_dir/metrics.json``).

    Raises:
        FileExistsError: if ``out_dir`` already holds a checkpoint and ``overwrite`` is False.
    """
    if steps < 1:
        raise ValueError(f"--steps must be at least 1, got {steps}.")
    out = Path(out_dir)
    if (out / "model.pt").exists() and not overwrite:
        raise FileExistsError(
            f"{out / 'model.pt'} exists and would be overwritten; pass --out to a new folder "
            "or --overwrite."
        )
    set_determinism(seed=seed)
    image, instances = load_sample()
    half = image.shape[1] // 2
    train_img, train_inst = image[:, :half], instances[:, :half]
    test_img, test_inst = image[:, half:], instances[:, half:]

    start = time.perf_counter()
    weights = BoundaryWeightMap(w0=10.0, sigma=5.0)(train_inst[None])[0]
    classes = InstanceToSemantic()(train_inst[None])[0]
    logger.info(
        "weight map of %d training nuclei in %.2f s (max weight %.1f)",
        len(np.unique(train_inst)) - 1,
        time.perf_counter() - start,
        weights.max(),
    )

    net = UNet2015(2, 1, 2, channels=DEMO_CHANNELS)
    tile_in = net.input_size_for(DEMO_OUTPUT_TILE)
    tile_out, halo = net.output_size(tile_in), net.halo()
    logger.info("UNet2015 %s: tile %d -> %d, halo %d", DEMO_CHANNELS, tile_in, tile_out, halo)
    padded = {
        key: np.pad(arr, halo, mode="reflect")
        for key, arr in (("image", train_img), ("label", classes), ("weight", weights))
    }
    augment = paper_augmentations(
        keys=("image", "label", "weight"), mode=("bilinear", "nearest", "bilinear")
    )
    augment.set_random_state(seed)
    loss_fn = WeightedCrossEntropyLoss()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for step in range(steps):
        y0 = rng.integers(0, train_img.shape[0] - tile_out + 1)
        x0 = rng.integers(0, train_img.shape[1] - tile_out + 1)
        window = (slice(y0, y0 + tile_in), slice(x0, x0 + tile_in))
        sample = {
            key: torch.from_numpy(np.ascontiguousarray(arr[window], dtype=np.float32))[None]
            for key, arr in padded.items()
        }
        sample = augment(sample)
        logits = net(sample["image"][None].float())
        loss = loss_fn(logits, sample["label"][None], sample["weight"][None])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 20 == 0 or step == steps - 1:
            logger.info("step %d/%d weighted CE %.4f", step + 1, steps, loss.item())
    train_s = time.perf_counter() - start

    net.eval()
    with torch.no_grad():
        logits = OverlapTileInferer(roi_size=tile_in)(torch.from_numpy(test_img)[None, None], net)
    prob = torch.softmax(logits, dim=1)[0, 1].numpy()
    pred = prob > 0.5
    metrics = {
        "steps": steps,
        "train_seconds": round(train_s, 1),
        "test_dice": round(_dice(pred, test_inst > 0), 4),
        "test_objects_true": len(np.unique(test_inst)) - 1,
        "test_objects_predicted": _count_objects(pred),
    }
    with atomic_path(out / "prediction.tif") as tmp:
        tifffile.imwrite(tmp, prob.astype(np.float32))
    with atomic_path(out / "model.pt") as tmp:
        torch.save(net.state_dict(), tmp)
    with atomic_path(out / "metrics.json") as tmp:
        tmp.write_text(json.dumps(metrics, indent=2))
    logger.info(
        "demo done: held-out Dice %.3f, %d of %d nuclei found as separate objects; outputs in %s",
        metrics["test_dice"],
        metrics["test_objects_predicted"],
        metrics["test_objects_true"],
        out,
    )
    return metrics
