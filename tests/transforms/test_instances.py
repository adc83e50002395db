"""InstanceToSemantic: instances to background / object / touching-border classes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from medunet.transforms import InstanceToSemantic, InstanceToSemanticd


def _touching_pair() -> np.ndarray:
    lab = np.zeros((6, 10), np.int32)
    lab[1:5, 1:5] = 1
    lab[1:5, 5:9] = 2  # touches object 1 along columns 4 | 5
    return lab


def test_foreground_background():
    out = InstanceToSemantic()(_touching_pair()[None])
    np.testing.assert_array_equal(out[0], (_touching_pair() > 0).astype(np.int64))


def test_touching_border_class():
    out = InstanceToSemantic(border_class=True)(_touching_pair()[None])[0]
    assert set(np.unique(out)) == {0, 1, 2}
    np.testing.assert_array_equal(np.nonzero(out == 2)[1], np.tile([4, 5], 4))
    wide = InstanceToSemantic(border_class=True, border_width=2)(_touching_pair()[None])[0]
    assert (wide == 2).sum() == 16


def test_dictionary_keeps_instances_and_meta():
    lab = MetaTensor(torch.from_numpy(_touching_pair())[None], meta={"filename_or_obj": "l.tif"})
    out = InstanceToSemanticd("label", output_key="classes")({"label": lab})
    assert out["label"] is lab
    assert isinstance(out["classes"], MetaTensor) and out["classes"].dtype == torch.int64
    assert out["classes"].meta["filename_or_obj"] == "l.tif"


def test_errors():
    with pytest.raises(ValueError, match="channel-first"):
        InstanceToSemantic()(np.zeros((2, 3, 3), np.int32))
    with pytest.raises(ValueError, match=">= 0"):
        InstanceToSemantic()(np.full((1, 3, 3), -2))
    with pytest.raises(ValueError, match="integers"):
        InstanceToSemantic()(np.full((1, 3, 3), 0.5))
