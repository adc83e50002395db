"""``medunet info``: versions, device, bundles and presets found, where things are; and, with
``--size``, the tile arithmetic of a UNet2015 configuration."""

from __future__ import annotations

import argparse
import os
import platform
from importlib import metadata

from medunet.bundle import bundle_dirs, list_bundles, list_presets, preset_dirs, resolve_bundle
from medunet.data.sample import sample_paths

__all__ = ["add_parser"]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment_report() -> str:
    """Versions, compute device, bundles, presets and paths, one fact a line."""
    import torch

    if torch.cuda.is_available():
        device = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        device = f"cuda ({device})"
    else:
        device = (
            f"cpu ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads; no CUDA device)"
        )
    lines = [
        f"medunet {_version('medunet')}  python {platform.python_version()}"
        f"  torch {torch.__version__}  monai {_version('monai')}  numpy {_version('numpy')}",
        f"device: {device}",
        f"bundles ({os.pathsep.join(str(d) for d in bundle_dirs())}):",
    ]
    for path in list_bundles():
        bundle = resolve_bundle(path)
        trained = path / "models" / "model.pt"
        lines.append(
            f"  {bundle.name} v{bundle.metadata.get('version', '?')} ({bundle.spatial_dims}D): "
            + (f"trained model {trained}" if trained.is_file() else "no model in the bundle folder")
        )
    presets = ", ".join(list_presets()) or "none"
    lines.append(f"presets ({os.pathsep.join(str(d) for d in preset_dirs())}): {presets}")
    lines.append(f"embedded sample: {sample_paths()[0].parent}")
    return "\n".join(lines)


def tile_report(args: argparse.Namespace) -> str:
    """Parameter count and tile arithmetic of the UNet2015 described by ``args``."""
    from medunet.networks import UNet2015

    net = UNet2015(
        args.spatial_dims, args.in_channels, args.out_channels, args.channels, args.padding
    )
    n_params = sum(p.numel() for p in net.parameters())
    lines = [
        f"UNet2015 spatial_dims={args.spatial_dims} channels={net.channels} "
        f"padding={args.padding}: {n_params:,} parameters"
    ]
    size = net.valid_input_size(args.size)
    if size != args.size:
        lines.append(f"input {args.size} is not valid; nearest valid input: {size}")
    lines.append(f"input {size} -> output {net.output_size(size)} (halo {net.halo()} per side)")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    print(environment_report() if args.size is None else tile_report(args))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info",
        help="versions, device, bundles; --size: tile arithmetic",
        description=__doc__,
        epilog="examples:\n  medunet info\n  medunet info --size 570   # the paper's network",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--size", type=int, default=None, help="an input tile size to check")
    p.add_argument("--spatial-dims", type=int, default=2, choices=(2, 3))
    p.add_argument("--in-channels", type=int, default=1)
    p.add_argument("--out-channels", type=int, default=2)
    p.add_argument("--channels", type=int, nargs="+", default=[64, 128, 256, 512, 1024])
    p.add_argument("--padding", default="valid", choices=("valid", "same"))
    p.set_defaults(func=_run)
