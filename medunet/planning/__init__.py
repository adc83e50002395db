"""Planning: a dataset's fingerprint and the recipe's settings derived from it.

:func:`case_fingerprint` / :class:`DatasetFingerprint` measure what a dataset is like (object
sizes, gaps, touching pairs, label kind, intensities, spacing); :func:`make_plan` turns that
into bundle settings with a reason each; :func:`plan_yaml` writes them as a preset.
"""

from __future__ import annotations

from medunet.planning.fingerprint import (
    LABEL_KINDS,
    CaseFingerprint,
    DatasetFingerprint,
    case_fingerprint,
)
from medunet.planning.objects import ObjectMeasures, equivalent_diameter, measure_objects
from medunet.planning.plan import Plan, make_plan
from medunet.planning.render import fingerprint_lines, plan_table, plan_yaml

__all__ = [
    "LABEL_KINDS",
    "CaseFingerprint",
    "DatasetFingerprint",
    "ObjectMeasures",
    "Plan",
    "case_fingerprint",
    "equivalent_diameter",
    "fingerprint_lines",
    "make_plan",
    "measure_objects",
    "plan_table",
    "plan_yaml",
]
