"""Image and image/label pair checks: one line naming the file(s) and the fix."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from medunet.transforms import CheckImaged, CheckPaird


def _image(name, shape=(1, 6, 8), spacing=(0.5, 0.25)):
    affine = torch.diag(torch.tensor([*spacing, 1.0], dtype=torch.float64))
    return MetaTensor(
        torch.zeros(shape), affine=affine, meta={"filename_or_obj": name, "unit": "um"}
    )


def test_check_pair_names_both_files():
    ok = {"image": _image("img.tif"), "label": _image("lab.tif")}
    CheckPaird()(ok)
    with pytest.raises(
        ValueError, match=r"lab\.tif has spatial shape \(6, 9\) but img\.tif has \(6, 8\)"
    ):
        CheckPaird()({"image": _image("img.tif"), "label": _image("lab.tif", (1, 6, 9))})
    with pytest.raises(ValueError, match=r"lab\.tif has pixel size \[1\.0, 0\.25\] but img\.tif"):
        CheckPaird()({"image": _image("img.tif"), "label": _image("lab.tif", spacing=(1.0, 0.25))})
    with pytest.raises(ValueError, match=r"lab\.tif is given as both image and label"):
        CheckPaird()({"image": _image("lab.tif"), "label": _image("lab.tif")})


def test_check_pair_refuses_labels_that_are_not_classes():
    image = _image("img.tif")
    label = _image("lab.tif")
    label[0, 0, 0] = 4
    CheckPaird(num_classes=5)({"image": image, "label": label})
    with pytest.raises(ValueError, match=r"lab\.tif holds class 4 but the model has 3 classes"):
        CheckPaird(num_classes=3)({"image": image, "label": label})
    label[0, 0, 0] = 0.5
    with pytest.raises(ValueError, match=r"lab\.tif holds non-integer values"):
        CheckPaird()({"image": image, "label": label})


def test_check_image_channels_and_nonfinite_values():
    two = _image("rgb.tif", (2, 6, 8))
    with pytest.raises(ValueError, match=r"rgb\.tif has 2 channels .* model takes 1"):
        CheckImaged("image", channels=1)({"image": two})
    assert CheckImaged("image", channels=2)({"image": two})["image"] is two
    bad = _image("nan.tif")
    bad[0, 1, 1], bad[0, 2, 2] = float("nan"), float("inf")
    with pytest.raises(ValueError, match=r"nan\.tif holds 2 NaN/Inf values.*nonfinite_value"):
        CheckImaged("image")({"image": bad})
    fixed = CheckImaged("image", replace=0.0)({"image": bad})["image"]
    assert torch.isfinite(fixed).all() and not torch.isfinite(bad).all()  # a copy, not in place
    array = np.full((1, 3, 3), np.nan, np.float32)
    assert (CheckImaged("image", replace=7.0)({"image": array})["image"] == 7.0).all()
