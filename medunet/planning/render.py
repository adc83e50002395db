"""A plan as a preset file (``plan.yaml``) and as a table for the terminal.

``plan.yaml`` is an ordinary medunet preset: one ``id: value`` line per planned setting with
the reason as a comment, so it can be read, edited and reused (``--preset plan.yaml``). Its
first setting is ``plan: false``: a run given this file does not plan again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from medunet.planning.fingerprint import DatasetFingerprint
from medunet.planning.plan import Plan

__all__ = ["fingerprint_lines", "plan_table", "plan_yaml"]


def _value(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    return text[: -len("...")].strip() if text.endswith("...") else text


def plan_yaml(plan: Plan, header: Sequence[str] = ()) -> str:
    """The plan as preset text: ``header`` lines as comments, then one line per setting."""
    lines = [f"# {h}" for h in header]
    rows = [("plan", "false", "this file is a plan: a run given it does not plan again")]
    rows += [(k, _value(v), plan.reasons.get(k, "")) for k, v in plan.settings.items()]
    width = max(len(f"{k}: {v}") for k, v, _ in rows)
    for key, value, why in rows:
        entry = f"{key}: {value}"
        lines.append(f"{entry:<{width}}  # {why}" if why else entry)
    text = "\n".join(lines) + "\n"
    yaml.safe_load(text)  # it must read back
    return text


def plan_table(plan: Plan) -> list[str]:
    """``setting  value  why`` lines, aligned."""
    rows = [("setting", "value", "why")]
    rows += [(k, _value(v), plan.reasons.get(k, "")) for k, v in plan.settings.items()]
    w0 = max(len(r[0]) for r in rows)
    w1 = min(max(len(r[1]) for r in rows), 36)
    return [f"{a:<{w0}}  {b:<{w1}}  {c}".rstrip() for a, b, c in rows]


def _fmt(stats: dict | None, unit: str = "") -> str:
    if not stats:
        return "-"
    return f"median {stats['median']:.4g}{unit} (5-95%: {stats['p5']:.4g}-{stats['p95']:.4g})"


def fingerprint_lines(fingerprint: DatasetFingerprint) -> list[str]:
    """A few lines saying what the dataset is like."""
    s = fingerprint.summary()
    size = s["image_size"]
    lines = [
        f"{s['cases']} labelled images, {s['spatial_dims']}D, {s['label_kind']} labels, "
        f"size {size['min']}" + (f" to {size['max']}" if size["min"] != size["max"] else "")
        + f", spacing {s['spacing']['median']}, foreground {100 * s['foreground_fraction']:.1f}%",
    ]  # fmt: skip
    objects = s.get("objects")
    if objects:
        lines.append(
            f"{objects['count']} objects ({min(objects['per_image'], default=0)}-"
            f"{max(objects['per_image'], default=0)} per image), {objects['touching_pairs']} "
            f"touching pairs; diameter {_fmt(objects['diameter_px'], ' px')}; gap to the "
            f"nearest neighbour {_fmt(objects['gap_px'], ' px')}"
        )
    classes = s.get("classes")
    if classes:
        lines.append("class fractions " + ", ".join(f"{k}: {v:.3f}" for k, v in classes.items()))
    intensity = s["intensity"]
    if intensity["foreground"] and intensity["background"]:
        lines.append(
            f"intensity median foreground {intensity['foreground'][4]:.4g}, background "
            f"{intensity['background'][4]:.4g} (percentile {intensity['foreground_rank']:.0f} "
            f"and {intensity['background_rank']:.0f} of their images)"
        )
    return lines
