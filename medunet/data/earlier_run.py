"""Whether an earlier training run is in the way: the one rule, and its one message.

A run folder's ``models/`` holds what a training run leaves (``checkpoint.pt``, the best
``model.pt``). A fresh run into it would replace them, so ``medunet train``, the bundles'
checkpoint handler and the stored training spacing all ask :func:`refuse_earlier_run`
before they write: resume it, train elsewhere, or say overwrite.
"""

from __future__ import annotations

from pathlib import Path

from medunet.messages import flag

__all__ = ["RUN_FILES", "earlier_run", "refuse_earlier_run"]

#: what a run that trained leaves in its models folder
RUN_FILES = ("checkpoint.pt", "model.pt")


def earlier_run(models_dir: str | Path, files: tuple[str, ...] = RUN_FILES) -> Path | None:
    """The first of ``files`` in ``models_dir`` that exists, or None."""
    return next((Path(models_dir) / f for f in files if (Path(models_dir) / f).exists()), None)


def refuse_earlier_run(models_dir: str | Path, files: tuple[str, ...] = RUN_FILES) -> None:
    """Raise when ``models_dir`` holds an earlier run's ``files``.

    Raises:
        FileExistsError: one line naming the file and the three ways on.
    """
    found = earlier_run(models_dir, files)
    if found is not None:
        raise FileExistsError(
            f"{found} exists from an earlier run; resume it ({flag('resume')}), train into "
            f"another folder, or pass {flag('overwrite')} to replace it."
        )
