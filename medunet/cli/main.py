"""The ``medunet`` command: sub-commands parse their arguments here and call the package."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]


def _cmd_info(args: argparse.Namespace) -> int:
    from medunet.networks import UNet2015

    net = UNet2015(
        args.spatial_dims, args.in_channels, args.out_channels, args.channels, args.padding
    )
    n_params = sum(p.numel() for p in net.parameters())
    print(
        f"UNet2015 spatial_dims={args.spatial_dims} channels={net.channels} "
        f"padding={args.padding}: {n_params:,} parameters"
    )
    if args.size is not None:
        size = net.valid_input_size(args.size)
        if size != args.size:
            print(f"input {args.size} is not valid; nearest valid input: {size}")
        print(f"input {size} -> output {net.output_size(size)} (halo {net.halo()} per side)")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from medunet.cli.demo import run_demo

    run_demo(out_dir=args.out, steps=args.steps, seed=args.seed, overwrite=args.overwrite)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``medunet`` command."""
    parser = argparse.ArgumentParser(prog="medunet", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    info = sub.add_parser("info", help="parameter count and tile arithmetic of a UNet2015")
    info.add_argument("--spatial-dims", type=int, default=2, choices=(2, 3))
    info.add_argument("--in-channels", type=int, default=1)
    info.add_argument("--out-channels", type=int, default=2)
    info.add_argument("--channels", type=int, nargs="+", default=[64, 128, 256, 512, 1024])
    info.add_argument("--padding", default="valid", choices=("valid", "same"))
    info.add_argument("--size", type=int, default=None, help="an input tile size to check")
    info.set_defaults(func=_cmd_info)

    demo = sub.add_parser("demo", help="the recipe end to end on the embedded nuclei sample")
    demo.add_argument("--out", default="runs/demo", help="output folder (default: runs/demo)")
    demo.add_argument("--steps", type=int, default=400, help="training iterations")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--overwrite", action="store_true", help="replace an earlier demo's files")
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``medunet`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, FileExistsError) as err:
        print(f"medunet {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
