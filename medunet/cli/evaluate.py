"""``medunet evaluate``: scores of a folder of predictions against a folder of true labels.

Files are paired by case name: a prediction ``<case>_labels.tif`` / ``<case>_seg.nii.gz`` /
``<case>.tif`` matches the truth ``<case>.<ext>`` (``_prob`` files are skipped). Microscopy
images get the instance scores (foreground IoU, Dice, pixel, Rand and warping error, the
Rand error after border thinning (ISBI 2012's final score), AP@0.5/0.75, merged and split
objects); volumes get per-class Dice and the 95% Hausdorff distance in mm, with the metrics
the bundles validate with. One row per case plus the mean.

``--truth-instances connected_components`` scores binary truths (EM: 255 = cell, 0 =
membrane) by their connected components, as the microscopy bundle trains with
``label_instances: connected_components``; the default is what the ``--model`` run's (or
``--preset``'s) ``label_instances`` says, else ``labels`` (the values are the objects).
"""

from __future__ import annotations

import argparse

from medunet.bundle import run_setting
from medunet.metrics.folders import evaluate_folders, format_table, write_csv
from medunet.transforms.instances import INSTANCE_MODES

__all__ = ["add_parser"]

EXAMPLE = """examples:
  medunet evaluate --pred preds/ --truth DIR/labelsTs --output scores.csv
  medunet evaluate --pred em_preds/ --truth EM/labelsTs --truth-instances connected_components
"""


def _run(args: argparse.Namespace) -> int:
    mode = args.truth_instances or run_setting(
        "label_instances", args.model, args.preset, default="labels"
    )
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
