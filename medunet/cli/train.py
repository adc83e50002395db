"""``medunet train``: a bundle's training config on a dataset folder, into a run folder.

The dataset is checked first (as ``medunet check`` does): a problem is reported before any
file is written. Unless a dataset preset (``isbi2012_em``, a ``plan.yaml``...) or
``--no-plan`` says otherwise, the run is then planned from the data (as ``medunet plan``
shows: object sizes, gaps, touching pairs, intensities -> weight map, network, tiles,
post-processing, validation), written as ``plan.yaml`` and ``fingerprint.json`` in the run
folder and layered under the given presets and ``--set`` values, which win. The run folder
then holds everything of one training run:
``models/model.pt`` (best validation score), ``models/checkpoint.pt`` (every epoch, for
``--resume``), ``models/postprocess.json`` (microscopy: thresholds chosen on validation),
``models/spacing.json`` (CT/MRI), ``tensorboard/``, ``cache/``, ``config.json`` (the merged
config, runnable again by ``python -m monai.bundle run --config_file RUN/config.json``) and
``run.json`` (bundle, presets (the plan first) and ``--set`` overrides, reused by
``--resume``, ``medunet infer`` and ``export``).
"""

from __future__ import annotations

import argparse

from medunet.bundle import run_training
from medunet.cli.logs import cli_log_policy
from medunet.cli.options import (
    add_bundle_options,
    bundle_argument,
    positive_float,
    positive_int,
    show_progress,
)

__all__ = ["add_parser"]

EXAMPLE = """examples:
  medunet train unet2015_microscopy --data DIR --output runs/cells --time-budget 300
  medunet train unet2015_microscopy --data DIR --output runs/cells2 --preset runs/cells/plan.yaml
  medunet train unet2015_microscopy --data DIR --output runs/cells --epochs 30 \\
      --preset quick_cpu_microscopy --set w0=5
  medunet train unet2015_microscopy --data EM --output runs/em --preset isbi2012_em \\
      --preset quick_cpu_em --time-budget 300
  DIR holds imagesTr/ and labelsTr/ (same names), or give a MONAI datalist JSON as --data.
"""


def _run(args: argparse.Namespace) -> int:
    model = run_training(
        args.bundle,
        args.data,
        args.output,
        epochs=args.epochs,
        resume=args.resume,
        overwrite=args.overwrite,
        device=args.device,
        presets=args.preset,
        settings=[*args.set, *(["plan=false"] if args.no_plan else [])],
        progress=show_progress(args),
        time_budget=args.time_budget,
        seed=args.seed,
        log_policy=cli_log_policy,
    )
    print(f"trained model: {model}\nrun folder: {model.parent.parent}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a bundle on your images",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bundle_argument(p)
    p.add_argument("--data", required=True, help="imagesTr/labelsTr folder or datalist JSON")
    p.add_argument("--output", required=True, help="run folder (checkpoints, logs, config)")
    p.add_argument(
        "--epochs", type=positive_int, default=None, help="epochs (default: the bundle's)"
    )
    p.add_argument(
        "--time-budget",
        type=positive_float,
        default=None,
        metavar="SECONDS",
        help="train for this long: stop after the epoch that crosses it, learning-rate "
        "schedule fitted to it (--epochs then only caps the epochs)",
    )
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the bundle's)")
    p.add_argument("--resume", action="store_true", help="continue the run in --output")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier run in --output")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--no-plan",
        action="store_true",
        help="use the bundle and presets as written, without a plan from the data",
    )
    add_bundle_options(p)
    p.set_defaults(func=_run)
