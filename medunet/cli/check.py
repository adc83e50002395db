"""``medunet check``: is a dataset ready for a bundle? Every problem at once, nothing written.

Lists the cases the bundle's training would use, compares image and label headers, then
reads every case through the bundle's own loading and checks: unreadable files, shapes,
pixel sizes and affines that differ between image and label, channel counts, NaN/Inf,
label values the model cannot hold (with the ``--set`` that fixes them), too few cases.
Each problem is one line naming the file; exit 2 when there are any, else exit 0 with a
summary (cases, sizes, spacing, classes or objects). ``medunet train`` runs the same check
before it writes anything.
"""

from __future__ import annotations

import argparse
import sys

from medunet.bundle import check_dataset, data_overrides, layer_config, resolve_bundle
from medunet.cli.options import add_bundle_options, bundle_argument

__all__ = ["add_parser"]

EXAMPLE = """examples:
  medunet check unet2015_microscopy --data DIR
  medunet check unet2015_ct_mri --data DIR --set num_classes=3 --set modality=MR
"""


def _run(args: argparse.Namespace) -> int:
    config = layer_config(resolve_bundle(args.bundle), "train", args.preset, args.set)
    report = check_dataset(config, data_overrides(args.data))
    if report.ok:
        print(f"{args.data}: ready for {config.bundle.name}: {report.summary()}")
        return 0
    for line in report.problems:
        print(f"medunet check: {line}", file=sys.stderr)
    print(
        f"medunet check: error: {len(report.problems)} problem(s) in {args.data}; fix them "
        "and check again (nothing was written).",
        file=sys.stderr,
    )
    return 2


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="check a dataset for a bundle before training",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bundle_argument(p)
    p.add_argument("--data", required=True, help="imagesTr/labelsTr folder or datalist JSON")
    add_bundle_options(p, device=False)
    p.set_defaults(func=_run)
