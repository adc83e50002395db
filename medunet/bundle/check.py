"""Check a dataset against a bundle before anything runs: every problem at once.

:func:`check_dataset` lists the cases the bundle's training would use (its own
``train#dataset#data`` and ``validate#dataset#data``), compares image and label headers
(NIfTI through nibabel, TIFF through tifffile: no voxels read), then reads every case through
the bundle's own loading and checking transforms (those of its ``preprocessing_transforms``:
``SafeLoadImaged``, ``CheckImaged``, ``CheckPaird``): unreadable files, channel counts,
NaN/Inf, shapes, pixel sizes, affines, label values the model cannot hold. Each problem is
one line naming the file and the fix; all of them are reported together, so a dataset is
repaired in one pass, and nothing is written. ``medunet check`` prints them; ``medunet
train`` runs the same check first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from monai.transforms import Compose

from medunet.bundle.config import LayeredConfig, spatial_dims_of
from medunet.data.headers import check_volume_header
from medunet.planning import DatasetFingerprint, case_fingerprint
from medunet.transforms.checks import CheckImaged, CheckPaird
from medunet.transforms.instances import label_components
from medunet.transforms.load import SafeLoadImaged

__all__ = ["DatasetReport", "check_dataset"]

logger = logging.getLogger(__name__)

_CHECKS = (SafeLoadImaged, CheckImaged, CheckPaird)


@dataclass
class DatasetReport:
    """What :func:`check_dataset` found: problems (one line each) and a summary."""

    problems: list[str] = field(default_factory=list)
    training: int = 0
    validation: int = 0
    shapes: list[tuple[int, ...]] = field(default_factory=list)
    spacings: list[tuple[float, ...]] = field(default_factory=list)
    label_values: set[int] = field(default_factory=set)
    objects: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """A few lines: cases, sizes, spacing, classes or objects."""
        lines = [f"{self.training} training and {self.validation} validation case(s)"]
        if self.shapes:
            sizes = np.asarray(self.shapes)
            lo, hi = tuple(sizes.min(0).tolist()), tuple(sizes.max(0).tolist())
            lines.append(f"image size {lo}" + (f" to {hi}" if lo != hi else ""))
        if self.spacings:
            median = np.median(np.asarray(self.spacings), axis=0)
            lines.append("median spacing " + " x ".join(f"{v:.4g}" for v in median))
        if self.label_values:
            lines.append(f"classes {sorted(self.label_values)}")
        else:
            lines.append(f"{self.objects} objects")
        return "; ".join(lines) + "".join(f"\nnote: {n}" for n in self.notes)


def _header(path: str) -> tuple[tuple[int, ...], np.ndarray | None] | None:
    """``(spatial shape, affine or None)`` from a file's header, or None where unsupported.

    Raises:
        ValueError: a volume header that places the volume nowhere
            (:func:`~medunet.data.headers.check_volume_header`).
    """
    header = check_volume_header(path)
    if header is not None:
        return header.shape, header.affine
    lower = path.lower()
    try:
        if lower.endswith((".tif", ".tiff")):
            import tifffile

            with tifffile.TiffFile(path) as tif:
                series = tif.series[0]
                axes, shape = series.axes, series.shape
                spatial = tuple(int(n) for a, n in zip(axes, shape, strict=True) if a in "ZYX")
                return spatial, None
    except Exception:  # unreadable headers are reported by the full read below
        return None
    return None


def _first(value: Any) -> str:
    return str(value[0] if isinstance(value, (list, tuple)) else value)


def _header_problem(item: dict) -> str | None:
    try:
        image, label = _header(_first(item["image"])), _header(_first(item["label"]))
    except ValueError as err:
        return str(err)
    except Exception:  # unreadable headers are reported by the full read
        return None
    if image is None or label is None:
        return None
    if image[0] != label[0] and len(image[0]) == len(label[0]):
        return (
            f"{_first(item['label'])} has spatial shape {label[0]} but {_first(item['image'])} "
            f"has {image[0]}; image and label must cover the same pixels."
        )
    return None


def _check_transforms(parser) -> list:
    """The bundle's loading and checking transforms (``preprocessing_transforms``), and only
    those: the rest (resampling to a training spacing, ...) may compute or write things."""
    items = parser["preprocessing_transforms"]
    names = tuple(t.__name__ for t in _CHECKS)
    chosen = [
        parser.get_parsed_content(f"preprocessing_transforms#{i}")
        for i, item in enumerate(items)
        if isinstance(item, dict) and str(item.get("_target_", "")).endswith(names)
    ]
    return [t for t in chosen if isinstance(t, _CHECKS)]


def _error_text(err: BaseException) -> str:
    while type(err) is RuntimeError and err.__cause__ is not None:
        err = err.__cause__  # MONAI's "applying transform" wrappers
    return " ".join(str(err).split()) or type(err).__name__


def check_dataset(
    config: LayeredConfig,
    overrides: dict[str, Any] | None = None,
    fingerprint: DatasetFingerprint | None = None,
) -> DatasetReport:
    """Check every training and validation case of a bundle's training config.

    Args:
        config: the bundle's ``train`` task (:func:`~medunet.bundle.layer_config`).
        overrides: more ``{id: value}`` on top of ``config.overrides`` (the data folder:
            ``dataset_dir``/``datalist``).
        fingerprint: every case that passes is also measured into it (the same read).

    Returns:
        a :class:`DatasetReport`; nothing is written.
    """
    parser = config.parser_with(overrides)
    dims = spatial_dims_of(config.bundle, parser)
    report = DatasetReport()
    try:
        training = parser.get_parsed_content("train#dataset#data")
        validation = parser.get_parsed_content("validate#dataset#data")
    except Exception as err:
        report.problems.append(_error_text(err))
        return report
    report.training, report.validation = len(training), len(validation)
    if not training:
        report.problems.append("no training cases found; check --data.")
        return report
    if len(training) == 1:
        report.notes.append("one labelled case: it is also the validation case")
    checks = Compose(_check_transforms(parser))
    instances = parser["label_instances"] if "label_instances" in parser else None
    seen: set[str] = set()
    for item in [*training, *validation]:
        key = f"{item['image']}|{item['label']}"
        if key in seen:
            continue
        seen.add(key)
        problem = _header_problem(item)
        if problem is None:
            try:
                data = checks(dict(item))
            except Exception as err:
                problem = _error_text(err)
            else:
                _describe(report, data, dims, instances)
                if fingerprint is not None:
                    volume = instances is None  # class maps, read in RAS via the affine
                    affine = getattr(data["image"], "affine", None) if volume else None
                    name = Path(_first(item["image"])).name
                    fingerprint.add(
                        case_fingerprint(name, data["image"], data["label"], dims,
                                         classes=volume, affine=affine)
                    )  # fmt: skip
        if problem is not None:
            report.problems.append(problem)
    return report


def _describe(report: DatasetReport, data: dict, spatial_dims: int, instances: str | None) -> None:
    """Add a case's size, spacing and classes (class maps) or objects (instance labels)."""
    image, label = data["image"], np.asarray(data["label"])
    report.shapes.append(tuple(int(n) for n in image.shape[1 : 1 + spatial_dims]))
    pixdim = getattr(image, "pixdim", None)
    if pixdim is not None:
        report.spacings.append(tuple(float(v) for v in np.asarray(pixdim).ravel()[:spatial_dims]))
    if instances is None:
        report.label_values.update(int(v) for v in np.unique(label))
    else:
        objects = label_components(label.reshape(label.shape[-spatial_dims:]), instances)
        report.objects += int(np.count_nonzero(np.unique(objects)))
