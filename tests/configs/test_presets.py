"""Each shipped preset parses and builds with its bundle's train and inference configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from monai.bundle import ConfigParser

from medunet.bundle import list_presets, resolve_bundle
from medunet.networks import UNet2015

PRESETS = {
    "isbi2012_em.yaml": "unet2015_microscopy",
    "phc_u373.yaml": "unet2015_microscopy",
    "dic_hela.yaml": "unet2015_microscopy",
    "quick_cpu_microscopy.yaml": "unet2015_microscopy",
    "quick_cpu_em.yaml": "unet2015_microscopy",
    "microscopy_3d.yaml": "unet2015_microscopy",
    "quick_cpu_ct_mri.yaml": "unet2015_ct_mri",
    "msd_task09_spleen.yaml": "unet2015_ct_mri",
}


def test_every_preset_is_listed():
    assert sorted(f"{name}.yaml" for name in list_presets()) == sorted(PRESETS)


def _parser(bundle: str, task: str, preset: str, tmp_path: Path) -> ConfigParser:
    parser = ConfigParser()
    files = [*resolve_bundle(bundle).configs(task), list_presets()[Path(preset).stem]]
    parser.read_config([str(f) for f in files])
    parser["bundle_root"] = str(tmp_path)
    parser["dataset_dir"] = str(tmp_path)
    parser["device"] = "$torch.device('cpu')"
    if bundle == "unet2015_ct_mri":
        parser["target_spacing"] = [1.0, 1.0, 1.0]  # normally the training set's median
    return parser


@pytest.mark.parametrize(("preset", "bundle"), sorted(PRESETS.items()))
def test_preset_instantiates_with_its_bundle(preset, bundle, tmp_path):
    train = _parser(bundle, "train", preset, tmp_path)
    net = train.get_parsed_content("network_def")
    assert isinstance(net, UNet2015)
    train.get_parsed_content("loss")
    assert isinstance(train.get_parsed_content("optimizer"), torch.optim.Optimizer)
    train.get_parsed_content("lr_scheduler")
    for key in ("train#random_transforms", "validate#inferer", "validate#postprocessing"):
        train.get_parsed_content(key)
    infer = _parser(bundle, "inference", preset, tmp_path)
    infer_net = infer.get_parsed_content("network_def")
    assert infer_net.channels == net.channels and infer_net.spatial_dims == net.spatial_dims
    for key in ("preprocessing", "inferer", "postprocessing"):
        infer.get_parsed_content(key)
