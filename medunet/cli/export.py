"""``medunet export``: a trained model as TorchScript, ONNX, or a standalone MONAI bundle.

``--format torchscript`` (default) writes the network with its weights (MONAI's
``ckpt_export``); ``--format onnx`` as ONNX with dynamic tile sizes, checked against
PyTorch (``medunet infer --model FILE.onnx`` runs it on ONNX Runtime; needs pip install
'medunet[onnx]'); ``--format bundle`` writes a model-zoo bundle folder: the run's presets
and overrides merged into its configs, ``models/model.pt`` (with the run's post-processing
and spacing files), metadata with version, changelog and the run's validation scores,
``docs/README.md``, ``LICENSE`` (and ``models/model.onnx`` with medunet[onnx]), runnable
from any folder with ``python -m monai.bundle run --config_file DIR/configs/inference.yaml
--bundle_root DIR``. Either is written beside
its final name and renamed when complete.
"""

from __future__ import annotations

import argparse

from medunet.bundle import export_bundle, export_onnx, export_torchscript
from medunet.cli.options import add_bundle_options, bundle_argument

__all__ = ["add_parser"]

EXAMPLE = """examples:
  medunet export unet2015_microscopy --model runs/cells/models/model.pt --output cells.ts
  medunet export unet2015_microscopy --model runs/cells/models/model.pt --format bundle \\
      --output cells_bundle
  medunet export unet2015_microscopy --model runs/cells/models/model.pt --format onnx \\
      --output runs/cells/models/model.onnx
"""


def _run(args: argparse.Namespace) -> int:
    if args.format == "bundle":
        out = export_bundle(
            args.bundle, args.model, args.output, args.preset, args.set, args.overwrite
        )
        print(f"bundle: {out}\nrun it: python -m monai.bundle run --config_file "
              f"{out}/configs/inference.yaml --bundle_root {out} --dataset_dir DATA "
              "--output_dir OUT")  # fmt: skip
        return 0
    if args.format == "onnx":
        out = export_onnx(args.bundle, args.model, args.output, args.preset, args.set,
                          args.overwrite)  # fmt: skip
        print(f"ONNX model: {out}\nrun it: medunet infer {args.bundle} IMAGES --model {out} "
              "--output OUT")  # fmt: skip
        return 0
    out = export_torchscript(
        args.bundle, args.model, args.output, args.preset, args.set, args.overwrite
    )
    print(f"TorchScript model: {out}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a trained model as TorchScript, ONNX or a standalone bundle",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bundle_argument(p)
    p.add_argument("--model", required=True, help="model.pt of a training run")
    p.add_argument(
        "--output",
        required=True,
        help="TorchScript file (*.ts), ONNX file (*.onnx) or bundle folder",
    )
    p.add_argument(
        "--format",
        choices=("torchscript", "onnx", "bundle"),
        default="torchscript",
        help="torchscript (default), onnx, or bundle (a standalone MONAI bundle folder)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    add_bundle_options(p, device=False)
    p.set_defaults(func=_run)
