"""``medunet infer``: a bundle's ``inference.yaml`` on files or folders, one prediction each.

Microscopy: ``OUT/<name>_labels.tif`` (instances) and ``OUT/<name>_prob.tif``; CT/MRI:
``OUT/<name>_seg.nii.gz`` on the input's own grid and affine. A model trained by
``medunet train`` brings its run's presets and ``--set`` overrides (``run.json``), so the
network and preprocessing match the training without repeating them.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from monai.bundle import ConfigParser

from medunet.cli.bundles import (
    Bundle,
    parse_overrides,
    read_configs,
    read_run,
    resolve_bundle,
    resolve_preset,
    run_workflow,
)
from medunet.cli.train import add_bundle_options, device_override
from medunet.data.datalist import case_name, find_images

__all__ = ["add_parser", "list_inputs", "model_settings", "run_inference"]

logger = logging.getLogger(__name__)

EXAMPLE = """examples:
  medunet infer unet2015_microscopy cells/*.tif --model runs/cells/models/model.pt --output preds
  medunet infer unet2015_ct_mri scans/ --model runs/ct/models/model.pt --output segs --tta
"""


def _suffixes(parser: ConfigParser) -> list[str]:
    """The image extensions the bundle lists (its ``suffixes``; microscopy: TIFF and PNG)."""
    return list(parser["suffixes"]) if "suffixes" in parser else [".tif", ".tiff", ".png"]


def list_inputs(inputs: Sequence[str | Path], suffixes: Sequence[str]) -> list[dict]:
    """A datalist ``[{"image": path or [channel paths]}]`` of files and folders.

    A folder contributes its images (files with ``suffixes``; with ``"/"`` among them, also
    sub-folders as DICOM series); a folder with none of those is itself one DICOM series when
    ``"/"`` is allowed. nnU-Net ``_0000`` channel files of one case are grouped.
    """
    files: list[Path] = []
    items: list[dict] = []
    for raw in inputs:
        path = Path(raw).expanduser()
        if not path.exists():
            raise ValueError(f"{raw} does not exist; give image files or folders of images.")
        if path.is_file():
            if not path.name.lower().endswith(tuple(s for s in suffixes if s != "/")):
                raise ValueError(
                    f"{raw}: this bundle reads {[s for s in suffixes if s != '/']} files, not "
                    f"{path.suffix or 'files without extension'}; convert it or use the "
                    "other bundle."
                )
            files.append(path)
            continue
        found = find_images(path, suffixes)
        if found:
            items.extend({"image": p[0] if len(p) == 1 else p} for p in found.values())
        elif "/" in suffixes and any(f.is_file() for f in path.iterdir()):
            items.append({"image": str(path)})  # the folder is one DICOM series
        else:
            raise ValueError(
                f"{raw}: no images found (extensions {[s for s in suffixes if s != '/']})."
            )
    if files:
        groups: dict[str, list[str]] = {}
        for path in sorted(files):
            groups.setdefault(case_name(path)[0], []).append(str(path))
        items.extend({"image": p[0] if len(p) == 1 else p} for p in groups.values())
    return items


def model_settings(bund: Bundle, model: Path, presets: Sequence[Path], settings: Sequence[str]):
    """Config files, their merged config and the overrides: the run's (``run.json`` beside the
    model), then the user's."""
    run = read_run(model)
    preset_files = [Path(p) for p in (run or {}).get("presets", [])]
    preset_files += [p for p in presets if p not in preset_files]
    config_files = [bund.config("inference"), *preset_files]
    parser = read_configs(config_files)
    overrides = {k: v for k, v in (run or {}).get("set", {}).items() if k in parser}
    overrides.update(parse_overrides(settings, parser))
    return config_files, parser, overrides


def run_inference(
    bundle: str | Path,
    inputs: Sequence[str | Path],
    output: str | Path,
    model: str | Path | None = None,
    tta: str | None = None,
    overwrite: bool = False,
    device: str | None = None,
    presets: Sequence[str] = (),
    settings: Sequence[str] = (),
) -> Path:
    """Predict every input with ``bundle`` into the folder ``output``; returns ``output``.

    Raises:
        ValueError: missing inputs, files the bundle cannot read, or no trained model (the
            message says where it looked and how to train one).
    """
    bund = resolve_bundle(bundle)
    model_path = Path(model).expanduser().resolve() if model else bund.root / "models" / "model.pt"
    if not model_path.is_file():
        raise ValueError(
            f"no trained model at {model_path}; train one with `medunet train {bund.name} "
            "--data DIR --output RUN` and pass --model RUN/models/model.pt."
        )
    config_files, parser, overrides = model_settings(
        bund, model_path, [resolve_preset(p) for p in presets], settings
    )
    datalist = list_inputs(inputs, _suffixes(parser))
    out = Path(output).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    workflow_overrides = {
        **overrides,
        **device_override(device),
        "bundle_root": str(bund.root),
        "ckpt_path": str(model_path),
        "output_dir": str(out),
        "datalist": datalist,
        "overwrite": overwrite,
    }
    if "ckpt_dir" in parser:  # CT/MRI: spacing.json beside the model
        workflow_overrides["ckpt_dir"] = str(model_path.parent)
    if tta is not None:
        workflow_overrides["tta"] = tta
    logger.info("predicting %d input(s) with %s and %s", len(datalist), bund.name, model_path)
    run_workflow(config_files, workflow_overrides, bund.meta_file)
    return out


def _run(args: argparse.Namespace) -> int:
    out = run_inference(
        args.bundle,
        args.inputs,
        args.output,
        model=args.model,
        tta=args.tta,
        overwrite=args.overwrite,
        device=args.device,
        presets=args.preset,
        settings=args.set,
    )
    print(f"predictions in {out}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "infer",
        help="segment images with a trained bundle",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "bundle", help="bundle folder or shipped name (unet2015_microscopy, unet2015_ct_mri)"
    )
    p.add_argument("inputs", nargs="+", help="image files or folders of images")
    p.add_argument("--output", required=True, help="folder for the predictions")
    p.add_argument("--model", default=None, help="model.pt (default: the bundle's models/model.pt)")
    p.add_argument(
        "--tta",
        nargs="?",
        const="flips",
        default=None,
        choices=("flips", "rot90"),
        help="test-time augmentation: flips (default when given) or rot90 (8 symmetries, 2D)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing predictions")
    add_bundle_options(p)
    p.set_defaults(func=_run)
