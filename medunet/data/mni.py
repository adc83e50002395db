"""The MNI152 template as a bundle dataset: grey/white matter labels, one hemisphere each.

``../shared/data/mni152`` holds a 1 mm T1 template with grey- and white-matter probability
maps (0-255). :func:`write_hemisphere_split` writes labels 0 other, 1 grey matter
(``gm > 127``), 2 white matter (``wm > 127``) and splits the volume at the mid-sagittal
plane (x = 0 mm): the left hemisphere for training, the right for testing, optionally
downsampled by an integer ``step`` for quick CPU runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from medunet.data.io import atomic_path

__all__ = ["write_hemisphere_split"]


def write_hemisphere_split(mni_dir: str | Path, out_dir: str | Path, step: int = 1) -> Path:
    """Write ``imagesTr/left``, ``labelsTr/left``, ``imagesTs/right``, ``labelsTs/right``
    (NIfTI, with the template's world coordinates) and ``evaluate.json`` (validation =
    the right hemisphere).

    Returns:
        ``out_dir``.
    """
    import nibabel as nib

    mni, out = Path(mni_dir), Path(out_dir)
    missing = [n for n in ("t1.nii.gz", "gm.nii.gz", "wm.nii.gz") if not (mni / n).is_file()]
    if missing:
        raise ValueError(f"{mni / missing[0]} is missing; point mni_dir at the mni152 folder.")
    t1 = nib.load(mni / "t1.nii.gz")
    gm = np.asarray(nib.load(mni / "gm.nii.gz").dataobj)
    wm = np.asarray(nib.load(mni / "wm.nii.gz").dataobj)
    labels = np.zeros(gm.shape, np.uint8)
    labels[gm > 127] = 1
    labels[wm > 127] = 2
    image = np.asarray(t1.dataobj).astype(np.float32)
    affine = t1.affine.copy()
    # voxel index of x = 0 mm along the first axis (the template is RAS, 1 mm)
    mid = round(float(-affine[0, 3] / affine[0, 0]))
    parts = {"left": slice(0, mid), "right": slice(mid, None)}
    if affine[0, 0] < 0:
        parts = {"left": slice(mid, None), "right": slice(0, mid)}
    for name, sl in parts.items():
        start = sl.start or 0
        part_affine = affine.copy()
        part_affine[:3, 3] = affine[:3, :3] @ np.array([start, 0, 0]) + affine[:3, 3]
        part_affine[:3, :3] = affine[:3, :3] * step
        img = image[sl][::step, ::step, ::step]
        lab = labels[sl][::step, ::step, ::step]
        kind = "Tr" if name == "left" else "Ts"
        for folder, array in ((f"images{kind}", img), (f"labels{kind}", lab)):
            with atomic_path(out / folder / f"mni_{name}.nii.gz") as tmp:
                nib.save(nib.Nifti1Image(array, part_affine), str(tmp))
    datalist = {
        "training": [{"image": "imagesTr/mni_left.nii.gz", "label": "labelsTr/mni_left.nii.gz"}],
        "validation": [
            {"image": "imagesTs/mni_right.nii.gz", "label": "labelsTs/mni_right.nii.gz"}
        ],
    }
    with atomic_path(out / "evaluate.json") as tmp:
        tmp.write_text(json.dumps(datalist, indent=2))
    return out
