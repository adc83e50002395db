"""Warping error (Jain et al. 2010), the topology score of the ISBI 2012 challenge, in 2D.

The binary prediction L is warped toward the truth T by flipping, one at a time, pixels
where they disagree *and* whose flip does not change L's topology (simple points: the
foreground is 8-connected, the background 4-connected, and a pixel is simple when its
3x3 neighbourhood holds exactly one foreground 8-component and exactly one background
4-component adjacent to it). When no disagreeing pixel is simple any more, what remains
are topological errors (splits, merges, holes, missing or extra objects); the warping error
is their pixel fraction, and the connected clusters of them are counted as errors.

Pixels whose 8-neighbourhoods do not overlap (one of the four (row, column) parities) do
not influence each other's simplicity, so each parity class is flipped at once, vectorised.
Instance labels are first turned into a foreground in which touching objects stay
separate (their shared border is background), so merging two touching nuclei counts.
3D would need the 26/6 simple-point test; it is not provided here.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from medunet.transforms.instances import InstanceToSemantic

__all__ = ["separated_foreground", "warping_error"]

_FOUR = ((0, 1), (1, 0), (1, 2), (2, 1))
_OFFSETS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]


def _simple_table() -> np.ndarray:
    """Simplicity of the centre pixel for each of the 256 8-neighbourhood configurations."""
    table = np.zeros(256, bool)
    eight = np.ones((3, 3), bool)
    for code in range(256):
        nb = np.zeros((3, 3), bool)
        for bit, (dy, dx) in enumerate(_OFFSETS):
            nb[1 + dy, 1 + dx] = bool(code >> bit & 1)
        _, n_fg = ndi.label(nb, structure=eight)  # centre excluded (False)
        bg = ~nb
        bg[1, 1] = False
        bg_lab, _ = ndi.label(bg)  # 4-connectivity
        n_bg = len({bg_lab[p] for p in _FOUR if bg_lab[p]})
        table[code] = n_fg == 1 and n_bg == 1
    return table


_SIMPLE = _simple_table()


def _codes(mask: np.ndarray) -> np.ndarray:
    padded = np.pad(mask, 1).astype(np.uint16)
    h, w = mask.shape
    code = np.zeros((h, w), np.uint16)
    for bit, (dy, dx) in enumerate(_OFFSETS):
        code |= padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] << bit
    return code


def separated_foreground(labels: np.ndarray) -> np.ndarray:
    """Foreground of instance labels with the pixels where two objects touch removed."""
    labels = np.asarray(labels)
    return np.asarray(InstanceToSemantic(border_class=True)(labels[None].astype(np.int64))[0] == 1)


def warping_error(
    pred: np.ndarray, truth: np.ndarray, max_rounds: int = 10_000
) -> tuple[float, int]:
    """``(error, n_errors)`` of 2D label images (instance or binary; 0 = background).

    Returns:
        the fraction of pixels still disagreeing after the topology-preserving warp, and
        the number of connected (8-connectivity) clusters of them.
    """
    pred, truth = np.asarray(pred), np.asarray(truth)
    if pred.shape != truth.shape:
        raise ValueError(f"prediction {pred.shape} and truth {truth.shape} differ in shape.")
    if pred.ndim != 2:
        raise ValueError(f"warping_error is defined here for 2D images, got shape {pred.shape}.")
    target = separated_foreground(truth)
    warped = separated_foreground(pred)
    parities = [(py, px) for py in (0, 1) for px in (0, 1)]
    yy, xx = np.indices(warped.shape)
    for _ in range(max_rounds):
        changed = False
        for py, px in parities:
            candidates = (warped != target) & (yy % 2 == py) & (xx % 2 == px)
            if not candidates.any():
                continue
            flip = candidates & _SIMPLE[_codes(warped)]
            if flip.any():
                warped = warped ^ flip
                changed = True
        if not changed:
            break
    wrong = warped != target
    _, n_errors = ndi.label(wrong, structure=np.ones((3, 3), bool))
    return float(wrong.mean()), int(n_errors)
