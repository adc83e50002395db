"""GeoJSON objects for QuPath: pixel-edge polygons whose rasterisation is the object, holes and
pieces kept, the same features from stripes of any height as from the whole image."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
from bundle_helpers import rasterise

from medunet.data.geojson import label_features, object_rings, write_geojson


def _label(feature: dict) -> int:
    return feature["properties"]["measurements"]["Label"]


def test_random_labels_round_trip_exactly_with_holes_and_pieces():
    rng = np.random.default_rng(0)
    for _ in range(100):
        shape = (int(rng.integers(3, 25)), int(rng.integers(3, 25)))
        labels = rng.integers(0, 4, shape) * (rng.random(shape) < 0.7)
        features = list(label_features([labels]))
        assert sorted(map(_label, features)) == sorted(set(np.unique(labels)) - {0})
        for feature in features:
            np.testing.assert_array_equal(rasterise(feature, shape), labels == _label(feature))


def test_a_ring_with_a_hole_touching_diagonally_and_winding():
    mask = np.array(
        [[1, 1, 1, 1],
         [1, 0, 0, 1],
         [1, 0, 1, 1],
         [1, 1, 1, 0]], bool,
    )  # fmt: skip
    (polygon,) = object_rings(mask, offset=(10, 20))
    exterior, *holes = polygon
    assert len(holes) == 1 and exterior[0] == exterior[-1]
    assert min(x for x, _ in exterior) == 20 and min(y for _, y in exterior) == 10

    def area(ring):
        xy = np.asarray(ring, float)
        return 0.5 * (np.dot(xy[:-1, 0], xy[1:, 1]) - np.dot(xy[1:, 0], xy[:-1, 1]))

    assert area(exterior) == 12 + 3 and area(holes[0]) == -3  # RFC 7946: holes clockwise
    pieces = np.array([[1, 0], [0, 1]], bool)  # two 4-connected pieces touching at a corner
    assert len(object_rings(pieces)) == 2


def test_real_nuclei_stripes_equal_the_whole_image_and_rasterise_back(shared_data, tmp_path):
    labels = tifffile.imread(shared_data / "nuclei2d" / "labels.tif")
    prob = (labels > 0).astype(np.float32) * 0.75
    whole = list(label_features([labels], [prob]))
    stripes = [labels[y : y + 37] for y in range(0, labels.shape[0], 37)]
    probs = [prob[y : y + 37] for y in range(0, labels.shape[0], 37)]
    parts = list(label_features(stripes, probs))
    assert sorted(map(json.dumps, parts)) == sorted(map(json.dumps, whole))
    assert len(whole) == len(set(np.unique(labels)) - {0})
    for feature in whole:
        mask = labels == _label(feature)
        got = rasterise(feature, labels.shape)
        assert (got & mask).sum() / (got | mask).sum() >= 0.99
        properties = feature["properties"]
        assert properties["objectType"] == "detection" and properties["classification"]["name"]
        assert properties["measurements"]["Area px"] == mask.sum()
        assert properties["measurements"]["Mean probability"] == pytest.approx(0.75)
    count = write_geojson(tmp_path / "n.geojson", stripes, probs, overwrite=False)
    collection = json.loads((tmp_path / "n.geojson").read_text())
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == count
    with pytest.raises(FileExistsError):
        write_geojson(tmp_path / "n.geojson", [labels], overwrite=False)
    assert [p.name for p in tmp_path.iterdir()] == ["n.geojson"]  # no temporary file left
