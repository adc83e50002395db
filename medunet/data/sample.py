"""The embedded sample: one real 2D fluorescence nuclei image with instance labels.

512x512 uint16 image and uint16 instance labels (125 nuclei, 21 touching pairs) from the
2018 Data Science Bowl set (BBBC038, CC0); provenance in ``medunet/data/sample/NOTICE``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import tifffile

__all__ = ["load_sample", "sample_paths"]


def sample_paths() -> tuple[Path, Path]:
    """Paths of the embedded ``image.tif`` and ``labels.tif``."""
    folder = Path(str(resources.files("medunet.data") / "sample"))
    return folder / "image.tif", folder / "labels.tif"


def load_sample() -> tuple[np.ndarray, np.ndarray]:
    """The embedded sample as arrays.

    Returns:
        ``(image, labels)``: ``image`` float32 ``(H, W)`` scaled to [0, 1] by its 0.5 and 99.5
        percentiles, ``labels`` int32 ``(H, W)`` instance labels (0 = background).
    """
    image_path, labels_path = sample_paths()
    image = tifffile.imread(image_path).astype(np.float32)
    lo, hi = np.percentile(image, (0.5, 99.5))
    image = np.clip((image - lo) / max(hi - lo, 1e-6), 0.0, 1.0).astype(np.float32)
    labels = tifffile.imread(labels_path).astype(np.int32)
    return image, labels
