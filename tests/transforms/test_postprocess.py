"""Probabilities to instances: components, seeded growth through the border class."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medunet.transforms import (
    ProbabilityToInstances,
    ProbabilityToInstancesd,
    remove_small_objects,
    seed_components,
    seeded_instances,
)


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


def _two_cells_with_a_faint_bridge() -> np.ndarray:
    """p(foreground): two bright cells joined by a 0.6 bridge, a 0.35 rim around both."""
    fg = np.zeros((12, 20), np.float32)
    fg[2:10, 1:19] = 0.35  # rim: foreground only for a low mask threshold
    fg[3:9, 2:9] = 0.95
    fg[3:9, 11:18] = 0.95
    fg[5:7, 9:11] = 0.6  # a gap in the boundary between them
    return np.stack([1.0 - fg, fg])


def test_thresholds_separate_across_a_faint_boundary_and_restore_the_extent():
    prob = _two_cells_with_a_faint_bridge()
    merged = ProbabilityToInstances(min_size=0)(prob)[0]  # most likely class: one object
    assert len(np.unique(merged)) == 2
    labels = ProbabilityToInstances(min_size=0, seed_threshold=0.8, mask_threshold=0.3)(prob)[0]
    assert len(np.unique(labels)) == 3  # the bridge is not a seed: two objects
    assert (labels[prob[1] > 0.3] > 0).all() and (labels[prob[1] <= 0.3] == 0).all()
    assert labels[5, 3] != labels[5, 16] and labels[2, 1] == labels[5, 3]


def test_small_seeds_start_no_object_and_their_pixels_join_the_cell_around():
    """Membranes: a speck of seed inside a cell (an organelle ringed by lower probability)
    would take a share of the cell; with ``min_seed_size`` the cell takes it back."""
    fg = np.full((12, 21), 0.95, np.float32)
    fg[:, 10] = 0.05  # a membrane between two cells filling the image
    fg[3:8, 2:7] = 0.5  # a ring below the seed threshold ...
    fg[4:7, 3:6] = 0.95  # ... around a 9-pixel speck of seed
    prob = np.stack([1.0 - fg, fg])
    rule = {"min_size": 0, "seed_threshold": 0.8, "mask_threshold": 0.3}
    specks = ProbabilityToInstances(**rule)(prob)[0]
    assert len(np.unique(specks)) == 4  # two cells and the speck
    cells = ProbabilityToInstances(**rule, min_seed_size=10)(prob)[0]
    assert len(np.unique(cells)) == 3 and (cells[:, :10] == cells[0, 0]).all()
    assert cells[0, 0] != cells[0, 20] and (cells[:, 10] == 0).all()
    with pytest.raises(ValueError, match="min_seed_size must be >= 0"):
        ProbabilityToInstances(min_seed_size=-1)


def _two_seeds_and_a_valley_off_centre() -> np.ndarray:
    """p(foreground) of one strip: seeds at both ends, the boundary the network sees (a
    0.35 valley) at column 6, not halfway (9.5), and a seedless blob at columns 22-23."""
    fg = np.zeros((5, 24), np.float32)
    fg[1:4, 0:20] = 0.6
    fg[1:4, 0:3] = 0.95
    fg[1:4, 17:20] = 0.95
    fg[1:4, 6] = 0.35
    fg[1:4, 22:24] = 0.6
    return np.stack([1.0 - fg, fg])


def test_seeds_meet_along_the_valley_of_the_interior_probability():
    """The seeded watershed draws the boundary where the interior is least likely; a part
    of the mask that holds no seed joins the nearest one."""
    prob = _two_seeds_and_a_valley_off_centre()
    labels = ProbabilityToInstances(min_size=0, seed_threshold=0.9, mask_threshold=0.3)(prob)[0]
    left, right = labels[2, 0], labels[2, 19]
    assert left != right and left > 0 and right > 0
    assert (labels[1:4, :6] == left).all() and (labels[1:4, 7:20] == right).all()
    assert (labels[1:4, 22:24] == right).all() and (labels[0] == 0).all()
    border = ProbabilityToInstances(border_class=True, min_size=0, seed_threshold=0.9,
                                    mask_threshold=0.3)  # fmt: skip
    three = np.stack([prob[0], prob[1], np.zeros_like(prob[1])])  # no border pixels
    np.testing.assert_array_equal(border(three)[0], labels)
    seeds, mask = prob[1] > 0.9, prob[1] > 0.3
    nearest = seeded_instances(seeds, mask)  # without an elevation: the nearest seed
    assert (nearest[2, :10] == nearest[2, 0]).all() and (nearest[2, 10:20] == nearest[2, 19]).all()
    np.testing.assert_array_equal(seeded_instances(seeds, mask, elevation=prob[0]), labels)


def test_seed_components_keep_small_ones_on_open_sides():
    """A window's edge inside the image may cut a seed: one touching it is kept."""
    seeds = np.zeros((6, 8), bool)
    seeds[0, 2:4] = True  # 2 px on the top edge
    seeds[3, 3] = True  # 1 px inside
    seeds[2:5, 6:8] = True  # 6 px on the right edge
    assert seed_components(seeds, min_size=3).max() == 1  # the whole image: only the 6 px
    top_open = seed_components(seeds, min_size=3, open_sides=((True, False), (False, False)))
    assert top_open.max() == 2 and top_open[0, 2] > 0 and top_open[3, 3] == 0
    assert seed_components(seeds).max() == 3  # no size: every component


def test_postprocess_file_replaces_the_arguments(tmp_path):
    prob = torch.as_tensor(_two_cells_with_a_faint_bridge())
    path = tmp_path / "postprocess.json"
    path.write_text('{"seed_threshold": 0.8, "mask_threshold": 0.3, "min_size": 0, "score": 1}')
    out = ProbabilityToInstancesd("pred", min_size=50, postprocess_file=path)({"pred": prob})
    assert len(torch.unique(out["pred_instances"])) == 3
    missing = ProbabilityToInstancesd("pred", min_size=0, postprocess_file=tmp_path / "none.json")
    assert len(torch.unique(missing({"pred": prob})["pred_instances"])) == 2
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not a valid post-processing file"):
        ProbabilityToInstancesd("pred", postprocess_file=path)


def test_threshold_arguments_are_checked():
    with pytest.raises(ValueError, match="seed_threshold"):
        ProbabilityToInstances(seed_threshold=1.5)
