"""The U-Net as ONNX: dynamic tile sizes, the same logits as PyTorch, the same overlap-tile
inference on ONNX Runtime, and clear errors for files it cannot run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medunet.inferers import OverlapTileInferer
from medunet.networks import OnnxRuntimeNetwork, UNet2015, export_onnx

pytest.importorskip("onnxruntime")


@pytest.mark.parametrize(
    ("dims", "channels", "padding", "sizes"),
    [
        (2, (8, 16, 32), "valid", (44, 76, 140)),
        (2, (8, 16), "same", (16, 40)),
        (3, (4, 8), "valid", (20, 28)),
    ],
)
def test_one_file_takes_every_valid_tile_size(tmp_path, dims, channels, padding, sizes):
    net = UNet2015(dims, 2, 3, channels, padding=padding).eval()
    runtime = OnnxRuntimeNetwork(export_onnx(net, tmp_path / "net.onnx"))
    assert runtime.tile_geometry == net.tile_geometry
    assert (runtime.spatial_dims, runtime.in_channels, runtime.out_channels) == (dims, 2, 3)
    for size in sizes:
        x = torch.randn(2, 2, *[size] * dims)
        with torch.no_grad():
            expected = net(x)
        got = runtime(x)
        assert got.shape == expected.shape
        assert float((got - expected).abs().max()) <= 1e-4


def test_overlap_tile_inference_on_onnx_runtime_equals_pytorch_on_a_real_image(
    tmp_path, shared_data
):
    import tifffile

    image = sorted((shared_data / "nuclei2d").rglob("*.tif"))[0]
    array = np.asarray(tifffile.imread(image), np.float32)
    array = array.reshape(-1, *array.shape[-2:])[0][:300, :260]
    x = torch.from_numpy((array - array.mean()) / (array.std() + 1e-6))[None, None]
    net = UNet2015(2, 1, 2, (16, 32, 64)).eval()
    runtime = OnnxRuntimeNetwork(export_onnx(net, tmp_path / "net.onnx"))
    inferer = OverlapTileInferer(roi_size=None, memory_budget_mb=64)
    with torch.no_grad():
        expected = inferer(x, net)
        got = inferer(x, runtime)
    assert inferer.plan(x.shape[2:], runtime).tiles == inferer.plan(x.shape[2:], net).tiles
    assert float((got - expected).abs().max()) <= 1e-4


def test_invalid_tile_and_unreadable_files_say_what_to_do(tmp_path):
    net = UNet2015(2, 1, 2, (4, 8)).eval()
    runtime = OnnxRuntimeNetwork(export_onnx(net, tmp_path / "net.onnx"))
    with pytest.raises(ValueError, match=r"not a valid tile .*OverlapTileInferer"):
        runtime(torch.zeros(1, 1, 21, 21))
    with pytest.raises(FileNotFoundError, match="medunet export"):
        OnnxRuntimeNetwork(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ValueError, match=r"junk\.onnx is not a readable ONNX model"):
        OnnxRuntimeNetwork(tmp_path / "junk.onnx")
    plain = tmp_path / "plain.onnx"
    torch.onnx.export(net, (torch.zeros(1, 1, 44, 44),), str(plain), dynamo=False)
    with pytest.raises(ValueError, match=r"no medunet metadata.*--format onnx"):
        OnnxRuntimeNetwork(plain)


def test_a_network_without_tile_geometry_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no tile geometry"):
        export_onnx(torch.nn.Conv2d(1, 2, 3), tmp_path / "conv.onnx")
