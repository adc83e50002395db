"""Shared option types: positive numbers, refused in argparse's one line."""

from __future__ import annotations

import argparse

import pytest

from medunet.cli.options import positive_float, positive_int


def test_positive_types():
    assert positive_int("3") == 3 and positive_float("0.5") == 0.5
    for bad in ("0", "-2", "x", "1.5"):
        with pytest.raises(argparse.ArgumentTypeError):
            positive_int(bad)
    for bad in ("0", "-1", "inf", "nan", "x"):
        with pytest.raises(argparse.ArgumentTypeError):
            positive_float(bad)
