"""OME-NGFF stores: what an NGFF reader (ome-zarr-py) opens as an image with its labels
layer, valid against the NGFF 0.4 models, with pyramids written a stripe at a time."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from medunet.data.ngff import pyramid_levels, write_ngff_image, write_ngff_labels


def _stripes(array: np.ndarray, height: int):
    return (array[..., y : y + height, :] for y in range(0, array.shape[-2], height))


def test_a_large_result_opens_as_image_and_labels_layer_with_its_pyramids(tmp_path):
    pytest.importorskip("ome_zarr")
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader
    from ome_zarr_models.v04 import Image, ImageLabel, Labels

    size = 4096
    rng = np.random.default_rng(0)
    labels = np.kron(rng.integers(0, 50, (64, 64)), np.ones((64, 64), np.int64)).astype(np.uint16)
    image = rng.integers(0, 4000, (1, size, size)).astype(np.uint16)
    path = tmp_path / "x.ome.zarr"
    write_ngff_labels(path, _stripes(labels, 300), labels.shape, np.uint16, (0.5, 0.25), 49,
                      image=_stripes(image, 300), image_shape=image.shape,
                      image_dtype=image.dtype, unit="um", name="x")  # fmt: skip
    assert pyramid_levels(labels.shape) == 5
    nodes = list(Reader(parse_url(str(path)))())
    kinds = {tuple(sorted(type(s).__name__ for s in n.specs)): n for n in nodes}
    image_node = kinds[("Multiscales",)]
    label_node = kinds[("Label", "Multiscales")]
    assert [d.shape for d in image_node.data] == [(size >> k,) * 2 for k in range(5)]
    assert len(label_node.data) >= 4
    np.testing.assert_array_equal(np.asarray(label_node.data[0]), labels)
    np.testing.assert_array_equal(np.asarray(label_node.data[2]), labels[::4, ::4])  # nearest
    np.testing.assert_array_equal(np.asarray(image_node.data[0]), image[0])
    coarse = image[0].reshape(size // 2, 2, size // 2, 2).astype(np.float64).mean(axis=(1, 3))
    assert np.abs(np.asarray(image_node.data[1]).astype(np.float64) - coarse).max() <= 0.5
    group = zarr.open_group(str(path), mode="r")
    Image.from_zarr(group)  # NGFF 0.4, validated by ome-zarr-models
    Labels.from_zarr(group["labels"])
    ImageLabel.from_zarr(group["labels/x"])
    scale = group.attrs["multiscales"][0]
    assert [a.get("unit") for a in scale["axes"]] == ["micrometer", "micrometer"]
    assert scale["datasets"][3]["coordinateTransformations"][0]["scale"] == [4.0, 2.0]
    colours = group["labels/x"].attrs["image-label"]["colors"]
    assert [c["label-value"] for c in colours] == list(range(50)) and colours[0]["rgba"][3] == 0


def test_channels_and_a_float_image_of_its_own(tmp_path):
    image = np.random.default_rng(1).integers(0, 255, (3, 70, 90)).astype(np.uint8)
    labels = np.zeros((70, 90), np.uint16)
    labels[10:30, 5:50] = 1
    path = tmp_path / "rgb.ome.zarr"
    write_ngff_labels(path, [labels], labels.shape, np.uint16, (1.0, 1.0), 1, image=[image],
                      image_shape=image.shape, image_dtype=np.uint8, unit="px")  # fmt: skip
    group = zarr.open_group(str(path), mode="r")
    assert [a["name"] for a in group.attrs["multiscales"][0]["axes"]] == ["c", "y", "x"]
    assert "unit" not in group.attrs["multiscales"][0]["axes"][1]  # pixels: no unit
    np.testing.assert_array_equal(group["0"][:], image)
    prob = np.linspace(0, 1, 70 * 90, dtype=np.float32).reshape(70, 90)
    write_ngff_image(tmp_path / "p.ome.zarr", _stripes(prob, 16), prob.shape, np.float32,
                     (2.0, 2.0), "mm")  # fmt: skip
    stored = zarr.open_group(str(tmp_path / "p.ome.zarr"), mode="r")
    np.testing.assert_array_equal(stored["0"][:], prob)
    with pytest.raises(FileExistsError, match="--overwrite"):
        write_ngff_image(tmp_path / "p.ome.zarr", [prob], prob.shape, np.float32, (2, 2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.ome.zarr", "rgb.ome.zarr"]
