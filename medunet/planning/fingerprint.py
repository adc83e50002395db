"""A dataset's fingerprint: what its images and labels are like, measured once.

In the spirit of nnU-Net's dataset fingerprint, but for the paper's recipe: besides image
sizes, spacings and intensities, it measures the *objects* (sizes, gaps between neighbours,
touching pairs, holes: :mod:`medunet.planning.objects`) and what the labels are:

- ``instances``: one integer per object (nuclei, cells);
- ``binary``: a mask whose connected components are the objects (cells, nuclei drawn as
  one value);
- ``membranes``: a binary mask of regions separated by thin background lines (EM: cell
  interiors between membranes): objects nearly fill the image and lie a few pixels apart;
- ``classes``: a class map (CT/MRI organs and tissues), one value per class.

:func:`case_fingerprint` measures one case as the bundle reads it (channel-first image and
label); :class:`DatasetFingerprint` collects the cases and summarises them (percentiles of
the per-object measures over the whole dataset, per-case counts) as JSON for the run folder
(``fingerprint.json``) and for :mod:`medunet.planning.plan`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from medunet.planning.objects import ObjectMeasures, measure_objects
from medunet.transforms.instances import label_components

__all__ = ["LABEL_KINDS", "CaseFingerprint", "DatasetFingerprint", "case_fingerprint"]

#: what a dataset's labels are (see the module docstring)
LABEL_KINDS = ("instances", "binary", "membranes", "classes")
PERCENTILES = (0.5, 1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0, 99.5)
_SAMPLES = 200_000  # intensity values kept per case and channel


def _numpy(x: Any) -> np.ndarray:
    x = x.as_tensor() if hasattr(x, "as_tensor") else x
    return np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x)


def _subsample(values: np.ndarray) -> np.ndarray:
    step = max(1, values.size // _SAMPLES)
    return values[::step].astype(np.float64)


def _rank(sorted_values: np.ndarray, value: float) -> float:
    """Percentile rank (0-100) of ``value`` among ``sorted_values``."""
    if sorted_values.size == 0:
        return math.nan
    lo = np.searchsorted(sorted_values, value, "left")
    hi = np.searchsorted(sorted_values, value, "right")
    return float(100.0 * (lo + hi) / (2 * sorted_values.size))


@dataclass
class CaseFingerprint:
    """One case: sizes, spacing, label values, objects and intensities."""

    name: str
    shape: tuple[int, ...]
    channels: int
    spacing: tuple[float, ...]
    label_values: tuple[int, ...]
    objects: ObjectMeasures | None  # microscopy; None for class maps
    class_fractions: dict[int, float]
    intensity: list[dict[str, Any]]  # per channel: percentiles all/foreground/background, ranks


def case_fingerprint(
    name: str,
    image: Any,
    label: Any,
    spatial_dims: int,
    classes: bool = False,
    spacing: Sequence[float] | None = None,
    affine: Any = None,
) -> CaseFingerprint:
    """Measure one case as the bundle reads it.

    Args:
        name: the case (for messages and ``fingerprint.json``).
        image: ``(C, *spatial)`` intensities.
        label: ``(1, *spatial)`` or ``(*spatial)`` labels on the image's grid.
        spatial_dims: 2 or 3.
        classes: the labels are a class map (CT/MRI); otherwise instance or binary labels
            whose objects are measured (binary masks: their connected components).
        spacing: the pixel size per spatial axis (default: the image's ``pixdim`` or 1).
        affine: a volume's voxel-to-world matrix: axes are then measured in the order of the
            RAS frame the bundle reorients to (shape and spacing per R, A, S axis).
    """
    img = _numpy(image).astype(np.float32, copy=False)
    lab = _numpy(label)
    lab = lab.reshape(lab.shape[-spatial_dims:])
    if img.ndim == spatial_dims:
        img = img[None]
    if affine is not None and spatial_dims == 3:
        import nibabel as nib

        affine = np.asarray(_numpy(affine), dtype=float)
        order = nib.orientations.io_orientation(affine)[:, 0].astype(int)  # voxel -> RAS axis
        to_ras = tuple(int(i) for i in np.argsort(order))
        zooms = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
        spacing = [float(zooms[i]) for i in to_ras]
        lab = lab.transpose(to_ras)
        img = img.transpose((0, *(1 + i for i in to_ras)))
    if spacing is None:
        pixdim = getattr(image, "pixdim", None)
        spacing = [float(s) for s in np.asarray(pixdim).ravel()[:spatial_dims]] if (
            pixdim is not None
        ) else [1.0] * spatial_dims  # fmt: skip
    values = np.unique(lab)
    foreground = lab > 0
    objects = None
    fractions: dict[int, float] = {}
    if classes:
        counts = np.bincount(lab.astype(np.int64).ravel())
        fractions = {int(v): float(counts[int(v)]) / lab.size for v in values}
    else:
        mode = "connected_components" if values.size <= 2 else "labels"
        objects = measure_objects(label_components(lab, mode), spacing)
    intensity = []
    for channel in img:
        every = np.sort(_subsample(channel.ravel()))
        inside = _subsample(channel[foreground]) if foreground.any() else np.zeros(0)
        outside = _subsample(channel[~foreground]) if (~foreground).any() else np.zeros(0)
        entry: dict[str, Any] = {"all": np.percentile(every, PERCENTILES).tolist()}
        for key, part in (("foreground", inside), ("background", outside)):
            entry[key] = np.percentile(part, PERCENTILES).tolist() if part.size else None
            entry[f"{key}_rank"] = _rank(every, float(np.median(part))) if part.size else None
        intensity.append(entry)
    return CaseFingerprint(
        name=name,
        shape=tuple(int(n) for n in lab.shape),
        channels=int(img.shape[0]),
        spacing=tuple(float(s) for s in spacing),
        label_values=tuple(int(v) for v in values[:256]),
        objects=objects,
        class_fractions=fractions,
        intensity=intensity,
    )


def _stats(values: np.ndarray) -> dict[str, float] | None:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    q = np.percentile(values, (5, 10, 25, 50, 75, 90, 95))
    names = ("p5", "p10", "p25", "median", "p75", "p90", "p95")
    out = {k: round(float(v), 4) for k, v in zip(names, q, strict=True)}
    out.update(min=round(float(values.min()), 4), max=round(float(values.max()), 4))
    return out


@dataclass
class DatasetFingerprint:
    """The cases of a dataset and what they say together."""

    spatial_dims: int
    classes: bool  # class maps (CT/MRI) rather than objects
    cases: list[CaseFingerprint] = field(default_factory=list)

    def add(self, case: CaseFingerprint) -> None:
        self.cases.append(case)

    # ---- objects (microscopy)
    def _objects(self, attr: str, interior: bool = False) -> np.ndarray:
        parts = []
        for case in self.cases:
            if case.objects is None or not case.objects.count:
                continue
            values = getattr(case.objects, attr)
            if interior and (~case.objects.at_border).any():
                values = values[~case.objects.at_border]
            parts.append(np.asarray(values, dtype=float))
        return np.concatenate(parts) if parts else np.zeros(0)

    @property
    def sizes(self) -> np.ndarray:
        """Object sizes in pixels, objects cut by the image border left out (when any
        object is not)."""
        return self._objects("sizes", interior=True)

    @property
    def all_sizes(self) -> np.ndarray:
        """Object sizes in pixels, those cut by the image border included (the smallest
        objects a prediction must keep)."""
        return self._objects("sizes")

    @property
    def diameters(self) -> np.ndarray:
        return self._objects("diameters", interior=True)

    @property
    def gaps(self) -> np.ndarray:
        """Free distance to the nearest other object (finite: a neighbour within reach)."""
        gaps = self._objects("gaps")
        return gaps[np.isfinite(gaps)]

    @property
    def object_count(self) -> int:
        return int(sum(c.objects.count for c in self.cases if c.objects is not None))

    @property
    def touching_fraction(self) -> float:
        """The fraction of objects that touch another (their gap is 0)."""
        gaps = self._objects("gaps")
        return float(np.mean(gaps == 0)) if gaps.size else 0.0

    @property
    def touching_pairs(self) -> int:
        return int(sum(c.objects.touching_pairs for c in self.cases if c.objects is not None))

    @property
    def foreground_fraction(self) -> float:
        fractions = [
            c.objects.foreground_fraction
            if c.objects is not None
            else 1.0 - c.class_fractions.get(0, 0.0)
            for c in self.cases
        ]
        return float(np.mean(fractions)) if fractions else math.nan

    @property
    def hole_fraction(self) -> float:
        """The share of the objects' filled area that is holes (0: objects are solid)."""
        holes, sizes = self._objects("hole_fraction"), self._objects("sizes")
        filled = sizes / np.maximum(1.0 - holes, 1e-9)
        return float((filled * holes).sum() / filled.sum()) if filled.size else 0.0

    @property
    def label_kind(self) -> str:
        """``instances``, ``binary``, ``membranes`` or ``classes`` (module docstring)."""
        if self.classes:
            return "classes"
        if any(len(c.label_values) > 2 for c in self.cases):
            return "instances"
        diameters, gaps = self.diameters, self.gaps
        if (
            diameters.size
            and gaps.size
            and self.foreground_fraction > 0.5
            and float(np.median(gaps)) < 0.25 * float(np.median(diameters))
        ):
            return "membranes"
        return "binary"

    # ---- images
    @property
    def median_spacing(self) -> list[float]:
        return [float(v) for v in np.median([c.spacing for c in self.cases], axis=0)]

    @property
    def median_shape(self) -> list[int]:
        return [int(v) for v in np.median([c.shape for c in self.cases], axis=0)]

    def rank(self, part: str, channel: int = 0) -> float:
        """Median over the cases of the percentile rank of the ``part`` (``foreground`` or
        ``background``) median intensity within each image."""
        ranks = [
            c.intensity[channel][f"{part}_rank"]
            for c in self.cases
            if channel < len(c.intensity) and c.intensity[channel][f"{part}_rank"] is not None
        ]
        return float(np.median(ranks)) if ranks else math.nan

    def intensity(self, part: str, channel: int = 0) -> list[float] | None:
        """Median over the cases of each percentile of ``part`` (``all``, ``foreground``,
        ``background``), at :data:`PERCENTILES`."""
        rows = [
            c.intensity[channel][part]
            for c in self.cases
            if channel < len(c.intensity) and c.intensity[channel][part] is not None
        ]
        return [float(v) for v in np.median(rows, axis=0)] if rows else None

    def summary(self) -> dict[str, Any]:
        """Everything as JSON-able values (``fingerprint.json``)."""
        out: dict[str, Any] = {
            "cases": len(self.cases),
            "spatial_dims": self.spatial_dims,
            "label_kind": self.label_kind,
            "channels": sorted({c.channels for c in self.cases}),
            "image_size": {
                "median": self.median_shape,
                "min": [int(v) for v in np.min([c.shape for c in self.cases], axis=0)],
                "max": [int(v) for v in np.max([c.shape for c in self.cases], axis=0)],
            },
            "spacing": {
                "median": self.median_spacing,
                "anisotropy": round(max(self.median_spacing) / min(self.median_spacing), 4),
            },
            "foreground_fraction": round(self.foreground_fraction, 4),
            "intensity": {
                "percentiles": list(PERCENTILES),
                "all": self.intensity("all"),
                "foreground": self.intensity("foreground"),
                "background": self.intensity("background"),
                "foreground_rank": self.rank("foreground"),
                "background_rank": self.rank("background"),
            },
        }
        if self.classes:
            values = sorted({v for c in self.cases for v in c.label_values})
            means = {
                v: np.mean([c.class_fractions.get(v, 0.0) for c in self.cases]) for v in values
            }
            out["classes"] = {str(v): round(float(m), 6) for v, m in means.items()}
        else:
            out["objects"] = {
                "count": self.object_count,
                "per_image": [c.objects.count for c in self.cases if c.objects is not None],
                "touching_pairs": self.touching_pairs,
                "size_px": _stats(self.sizes),
                "size_px_with_border_objects": _stats(self.all_sizes),
                "diameter_px": _stats(self.diameters),
                "gap_px": _stats(self.gaps),
                "isolated": int(np.isinf(self._objects("gaps")).sum()),
                "hole_fraction": round(self.hole_fraction, 4),
            }
        out["per_case"] = [
            {"name": c.name, "shape": list(c.shape), "spacing": list(c.spacing),
             "objects": c.objects.count if c.objects is not None else None}
            for c in self.cases
        ]  # fmt: skip
        return out
