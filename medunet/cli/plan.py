"""``medunet plan``: what a dataset is like and the settings the recipe derives from it.

Reads every labelled case once (the same checks as ``medunet check``), measures the
dataset's fingerprint (object sizes, gaps between neighbours, touching pairs, label kind,
intensities, spacing) and prints the plan ``medunet train`` would use: each setting with
its value and why. ``--output FILE`` writes it as a preset (``FILE``, and the fingerprint
as JSON beside it) to edit or reuse with ``--preset FILE``. Given presets and ``--set``
values win over the plan, as in ``medunet train``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from medunet.bundle import data_overrides, layer_config, plan_dataset, resolve_bundle, write_plan
from medunet.cli.options import add_bundle_options, bundle_argument, positive_float
from medunet.planning import fingerprint_lines, plan_table

__all__ = ["add_parser"]

EXAMPLE = """examples:
  medunet plan unet2015_microscopy --data DIR
  medunet plan unet2015_microscopy --data DIR --time-budget 300 --output my_plan.yaml
  medunet train unet2015_microscopy --data DIR --output runs/cells --preset my_plan.yaml
"""


def _run(args: argparse.Namespace) -> int:
    bundle = resolve_bundle(args.bundle)
    config = layer_config(bundle, "train", args.preset, args.set)
    device = args.device or ("cuda" if _cuda() else "cpu")
    out = Path(args.output).expanduser().resolve() if args.output else None
    if out is not None and out.exists() and not args.overwrite:
        raise FileExistsError(f"{out} exists; pass --overwrite or another --output.")
    planned = plan_dataset(config, data_overrides(args.data), device, args.time_budget)
    if not planned.report.ok:
        for line in planned.report.problems:
            print(f"medunet plan: {line}", file=sys.stderr)
        print(
            f"medunet plan: error: {len(planned.report.problems)} problem(s) in {args.data}; "
            "fix them and plan again (medunet check lists them; nothing was written).",
            file=sys.stderr,
        )
        return 2
    print(f"{args.data}: {bundle.name}, device {device}"
          + (f", time budget {args.time_budget:.0f} s" if args.time_budget else ""))  # fmt: skip
    for line in fingerprint_lines(planned.fingerprint):
        print(f"  {line}")
    print()
    for line in plan_table(planned.plan):
        print(line)
    for key, value in planned.kept.items():
        print(f"(left to the given presets / --set: {key}, planned {value!r})")
    if out is not None:
        written = write_plan(planned, out.parent, str(args.data), bundle.name)
        if written != out:
            written.replace(out)
            (out.parent / "fingerprint.json").replace(out.with_suffix(".fingerprint.json"))
        print(f"\nplan: {out} (use it with --preset {out.name})")
    return 0


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plan",
        help="the settings the recipe derives from a dataset",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bundle_argument(p)
    p.add_argument("--data", required=True, help="imagesTr/labelsTr folder or datalist JSON")
    p.add_argument(
        "--time-budget",
        type=positive_float,
        default=None,
        metavar="SECONDS",
        help="training seconds",
    )
    p.add_argument("--output", default=None, help="write the plan as a preset YAML file")
    p.add_argument("--overwrite", action="store_true", help="replace --output if it exists")
    add_bundle_options(p)
    p.set_defaults(func=_run)
