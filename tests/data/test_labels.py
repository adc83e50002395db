"""Label checks: integer ids >= 0, below the classes; one line naming the labels."""

from __future__ import annotations

import numpy as np
import pytest

from medunet.data.labels import check_instance_labels, check_label_values


@pytest.mark.parametrize(
    ("array", "needle"),
    [
        (np.array([0.0, 1.5]), "non-integer values"),
        (np.array([0.0, np.nan]), "NaN or inf"),
        (np.array([0, -2]), "negative values"),
        (np.array(["a"]), "dtype <U1"),
    ],
)
def test_bad_values_are_refused_naming_the_labels(array, needle):
    with pytest.raises(ValueError, match=needle) as err:
        check_label_values(array, "lab.tif")
    assert str(err.value).startswith("lab.tif")


def test_classes_and_instances():
    check_label_values(np.array([0.0, 2.0]), "x")  # integral floats, as MONAI loads labels
    with pytest.raises(ValueError, match="holds class 3 but the model has 3 classes"):
        check_label_values(np.array([0, 3]), "x", num_classes=3)
    out = check_instance_labels(np.array([[[0, 5], [5, 7]]], np.float32), "T")
    assert out.dtype == np.int32 and out.shape == (2, 2)
    with pytest.raises(ValueError, match="channel-first labels"):
        check_instance_labels(np.zeros((2, 3, 3)), "T")
    assert check_instance_labels(np.zeros((1, 0, 3)), "T", allow_empty=True).shape == (0, 3)
