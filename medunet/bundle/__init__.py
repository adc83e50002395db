"""The bundle machinery as a library: find bundles and presets, layer their configs, check
datasets, train, predict, export, keep run records, run workflows."""

from __future__ import annotations

from medunet.bundle.check import DatasetReport, check_dataset
from medunet.bundle.config import (
    LayeredConfig,
    device_override,
    layer_config,
    parse_overrides,
    read_configs,
    run_setting,
)
from medunet.bundle.demo import DEMO_OUTPUTS, run_demo
from medunet.bundle.export import export_bundle, export_onnx, export_torchscript, validation_scores
from medunet.bundle.inference import (
    BACKENDS,
    bundle_suffixes,
    list_inputs,
    model_config,
    run_inference,
)
from medunet.bundle.planning import (
    FINGERPRINT_FILE,
    PLAN_FILE,
    PlannedDataset,
    plan_dataset,
    planning_enabled,
    write_plan,
)
from medunet.bundle.registry import (
    Bundle,
    bundle_dirs,
    list_bundles,
    list_presets,
    preset_dirs,
    resolve_bundle,
    resolve_preset,
    shipped_path,
)
from medunet.bundle.runs import CONFIG_FILE, LOG_FILE, RUN_FILE, read_run, write_run
from medunet.bundle.streaming import StreamOptions, stream_microscopy, stream_volume
from medunet.bundle.training import (
    BUDGET_MAX_EPOCHS,
    DatasetError,
    data_overrides,
    run_training,
)
from medunet.bundle.weightmap import weight_map_of_file, write_weight_map
from medunet.bundle.workflow import LogPolicy, run_workflow

__all__ = [
    "BACKENDS",
    "BUDGET_MAX_EPOCHS",
    "CONFIG_FILE",
    "DEMO_OUTPUTS",
    "FINGERPRINT_FILE",
    "LOG_FILE",
    "PLAN_FILE",
    "RUN_FILE",
    "Bundle",
    "DatasetError",
    "DatasetReport",
    "LayeredConfig",
    "LogPolicy",
    "PlannedDataset",
    "StreamOptions",
    "bundle_dirs",
    "bundle_suffixes",
    "check_dataset",
    "data_overrides",
    "device_override",
    "export_bundle",
    "export_onnx",
    "export_torchscript",
    "layer_config",
    "list_bundles",
    "list_inputs",
    "list_presets",
    "model_config",
    "parse_overrides",
    "plan_dataset",
    "planning_enabled",
    "preset_dirs",
    "read_configs",
    "read_run",
    "resolve_bundle",
    "resolve_preset",
    "run_demo",
    "run_inference",
    "run_setting",
    "run_training",
    "run_workflow",
    "shipped_path",
    "stream_microscopy",
    "stream_volume",
    "validation_scores",
    "weight_map_of_file",
    "write_plan",
    "write_run",
    "write_weight_map",
]
