"""``medunet evaluate``: scores of a folder of predictions against a folder of true labels.

Files are paired by case name: a prediction ``<case>_labels.tif`` / ``<case>_seg.nii.gz`` /
``<case>.tif`` matches the truth ``<case>.<ext>`` (``_prob`` files are skipped). Microscopy
images get the instance scores of :func:`medunet.metrics.segmentation_scores` (foreground
IoU, Dice, pixel, Rand and warping error, AP@0.5/0.75, merged and split objects); volumes
get per-class Dice and the 95% Hausdorff distance in mm. One row per case plus the mean.

``--truth-instances connected_components`` scores binary truths (EM: 255 = cell, 0 =
membrane) by their connected components, as the microscopy bundle trains with
``label_instances: connected_components``; the default is what the ``--model`` run's (or
``--preset``'s) ``label_instances`` says, else ``labels`` (the values are the objects).
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from medunet.cli.images import MICROSCOPY_SUFFIXES, VOLUME_SUFFIXES, is_volume, read_label_image
from medunet.data.datalist import case_name
from medunet.data.io import atomic_path
from medunet.metrics import segmentation_scores
from medunet.transforms.instances import INSTANCE_MODES, label_components

__all__ = ["add_parser", "evaluate_folders", "format_table", "volume_scores"]

logger = logging.getLogger(__name__)

EXAMPLE = """examples:
  medunet evaluate --pred preds/ --truth DIR/labelsTs --output scores.csv
  medunet evaluate --pred em_preds/ --truth EM/labelsTs --truth-instances connected_components
"""
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
    """Per-class Dice and 95% Hausdorff distance (in the units of ``spacing``) of class maps."""
    from monai.metrics import compute_hausdorff_distance

    out: dict[str, float] = {}
    classes = sorted(set(np.unique(truth).tolist()) | set(np.unique(pred).tolist()) - {0})
    for c in classes:
        p, t = pred == c, truth == c
        total = p.sum() + t.sum()
        out[f"dice_{c}"] = float(2.0 * np.logical_and(p, t).sum() / total) if total else 1.0
        if p.any() and t.any():
            hd = compute_hausdorff_distance(
                p[None, None], t[None, None], percentile=95, spacing=list(spacing)
            )
            out[f"hd95_{c}"] = float(hd.item())
        else:
            out[f"hd95_{c}"] = math.nan
    return out


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


def truth_instances_setting(model: str | None, presets: Sequence[str]) -> str:
    """``label_instances`` of the ``--model`` run's config (its run.json presets and
    overrides) or of the ``--preset`` files; ``"labels"`` when neither says."""
    from medunet.cli.bundles import read_configs, read_run, resolve_preset

    files, overrides = [resolve_preset(p) for p in presets], {}
    if model is not None:
        run = read_run(Path(model).expanduser().resolve())
        if run is None:
            raise ValueError(
                f"--model {model}: no run.json beside it (is it from medunet train?); give "
                "--truth-instances instead."
            )
        files = [Path(p) for p in run.get("presets", [])] + files
        overrides = run.get("set", {})
    if "label_instances" in overrides:
        return str(overrides["label_instances"])
    parser = read_configs(files) if files else None
    if parser is not None and "label_instances" in parser:
        return str(parser["label_instances"])
    return "labels"


def _run(args: argparse.Namespace) -> int:
    mode = args.truth_instances or truth_instances_setting(args.model, args.preset)
    rows = evaluate_folders(args.pred, args.truth, mode)
    print(format_table(rows))
    if args.output:
        print(f"scores: {write_csv(rows, args.output, args.overwrite)}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score predictions against true labels",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--pred", required=True, help="folder of predicted label images")
    p.add_argument("--truth", required=True, help="folder of true label images")
    p.add_argument("--output", default=None, help="CSV file for the scores")
    p.add_argument(
        "--truth-instances",
        choices=INSTANCE_MODES,
        default=None,
        help="objects of the truth: its values (labels) or the connected components of its "
        "foreground (binary masks, EM); default: the --model run's or --preset's "
        "label_instances, else labels",
    )
    p.add_argument("--model", default=None, help="model.pt of a medunet train run (its settings)")
    p.add_argument(
        "--preset", action="append", default=[], metavar="NAME|FILE",
        help="a preset whose label_instances applies, e.g. isbi2012_em",
    )  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    p.set_defaults(func=_run)
