"""Fingerprints of synthetic labels for the planning tests."""

from __future__ import annotations

import numpy as np

from medunet.data import random_blobs
from medunet.planning import DatasetFingerprint, case_fingerprint


def fingerprint_of(labels: list[np.ndarray], images=None, classes=False, spacing=None):
    """The dataset fingerprint of ``labels`` (images: bright objects on a dim background)."""
    fp = DatasetFingerprint(labels[0].ndim, classes)
    for i, lab in enumerate(labels):
        image = images[i] if images is not None else (lab > 0).astype(np.float32) * 100 + 10
        fp.add(case_fingerprint(f"case{i}", image[None], lab, lab.ndim, classes, spacing))
    return fp


def nuclei(scale: int, seed: int = 0) -> np.ndarray:
    """Blobs about 20 px across (``scale`` x larger), some touching."""
    lab = random_blobs((192, 192), 60, radius_range=(8.0, 12.0), seed=seed)
    return np.kron(lab, np.ones((scale, scale), np.int32)) if scale > 1 else lab
