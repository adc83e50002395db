"""Probabilities to instances: components, seeded growth through the border class."""

from __future__ import annotations

import numpy as np
import torch

from medunet.transforms import ProbabilityToInstances, ProbabilityToInstancesd, remove_small_objects


def _onehot(classes: np.ndarray, n: int) -> np.ndarray:
    return np.eye(n, dtype=np.float32)[classes].transpose(2, 0, 1)


def test_two_classes_connected_components_and_small_objects():
    classes = np.zeros((12, 12), int)
    classes[1:5, 1:5] = 1
    classes[7:11, 6:11] = 1
    classes[0, 11] = 1  # a one-pixel speck
    labels = ProbabilityToInstances(min_size=2)(_onehot(classes, 2))
    assert labels.shape == (1, 12, 12) and labels.dtype == np.int32
    assert sorted(np.unique(labels)) == [0, 1, 2] and labels[0, 0, 11] == 0


def test_border_class_separates_touching_objects_and_keeps_their_pixels():
    classes = np.zeros((10, 16), int)
    classes[2:8, 1:15] = 2  # one blob of border ...
    classes[3:7, 2:7] = 1  # ... with two interiors
    classes[3:7, 9:14] = 1
    labels = ProbabilityToInstances(border_class=True, min_size=1)(_onehot(classes, 3))[0]
    assert len(np.unique(labels)) == 3
    assert (labels[classes > 0] > 0).all() and (labels[classes == 0] == 0).all()
    assert labels[4, 1] == labels[4, 4] != labels[4, 14] == labels[4, 11]


def test_dict_wrapper_writes_foreground_probability():
    prob = torch.softmax(torch.randn(2, 6, 7), 0)
    out = ProbabilityToInstancesd("pred", min_size=0)({"pred": prob})
    assert torch.allclose(out["pred_foreground"][0], prob[1]) and out["pred_instances"].shape == (
        1,
        6,
        7,
    )


def test_remove_small_objects_renumbers():
    labels = np.array([[0, 5, 5, 9], [3, 3, 3, 0]])
    np.testing.assert_array_equal(remove_small_objects(labels, 2), [[0, 2, 2, 0], [1, 1, 1, 0]])
