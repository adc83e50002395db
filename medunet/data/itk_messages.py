"""SimpleITK's messages as log records instead of lines on standard error.

ITK writes its warnings (e.g. GDCM's "No Series were found" when a folder is searched for
DICOM series) straight to standard error from C++, where a terminal shows them between a
command's own lines. :func:`route_itk_messages` installs a SimpleITK logger that turns every
such message into a record of the ``itk`` logger (INFO for warnings and text, DEBUG for
debug output, WARNING for errors), so that a command's log policy decides where it goes: the
``medunet`` commands keep third-party INFO records in the run log, off the terminal. It is
process-wide, so only a command that owns its process calls it (the MONAI Label app does
not).
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["route_itk_messages"]

logger = logging.getLogger("itk")

_installed: list[Any] = []  # the logger object: ITK holds a raw pointer to it


def _message(text: str) -> str:
    return " ".join(str(text).split())


def route_itk_messages() -> bool:
    """Send SimpleITK's (and ITK's, through it) messages to the ``itk`` logger, once per
    process. Returns False where SimpleITK has no logger interface (before 2.2)."""
    if _installed:
        return True
    import SimpleITK as sitk

    base = getattr(sitk, "LoggerBase", None)
    if base is None or not hasattr(base, "SetAsGlobalITKLogger"):
        return False

    class _ToLogging(base):
        def DisplayText(self, t: str) -> None:
            logger.info(_message(t))

        def DisplayGenericOutputText(self, t: str) -> None:
            logger.info(_message(t))

        def DisplayWarningText(self, t: str) -> None:
            logger.info(_message(t))

        def DisplayErrorText(self, t: str) -> None:
            logger.warning(_message(t))

        def DisplayDebugText(self, t: str) -> None:
            logger.debug(_message(t))

    _installed.append(_ToLogging())
    _installed[0].SetAsGlobalITKLogger()
    return True
