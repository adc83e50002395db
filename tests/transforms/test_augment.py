"""The paper's augmentation pipeline: keys move together, labels stay labels, seeded."""

from __future__ import annotations

import pytest
import torch

from medunet.data import random_blobs
from medunet.transforms import paper_augmentations


def _sample(seed=0):
    labels = torch.from_numpy(random_blobs((48, 48), 8, seed=seed))[None].float()
    image = labels * 10.0 + 5.0
    return {"image": image, "label": labels.clone(), "weight": (labels > 0).float() + 1.0}


def _coordinate_image(shape) -> torch.Tensor:
    """Channel c holds the coordinate along axis c: a warp shows as moved values."""
    grids = torch.meshgrid(*[torch.arange(n, dtype=torch.float32) for n in shape], indexing="ij")
    return torch.stack(grids)


@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_paper_augmentations_pipeline(spatial_dims):
    shape = (32,) * spatial_dims
    coords = _coordinate_image(shape)[:1]
    data = {"image": coords.clone(), "label": (coords > 15).float(), "weight": coords.clone()}
    aug = paper_augmentations(spatial_dims=spatial_dims, prob_intensity=0.0)
    aug.set_random_state(7)
    out = aug(data)
    torch.testing.assert_close(out["weight"].as_tensor(), out["image"].as_tensor())
    assert set(out["label"].unique().tolist()) <= {0.0, 1.0}
    again = paper_augmentations(spatial_dims=spatial_dims, prob_intensity=0.0).set_random_state(7)
    torch.testing.assert_close(again(data)["image"], out["image"])


def test_gray_values_change_the_image_only():
    augment = paper_augmentations(prob_elastic=0.0, prob_affine=0.0, prob_intensity=1.0)
    for transform in augment.transforms:  # no 90-degree turns or flips: geometry unchanged
        if hasattr(transform, "prob") and type(transform).__name__ in (
            "RandRotate90d",
            "RandFlipd",
        ):
            transform.prob = 0.0
    augment.set_random_state(seed=0)
    sample = _sample()
    out = augment(dict(sample))
    assert torch.equal(torch.as_tensor(out["label"]), sample["label"])
    assert not torch.allclose(torch.as_tensor(out["image"]), sample["image"])


def test_3d_and_bad_arguments():
    labels = torch.from_numpy(random_blobs((16, 20, 20), 4, seed=1))[None].float()
    augment = paper_augmentations(("image", "label"), ("bilinear", "nearest"), spatial_dims=3)
    augment.set_random_state(seed=0)
    out = augment({"image": labels * 3.0, "label": labels})
    assert tuple(out["image"].shape) == (1, 16, 20, 20)
    with pytest.raises(ValueError, match="one mode per key"):
        paper_augmentations(("image", "label"), ("bilinear",))
    with pytest.raises(ValueError, match="2 or 3"):
        paper_augmentations(spatial_dims=4)
