"""Data lists for the bundles: a Decathlon/nnU-Net folder or a MONAI datalist JSON.

A ``dataset_dir`` holds ``imagesTr/`` + ``labelsTr/`` (matching names; nnU-Net channel
files ``case_0000.tif``, ``case_0001.tif`` are grouped into one multi-channel image whose
label is ``labelsTr/case.tif``) and optionally ``imagesTs/``. A MONAI datalist JSON
(``{"training": [{"image": ..., "label": ...}], "validation": [...], "test": [...]}``, paths
relative to the JSON's folder or to ``dataset_dir``) can be given instead. Every problem (a
missing folder, an image without label, a path that does not exist) is a one-line
``ValueError`` naming the file.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from medunet.data.io import split_suffix
from medunet.data.microscopy import MICROSCOPY_SUFFIXES

__all__ = ["case_name", "find_images", "list_test_images", "training_split"]

logger = logging.getLogger(__name__)

_CHANNEL_SUFFIX = re.compile(r"^(?P<case>.+)_(?P<channel>\d{4})$")


def case_name(path: str | Path) -> tuple[str, int]:
    """``(case, channel)`` of an image file or DICOM folder: the name without folder,
    extension and nnU-Net ``_0000``-style channel suffix (channel 0 when there is none)."""
    path = Path(path)
    stem = path.name if path.is_dir() else split_suffix(path.name)[0]
    match = _CHANNEL_SUFFIX.match(stem)
    return (match["case"], int(match["channel"])) if match else (stem, 0)


def find_images(folder: str | Path, suffixes: Sequence[str]) -> dict[str, list[str]]:
    """Images in ``folder`` by case name; nnU-Net ``_0000``-style channel files grouped.

    ``suffixes`` are the file extensions listed (e.g. ``(".nii.gz", ".nrrd")``); a ``"/"``
    among them also lists sub-folders, each one case (a DICOM series).

    Returns:
        ``{case: [path, ...]}`` sorted by case, channel files in channel order.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder; check dataset_dir.")
    folders = "/" in suffixes  # a sub-folder is one case: a DICOM series
    suffixes = tuple(s.lower() for s in suffixes if s != "/")
    cases: dict[str, dict[int, str]] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir() and not folders:
            if path.name.lower().endswith(suffixes):
                raise ValueError(
                    f"{path} is a folder, expected an image file; move it out of {folder}."
                )
            continue
        if not path.is_dir() and not path.name.lower().endswith(suffixes):
            continue
        case, channel = case_name(path)
        if channel in cases.setdefault(case, {}):
            raise ValueError(
                f"{path} and {cases[case][channel]} are both case {case!r} channel {channel}; "
                "rename one of them."
            )
        cases[case][channel] = str(path)
    out = {}
    for case, channels in sorted(cases.items()):
        if sorted(channels) != list(range(len(channels))):
            raise ValueError(
                f"{folder}: case {case!r} has channel files {sorted(channels)}; number them "
                "_0000, _0001, ... without gaps."
            )
        out[case] = [channels[c] for c in sorted(channels)]
    return out


def _item(paths: list[str]) -> str | list[str]:
    return paths[0] if len(paths) == 1 else paths


def _folder_pairs(dataset_dir: Path, suffixes: Sequence[str]) -> list[dict]:
    images = find_images(dataset_dir / "imagesTr", suffixes)
    labels_dir = dataset_dir / "labelsTr"
    labels = find_images(labels_dir, suffixes)
    missing = sorted(set(images) - set(labels))
    if missing:
        first = images[missing[0]][0]
        raise ValueError(
            f"{first} has no label in {labels_dir} (expected a file named {missing[0]} + "
            f"extension){f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}."
        )
    extra = sorted(set(labels) - set(images))
    if extra:
        logger.warning("%d label file(s) without image ignored, e.g. %s", len(extra), extra[0])
    return [{"image": _item(images[c]), "label": labels[c][0]} for c in images]


def _resolve(value: str | list[str], bases: Sequence[Path], where: str) -> str | list[str]:
    if isinstance(value, list):
        return [_resolve(v, bases, where) for v in value]  # type: ignore[misc]
    for base in bases:
        candidate = (base / value).expanduser()
        if candidate.exists():
            return str(candidate)
    raise ValueError(f"{where}: {value} does not exist (looked in {', '.join(map(str, bases))}).")


def _json_items(datalist: Path, dataset_dir: Path | None, section: str, keys: Sequence[str]):
    try:
        content = json.loads(datalist.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{datalist} is not a readable JSON datalist ({err}).") from err
    items = content.get(section, []) if isinstance(content, dict) else None
    if not isinstance(items, list):
        raise ValueError(f"{datalist}: {section!r} must be a list of {{'image': ...}} items.")
    bases = [datalist.parent] + ([dataset_dir] if dataset_dir is not None else [])
    out = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            item = {"image": item}
        missing = [k for k in keys if k not in item]
        if missing:
            raise ValueError(
                f"{datalist}: {section}[{i}] has no {missing[0]!r} key; every item needs "
                f"{list(keys)}."
            )
        where = f"{datalist} {section}[{i}]"
        out.append({k: _resolve(v, bases, where) if k in keys else v for k, v in item.items()})
    return out


def training_split(
    dataset_dir: str | Path,
    part: str = "training",
    datalist: str | Path | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    suffixes: Sequence[str] = MICROSCOPY_SUFFIXES,
    val_regions: float = 0.0,
) -> list[dict]:
    """The training or validation items of a dataset, split reproducibly.

    Args:
        dataset_dir: folder with ``imagesTr/`` and ``labelsTr/`` (or the base of relative
            datalist paths).
        part: ``"training"`` or ``"validation"``.
        datalist: optional MONAI datalist JSON; its ``"validation"`` section, when present,
            is the validation set; otherwise ``val_fraction`` of ``"training"`` is held out.
        val_fraction: fraction held out (at least one case) by a seeded shuffle. A dataset of
            one case validates on its training case (logged).
        seed: shuffle seed (the same seed gives the same split in every run and process).
        suffixes: image file extensions to list.
        val_regions: > 0: no image is held out whole; every item (of the datalist's
            ``training`` section, or of the folder) is both a training and a validation
            item, with ``"region": {"part": ..., "fraction": val_regions}``: the last
            ``val_regions`` of its longest axis validates, the rest trains
            (:class:`~medunet.transforms.CropRegiond` crops them). ``val_fraction`` is then
            not used.

    Returns:
        ``[{"image": path or [channel paths], "label": path}, ...]`` (with ``"region"``
        when ``val_regions`` > 0).
    """
    if part not in ("training", "validation"):
        raise ValueError(f"part must be 'training' or 'validation', got {part!r}.")
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}.")
    if not 0.0 <= val_regions < 1.0:
        raise ValueError(f"val_regions must be in [0, 1), got {val_regions}.")
    base = Path(dataset_dir).expanduser() if dataset_dir else None
    if datalist:
        path = Path(datalist).expanduser()
        if not path.is_file():
            raise ValueError(f"datalist {path} does not exist; give an existing JSON file.")
        train = _json_items(path, base, "training", ("image", "label"))
        val = _json_items(path, base, "validation", ("image", "label"))
        if val:
            return train if part == "training" else val
        source = str(path)
    else:
        if base is None or not base.is_dir():
            raise ValueError(
                f"dataset_dir {dataset_dir} is not a folder; pass --dataset_dir with imagesTr/ "
                "and labelsTr/ (or a datalist JSON)."
            )
        train = _folder_pairs(base, suffixes)
        source = str(base / "imagesTr")
    if not train:
        raise ValueError(f"{source}: no training images found (extensions {list(suffixes)}).")
    if val_regions > 0:
        region = {"part": part, "fraction": float(val_regions)}
        return [{**item, "region": dict(region)} for item in train]
    if len(train) == 1 or val_fraction == 0.0:
        if part == "validation":
            logger.warning(
                "%s: validating on the training data (one case or val_fraction 0)", source
            )
        return train
    order = np.random.default_rng(seed).permutation(len(train))
    n_val = max(1, round(val_fraction * len(train)))
    chosen = sorted(order[:n_val]) if part == "validation" else sorted(order[n_val:])
    return [train[i] for i in chosen]


def list_test_images(
    dataset_dir: str | Path,
    folder: str = "imagesTs",
    suffixes: Sequence[str] = MICROSCOPY_SUFFIXES,
) -> list[dict]:
    """``[{"image": path or [channel paths]}]`` for every image in ``dataset_dir/folder``."""
    root = Path(dataset_dir).expanduser()
    images = find_images(root / folder, suffixes)
    if not images:
        raise ValueError(f"{root / folder}: no images found (extensions {list(suffixes)}).")
    return [{"image": _item(paths)} for paths in images.values()]
