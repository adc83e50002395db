"""BlockInstances: block-by-block labels equal the whole image's, up to the numbering."""

from __future__ import annotations

import numpy as np
import pytest

from medunet.transforms import ProbabilityToInstances
from medunet.transforms.stitching import BlockInstances, UnionFind


def _probabilities(seed: int, shape=(96, 120)) -> np.ndarray:
    """Blobs, a U-shaped object winding through several blocks, touching pairs."""
    rng = np.random.default_rng(seed)
    fg = np.zeros(shape, np.float32)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    for _ in range(25):
        cy, cx, r = rng.integers(0, shape[0]), rng.integers(0, shape[1]), rng.integers(3, 9)
        fg = np.maximum(fg, np.clip(1.2 - np.hypot(yy - cy, xx - cx) / r, 0, 1))
    fg[10:14, 5:110] = 0.95  # a long bar across many blocks
    fg[10:80, 105:109] = 0.95
    fg[76:80, 30:109] = 0.95  # ... and back: one U-shaped object
    return np.stack([1 - fg, fg])


def _membranes(seed: int, shape=(96, 120)) -> np.ndarray:
    """Cells filling the image (Voronoi, 2-px membranes), some holding a speck of seed
    ringed by lower probability (organelles): small seed components."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, shape, (30, 2))
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    dist = np.hypot(yy[..., None] - centres[:, 0], xx[..., None] - centres[:, 1])
    order = np.sort(dist, axis=-1)
    fg = np.where(order[..., 1] - order[..., 0] < 2.0, 0.05, 0.95).astype(np.float32)
    for cy, cx in rng.uniform(4, np.array(shape) - 4, (12, 2)).astype(int):
        fg[cy - 2 : cy + 3, cx - 2 : cx + 3] = np.minimum(fg[cy - 2 : cy + 3, cx - 2 : cx + 3], 0.5)
        fg[cy - 1 : cy + 2, cx - 1 : cx + 2] = np.maximum(fg[cy - 1 : cy + 2, cx - 1 : cx + 2], 0.9)
    return np.stack([1 - fg, fg])


def _same_objects(a: np.ndarray, b: np.ndarray) -> None:
    assert np.array_equal(a > 0, b > 0)
    pairs = set(zip(a[a > 0].tolist(), b[b > 0].tolist(), strict=True))
    assert len(pairs) == len({p[0] for p in pairs}) == len({p[1] for p in pairs}) == a.max()


def _stitched(prob: np.ndarray, rule: ProbabilityToInstances, block: int, margin: int):
    """Labels block by block as streamed inference does; returns (labels, count)."""
    stitch = BlockInstances(rule, margin=margin)
    ids = np.zeros(prob.shape[1:], np.int64)
    claimed = np.zeros(prob.shape[1:], np.int64)
    h, w = prob.shape[1:]
    for y0 in range(0, h, block):
        for x0 in range(0, w, block):
            y1, x1 = min(y0 + block, h), min(x0 + block, w)
            top, left = max(y0 - margin, 0), max(x0 - margin, 0)
            bottom, right = min(y1 + margin, h), min(x1 + margin, w)
            core = (slice(y0 - top, y1 - top), slice(x0 - left, x1 - left))
            done = np.where(ids > 0, ids, claimed)[top:bottom, left:right]
            sides = ((top > 0, bottom < h), (left > 0, right < w))
            core_ids, seeds = stitch.label(prob[:, top:bottom, left:right], core, done, sides)
            seeds[core] = 0
            region = claimed[top:bottom, left:right]
            np.copyto(region, seeds, where=(region == 0) & (seeds > 0))
            ids[y0:y1, x0:x1] = core_ids
    mapping, count = stitch.final_ids()
    return mapping[ids], count


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("block", [16, 40])
def test_blocks_give_the_whole_images_objects(seed, block):
    prob = _probabilities(seed)
    rule = ProbabilityToInstances(min_size=5, seed_threshold=0.7, mask_threshold=0.3)
    whole = rule(prob)[0]
    stitched, count = _stitched(prob, rule, block, margin=16)
    _same_objects(whole, stitched)
    assert count == whole.max()


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("block", [16, 40])
def test_blocks_drop_the_same_small_seeds_as_the_whole_image(seed, block):
    """Membranes with ``min_seed_size``: a speck cut by a window's edge looks small there,
    but is judged by its whole size, as on the whole image."""
    prob = _membranes(seed)
    rule = ProbabilityToInstances(min_size=0, seed_threshold=0.8, mask_threshold=0.3,
                                  min_seed_size=12)  # fmt: skip
    whole = rule(prob)[0]
    every_seed = ProbabilityToInstances(min_size=0, seed_threshold=0.8, mask_threshold=0.3)
    assert whole.max() < every_seed(prob)[0].max()  # the specks started objects before
    stitched, count = _stitched(prob, rule, block, margin=16)
    _same_objects(whole, stitched)
    assert count == whole.max()


def test_union_find_and_restore():
    uf = UnionFind()
    assert uf.add(4) == 1 and len(uf) == 4
    uf.union(4, 2)
    uf.union(2, 3)
    assert uf.find(4) == uf.find(3) == 2 and uf.roots().tolist() == [0, 1, 2, 2, 2]
    stitch = BlockInstances(ProbabilityToInstances(min_size=2), margin=4)
    stitch.restore(4, np.array([0, 5, 1, 1, 1]), np.array([[4, 2], [2, 3]]))
    mapping, count = stitch.final_ids()
    assert count == 2 and mapping.tolist() == [0, 1, 2, 2, 2]
