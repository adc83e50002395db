"""``medunet export``: a trained bundle model as TorchScript, through MONAI's ``ckpt_export``.

The network is built from the bundle's ``inference.yaml`` with the run's presets and
``--set`` overrides (``run.json`` beside the model), so the exported file matches the
trained weights. Written to a temporary file and renamed: never a half-written ``.ts``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from monai.bundle import ckpt_export

from medunet.cli.bundles import resolve_bundle, resolve_preset
from medunet.cli.infer import model_settings
from medunet.cli.train import add_bundle_options
from medunet.data.io import atomic_path

__all__ = ["add_parser", "export_model"]

logger = logging.getLogger(__name__)

EXAMPLE = """example:
  medunet export unet2015_microscopy --model runs/cells/models/model.pt --output cells.ts
"""


def export_model(
    bundle: str | Path,
    model: str | Path,
    output: str | Path,
    presets=(),
    settings=(),
    overwrite: bool = False,
) -> Path:
    """TorchScript of ``bundle``'s ``network_def`` with the weights of ``model``."""
    bund = resolve_bundle(bundle)
    model_path = Path(model).expanduser().resolve()
    if not model_path.is_file():
        raise ValueError(
            f"--model {model} does not exist; train one with `medunet train {bund.name}`."
        )
    out = Path(output).expanduser()
    if out.suffix not in (".ts", ".pt"):
        raise ValueError(f"--output {output}: name the TorchScript file *.ts.")
    config_files, _, overrides = model_settings(
        bund, model_path, [resolve_preset(p) for p in presets], settings
    )
    overrides.pop("device", None)
    with atomic_path(out, overwrite=overwrite) as tmp:
        ckpt_export(
            net_id="network_def",
            filepath=str(tmp),
            ckpt_file=str(model_path),
            meta_file=str(bund.meta_file),
            config_file=[str(f) for f in config_files],
            key_in_ckpt="model" if _has_model_key(model_path) else None,
            **{**overrides, "bundle_root": str(bund.root)},
        )
    return out


def _has_model_key(model: Path) -> bool:
    import torch

    try:
        state = torch.load(model, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(
            f"{model} is not a PyTorch model file ({type(err).__name__}); pass RUN/models/model.pt."
        ) from err
    return isinstance(state, dict) and isinstance(state.get("model"), dict)


def _run(args: argparse.Namespace) -> int:
    out = export_model(args.bundle, args.model, args.output, args.preset, args.set, args.overwrite)
    print(f"TorchScript model: {out}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a trained model as TorchScript",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("bundle", help="bundle folder or shipped name")
    p.add_argument("--model", required=True, help="model.pt of a training run")
    p.add_argument("--output", required=True, help="TorchScript file (*.ts)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    add_bundle_options(p)
    p.set_defaults(func=_run)
