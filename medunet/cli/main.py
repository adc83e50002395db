"""The ``medunet`` command: thin sub-commands over the bundles, one-line errors.

Every error ends the command with exit code 2 and one line on stderr,
``medunet <command>: error: <what and how to fix it>``: the innermost exception of the
chain (MONAI wraps a failing component or transform in ``RuntimeError``s), without a
traceback unless ``--debug``.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Sequence

from medunet.cli import check, demo, evaluate, export, infer, info, plan, train, weightmap
from medunet.cli.logs import setup_logging
from medunet.messages import use_cli_syntax

__all__ = ["build_parser", "error_message", "main"]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, as every other error: the
    option, what is wrong and where the options are (not the whole usage text)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} ({self.prog} --help lists the options)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``medunet`` command."""
    parser = _Parser(
        prog="medunet",
        description="The 2015 U-Net recipe on your images: train, infer, evaluate, export.",
        epilog="run `medunet COMMAND --help` for each command's options and an example",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--debug", action="store_true", help="full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (check, plan, train, infer, evaluate, weightmap, export, info, demo):
        module.add_parser(sub)
    return parser


def _chain(err: BaseException) -> list[BaseException]:
    """``err`` and its causes, outermost first."""
    chain: list[BaseException] = []
    while err is not None and all(err is not e for e in chain):
        chain.append(err)
        err = err.__cause__ or (None if err.__suppress_context__ else err.__context__)
    return chain


_EXCEPTION_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*(?:Error|Exception)): (?P<msg>.+)$")


def _from_worker(text: str) -> str | None:
    """The message of the exception a DataLoader worker re-raised as text ("Original
    Traceback..."): the last exception line that is not a ``RuntimeError`` wrapper."""
    lines = [_EXCEPTION_LINE.match(line.strip()) for line in text.splitlines()]
    found = [m for m in lines if m and m["type"].rsplit(".", 1)[-1] != "RuntimeError"]
    return found[-1]["msg"] if found else None


#: errors whose message is the whole story (medunet's say what to do)
_ONE_LINE_ERRORS = (ValueError, OSError, ArithmeticError)


def error_message(err: BaseException) -> str:
    """One line saying what went wrong and how to fix it.

    MONAI wraps a failing component, expression or transform in plain ``RuntimeError``s:
    the message is that of the outermost exception in the chain that is not such a wrapper
    (medunet's own errors name the file and the fix); a DataLoader worker's exception,
    which arrives as text with its traceback, is unpacked the same way.
    """
    chain = _chain(err)
    chosen = next((e for e in chain if type(e) is not RuntimeError), chain[-1])
    text = str(chosen.args[0]) if isinstance(chosen, KeyError) and chosen.args else str(chosen)
    worker = _from_worker(text) if "Traceback (most recent call last)" in text else None
    if worker:
        text = worker
    text = " ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    if isinstance(chosen, KeyError):
        text = f"config id or key {text!r} not found; check the spelling (--set ID=VALUE)"
    elif not worker and (not isinstance(chosen, _ONE_LINE_ERRORS) or not text):
        text = f"{type(chosen).__name__}: {text or 'no message'} (--debug shows the traceback)"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``medunet`` console script."""
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose, args.debug)
    use_cli_syntax()  # messages name settings as --set ID=VALUE
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(f"medunet {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if args.debug:
            raise
        logging.getLogger(__name__).debug("the error in full", exc_info=err)  # the run's log
        print(f"medunet {args.command}: error: {error_message(err)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
