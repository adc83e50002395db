"""What the terminal shows while a ``medunet`` command runs, and what goes to the run's log.

MONAI and ignite log through many loggers of their own, most with a handler to standard
output (MONAI's ``get_logger`` adds one per module, also while a bundle runs), and log a
failing run's exception with its traceback, several times. A command owns its process, so
:class:`CommandLogging` takes over where every log record goes, whichever logger it was
logged on and whenever that logger was made:

- the terminal (standard error): medunet's own lines (INFO and up) and warnings of other
  libraries; third-party INFO lines only with ``--verbose``; no tracebacks and no error
  records (the command ends with its one-line error instead);
- the run folder's ``medunet.log`` (``medunet train``): every record, tracebacks included;
- ITK's messages (written from C++ to standard error otherwise) are records of the ``itk``
  logger (:mod:`medunet.data.itk_messages`): in the log, on the terminal with ``--verbose``.

With ``--debug`` nothing is taken over: every library logs as it would, and the command
ends with the traceback.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from medunet.data.itk_messages import route_itk_messages

__all__ = ["CommandLogging", "cli_log_policy", "command_logging", "setup_logging"]

#: third-party messages the command causes by how it calls MONAI's bundle machinery
_BENIGN = (
    "Logging file is set to False",
    "Not all config files are in",
    "No workflow type and property file specified",
    "Engine run is terminating",
    "Current run is terminating",
)


class _TerminalFilter(logging.Filter):
    def __init__(self, verbose: bool) -> None:
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info or record.levelno >= logging.ERROR:
            return False  # the command prints the error as one line
        message = record.getMessage()
        if message.startswith(_BENIGN) or message.startswith("Exception:"):
            return False
        if record.name == "medunet" or record.name.startswith("medunet."):
            return True
        if self.verbose:
            return True
        if record.name == "py.warnings":  # developer-facing deprecations stay in the log
            return not ("DeprecationWarning" in message or "FutureWarning" in message)
        return record.levelno >= logging.WARNING


class CommandLogging:
    """Route every log record of the process to the terminal policy and the log file.

    Args:
        verbose: third-party INFO (and DEBUG) lines on the terminal too.
    """

    def __init__(self, verbose: bool = False) -> None:
        self.terminal = logging.StreamHandler(sys.stderr)
        self.terminal.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
        )
        self.terminal.addFilter(_TerminalFilter(verbose))
        self.file: logging.FileHandler | None = None
        self.verbose = verbose
        self._original = logging.Logger.callHandlers
        self._early: list[logging.LogRecord] = []  # until a log file is named (bounded)

    def install(self) -> None:
        """From now on every record goes to this object's handlers only."""
        logging.basicConfig(level=logging.DEBUG if self.verbose else logging.INFO, force=True)
        logging.getLogger().handlers = [self.terminal]
        logging.captureWarnings(True)  # Python warnings become records (py.warnings) too
        router = self

        def call_handlers(logger: logging.Logger, record: logging.LogRecord) -> None:
            if router.file is None and len(router._early) < 10000:
                router._early.append(record)
            for handler in router.handlers():
                if record.levelno >= handler.level:
                    handler.handle(record)

        logging.Logger.callHandlers = call_handlers  # type: ignore[method-assign]

    def uninstall(self) -> None:
        logging.Logger.callHandlers = self._original  # type: ignore[method-assign]
        if self.file is not None:
            self.file.close()
            self.file = None

    def handlers(self) -> list[logging.Handler]:
        return [self.terminal] if self.file is None else [self.terminal, self.file]

    def log_to(self, path: Path) -> None:
        """Also write every record (DEBUG and up, tracebacks included) to ``path``."""
        if self.file is not None:
            if Path(self.file.baseFilename) == Path(path).resolve():
                return
            self.file.close()
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.file = logging.FileHandler(path, encoding="utf-8")
        self.file.setLevel(logging.DEBUG)
        self.file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        for record in self._early:  # what the command logged before it knew the file
            self.file.handle(record)
        self._early.clear()


_ACTIVE: dict[str, CommandLogging | None] = {"logging": None}


def setup_logging(verbose: bool = False, debug: bool = False) -> CommandLogging | None:
    """The command's logging: :class:`CommandLogging` (none with ``debug``)."""
    if debug:
        logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, force=True)
        _ACTIVE["logging"] = None
        return None
    logs = CommandLogging(verbose)
    logs.install()
    route_itk_messages()  # ITK's C++ warnings become records too: the run log, not the terminal
    _ACTIVE["logging"] = logs
    return logs


def command_logging() -> CommandLogging | None:
    """The installed :class:`CommandLogging`, if any."""
    return _ACTIVE["logging"]


def cli_log_policy(log_file: Path | None = None) -> None:
    """The command line's policy for a running bundle (:func:`medunet.bundle.run_workflow`):
    records keep going through :class:`CommandLogging`; a training run's log file gets
    every record, tracebacks included."""
    logs = command_logging()
    if logs is not None and log_file is not None:
        logs.log_to(log_file)
