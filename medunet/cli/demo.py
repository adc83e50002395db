"""``medunet demo``: the microscopy bundle on the embedded real nuclei image, end to end.

The same code path as ``medunet train`` and ``medunet infer``
(:func:`medunet.bundle.run_demo`): the left half of the embedded image is planned from its
objects (``run/plan.yaml``) and trains the microscopy bundle, overlap-tile inference
segments the held-out right half, which is scored against its annotation; figures and
metrics go to the output folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from medunet.bundle.demo import DEFAULT_TIME_BUDGET, DEMO_OUTPUTS, run_demo
from medunet.cli.logs import cli_log_policy
from medunet.cli.options import positive_float, positive_int, show_progress
from medunet.metrics.folders import format_table

__all__ = ["add_parser"]


def _run(args: argparse.Namespace) -> int:
    metrics = run_demo(
        args.output,
        args.steps,
        args.overwrite,
        args.device,
        show_progress(args),
        seed=args.seed,
        time_budget=args.time_budget,
        log_policy=cli_log_policy,
    )
    skip = ("seed", "steps", "train_seconds", "total_seconds", "mean_ap", "f1_50")
    names = [k for k in metrics if isinstance(metrics[k], float | int) and k not in skip]
    print(format_table([{"case": "nuclei_right", **{k: float(metrics[k]) for k in names}}]))
    out = Path(args.output).expanduser().resolve()
    print(f"demo done in {metrics['total_seconds']:.0f} s; outputs:")
    for name in DEMO_OUTPUTS:
        print(f"  {out / name}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="train and segment the embedded nuclei image (minutes on a CPU)",
        description=__doc__,
        epilog="example:\n  medunet demo --output runs/demo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--output", "--out", default="runs/demo", help="output folder (default: runs/demo)"
    )
    p.add_argument(
        "--steps",
        type=positive_int,
        default=None,
        help="train on this many tiles instead (the same training on every machine; "
        "--steps 100 is a one-minute smoke run)",
    )
    p.add_argument(
        "--time-budget",
        type=positive_float,
        default=None,
        metavar="SECONDS",
        help=f"training seconds (default {DEFAULT_TIME_BUDGET:.0f} unless --steps is given: "
        "the quality benchmark's nuclei2d run)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed of the training (default 0)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier demo's outputs")
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda if any)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)
