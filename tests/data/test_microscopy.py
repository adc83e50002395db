"""MicroscopyReader: axes from metadata or declared, never guessed; pixel size kept."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from monai.transforms import LoadImage
from PIL import Image

from medunet.data import MicroscopyReader, read_microscopy, write_microscopy_tiff


def _stack(shape=(3, 20, 24), dtype=np.uint16):
    return np.arange(np.prod(shape), dtype=np.int64).reshape(shape).astype(dtype)


def test_plain_2d_tiff_needs_nothing(tmp_path):
    tifffile.imwrite(tmp_path / "a.tif", _stack((20, 24)))
    array, meta = read_microscopy(tmp_path / "a.tif")
    assert array.shape == (1, 20, 24) and meta["spacing"] == [1.0, 1.0]


def test_ambiguous_pages_are_refused_with_the_fix(tmp_path):
    path = tmp_path / "pages.tif"
    with tifffile.TiffWriter(path) as tif:
        for page in _stack():
            tif.write(page, contiguous=False)
    with pytest.raises(ValueError, match=r"pages\.tif.*could be channels, Z slices.*axes='CYX'"):
        read_microscopy(path)
    array, _ = read_microscopy(path, axes="CYX")
    np.testing.assert_array_equal(array, _stack())
    array, meta = read_microscopy(path, axes="ZYX", spatial_dims=3)
    assert array.shape == (1, 3, 20, 24) and meta["axes"] == "ZYX"


def test_imagej_zstack_with_spacing(tmp_path):
    path = tmp_path / "z.tif"
    tifffile.imwrite(
        path,
        _stack(),
        imagej=True,
        resolution=(1 / 0.25, 1 / 0.5),
        metadata={"axes": "ZYX", "spacing": 2.0, "unit": "um"},
    )
    array, meta = read_microscopy(path, spatial_dims=3)
    assert array.shape == (1, 3, 20, 24)
    assert meta["spacing"] == pytest.approx([2.0, 0.5, 0.25]) and meta["unit"] == "um"
    with pytest.raises(ValueError, match=r"Z-stack of 3 slices.*spatial_dims: 3"):
        read_microscopy(path, spatial_dims=2)


def test_imagej_channels_and_ome(tmp_path):
    tifffile.imwrite(tmp_path / "c.tif", _stack(), imagej=True, metadata={"axes": "CYX"})
    array, _ = read_microscopy(tmp_path / "c.tif")
    np.testing.assert_array_equal(array, _stack())
    tifffile.imwrite(
        tmp_path / "o.ome.tif",
        _stack((2, 3, 20, 24)),
        ome=True,
        metadata={"axes": "ZCYX", "PhysicalSizeX": 0.3, "PhysicalSizeY": 0.4, "PhysicalSizeZ": 1.5},
    )
    array, meta = read_microscopy(tmp_path / "o.ome.tif", spatial_dims=3)
    assert array.shape == (3, 2, 20, 24)
    np.testing.assert_array_equal(array[:, 1], _stack((2, 3, 20, 24))[1])
    assert meta["spacing"] == pytest.approx([1.5, 0.4, 0.3])


def test_rgb_tiff_and_png_are_channels(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 255, (20, 24, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, photometric="rgb")
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    for name in ("rgb.tif", "rgb.png"):
        array, _ = read_microscopy(tmp_path / name)
        np.testing.assert_array_equal(array, np.moveaxis(rgb, -1, 0))


def test_labels_must_have_one_channel_and_stacks_are_z(tmp_path):
    path = tmp_path / "lab.tif"
    with tifffile.TiffWriter(path) as tif:
        for page in _stack():
            tif.write(page, contiguous=False)
    array, _ = read_microscopy(path, spatial_dims=3, channels=False)
    assert array.shape == (1, 3, 20, 24)
    with pytest.raises(ValueError, match="label image must have one channel"):
        read_microscopy(path, axes="CYX", channels=False)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "is empty"),
        (b"II*\x00garbage", "could not be read"),
        (b"\x89PNG not really", "could not"),
    ],
)
def test_bad_files_name_the_file(tmp_path, content, match):
    path = tmp_path / ("bad.png" if content.startswith(b"\x89") else "bad.tif")
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match) as err:
        read_microscopy(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_folder_missing_and_time_series(tmp_path):
    with pytest.raises(ValueError, match="is a folder"):
        read_microscopy(tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        read_microscopy(tmp_path / "nope.tif")
    tifffile.imwrite(tmp_path / "t.tif", _stack(), imagej=True, metadata={"axes": "TYX"})
    with pytest.raises(ValueError, match="time series"):
        read_microscopy(tmp_path / "t.tif")


def test_monai_loadimage_gives_channel_first_metatensor_with_pixdim(tmp_path):
    tifffile.imwrite(
        tmp_path / "a.tif",
        _stack((20, 24)),
        imagej=True,
        resolution=(2.0, 4.0),
        metadata={"axes": "YX"},
    )
    img = LoadImage(reader=MicroscopyReader(), image_only=True)(tmp_path / "a.tif")
    assert tuple(img.shape) == (1, 20, 24)
    assert img.pixdim.tolist() == pytest.approx([0.25, 0.5])
    assert img.meta["filename_or_obj"].endswith("a.tif")


def test_write_roundtrip_keeps_spacing_and_is_atomic(tmp_path):
    labels = _stack((4, 20, 24), np.int64) % 7
    path = write_microscopy_tiff(tmp_path / "out.tif", labels, spacing=(2.0, 0.5, 0.25))
    array, meta = read_microscopy(path, spatial_dims=3, channels=False)
    np.testing.assert_array_equal(array[0], labels)
    assert meta["spacing"] == pytest.approx([2.0, 0.5, 0.25])
    assert [p.name for p in tmp_path.iterdir()] == ["out.tif"]  # no temporary left
    with pytest.raises(FileExistsError):
        write_microscopy_tiff(path, labels, overwrite=False)
