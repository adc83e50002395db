"""Held-out regions of every image: the split is fixed, disjoint and covers the image."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medunet.transforms.regions import CropRegiond, region_slices


@pytest.mark.parametrize("shape", [(100, 60), (60, 100), (40, 40), (9, 30, 20)])
def test_training_and_validation_regions_are_disjoint_and_cover_the_image(shape):
    seen = np.zeros(shape, int)
    for part in ("training", "validation"):
        seen[region_slices(shape, part, 0.2)] += 1
    assert (seen == 1).all()
    axis = int(np.argmax(shape))
    held = np.zeros(shape, bool)
    held[region_slices(shape, "validation", 0.2)] = True
    assert held.sum(axis=tuple(a for a in range(len(shape)) if a != axis)).astype(bool).sum() == (
        round(shape[axis] * 0.2)
    )  # the last fifth of the longest axis


def test_crop_region_crops_image_and_label_alike():
    image = torch.arange(2 * 10 * 6, dtype=torch.float32).reshape(2, 10, 6)
    label = torch.arange(10 * 6).reshape(1, 10, 6)
    t = CropRegiond(["image", "label"])
    out = t({"image": image, "label": label, "region": {"part": "validation", "fraction": 0.3}})
    assert out["image"].shape == (2, 3, 6) and out["label"].shape == (1, 3, 6)
    assert torch.equal(out["label"][0], label[0, 7:])
    assert t({"image": image, "label": label})["image"] is image  # no region: the whole image


def test_bad_regions_are_refused():
    with pytest.raises(ValueError, match="fraction"):
        region_slices((10, 10), "validation", 1.0)
    with pytest.raises(ValueError, match="part"):
        region_slices((10, 10), "test", 0.2)
    with pytest.raises(ValueError, match="same pixels"):
        CropRegiond(["image", "label"])(
            {"image": torch.zeros(1, 8, 8), "label": torch.zeros(1, 8, 9),
             "region": {"part": "training", "fraction": 0.2}}
        )  # fmt: skip
