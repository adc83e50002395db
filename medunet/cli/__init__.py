"""Command-line interface: ``medunet info`` and ``medunet demo``."""

from __future__ import annotations

from medunet.cli.main import main

__all__ = ["main"]
