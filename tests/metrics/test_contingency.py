"""The sparse contingency table of two labelings."""

from __future__ import annotations

import numpy as np

from medunet.metrics import contingency_table


def test_contingency_table_handles_large_ids():
    truth = np.array([0, 2**31 - 5, 2**31 - 5, 7])
    table, t_ids, p_ids = contingency_table(truth, np.array([1, 1, 2, 2]))
    assert t_ids.tolist() == [0, 7, 2**31 - 5] and p_ids.tolist() == [1, 2]
    assert table.toarray().tolist() == [[1, 0], [0, 1], [1, 1]]
