"""Scores of a folder of predictions against a folder of true labels (``medunet evaluate``).

Files are paired by case name: a prediction ``<case>_labels.tif`` / ``<case>_seg.nii.gz`` /
``<case>.tif`` matches the truth ``<case>.<ext>`` (``_prob`` files are skipped). Microscopy
images get the instance scores of :func:`~medunet.metrics.segmentation_scores`; volumes get
per-class Dice and 95% Hausdorff distance in mm from :class:`~medunet.metrics.VolumeScore`,
the metric the CT/MRI bundle validates with. One row per case plus the mean.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from medunet.data.datalist import case_name
from medunet.data.images import VOLUME_SUFFIXES, is_volume, read_label_image
from medunet.data.io import atomic_path
from medunet.data.microscopy import MICROSCOPY_SUFFIXES
from medunet.metrics.metric import segmentation_scores
from medunet.metrics.volume import VolumeScore
from medunet.transforms.instances import INSTANCE_MODES, label_components

__all__ = ["evaluate_folders", "format_table", "volume_scores", "write_csv"]

logger = logging.getLogger(__name__)

PRED_POSTFIXES = ("_labels", "_seg", "_pred", "_prediction")
SKIP_POSTFIXES = ("_prob", "_probability")


def _cases(folder: Path, what: str, postfixes: Sequence[str] = ()) -> dict[str, Path]:
    if not folder.is_dir():
        raise ValueError(
            f"--{what} {folder} is not a folder; give the folder of {what} label images."
        )
    cases: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or not path.name.lower().endswith(
            MICROSCOPY_SUFFIXES + VOLUME_SUFFIXES
        ):
            continue
        name = case_name(path)[0]
        if name.endswith(SKIP_POSTFIXES):
            continue
        for post in postfixes:
            if name.endswith(post):
                name = name[: -len(post)]
                break
        if name in cases:
            raise ValueError(
                f"{path} and {cases[name]} are both case {name!r} in --{what}; keep one."
            )
        cases[name] = path
    if not cases:
        raise ValueError(
            f"--{what} {folder}: no label images ({list(MICROSCOPY_SUFFIXES + VOLUME_SUFFIXES)})."
        )
    return cases


def volume_scores(
    pred: np.ndarray, truth: np.ndarray, spacing: Sequence[float]
) -> dict[str, float]:
    """``dice_c`` and ``hd95_c`` (in the units of ``spacing``) of every foreground class ``c``
    of two class maps, computed by :class:`~medunet.metrics.VolumeScore`."""
    num_classes = int(max(pred.max(initial=0), truth.max(initial=0))) + 1
    onehot = torch.nn.functional.one_hot(torch.as_tensor(pred).long(), num_classes)
    y_pred = onehot.movedim(-1, 0)[None].float()
    y = torch.as_tensor(truth)[None, None].float()
    out: dict[str, float] = {}
    for name in ("dice", "hd95"):
        values = VolumeScore(name, spacing=spacing)(y_pred, y)[0]
        out.update({f"{name}_{c}": float(v) for c, v in enumerate(values.tolist(), start=1)})
    order = [f"{n}_{c}" for c in range(1, num_classes) for n in ("dice", "hd95")]
    return {k: out[k] for k in order}


def evaluate_folders(
    pred_dir: str | Path, truth_dir: str | Path, truth_instances: str = "labels"
) -> list[dict]:
    """``[{"case": name, score: value, ...}, ..., {"case": "mean", ...}]`` for every case of
    ``truth_dir`` (a case without a prediction is an error naming it).

    Args:
        truth_instances: ``"labels"`` (each truth value is an object) or
            ``"connected_components"`` (the objects of microscopy truths are the connected
            components of their foreground, e.g. binary EM labels).
    """
    if truth_instances not in INSTANCE_MODES:
        raise ValueError(
            f"--truth-instances {truth_instances}: choose one of {', '.join(INSTANCE_MODES)}."
        )
    preds = _cases(Path(pred_dir), "pred", PRED_POSTFIXES)
    truths = _cases(Path(truth_dir), "truth")
    missing = sorted(set(truths) - set(preds))
    if missing:
        raise ValueError(
            f"--pred {pred_dir} has no prediction for {len(missing)} case(s) of --truth, e.g. "
            f"{missing[0]!r}; predict them or remove them from --truth."
        )
    rows = []
    for case, truth_path in truths.items():
        pred, pmeta = read_label_image(preds[case])
        truth, tmeta = read_label_image(truth_path)
        if pred.shape != truth.shape:
            raise ValueError(
                f"{preds[case]} has shape {pred.shape} but {truth_path} has {truth.shape}; "
                "predict on the same image grid as the labels."
            )
        if pmeta["affine"] is not None and tmeta["affine"] is not None:
            if not np.allclose(pmeta["affine"], tmeta["affine"], atol=1e-3):
                raise ValueError(
                    f"{preds[case]} and {truth_path} have different affines "
                    f"({np.round(pmeta['affine'], 3).tolist()} vs "
                    f"{np.round(tmeta['affine'], 3).tolist()}); "
                    "compare predictions on the labels' own grid."
                )
        if is_volume(truth_path):
            scores = volume_scores(pred, truth, tmeta["spacing"])
        else:
            objects = label_components(truth, truth_instances)
            if truth_instances == "labels" and len(np.unique(truth)) == 2:
                if label_components(truth).max() > 1:
                    logger.warning(
                        "%s is binary: scored as one object; if its objects are the connected "
                        "components, pass --truth-instances connected_components",
                        truth_path,
                    )
            scores = segmentation_scores(pred, objects)
        rows.append({"case": case, **scores})
    names = list(dict.fromkeys(k for r in rows for k in r if k != "case"))
    mean = {"case": "mean"}
    for n in names:
        values = [r[n] for r in rows if n in r and not math.isnan(r[n])]
        mean[n] = float(np.mean(values)) if values else math.nan
    return [*rows, mean]


def format_table(rows: list[dict]) -> str:
    """A plain-text table of ``rows`` (cases down, scores across)."""
    names = list(dict.fromkeys(k for r in rows for k in r))
    cells = [names] + [
        [r.get(n, "") if n == "case" else _fmt(r.get(n, math.nan)) for n in names] for r in rows
    ]
    widths = [max(len(str(row[i])) for row in cells) for i in range(len(names))]
    return "\n".join(
        "  ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells
    )


def _fmt(value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.4f}"


def write_csv(rows: list[dict], path: str | Path, overwrite: bool = False) -> Path:
    """Write ``rows`` as CSV, atomically."""
    names = list(dict.fromkeys(k for r in rows for k in r))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=names)
    writer.writeheader()
    writer.writerows(rows)
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(buffer.getvalue())
    return Path(path)
