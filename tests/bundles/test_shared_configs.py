"""What the shipped bundles share stays one definition: each train.yaml and inference.yaml
carries common.yaml's exact copy (so either runs alone), both bundles carry byte-identical
multi_gpu_train.yaml and logging.conf, and the training blocks they share are the same."""

from __future__ import annotations

import importlib.util

import pytest
import yaml
from bundle_helpers import BUNDLES, ROOT
from monai.bundle import ConfigParser

NAMES = ("unet2015_microscopy", "unet2015_ct_mri")
SHARED_TRAIN_IDS = [
    "cache_dir",
    "datalist",
    "initialize",
    "run",
    "finalize",
    "optimizer",
    "lr_scheduler",
    "summary_writer",
    "train#trainer",
    "train#handlers",
    "train#sampler",
    "train#dataloader",
    "train#inferer",
    "validate#evaluator",
    "validate#dataloader",
]


def _sync():
    spec = importlib.util.spec_from_file_location("sync_configs", ROOT / "scripts/sync_configs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("task", ["train.yaml", "inference.yaml"])
def test_each_task_carries_the_exact_copy_of_common(name, task):
    sync = _sync()
    configs = BUNDLES / name / "configs"
    text = (configs / task).read_text()
    assert text == sync.synced(configs / task, configs / "common.yaml"), (
        f"{configs / task} differs from common.yaml: run python scripts/sync_configs.py"
    )
    common = yaml.safe_load((configs / "common.yaml").read_text())
    own = yaml.safe_load(text)
    assert all(own[key] == value for key, value in common.items())
    parser = ConfigParser()
    parser.read_config(str(configs / task))  # alone, as MONAI's bundle runner reads it
    assert parser["network_def"]["_target_"] == "medunet.networks.UNet2015"


def test_the_sync_check_notices_an_edit(tmp_path):
    sync = _sync()
    common, task = tmp_path / "common.yaml", tmp_path / "train.yaml"
    common.write_text("# header\nchannels: [8, 16]\n")
    task.write_text("seed: 0\n")
    task.write_text(sync.synced(task, common))
    assert yaml.safe_load(task.read_text()) == {"seed": 0, "channels": [8, 16]}
    common.write_text("# header\nchannels: [4, 8]\n")
    assert task.read_text() != sync.synced(task, common)
    assert sync.synced(task, common).count("seed: 0") == 1  # the copy is replaced, not added


@pytest.mark.parametrize("file", ["multi_gpu_train.yaml", "logging.conf"])
def test_both_bundles_carry_the_same_file(file):
    first, second = (BUNDLES / n / "configs" / file for n in NAMES)
    assert first.read_bytes() == second.read_bytes()


def test_the_shared_training_blocks_are_the_same():
    parsers = []
    for name in NAMES:
        parser = ConfigParser()
        parser.read_config(str(BUNDLES / name / "configs" / "train.yaml"))
        parsers.append(parser)
    differ = [i for i in SHARED_TRAIN_IDS if parsers[0][i] != parsers[1][i]]
    assert not differ, f"the bundles' train.yaml differ in {differ}"


@pytest.mark.parametrize("name", NAMES)
def test_validation_and_inference_average_the_same_views(name):
    """The post-processing calibrated on validation must see what inference predicts: both
    inferers take the one ``tta`` setting (the plan sets it for membranes and volumes)."""
    configs = BUNDLES / name / "configs"
    train, infer = ConfigParser(), ConfigParser()
    train.read_config(str(configs / "train.yaml"))
    infer.read_config(str(configs / "inference.yaml"))
    assert train["validate#inferer"]["tta"] == infer["inferer"]["tta"] == "@tta"
    train["tta"] = "rot90" if name == "unet2015_microscopy" else "flips"
    assert train.get_parsed_content("validate#inferer").tta == train["tta"]
