"""Options several sub-commands share."""

from __future__ import annotations

import argparse
import sys

__all__ = [
    "add_bundle_options",
    "bundle_argument",
    "positive_float",
    "positive_int",
    "show_progress",
]


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not positive; give 1 or more")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def show_progress(args: argparse.Namespace) -> bool:
    """Progress bars on a terminal only (not in logs or pipes), and never with --no-progress."""
    return not getattr(args, "no_progress", False) and sys.stderr.isatty()


def bundle_argument(parser: argparse.ArgumentParser) -> None:
    """The positional ``bundle`` argument."""
    parser.add_argument(
        "bundle", help="bundle folder or shipped name (unet2015_microscopy, unet2015_ct_mri)"
    )


def add_bundle_options(parser: argparse.ArgumentParser, device: bool = True) -> None:
    """``--preset`` and ``--set`` (and ``--device``), shared by train, infer, export, check."""
    parser.add_argument(
        "--preset",
        action="append",
        default=[],
        metavar="NAME|FILE",
        help="a config layered over the bundle's (a shipped preset's name or a YAML file); "
        "repeatable",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="ID=VALUE",
        help="override a config id (YAML value), e.g. --set w0=5 --set channels=[16,32,64]",
    )
    if device:
        parser.add_argument(
            "--device", default=None, help="cpu, cuda or cuda:N (default: cuda if any)"
        )
