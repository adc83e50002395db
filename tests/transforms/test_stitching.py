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


def _same_objects(a: np.ndarray, b: np.ndarray) -> None:
    assert np.array_equal(a > 0, b > 0)
    pairs = set(zip(a[a > 0].tolist(), b[b > 0].tolist(), strict=True))
    assert len(pairs) == len({p[0] for p in pairs}) == len({p[1] for p in pairs}) == a.max()


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("block", [16, 40])
def test_blocks_give_the_whole_images_objects(seed, block):
    prob = _probabilities(seed)
    rule = ProbabilityToInstances(min_size=5, seed_threshold=0.7, mask_threshold=0.3)
    whole = rule(prob)[0]
    stitch = BlockInstances(rule, margin=16)
    ids = np.zeros(prob.shape[1:], np.int64)
    claimed = np.zeros(prob.shape[1:], np.int64)
    h, w = prob.shape[1:]
    for y0 in range(0, h, block):
        for x0 in range(0, w, block):
            y1, x1 = min(y0 + block, h), min(x0 + block, w)
            top, left = max(y0 - 16, 0), max(x0 - 16, 0)
            bottom, right = min(y1 + 16, h), min(x1 + 16, w)
            core = (slice(y0 - top, y1 - top), slice(x0 - left, x1 - left))
            done = np.where(ids > 0, ids, claimed)[top:bottom, left:right]
            core_ids, seeds = stitch.label(prob[:, top:bottom, left:right], core, done)
            seeds[core] = 0
            region = claimed[top:bottom, left:right]
            np.copyto(region, seeds, where=(region == 0) & (seeds > 0))
            ids[y0:y1, x0:x1] = core_ids
    mapping, count = stitch.final_ids()
    _same_objects(whole, mapping[ids])
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
