"""Instance labels as GeoJSON for QuPath: one polygon per object, traced along pixel edges.

QuPath imports a ``FeatureCollection`` of features with ``objectType`` ``"detection"``, a
``classification`` and ``measurements``, in image pixel coordinates (``[x, y]``, the origin at
the top-left corner of the top-left pixel). The polygons here follow the pixel edges exactly,
so the pixels whose centres they enclose (even-odd rule) are the object's pixels: nothing is
smoothed away, holes are kept as inner rings, an object in several pieces (4-connected) is a
``MultiPolygon``. Exterior rings run counterclockwise and holes clockwise in the ``[x, y]``
numbers (RFC 7946).

:func:`write_geojson` reads the labels a stripe of rows at a time and writes each object as
soon as no later stripe can hold it, so a whole slide is written in the memory of its largest
objects' rows (atomically: a temporary file renamed when complete).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from medunet.data.io import atomic_path

__all__ = ["label_features", "object_rings", "write_geojson"]

# headings (row, column) and the right turn of each: east, south, west, north
_STEPS = ((0, 1), (1, 0), (0, -1), (-1, 0))
_RIGHT = {0: 1, 1: 2, 2: 3, 3: 0}


def _trace(mask: np.ndarray) -> list[list[tuple[int, int]]]:
    """Closed rings ``[(row, col), ...]`` of the pixel edges around ``mask`` (one 4-connected
    piece), walked with the object on the right on screen; at a vertex two pieces touch, the
    right turn keeps each ring around its own piece."""
    p = np.pad(mask, 1)
    outgoing: dict[tuple[int, int], list[tuple[int, tuple[int, int]]]] = {}

    def add(rows, cols, heading):
        dr, dc = _STEPS[heading]
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            outgoing.setdefault((r, c), []).append((heading, (r + dr, c + dc)))

    r, c = np.nonzero(p[1:] & ~p[:-1])  # object below the edge: its top, walked east
    add(r + 1, c, 0)
    r, c = np.nonzero(p[:-1] & ~p[1:])  # object above: its bottom, walked west
    add(r + 1, c + 1, 2)
    r, c = np.nonzero(p[:, 1:] & ~p[:, :-1])  # object to the right: its left side, north
    add(r + 1, c + 1, 3)
    r, c = np.nonzero(p[:, :-1] & ~p[:, 1:])  # object to the left: its right side, south
    add(r, c + 1, 1)
    rings = []
    while outgoing:
        # a start where only one edge leaves: where two pieces touch, the way on is chosen
        # by the way in, which a start does not have
        start = next(v for v, edges in outgoing.items() if len(edges) == 1)
        first, vertex = _take(outgoing, start, None)
        ring, previous = [], first
        while vertex != start:
            heading, following = _take(outgoing, vertex, previous)
            if heading != previous:  # keep the corners only
                ring.append(vertex)
            vertex, previous = following, heading
        if previous != first:
            ring.insert(0, start)
        rings.append([(r - 1, c - 1) for r, c in ring])  # back to unpadded coordinates
    return rings


def _take(outgoing, vertex, heading):
    """Remove and return the edge leaving ``vertex``: the only one, or the right turn."""
    edges = outgoing[vertex]
    index = 0
    if len(edges) > 1 and heading is not None:
        index = next((i for i, (h, _) in enumerate(edges) if h == _RIGHT[heading]), 0)
    edge = edges.pop(index)
    if not edges:
        del outgoing[vertex]
    return edge


def _area(ring: list[list[int]]) -> float:
    """Signed area of a closed ``[[x, y], ...]`` ring: positive counterclockwise in the
    numbers (RFC 7946 exteriors)."""
    xy = np.asarray(ring, float)
    return 0.5 * float(np.dot(xy[:-1, 0], xy[1:, 1]) - np.dot(xy[1:, 0], xy[:-1, 1]))


def object_rings(mask: np.ndarray, offset: tuple[int, int] = (0, 0)) -> list[list[list]]:
    """The polygons of one object ``mask`` ``(H, W)`` bool: ``[[exterior, *holes], ...]``,
    one per 4-connected piece, each ring closed ``[[x, y], ...]`` with ``offset`` (row,
    column of ``mask[0, 0]``) added."""
    pieces, _ = ndi.label(mask)
    polygons = []
    for piece, found in enumerate(ndi.find_objects(pieces), start=1):
        crop = pieces[found] == piece
        r0, c0 = found[0].start + offset[0], found[1].start + offset[1]
        rings = []
        for ring in _trace(crop):
            closed = [[c + c0, r + r0] for r, c in ring]
            rings.append([*closed, closed[0]])
        rings.sort(key=lambda ring: -abs(_area(ring)))
        polygons.append(rings)  # the exterior encloses the holes: the largest first
    return polygons


def _feature(label: int, polygons: list, area: int, probability: float | None,
             classification: dict) -> dict:  # fmt: skip
    if len(polygons) == 1:
        geometry = {"type": "Polygon", "coordinates": polygons[0]}
    else:
        geometry = {"type": "MultiPolygon", "coordinates": polygons}
    measurements = {"Label": int(label), "Area px": int(area)}
    if probability is not None:
        measurements["Mean probability"] = round(float(probability), 6)
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "objectType": "detection",
            "name": f"object {label}",
            "classification": classification,
            "measurements": measurements,
        },
    }


def label_features(
    stripes: Iterable[np.ndarray],
    probabilities: Iterable[np.ndarray] | None = None,
    classification: dict | None = None,
) -> Iterator[dict]:
    """GeoJSON features of the objects of a label image given as consecutive row
    ``stripes`` ``(rows, W)`` (any heights), with the matching stripes of foreground
    ``probabilities`` for the mean probability; each object is yielded once the stripe after
    its last row has been read (the rows above the oldest open object are dropped)."""
    classification = classification or {"name": "Object", "color": [255, 200, 0]}
    probabilities = iter(probabilities) if probabilities is not None else None
    rows: list[np.ndarray] = []
    probs: list[np.ndarray] = []
    top = 0  # image row of rows[0]
    seen = 0  # image rows read
    boxes: dict[int, list[int]] = {}  # label -> [row0, row1, col0, col1], still open
    for stripe in stripes:
        stripe = np.asarray(stripe)
        rows.append(stripe)
        if probabilities is not None:
            probs.append(np.asarray(next(probabilities)))
        present = _boxes(stripe, seen)
        seen += stripe.shape[0]
        closed = [label for label in boxes if label not in present]
        for label, box in present.items():
            old = boxes.get(label)
            boxes[label] = box if old is None else [
                old[0], box[1], min(old[2], box[2]), max(old[3], box[3])
            ]  # fmt: skip
        yield from _emit(closed, boxes, rows, probs, top, classification)
        first = min((box[0] for box in boxes.values()), default=seen)
        while rows and top + rows[0].shape[0] <= first:
            top += rows[0].shape[0]
            rows.pop(0)
            if probs:
                probs.pop(0)
    yield from _emit(sorted(boxes), boxes, rows, probs, top, classification)


def _boxes(stripe: np.ndarray, y0: int) -> dict[int, list[int]]:
    """``{label: [row0, row1, col0, col1]}`` (image rows, end exclusive) in ``stripe``."""
    flat = np.flatnonzero(stripe)
    if not flat.size:
        return {}
    labels = stripe.reshape(-1)[flat]
    order = np.argsort(labels, kind="stable")
    labels, flat = labels[order], flat[order]
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    r, c = np.divmod(flat, stripe.shape[1])
    return {
        int(label): [int(r0) + y0, int(r1) + y0 + 1, int(c0), int(c1) + 1]
        for label, r0, r1, c0, c1 in zip(
            labels[starts].tolist(),
            np.minimum.reduceat(r, starts), np.maximum.reduceat(r, starts),
            np.minimum.reduceat(c, starts), np.maximum.reduceat(c, starts),
            strict=True,
        )
    }  # fmt: skip


def _emit(labels, boxes, rows, probs, top, classification) -> Iterator[dict]:
    if not labels:
        return
    block = np.concatenate(rows, axis=0)
    prob = np.concatenate(probs, axis=0) if probs else None
    for label in sorted(labels):
        r0, r1, c0, c1 = boxes.pop(label)
        crop = block[r0 - top : r1 - top, c0:c1] == label
        mean = None if prob is None else float(prob[r0 - top : r1 - top, c0:c1][crop].mean())
        polygons = object_rings(crop, (r0, c0))
        yield _feature(label, polygons, int(crop.sum()), mean, classification)


def write_geojson(
    path: str | Path,
    stripes: Iterable[np.ndarray],
    probabilities: Iterable[np.ndarray] | None = None,
    classification: dict | None = None,
    overwrite: bool = True,
) -> int:
    """Write the objects of a label image (row ``stripes``, see :func:`label_features`) as a
    GeoJSON ``FeatureCollection`` QuPath imports; returns the number of objects."""
    count = 0
    with atomic_path(path, overwrite=overwrite) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write('{"type": "FeatureCollection", "features": [\n')
        for feature in label_features(stripes, probabilities, classification):
            f.write((",\n" if count else "") + json.dumps(feature, separators=(",", ":")))
            count += 1
        f.write("\n]}\n")
    return count
