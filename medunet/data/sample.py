"""The embedded sample: one real 2D fluorescence nuclei image with instance labels.

512x512 uint16 image and uint16 instance labels (125 nuclei, 21 touching pairs) from the
2018 Data Science Bowl set (BBBC038, CC0); provenance in ``medunet/data/sample/NOTICE``.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import tifffile

from medunet.data.io import atomic_path

__all__ = ["load_sample", "sample_paths", "write_sample_split"]


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


def write_sample_split(out_dir: str | Path, overwrite: bool = False) -> Path:
    """The embedded sample as a bundle dataset: train on the left half, test on the right.

    Writes ``imagesTr/nuclei_left.tif`` + ``labelsTr/nuclei_left.tif`` (columns 0-255),
    ``imagesTs/nuclei_right.tif`` + ``labelsTs/nuclei_right.tif`` (columns 256-511, raw
    uint16 as in the source file) and ``evaluate.json``, a MONAI datalist whose
    ``validation`` section is the right half (for ``evaluate.yaml``).

    Returns:
        ``out_dir``.
    """
    out = Path(out_dir)
    image_path, labels_path = sample_paths()
    image, labels = tifffile.imread(image_path), tifffile.imread(labels_path)
    half = image.shape[1] // 2
    parts = {
        "imagesTr/nuclei_left.tif": image[:, :half],
        "labelsTr/nuclei_left.tif": labels[:, :half],
        "imagesTs/nuclei_right.tif": image[:, half:],
        "labelsTs/nuclei_right.tif": labels[:, half:],
    }
    for name, array in parts.items():
        with atomic_path(out / name, overwrite=overwrite) as tmp:
            tifffile.imwrite(tmp, np.ascontiguousarray(array), imagej=True, metadata={"axes": "YX"})
    datalist = {
        "training": [{"image": "imagesTr/nuclei_left.tif", "label": "labelsTr/nuclei_left.tif"}],
        "validation": [
            {"image": "imagesTs/nuclei_right.tif", "label": "labelsTs/nuclei_right.tif"}
        ],
    }
    with atomic_path(out / "evaluate.json", overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(datalist, indent=2))
    return out
