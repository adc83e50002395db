"""PNG figures of a run: weight-map heat map, prediction overlay, training curve.

Drawn with matplotlib's Agg backend and written atomically (a half-written PNG never exists
under the final name).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from medunet.data.io import atomic_path
from medunet.metrics.instances import match_instances

__all__ = ["overlay_png", "read_scalars", "training_curve_png", "weight_map_png"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path, overwrite: bool) -> Path:
    plt = _pyplot()
    with atomic_path(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def weight_map_png(
    weights: np.ndarray, path: str | Path, title: str = "", overwrite: bool = False
) -> Path:
    """A heat map of a 2D weight map ``(H, W)`` (3D: its middle slice) with a colour bar."""
    plt = _pyplot()
    w = np.asarray(weights, dtype=np.float32)
    if w.ndim == 3:
        w = w[w.shape[0] // 2]
    fig, ax = plt.subplots(figsize=(6, 6 * w.shape[0] / max(w.shape[1], 1) + 0.6))
    im = ax.imshow(w, cmap="inferno", interpolation="nearest")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="weight w(x)")
    ax.set_title(title or f"boundary weight map (max {w.max():.1f})")
    ax.axis("off")
    return _save(fig, path, overwrite)


def _contours(labels: np.ndarray) -> np.ndarray:
    """Pixels on an object's edge (where a neighbour has another id)."""
    edge = ndi.grey_dilation(labels, size=3) != ndi.grey_erosion(labels, size=3)
    return edge & (ndi.grey_dilation(labels, size=3) > 0)


def overlay_png(
    image: np.ndarray,
    pred: np.ndarray,
    truth: np.ndarray | None,
    path: str | Path,
    title: str = "",
    overwrite: bool = False,
) -> Path:
    """The image with predicted (yellow) and true (cyan) contours; predicted objects that
    merge several true ones are marked with a red ``M``, true objects split into several
    predictions with a magenta ``S`` (as :func:`~medunet.metrics.instances.match_instances`
    counts them). 2D ``(H, W)`` arrays."""
    plt = _pyplot()
    img = np.asarray(image, dtype=np.float32)
    lo, hi = np.percentile(img, (0.5, 99.5))
    rgb = np.repeat(np.clip((img - lo) / max(hi - lo, 1e-6), 0, 1)[..., None], 3, axis=2)
    if truth is not None:
        rgb[_contours(truth)] = (0.0, 1.0, 1.0)
    rgb[_contours(pred)] = (1.0, 0.9, 0.0)
    fig, ax = plt.subplots(figsize=(8, 8 * img.shape[0] / max(img.shape[1], 1)))
    ax.imshow(rgb, interpolation="nearest")
    if truth is not None:
        match = match_instances(pred, truth)
        marks = (
            ("M", "red", match["merging_ids"], pred),
            ("S", "magenta", match["split_ids"], truth),
        )
        for marker, colour, ids, labels in marks:
            for y, x in ndi.center_of_mass(np.ones_like(labels), labels, ids):
                ax.text(
                    x,
                    y,
                    marker,
                    color=colour,
                    fontsize=11,
                    fontweight="bold",
                    ha="center",
                    va="center",
                )
        ax.plot([], [], color=(1.0, 0.9, 0.0), label="predicted")
        ax.plot([], [], color=(0.0, 1.0, 1.0), label="true")
        ax.plot([], [], "s", color="red", label="M: merged")
        ax.plot([], [], "s", color="magenta", label="S: split")
        ax.legend(loc="lower right", fontsize=8, framealpha=0.7)
    ax.set_title(title)
    ax.axis("off")
    return _save(fig, path, overwrite)


def read_scalars(log_dir: str | Path) -> dict[str, list[tuple[int, float]]]:
    """``{tag: [(step, value), ...]}`` of the TensorBoard event files in ``log_dir``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def training_curve_png(
    scalars: dict[str, list[tuple[int, float]]],
    path: str | Path,
    loss_tag: str = "train_loss_epoch",
    score_tag: str = "val_ap50",
    score_label: str = "",
    overwrite: bool = False,
) -> Path:
    """Mean training loss per epoch and, when logged, the validation score per epoch."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    if scalars.get(loss_tag):
        steps, values = zip(*scalars[loss_tag], strict=True)
        ax.plot(steps, values, "o-", color="tab:blue", label="training loss (epoch mean)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("weighted cross-entropy", color="tab:blue")
    if scalars.get(score_tag):
        twin = ax.twinx()
        steps, values = zip(*scalars[score_tag], strict=True)
        twin.plot(
            steps, values, "s--", color="tab:orange", label=score_label or f"validation {score_tag}"
        )
        twin.set_ylabel(score_tag, color="tab:orange")
        twin.set_ylim(0, 1)
        lines = ax.get_lines() + twin.get_lines()
        twin.legend(lines, [ln.get_label() for ln in lines], loc="center right", fontsize=8)
    ax.set_title("training curve")
    ax.grid(alpha=0.3)
    if not any(math.isfinite(v) for _, v in scalars.get(loss_tag, [])):
        ax.text(0.5, 0.5, "no loss logged", transform=ax.transAxes, ha="center")
    return _save(fig, path, overwrite)
