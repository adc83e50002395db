"""BoundaryWeightMap: the paper's formula, exactness against the naive reference, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tifffile
import torch
from monai.data import MetaTensor

from medunet.data import random_blobs
from medunet.transforms import (
    BoundaryWeightMap,
    BoundaryWeightMapd,
    border_term,
    class_weight_map,
    cutoff_distance,
    naive_border_term,
)


def _two_cells(gap: int = 3) -> np.ndarray:
    """Two 3-pixel-wide bars separated by ``gap`` background columns, on a 9 x 20 image."""
    lab = np.zeros((9, 20), np.int32)
    lab[:, 4:7] = 1
    lab[:, 7 + gap : 10 + gap] = 2
    return lab


def test_formula_on_two_cells_by_hand():
    lab = _two_cells(gap=3)  # gap columns 7, 8, 9
    bmap = BoundaryWeightMap(w0=10.0, sigma=5.0, class_weights=None)
    w = bmap(lab[None])[0]
    # column 7: d1 = 1 (cell 1), d2 = 3 (cell 2); column 8: 2 and 2; column 9: 3 and 1
    for col, (d1, d2) in {7: (1, 3), 8: (2, 2), 9: (3, 1)}.items():
        expected = 1.0 + 10.0 * math.exp(-((d1 + d2) ** 2) / 50.0)
        np.testing.assert_allclose(w[:, col], expected, rtol=1e-6)
    # left of cell 1, column 0: d1 = 4, d2 = 10
    np.testing.assert_allclose(w[:, 0], 1.0 + 10.0 * math.exp(-(14**2) / 50.0), rtol=1e-6)
    # inside cells with border_on="background": w_c only
    np.testing.assert_allclose(w[:, 4:7], 1.0)
    w_all = BoundaryWeightMap(class_weights=None, border_on="all")(lab[None])[0]
    # inside cell 1 at column 6: d1 = 0, d2 = 4
    np.testing.assert_allclose(w_all[:, 6], 1.0 + 10.0 * math.exp(-16 / 50.0), rtol=1e-6)


def test_symmetry():
    lab = _two_cells(gap=4)
    w = BoundaryWeightMap()(lab[None])[0]
    mirrored = np.zeros_like(lab)
    mirrored[:, ::-1] = lab
    w_m = BoundaryWeightMap()(mirrored[None])[0]
    np.testing.assert_allclose(w_m, w[:, ::-1], rtol=1e-6)
    np.testing.assert_allclose(w, w[::-1], rtol=1e-6)


def test_no_border_term_with_one_object():
    lab = np.zeros((32, 32), np.int32)
    lab[10:20, 10:20] = 7
    assert np.all(border_term(lab) == 0)
    w = BoundaryWeightMap(class_weights=None)(lab[None])
    np.testing.assert_array_equal(w, 1.0)


def test_balanced_class_weights():
    lab = np.zeros((10, 10), np.int32)
    lab[:2, :5] = 1  # 10 foreground of 100 pixels
    wc = class_weight_map(lab, "balanced")
    np.testing.assert_allclose(wc[0, 0], 100 / (2 * 10))
    np.testing.assert_allclose(wc[9, 9], 100 / (2 * 90))
    np.testing.assert_allclose(class_weight_map(np.zeros((4, 4), np.int32)), 1.0)
    np.testing.assert_allclose(class_weight_map(lab, (0.5, 3.0))[0, 0], 3.0)


def test_spacing_scales_distances():
    lab = _two_cells(gap=3)
    w_px = border_term(lab, sigma=5.0)
    # doubling the pixel size and sigma gives the same map (distances double too)
    np.testing.assert_allclose(border_term(lab, sigma=10.0, spacing=(2.0, 2.0)), w_px, rtol=1e-5)
    # anisotropic: only the column axis matters for these bars
    w_aniso = border_term(lab, sigma=5.0, spacing=(7.0, 2.0))
    expected = 10.0 * math.exp(-((2 * 1 + 2 * 3) ** 2) / 50.0)
    np.testing.assert_allclose(w_aniso[:, 7], expected, rtol=1e-5)


def test_cutoff_distance_bounds_the_error():
    r = cutoff_distance(5.0)
    assert math.exp(-(r**2) / 50.0) == pytest.approx(1e-6)


@pytest.mark.parametrize("spacing", [None, (1.0, 0.7)])
def test_exact_against_naive_2d_synthetic(spacing):
    lab = random_blobs((96, 80), 40, radius_range=(2, 6), seed=1)
    fast = border_term(lab, spacing=spacing)
    assert np.abs(fast - naive_border_term(lab, spacing=spacing)).max() < 1e-3
    assert fast.max() > 5.0  # the test data has touching / close objects


def test_exact_against_naive_3d_synthetic():
    lab = random_blobs((40, 36, 32), 30, radius_range=(2, 5), seed=2)
    sp = (1.0, 1.0, 2.5)
    for workers in (1, 2):
        fast = border_term(lab, spacing=sp, num_workers=workers)
        assert np.abs(fast - naive_border_term(lab, spacing=sp)).max() < 1e-3


def test_exact_against_naive_on_real_nuclei(shared_data):
    lab = tifffile.imread(shared_data / "nuclei2d/labels.tif").astype(np.int32)
    diff = np.abs(border_term(lab) - naive_border_term(lab))
    assert diff.max() < 1e-3


def test_3d_and_torch_metatensor_input():
    lab = random_blobs((20, 20, 16), 6, seed=3)
    meta_in = MetaTensor(torch.from_numpy(lab)[None], meta={"filename_or_obj": "lab.nii.gz"})
    out = BoundaryWeightMap()(meta_in)
    assert isinstance(out, MetaTensor) and out.dtype == torch.float32
    assert out.shape == (1, 20, 20, 16)
    assert out.meta["filename_or_obj"] == "lab.nii.gz"
    np.testing.assert_allclose(out.numpy(), BoundaryWeightMap()(lab[None]), rtol=1e-6)


def test_connected_components_mode():
    lab = _two_cells(gap=2)
    binary = (lab > 0).astype(np.uint8)
    w_cc = BoundaryWeightMap(instances="connected_components")(binary[None])
    np.testing.assert_allclose(w_cc, BoundaryWeightMap()(lab[None]), rtol=1e-6)
    touching = _two_cells(gap=0)  # touching objects merge into one component: no border
    w_t = BoundaryWeightMap(instances="connected_components", class_weights=None)(
        (touching > 0)[None].astype(np.uint8)
    )
    np.testing.assert_allclose(w_t, 1.0)


def test_dictionary_wrapper_writes_weight_key():
    lab = _two_cells()
    data = {"image": np.zeros((1, 9, 20), np.float32), "label": lab[None]}
    out = BoundaryWeightMapd(keys="label", weight_key="weight", w0=5.0)(data)
    assert set(out) == {"image", "label", "weight"}
    np.testing.assert_allclose(out["weight"], BoundaryWeightMap(w0=5.0)(lab[None]))
    aniso = MetaTensor(torch.from_numpy(lab)[None], affine=torch.diag(torch.tensor([2.0, 3, 1, 1])))
    out_meta = BoundaryWeightMapd(keys="label", spacing_from_meta=True)({"label": aniso})
    np.testing.assert_allclose(
        out_meta["weight"].numpy(), BoundaryWeightMap(spacing=(2.0, 3.0))(lab[None]), rtol=1e-6
    )
    # microscopy: sigma in pixels of the finest axis whatever the micron pixel size
    microns = MetaTensor(
        torch.from_numpy(lab)[None], affine=torch.diag(torch.tensor([0.5, 0.25, 1, 1]))
    )
    out_norm = BoundaryWeightMapd(keys="label", spacing_from_meta=True, normalize_spacing=True)(
        {"label": microns}
    )
    np.testing.assert_allclose(
        out_norm["weight"].numpy(), BoundaryWeightMap(spacing=(2.0, 1.0))(lab[None]), rtol=1e-6
    )


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.full((1, 4, 4), 1.5, np.float32), "non-integral"),
        (np.array([[[0, -1], [2, 0]]]), "must be >= 0"),
        (np.zeros((2, 4, 4), np.int32), "channel-first"),
        (np.zeros((4, 4), np.int32), "channel-first"),
        (np.zeros((1, 0, 4), np.int32), "empty"),
        (np.array([[[0.0, np.nan], [1.0, 0.0]]]), "NaN"),
    ],
)
def test_bad_labels_raise_clear_errors(labels, message):
    with pytest.raises(ValueError, match=message):
        BoundaryWeightMap()(labels)


def test_bad_arguments():
    with pytest.raises(ValueError, match="border_on"):
        BoundaryWeightMap(border_on="edges")
    with pytest.raises(ValueError, match="class_weights"):
        BoundaryWeightMap(class_weights="inverse")
    with pytest.raises(ValueError, match="spacing"):
        border_term(_two_cells(), spacing=(1.0,))


def test_large_instance_ids_are_renumbered_not_a_memory_error():
    lab = _two_cells(gap=3).astype(np.int64)
    big = np.where(lab > 0, lab + (2**31 - 10), 0)  # ids as some tools export them
    np.testing.assert_allclose(BoundaryWeightMap()(big[None]), BoundaryWeightMap()(lab[None]))
