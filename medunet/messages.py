"""How error messages name a setting: in the syntax of the command the user typed.

The same check (a label class the model cannot hold, NaN intensities, an earlier run in the
way) runs under the ``medunet`` command line, where a setting is ``--set num_classes=3``,
and under ``python -m monai.bundle run``, where it is ``--num_classes 3``. Messages build
the fix with :func:`setting` and :func:`flag`; the command line switches the syntax once
with :func:`use_cli_syntax`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["flag", "setting", "use_cli_syntax"]

_STYLE = {"cli": False}

#: settings the command line has its own flag for
_CLI_FLAGS = {"resume": "--resume", "overwrite": "--overwrite", "max_epochs": "--epochs"}


def use_cli_syntax(enabled: bool = True) -> None:
    """Name settings as the ``medunet`` command line takes them (``--set ID=VALUE``)."""
    _STYLE["cli"] = bool(enabled)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_value(v) for v in value) + "]"
    return str(value)


def setting(name: str, value: Any) -> str:
    """``--set name=value`` (command line) or ``--name value`` (``monai.bundle run``)."""
    if _STYLE["cli"]:
        return f"--set {name}={_value(value)}"
    return f"--{name} {_value(value)}"


def flag(name: str) -> str:
    """A yes/no setting switched on: ``--resume`` (command line) or ``--resume True``."""
    if _STYLE["cli"]:
        return _CLI_FLAGS.get(name, f"--set {name}=true")
    return f"--{name} True"
