"""Logging for the command line: one-line errors, no tracebacks unless ``--debug``.

MONAI's ``StatsHandler`` and ignite log a failing run's exception with its traceback, some
through handlers of their own; the command prints that exception as one line instead. The
filter is put on every handler there is, again once a bundle's handlers exist.
"""

from __future__ import annotations

import logging
import sys

__all__ = ["NoTracebacks", "cli_log_policy", "quiet_all_handlers", "setup_logging"]

_QUIET = {"on": True}


class NoTracebacks(logging.Filter):
    """Drops ERROR records that carry an exception (or announce one): the command prints
    that exception as its one-line error instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            return True
        message = str(record.msg)
        return not (
            record.exc_info
            or message.startswith(("Exception:", "Engine run is terminating", "Current run is"))
        )


def quiet_all_handlers() -> None:
    """Put :class:`NoTracebacks` on every handler of every logger (unless ``--debug``)."""
    if not _QUIET["on"]:
        return
    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for lg in loggers:
        for handler in lg.handlers:
            if not any(isinstance(f, NoTracebacks) for f in handler.filters):
                handler.addFilter(NoTracebacks())


def setup_logging(verbose: bool = False, debug: bool = False) -> None:
    """Log to stderr with timestamps; tracebacks only with ``debug``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, handlers=[handler], force=True
    )
    _QUIET["on"] = not debug
    quiet_all_handlers()


def cli_log_policy() -> None:
    """The command line's policy for a running bundle (:func:`medunet.bundle.run_workflow`):
    the bundle's loggers exist now, so their handlers get :class:`NoTracebacks` too."""
    quiet_all_handlers()
