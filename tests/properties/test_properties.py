"""Property-based tests (hypothesis) over random shapes, dtypes and label layouts: the weight
map, the elastic deformation, the weighted loss and the overlap-tile inferer keep their
contracts for every input, not only the ones we thought of."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from medunet.inferers import OverlapTileInferer
from medunet.losses import WeightedCrossEntropyLoss
from medunet.networks import UNet2015
from medunet.transforms import BoundaryWeightMap, RandCoarseElasticd, class_weight_map

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LABEL_DTYPES = st.sampled_from([np.uint8, np.uint16, np.int32, np.int64])


@st.composite
def label_images(draw, max_side: int = 24):
    """2D or 3D instance labels: random ids (some large), background, any dtype."""
    dims = draw(st.sampled_from([2, 3]))
    side = max_side if dims == 2 else 10
    shape = tuple(draw(st.lists(st.integers(1, side), min_size=dims, max_size=dims)))
    dtype = draw(LABEL_DTYPES)
    top = min(np.iinfo(dtype).max, 2**31 - 1)
    ids = draw(st.lists(st.integers(1, top), min_size=0, max_size=6, unique=True))
    layout = draw(arrays(np.int64, shape, elements=st.integers(0, len(ids))))
    table = np.array([0, *ids], dtype=np.int64)
    return table[layout].astype(dtype)


@SETTINGS
@given(labels=label_images(), w0=st.floats(0.0, 20.0), sigma=st.floats(0.5, 8.0))
def test_weight_map_is_finite_and_at_least_the_class_weights(labels, w0, sigma):
    weights = BoundaryWeightMap(w0=w0, sigma=sigma)(labels[None])[0]
    assert weights.shape == labels.shape and weights.dtype == np.float32
    assert np.isfinite(weights).all()
    w_c = class_weight_map((labels > 0).astype(np.int32), "balanced")
    assert (weights >= w_c - 1e-5).all()
    assert (weights <= w_c + w0 + 1e-4).all()


@SETTINGS
@given(
    labels=label_images(max_side=32),
    std=st.floats(0.0, 15.0),
    seed=st.integers(0, 2**16),
)
def test_elastic_keeps_shape_and_label_values(labels, std, seed):
    image = torch.as_tensor(labels.astype(np.float32))[None]
    label = torch.as_tensor(labels.astype(np.int64))[None]
    deform = RandCoarseElasticd(
        keys=("image", "label"), std=std, prob=1.0, mode=("bilinear", "nearest")
    )
    deform.set_random_state(seed)
    out = deform({"image": image, "label": label})
    assert out["image"].shape == image.shape and out["label"].shape == label.shape
    assert torch.isfinite(torch.as_tensor(out["image"])).all()
    assert set(np.unique(np.asarray(out["label"]))) <= set(np.unique(labels)) | {0}


@SETTINGS
@given(
    shape=st.lists(st.integers(1, 9), min_size=2, max_size=3),
    classes=st.integers(2, 4),
    batch=st.integers(1, 2),
    seed=st.integers(0, 2**16),
    scale=st.floats(0.0, 1e3),
)
def test_weighted_loss_is_finite_and_non_negative(shape, classes, batch, seed, scale):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, classes, *shape, generator=g) * 10
    target = torch.randint(0, classes, (batch, 1, *shape), generator=g)
    weight = torch.rand(batch, 1, *shape, generator=g) * scale
    loss = WeightedCrossEntropyLoss()(logits, target, weight)
    assert torch.isfinite(loss) and loss >= 0
    zero = WeightedCrossEntropyLoss()(logits, target, torch.zeros_like(weight))
    assert torch.isfinite(zero) and zero == 0


NET_2D = UNet2015(2, 1, 2, channels=(2, 4)).eval()
NET_3D = UNet2015(3, 1, 2, channels=(2, 4)).eval()


@SETTINGS
@given(
    shape=st.lists(st.integers(1, 70), min_size=2, max_size=2)
    | st.lists(st.integers(1, 20), min_size=3, max_size=3),
    roi=st.sampled_from([None, 20, 28, 44]),
    dtype=st.sampled_from([torch.float32, torch.float64, torch.uint8, torch.int16]),
)
def test_inferer_output_has_the_input_size(shape, roi, dtype):
    net = NET_2D if len(shape) == 2 else NET_3D
    x = (torch.rand(1, 1, *shape) * 100).to(dtype)
    with torch.no_grad():
        out = OverlapTileInferer(roi_size=roi)(x, net)
    assert tuple(out.shape) == (1, 2, *shape)
    assert torch.isfinite(out).all()
