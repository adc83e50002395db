"""Object measures: sizes, diameters, gaps, touching pairs, border contact, holes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from medunet.planning import equivalent_diameter, measure_objects
from medunet.planning.objects import touching_pairs


def _disc(shape, centre, radius, value, out=None):
    out = np.zeros(shape, np.int32) if out is None else out
    grid = np.ogrid[tuple(slice(0, n) for n in shape)]
    inside = sum((g - c) ** 2 for g, c in zip(grid, centre, strict=True)) <= radius**2
    out[inside] = value
    return out


def test_sizes_diameters_and_gap_of_two_discs():
    labels = _disc((64, 96), (32, 25), 10, 1)
    labels = _disc((64, 96), (32, 70), 10, 2, labels)  # 45 apart: 21 rows of pixels between
    m = measure_objects(labels)
    assert m.count == 2 and m.touching_pairs == 0
    np.testing.assert_array_equal(m.sizes, np.bincount(labels.ravel())[1:])
    assert m.diameters == pytest.approx([20.0, 20.0], rel=0.05)
    assert m.gaps == pytest.approx([24.0, 24.0], abs=0.01)  # columns 36..59 are free
    assert not m.at_border.any() and np.all(m.hole_fraction == 0)


def test_touching_objects_have_gap_zero_and_are_a_pair():
    labels = np.zeros((20, 20), np.int32)
    labels[5:15, 2:10] = 1
    labels[5:15, 10:18] = 2
    labels[0:3, 0:3] = 3  # alone, at the border
    m = measure_objects(labels, reach=10)
    assert touching_pairs(labels) == 1 == m.touching_pairs
    assert m.gaps[:2].tolist() == [0.0, 0.0]
    assert m.at_border.tolist() == [False, False, True]


def test_nothing_within_reach_is_no_neighbour():
    labels = _disc((40, 200), (20, 20), 5, 1)
    labels = _disc((40, 200), (20, 180), 5, 2, labels)
    assert np.isinf(measure_objects(labels, reach=30).gaps).all()


def test_holes_and_spacing():
    labels = np.zeros((30, 30), np.int32)
    labels[5:25, 5:25] = 1
    labels[10:15, 10:15] = 0  # a 25-pixel hole in a 400-pixel square
    assert measure_objects(labels).hole_fraction[0] == pytest.approx(25 / 400)
    volume = np.zeros((10, 40, 40), np.int32)
    volume[2:8, 5:15, 5:15] = 1
    volume[2:8, 5:15, 25:35] = 2  # 10 pixels of the finest axis apart
    m = measure_objects(volume, spacing=(3.0, 1.0, 1.0))
    assert m.gaps == pytest.approx([10.0, 10.0])
    # 6 slices of 3 units: a box 18 x 10 x 10 in finest-axis pixels
    assert m.diameters[0] == pytest.approx(equivalent_diameter(np.array([1800]), 3)[0])


def test_equivalent_diameter():
    assert equivalent_diameter(np.array([math.pi * 25]), 2)[0] == pytest.approx(10.0)
    assert equivalent_diameter(np.array([math.pi / 6 * 1000]), 3)[0] == pytest.approx(10.0)


def test_empty_and_bad_input():
    assert measure_objects(np.zeros((8, 8), np.int32)).count == 0
    with pytest.raises(ValueError, match="2D or 3D"):
        measure_objects(np.zeros(8, np.int32))
