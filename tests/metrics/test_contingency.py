"""The sparse contingency table of two labelings."""

from __future__ import annotations

import numpy as np
import pytest

from medunet.metrics import contingency_table
from medunet.metrics.contingency import relabel_sequential


def test_contingency_table_handles_large_ids():
    truth = np.array([0, 2**31 - 5, 2**31 - 5, 7])
    table, t_ids, p_ids = contingency_table(truth, np.array([1, 1, 2, 2]))
    assert t_ids.tolist() == [0, 7, 2**31 - 5] and p_ids.tolist() == [1, 2]
    assert table.toarray().tolist() == [[1, 0], [0, 1], [1, 1]]


@pytest.mark.parametrize(
    "labels",
    [
        np.random.default_rng(0).integers(0, 300, (40, 50)).astype(np.int32),  # a label image
        np.random.default_rng(1).integers(0, 9, (6, 7, 8)).astype(np.uint8),  # 3D, small ids
        np.random.default_rng(2).integers(0, 2, (5, 5)).astype(bool),
        np.array([[5, -1], [3, 3]]),  # negative: sorted
        np.array([0, 10**12, 3], np.int64),  # ids far above the pixel count: sorted
        np.array([0.5, 0.5, 2.0]),  # not integers: sorted
        np.zeros((0,), np.int32),
    ],
)
def test_relabel_sequential_is_numpy_unique_by_either_route(labels):
    """The lookup table (non-negative integer ids) and the sort give ``np.unique``'s ids and
    inverse, so every score built on the table is unchanged."""
    ids, compact = relabel_sequential(labels)
    want_ids, want_compact = np.unique(labels.ravel(), return_inverse=True)
    assert ids.dtype == want_ids.dtype and ids.tolist() == want_ids.tolist()
    assert compact.dtype == np.int64 and compact.tolist() == want_compact.tolist()
