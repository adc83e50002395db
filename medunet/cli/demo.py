"""The demo: the 2015 recipe end to end on the embedded nuclei sample, on the CPU.

Trains a small :class:`~medunet.networks.UNet2015` (valid convolutions) on random tiles of
the left half of the embedded image, predicts the right half, and reports the Dice score of
the foreground against the real annotation. Writes the prediction and a checkpoint.
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

from medunet.data import atomic_path, load_sample
from medunet.networks import UNet2015

__all__ = ["run_demo"]

logger = logging.getLogger(__name__)

DEMO_CHANNELS = (16, 32, 64, 128)
DEMO_OUTPUT_TILE = 100


def _dice(pred: np.ndarray, truth: np.ndarray) -> float:
    inter = np.logical_and(pred, truth).sum()
    total = pred.sum() + truth.sum()
    return float(2.0 * inter / total) if total else 1.0


def _predict_mirrored(net: UNet2015, image: np.ndarray) -> np.ndarray:
    """Foreground probability for a whole 2D image: mirror-pad by the halo, one forward."""
    halo = net.halo()
    out_shape = image.shape
    padded_out = tuple(net.output_size(net.input_size_for(s)) for s in out_shape)
    pad = [(halo, halo + p - s) for p, s in zip(padded_out, out_shape, strict=True)]
    x = np.pad(image, pad, mode="reflect")
    with torch.no_grad():
        logits = net(torch.from_numpy(x)[None, None])
    prob = torch.softmax(logits, dim=1)[0, 1].numpy()
    return prob[: out_shape[0], : out_shape[1]]


def run_demo(out_dir: str | Path = "runs/demo", steps: int = 60, seed: int = 0) -> dict:
    """Run the demo and return its metrics (also written to ``out_dir/metrics.json``)."""
    if steps < 1:
        raise ValueError(f"--steps must be at least 1, got {steps}.")
    set_determinism(seed=seed)
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    out = Path(out_dir)
    image, labels = load_sample()
    half = image.shape[1] // 2
    train_img, train_lab = image[:, :half], labels[:, :half]
    test_img, test_lab = image[:, half:], labels[:, half:]

    net = UNet2015(2, 1, 2, channels=DEMO_CHANNELS)
    tile_in = net.input_size_for(DEMO_OUTPUT_TILE)
    tile_out = net.output_size(tile_in)
    halo = net.halo()
    logger.info("UNet2015 %s: tile %d -> %d, halo %d", DEMO_CHANNELS, tile_in, tile_out, halo)
    padded_img = np.pad(train_img, halo, mode="reflect")
    fg = (train_lab > 0).astype(np.int64)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for step in range(steps):
        y0 = rng.integers(0, train_img.shape[0] - tile_out + 1)
        x0 = rng.integers(0, train_img.shape[1] - tile_out + 1)
        x = torch.from_numpy(padded_img[y0 : y0 + tile_in, x0 : x0 + tile_in].copy())[None, None]
        y = torch.from_numpy(fg[y0 : y0 + tile_out, x0 : x0 + tile_out].copy())[None]
        loss = torch.nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 20 == 0 or step == steps - 1:
            logger.info("step %d/%d loss %.4f", step + 1, steps, loss.item())
    train_s = time.perf_counter() - start

    net.eval()
    prob = _predict_mirrored(net, test_img)
    dice = _dice(prob > 0.5, test_lab > 0)
    metrics = {"steps": steps, "train_seconds": round(train_s, 1), "test_dice": round(dice, 4)}
    with atomic_path(out / "prediction.tif") as tmp:
        tifffile.imwrite(tmp, prob.astype(np.float32))
    with atomic_path(out / "model.pt") as tmp:
        torch.save(net.state_dict(), tmp)
    with atomic_path(out / "metrics.json") as tmp:
        tmp.write_text(json.dumps(metrics, indent=2))
    logger.info("demo done: foreground Dice on the held-out half %.3f; outputs in %s", dice, out)
    return metrics
