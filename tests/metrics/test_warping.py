"""The warping error counts topology changes, not moved boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from medunet.metrics import warping_error


def test_warping_error_counts_topology_not_boundaries():
    truth = np.zeros((20, 30), int)
    truth[4:14, 3:12], truth[4:14, 12:22] = 1, 2  # touching: separated by their border
    shifted = np.zeros_like(truth)
    shifted[5:15, 4:12], shifted[5:15, 13:23] = 1, 2  # boundaries moved, topology the same
    assert warping_error(shifted, truth) == (0.0, 0)
    merged = (truth > 0).astype(int)  # the two nuclei as one object
    error, n_errors = warping_error(merged, truth)
    assert n_errors == 1 and 0 < error < 0.05
    missing = truth.copy()
    missing[missing == 2] = 0  # an object missing entirely
    assert warping_error(missing, truth)[1] == 1
    with pytest.raises(ValueError, match="2D"):
        warping_error(np.zeros((2, 3, 4)), np.zeros((2, 3, 4)))
