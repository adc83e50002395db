"""Each preset in configs/ parses and builds with its bundle's train and inference YAML."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from monai.bundle import ConfigParser

from medunet.networks import UNet2015

ROOT = Path(__file__).resolve().parents[2]
PRESETS = {
    "isbi2012_em.yaml": "unet2015_microscopy",
    "phc_u373.yaml": "unet2015_microscopy",
    "dic_hela.yaml": "unet2015_microscopy",
    "quick_cpu_microscopy.yaml": "unet2015_microscopy",
    "microscopy_3d.yaml": "unet2015_microscopy",
    "quick_cpu_ct_mri.yaml": "unet2015_ct_mri",
    "msd_task09_spleen.yaml": "unet2015_ct_mri",
}


def test_every_preset_is_listed():
    assert sorted(p.name for p in (ROOT / "configs").glob("*.yaml")) == sorted(PRESETS)


def _parser(bundle: str, config: str, preset: str, tmp_path: Path) -> ConfigParser:
    parser = ConfigParser()
    parser.read_config(
        [str(ROOT / "bundles" / bundle / "configs" / config), str(ROOT / "configs" / preset)]
    )
    parser["bundle_root"] = str(tmp_path)
    parser["dataset_dir"] = str(tmp_path)
    parser["device"] = "$torch.device('cpu')"
    if bundle == "unet2015_ct_mri":
        parser["target_spacing"] = [1.0, 1.0, 1.0]  # normally the training set's median
    return parser


@pytest.mark.parametrize(("preset", "bundle"), sorted(PRESETS.items()))
def test_preset_instantiates_with_its_bundle(preset, bundle, tmp_path):
    train = _parser(bundle, "train.yaml", preset, tmp_path)
    net = train.get_parsed_content("network_def")
    assert isinstance(net, UNet2015)
    train.get_parsed_content("loss")
    assert isinstance(train.get_parsed_content("optimizer"), torch.optim.Optimizer)
    train.get_parsed_content("lr_scheduler")
    for key in ("train#random_transforms", "validate#inferer", "validate#postprocessing"):
        train.get_parsed_content(key)
    infer = _parser(bundle, "inference.yaml", preset, tmp_path)
    infer_net = infer.get_parsed_content("network_def")
    assert infer_net.channels == net.channels and infer_net.spatial_dims == net.spatial_dims
    for key in ("preprocessing", "inferer", "postprocessing"):
        infer.get_parsed_content(key)
