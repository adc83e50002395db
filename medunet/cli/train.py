"""``medunet train``: a bundle's ``train.yaml`` on a dataset folder, into a run folder.

The run folder holds everything of one training run: ``models/model.pt`` (best validation
score), ``models/checkpoint.pt`` (every epoch, for ``--resume``), ``models/spacing.json``
(CT/MRI), ``tensorboard/``, ``cache/``, ``config.json`` (the merged config, runnable again by
``python -m monai.bundle run --config_file RUN/config.json``) and ``run.json`` (bundle,
presets and ``--set`` overrides, reused by ``--resume``, ``medunet infer`` and ``export``).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from medunet.cli.bundles import (
    parse_overrides,
    read_configs,
    read_run,
    resolve_bundle,
    resolve_preset,
    run_workflow,
    write_run,
)

__all__ = ["add_parser", "device_override", "run_training"]

logger = logging.getLogger(__name__)

#: the epoch cap of a ``--time-budget`` run without ``--epochs``: the budget decides
BUDGET_MAX_EPOCHS = 10000

EXAMPLE = """example:
  medunet train unet2015_microscopy --data DIR --output runs/cells --epochs 30 \\
      --preset quick_cpu_microscopy --set w0=5
  DIR holds imagesTr/ and labelsTr/ (same names), or give a MONAI datalist JSON as --data.
"""


def device_override(device: str | None) -> dict[str, Any]:
    """The ``device`` override for ``--device cpu|cuda`` (nothing: the bundle's default)."""
    if device is None:
        return {}
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ValueError(f"--device {device}: no CUDA device is available; use --device cpu.")
    return {"device": f"$torch.device('{device}')"}


def data_overrides(data: str | Path) -> dict[str, Any]:
    """``dataset_dir`` (a folder) or ``datalist`` + ``dataset_dir`` (a JSON file) for ``--data``."""
    path = Path(data).expanduser().resolve()
    if path.is_dir():
        return {"dataset_dir": str(path)}
    if path.is_file() and path.suffix.lower() == ".json":
        return {"datalist": str(path), "dataset_dir": str(path.parent)}
    if path.exists():
        raise ValueError(
            f"--data {data}: expected a folder with imagesTr/ and labelsTr/ or a datalist .json."
        )
    raise ValueError(f"--data {data} does not exist; give the dataset folder or datalist JSON.")


def run_training(
    bundle: str | Path,
    data: str | Path,
    output: str | Path,
    epochs: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    device: str | None = None,
    presets: Sequence[str] = (),
    settings: Sequence[str] = (),
    progress: bool = True,
    time_budget: float | None = None,
    seed: int | None = None,
) -> Path:
    """Train ``bundle`` on ``data`` into the run folder ``output``; returns its ``models/model.pt``.

    With ``time_budget`` (seconds) training stops after the epoch that crosses it and the
    learning-rate schedule is fitted to it (:class:`medunet.engines.TimeBudget`); ``epochs``
    then only caps the number of epochs.

    Raises:
        ValueError: bad options or data, with the option and the fix.
        FileExistsError: ``output`` holds an earlier run and neither ``resume`` nor
            ``overwrite`` was given.
    """
    run_dir = Path(output).expanduser().resolve()
    checkpoint = run_dir / "models" / "checkpoint.pt"
    if resume and overwrite:
        raise ValueError(
            "--resume continues the run in --output and --overwrite replaces it; pick one."
        )
    if resume and not checkpoint.is_file():
        raise ValueError(f"--resume: {checkpoint} does not exist; train without --resume first.")
    if checkpoint.is_file() and not (resume or overwrite):
        raise FileExistsError(
            f"{run_dir} holds an earlier run ({checkpoint.name}); pass --resume to continue it, "
            "--overwrite to replace it, or another --output."
        )
    if epochs is not None and epochs < 1:
        raise ValueError(f"--epochs must be at least 1, got {epochs}.")
    if time_budget is not None and not time_budget > 0:
        raise ValueError(f"--time-budget must be a positive number of seconds, got {time_budget}.")
    bund = resolve_bundle(bundle)
    preset_files = [resolve_preset(p) for p in presets]
    previous = read_run(checkpoint) if resume else None
    if previous is not None:  # the same recipe as the run being continued
        preset_files = [Path(p) for p in previous["presets"]] + [
            p for p in preset_files if str(p) not in previous["presets"]
        ]
    config_files = [bund.config("train"), *preset_files]
    overrides = parse_overrides(settings, read_configs(config_files))
    if previous is not None:
        overrides = {**previous["set"], **overrides}
    if epochs is not None:
        overrides["max_epochs"] = epochs
    if time_budget is not None:
        overrides["time_budget"] = float(time_budget)
        overrides.setdefault("max_epochs", BUDGET_MAX_EPOCHS)
    if seed is not None:
        overrides["seed"] = int(seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_run(run_dir, bund, preset_files, overrides)
    workflow_overrides = {
        **overrides,
        **data_overrides(data),
        **device_override(device),
        "bundle_root": str(bund.root),
        "ckpt_dir": str(run_dir / "models"),
        "output_dir": str(run_dir),
        "cache_dir": str(run_dir / "cache"),
        "resume": resume,
        "overwrite": overwrite,
        "show_progress": progress,
    }
    logger.info(
        "training %s into %s (config: %s)", bund.name, run_dir, [str(f) for f in config_files]
    )
    run_workflow(
        config_files,
        workflow_overrides,
        bund.meta_file,
        run_dir / "config.json",
    )
    model = run_dir / "models" / "model.pt"
    logger.info("model: %s", model)
    return model


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
        settings=args.set,
        progress=not args.no_progress,
        time_budget=args.time_budget,
        seed=args.seed,
    )
    print(f"trained model: {model}\nrun folder: {model.parent.parent}")
    return 0


def add_bundle_options(parser: argparse.ArgumentParser) -> None:
    """``--preset``, ``--set`` and ``--device``, shared by train, infer and export."""
    parser.add_argument(
        "--preset",
        action="append",
        default=[],
        metavar="NAME|FILE",
        help="a config layered over the bundle's (configs/NAME.yaml or a YAML file); repeatable",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="ID=VALUE",
        help="override a config id (YAML value), e.g. --set w0=5 --set channels=[16,32,64]",
    )
    parser.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda if any)")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a bundle on your images",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "bundle", help="bundle folder or shipped name (unet2015_microscopy, unet2015_ct_mri)"
    )
    p.add_argument("--data", required=True, help="imagesTr/labelsTr folder or datalist JSON")
    p.add_argument("--output", required=True, help="run folder (checkpoints, logs, config)")
    p.add_argument("--epochs", type=int, default=None, help="epochs (default: the bundle's)")
    p.add_argument(
        "--time-budget",
        type=float,
        default=None,
        metavar="SECONDS",
        help="train for this long: stop after the epoch that crosses it, learning-rate "
        "schedule fitted to it (--epochs then only caps the epochs)",
    )
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the bundle's)")
    p.add_argument("--resume", action="store_true", help="continue the run in --output")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier run in --output")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_bundle_options(p)
    p.set_defaults(func=_run)
