"""``python -m medunet``: the same as the ``medunet`` console script."""

from __future__ import annotations

import sys

from medunet.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
