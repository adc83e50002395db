"""Exact percentiles of float values read a chunk at a time."""

from __future__ import annotations

import numpy as np
import pytest

from medunet.data.quantiles import exact_percentiles


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(0).normal(0, 300, 100_001),
        np.round(np.random.default_rng(1).normal(0, 3, 5000)),  # many ties
        -np.abs(np.random.default_rng(2).normal(0, 1, 999)),  # negatives only
        np.array([5.0]),
    ],
    ids=["normal", "ties", "negative", "one"],
)
def test_numpys_linear_percentiles_of_all_chunks(values):
    values = values.astype(np.float32)
    parts = np.array_split(values, 7)
    q = [0, 0.5, 37.3, 50, 99.5, 100]
    got = exact_percentiles(lambda: iter(parts), q)
    np.testing.assert_array_equal(got, np.percentile(values.astype(np.float64), q))


def test_no_values_give_none():
    assert exact_percentiles(lambda: iter([np.zeros(0, np.float32)]), [50]) is None
