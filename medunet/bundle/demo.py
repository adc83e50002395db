"""The demo: the microscopy bundle on the embedded real nuclei image, end to end.

The same code path as ``medunet train`` and ``medunet infer``, and like them planned from
the data (no preset): the left half of the embedded image (512x256, 68 nuclei; 2018 Data
Science Bowl, CC0) is measured (:mod:`medunet.planning`: objects about 24 px across, many
touching), the plan chooses the network, weight map, border class and post-processing, and
the microscopy bundle trains on it (the last fifth of it validates and calibrates);
overlap-tile inference segments the held-out right half (columns 256-511, 57 nuclei), which
is then scored against its annotation. Writes to DIR:

- ``prediction_labels.tif`` (instance labels, 512x256) and ``probability.tif``;
- ``overlay.png`` (predicted and true contours, merges and splits marked), ``weight_map.png``
  (the training labels' boundary weight map), ``training_curve.png`` (loss, validation AP);
- ``metrics.json`` (foreground IoU, Dice, pixel/Rand/warping error, AP@0.5/0.75, merged,
  split nuclei); ``data/`` (the split as a dataset) and ``run/`` (the training run, with
  its ``plan.yaml`` and ``fingerprint.json``).
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
from pathlib import Path

from medunet.bundle.config import run_setting
from medunet.bundle.inference import run_inference
from medunet.bundle.training import run_training
from medunet.bundle.weightmap import weight_map_of_file
from medunet.bundle.workflow import LogPolicy
from medunet.data.images import read_label_image
from medunet.data.io import atomic_path
from medunet.data.microscopy import read_microscopy
from medunet.data.sample import write_sample_split
from medunet.metrics import segmentation_scores
from medunet.visualize import overlay_png, read_scalars, training_curve_png, weight_map_png

__all__ = ["DEFAULT_TIME_BUDGET", "DEMO_OUTPUTS", "run_demo"]

BUNDLE = "unet2015_microscopy"
#: the demo trains for this long by default: the quality benchmark's nuclei2d budget, so
#: the README's table (benchmarks/bench_quality.py) is what ``medunet demo`` gives
DEFAULT_TIME_BUDGET = 300.0
STEPS_PER_EPOCH = 100
DEMO_OUTPUTS = (
    "prediction_labels.tif",
    "probability.tif",
    "overlay.png",
    "weight_map.png",
    "training_curve.png",
    "metrics.json",
)


def run_demo(
    output: str | Path = "runs/demo",
    steps: int | None = None,
    overwrite: bool = False,
    device: str | None = None,
    progress: bool = True,
    seed: int = 0,
    time_budget: float | None = None,
    log_policy: LogPolicy | None = None,
) -> dict:
    """Train, predict, score and draw; returns the metrics (also in ``output/metrics.json``).

    Args:
        steps: training tiles (a fixed amount of training, the same on every machine);
            ``None``: as many as ``time_budget`` allows.
        time_budget: training seconds (:class:`medunet.engines.TimeBudget`); ``None`` with
            ``steps`` None: :data:`DEFAULT_TIME_BUDGET`. With ``steps`` both apply and the
            first reached ends training.
        seed: random seed of the training run (tiles, augmentation, initialisation).

    Raises:
        FileExistsError: ``output`` holds an earlier demo and ``overwrite`` is False.
    """
    if steps is not None and steps < 1:
        raise ValueError(f"--steps must be at least 1, got {steps}.")
    if time_budget is not None and not time_budget > 0:
        raise ValueError(f"--time-budget must be a positive number of seconds, got {time_budget}.")
    if steps is None and time_budget is None:
        time_budget = DEFAULT_TIME_BUDGET
    out = Path(output).expanduser().resolve()
    for name in (*DEMO_OUTPUTS, "run/models/checkpoint.pt"):
        if (out / name).exists() and not overwrite:
            raise FileExistsError(
                f"{out / name} exists from an earlier demo; pass --overwrite or another --output."
            )
    start = time.perf_counter()
    data = write_sample_split(out / "data", overwrite=True)
    epochs = math.ceil(steps / STEPS_PER_EPOCH) if steps is not None else None
    per_epoch = math.ceil(steps / epochs) if steps is not None else STEPS_PER_EPOCH
    model = run_training(
        BUNDLE,
        data,
        out / "run",
        epochs=epochs,
        overwrite=overwrite,
        device=device,
        settings=[f"iterations_per_epoch={per_epoch}", "val_interval=5"],
        progress=progress,
        time_budget=time_budget,
        seed=seed,
        log_policy=log_policy,
    )
    train_seconds = time.perf_counter() - start
    image_path, truth_path = data / "imagesTs/nuclei_right.tif", data / "labelsTs/nuclei_right.tif"
    with tempfile.TemporaryDirectory(dir=out, prefix=".predict-") as tmp:
        run_inference(
            BUNDLE,
            [image_path],
            tmp,
            model=model,
            device=device,
            log_policy=log_policy,
            progress=progress,
        )
        for produced, final in (("_labels", "prediction_labels.tif"), ("_prob", "probability.tif")):
            if (out / final).exists() and not overwrite:
                raise FileExistsError(f"{out / final} exists; pass --overwrite.")
            shutil.move(str(Path(tmp) / f"nuclei_right{produced}.tif"), out / final)
    pred, _ = read_label_image(out / "prediction_labels.tif")
    truth, _ = read_label_image(truth_path)
    scores = segmentation_scores(pred, truth)
    metrics = {
        "held_out": "right half of the embedded nuclei image (columns 256-511)",
        "nuclei_true": int(len(set(truth.ravel().tolist())) - 1),
        "nuclei_predicted": int(len(set(pred.ravel().tolist())) - 1),
        **{k: round(v, 4) for k, v in scores.items()},
        "seed": seed,
        "steps": _trained_steps(out / "run"),
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(time.perf_counter() - start, 1),
    }
    image = read_microscopy(image_path)[0][0]
    overlay_png(
        image,
        pred,
        truth,
        out / "overlay.png",
        title=(
            f"held-out half: AP@0.5 {scores['ap50']:.3f}, IoU {scores['foreground_iou']:.3f}, "
            f"merged {scores['merged']:.0f}, split {scores['split']:.0f}"
        ),
        overwrite=overwrite,
    )
    w0 = float(run_setting("w0", model, default=10.0))
    sigma = float(run_setting("sigma", model, default=5.0))
    weights, _ = weight_map_of_file(data / "labelsTr/nuclei_left.tif", w0=w0, sigma=sigma)
    weight_map_png(
        weights,
        out / "weight_map.png",
        f"training labels: boundary weight map (planned w0={w0:g}, sigma={sigma:g})",
        overwrite,
    )
    training_curve_png(
        read_scalars(out / "run" / "tensorboard"),
        out / "training_curve.png",
        score_label="validation AP@0.5 (the held-out fifth of the training half)",
        overwrite=overwrite,
    )
    metrics["total_seconds"] = round(time.perf_counter() - start, 1)
    with atomic_path(out / "metrics.json", overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(metrics, indent=2))
    return metrics


def _trained_steps(run: Path) -> int:
    """Training iterations of the demo's run (from its checkpoint)."""
    import torch

    ckpt = torch.load(run / "models" / "checkpoint.pt", map_location="cpu", weights_only=False)
    return int(ckpt["trainer"]["iteration"])
