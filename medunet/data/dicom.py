"""DICOM in a folder: one series (a volume, read as one image) or separate single files.

A folder given to ``medunet infer`` may be a DICOM series (one file per slice) or hold
single-file DICOM images (one slice each, or enhanced multi-frame files): both end in
``.dcm``. :func:`is_single_series` tells them apart by the series UIDs in the headers
(GDCM, through SimpleITK), so a series is read as one volume and single files each alone.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["is_single_series"]


def is_single_series(folder: str | Path) -> bool:
    """Whether ``folder`` holds one DICOM series of several files (a volume)."""
    import SimpleITK as sitk

    folder = str(folder)
    try:
        series = sitk.ImageSeriesReader.GetGDCMSeriesIDs(folder)
    except RuntimeError:
        return False
    if len(series) != 1:
        return False
    return len(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(folder, series[0])) > 1
