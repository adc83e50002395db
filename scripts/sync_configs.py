#!/usr/bin/env python3
"""Copy each bundle's ``configs/common.yaml`` into its ``train.yaml`` and ``inference.yaml``.

``common.yaml`` is the one definition of what training and inference share (the network and
the image preprocessing). A model-zoo bundle runs from ``configs/train.yaml`` or
``configs/inference.yaml`` alone (``python -m monai.bundle run --config_file
configs/inference.yaml``, MONAI Label's bundle app and the zoo's CI read exactly that file),
so each of the two carries a copy of it at its end, below the marker line. Edit
``common.yaml``, then run this script; ``tests/bundles/test_shared_configs.py`` fails while
a copy differs::

    python scripts/sync_configs.py          # rewrite the copies
    python scripts/sync_configs.py --check  # exit 1 if a copy differs
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = (
    "# ==== below: a copy of common.yaml, the network and preprocessing that training and\n"
    "# ==== inference share, written by scripts/sync_configs.py: edit common.yaml, not this"
)
TASKS = ("train.yaml", "inference.yaml")


def common_body(common: Path) -> str:
    """``common.yaml`` without its leading comment lines (they describe the file itself)."""
    lines = common.read_text().splitlines(keepends=True)
    while lines and (lines[0].startswith("#") or not lines[0].strip()):
        lines.pop(0)
    return "".join(lines)


def synced(task: Path, common: Path) -> str:
    """``task``'s own text, then the marker and the copy of ``common``."""
    own = task.read_text().split(MARKER, 1)[0].rstrip("\n")
    return f"{own}\n\n{MARKER}\n{common_body(common)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report copies that differ")
    args = parser.parse_args(argv)
    stale = []
    for configs in sorted((ROOT / "bundles").glob("*/configs")):
        common = configs / "common.yaml"
        for name in TASKS:
            task = configs / name
            text = synced(task, common)
            if task.read_text() != text:
                stale.append(task)
                if not args.check:
                    task.write_text(text)
    for task in stale:
        print(f"{'differs' if args.check else 'updated'}: {task.relative_to(ROOT)}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
