"""Bundles for the command line: find them, layer presets and overrides, run a config.

Every sub-command that trains or predicts goes through :func:`run_workflow`, which runs a
bundle config with MONAI's own :class:`monai.bundle.ConfigWorkflow` (what
``python -m monai.bundle run`` does), so the command line never re-implements a bundle.
``--set ID=VALUE`` overrides are parsed as YAML values and checked against the config: a
misspelt id or a value of the wrong type is a one-line error before anything runs.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from monai.bundle import ConfigParser, ConfigWorkflow

from medunet.cli.logs import quiet_all_handlers
from medunet.data.io import atomic_path

__all__ = [
    "RUN_FILE",
    "Bundle",
    "bundles_dir",
    "list_bundles",
    "parse_overrides",
    "presets_dir",
    "read_configs",
    "read_run",
    "resolve_bundle",
    "resolve_preset",
    "run_workflow",
    "write_run",
]

logger = logging.getLogger(__name__)

#: what ``medunet train`` records in its run folder: bundle, presets and overrides
RUN_FILE = "run.json"
_REPO = Path(__file__).resolve().parents[2]


def bundles_dir() -> Path:
    """Where shipped bundles live: ``$MEDUNET_BUNDLES`` or the repository's ``bundles/``."""
    return Path(os.environ.get("MEDUNET_BUNDLES", _REPO / "bundles")).expanduser()


def presets_dir() -> Path:
    """Where presets live: ``$MEDUNET_PRESETS`` or the repository's ``configs/``."""
    return Path(os.environ.get("MEDUNET_PRESETS", _REPO / "configs")).expanduser()


def list_bundles() -> list[Path]:
    """The bundle folders (with ``configs/metadata.json``) in :func:`bundles_dir`."""
    root = bundles_dir()
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / "configs" / "metadata.json").is_file())


@dataclass
class Bundle:
    """A bundle folder and its config files."""

    root: Path
    metadata: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.root.name

    def config(self, name: str) -> Path:
        """``configs/<name>.yaml`` (or ``.json``) of the bundle."""
        for ext in (".yaml", ".json"):
            path = self.root / "configs" / f"{name}{ext}"
            if path.is_file():
                return path
        raise ValueError(f"bundle {self.root} has no configs/{name}.yaml; is it a medunet bundle?")

    @property
    def meta_file(self) -> Path:
        return self.root / "configs" / "metadata.json"

    @property
    def spatial_dims(self) -> int:
        spatial = self.metadata["network_data_format"]["inputs"]["image"]["spatial_shape"]
        return len(spatial)


def resolve_bundle(name_or_path: str | Path) -> Bundle:
    """A bundle folder, or the name of a shipped one (``unet2015_microscopy``)."""
    path = Path(name_or_path).expanduser()
    if not (path / "configs" / "metadata.json").is_file():
        shipped = bundles_dir() / str(name_or_path)
        if not (shipped / "configs" / "metadata.json").is_file():
            names = [p.name for p in list_bundles()]
            raise ValueError(
                f"{name_or_path}: not a bundle folder (no configs/metadata.json) nor a shipped "
                f"bundle; choose one of {names} or give a bundle folder."
            )
        path = shipped
    metadata = json.loads((path / "configs" / "metadata.json").read_text())
    return Bundle(path.resolve(), metadata)


def resolve_preset(name_or_path: str) -> Path:
    """A preset YAML file, or the name of one in :func:`presets_dir` (``quick_cpu_microscopy``)."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path.resolve()
    shipped = presets_dir() / f"{Path(name_or_path).stem}.yaml"
    if shipped.is_file():
        return shipped.resolve()
    names = sorted(p.stem for p in presets_dir().glob("*.yaml"))
    raise ValueError(f"--preset {name_or_path}: no such file or preset; choose one of {names}.")


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    return {list: "a list like [1,2]", dict: "a mapping", str: "a string"}.get(
        type(value), type(value).__name__
    )


def _compatible(old: Any, new: Any) -> bool:
    """Whether ``new`` may replace the config's literal ``old`` (expressions: anything)."""
    if old is None or new is None:
        return True
    if isinstance(old, str) and old.startswith(("$", "@", "%")):
        return True
    if isinstance(new, str) and new.startswith(("$", "@", "%")):
        return True
    if isinstance(old, bool) or isinstance(new, bool):
        return isinstance(old, bool) and isinstance(new, bool)
    if isinstance(old, (int, float)):
        return isinstance(new, (int, float))
    if isinstance(old, (list, tuple)):
        return isinstance(new, (list, tuple))
    return isinstance(new, type(old))


def read_configs(config_files: Sequence[Path]) -> ConfigParser:
    """The merged (unparsed) config of ``config_files``, to look ids up in."""
    parser = ConfigParser()
    parser.read_config([str(f) for f in config_files])
    return parser


def parse_overrides(items: Sequence[str], parser: ConfigParser) -> dict[str, Any]:
    """``["ID=VALUE", ...]`` as ``{id: value}`` (VALUE read as YAML), checked against the
    merged config in ``parser`` (:func:`read_configs`): unknown ids and values of another
    type are refused."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(
                f"--set {item}: write ID=VALUE, e.g. --set w0=5 or --set channels=[16,32]."
            )
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError:
            value = text
        if isinstance(value, str):  # YAML 1.1 reads 1e-4 as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if key not in parser:
            close = difflib.get_close_matches(key, _all_ids(parser.get()), n=3, cutoff=0.5)
            hint = f"did you mean {' or '.join(close)}?" if close else "see the bundle's configs."
            raise ValueError(f"--set {item}: {key!r} is not a config id of this bundle; {hint}")
        old = parser[key]
        if not _compatible(old, value):
            raise ValueError(
                f"--set {item}: {key} takes {_type_name(old)} (now {old!r}), got {value!r}."
            )
        out[key] = value
    return out


def _all_ids(config: Any, prefix: str = "") -> list[str]:
    ids = []
    if isinstance(config, Mapping):
        for k, v in config.items():
            ids.append(f"{prefix}{k}")
            ids.extend(_all_ids(v, f"{prefix}{k}#"))
    return ids


def run_workflow(
    config_files: Sequence[Path],
    overrides: Mapping[str, Any],
    meta_file: Path | None = None,
    save_config: Path | None = None,
) -> ConfigWorkflow:
    """Initialise, run and finalise a bundle config with MONAI's ``ConfigWorkflow``.

    Args:
        config_files: config files merged in order (bundle config first, presets after).
        overrides: ``{id: value}`` applied on top (as ``python -m monai.bundle run --id value``).
        meta_file: the bundle's ``metadata.json``.
        save_config: where to write the merged config with the overrides (JSON, atomically),
            runnable again by ``python -m monai.bundle run --config_file``.

    Returns:
        The finished workflow (its ``parser`` holds the instantiated components).
    """
    workflow = ConfigWorkflow(
        config_file=[str(f) for f in config_files],
        meta_file=str(meta_file) if meta_file else None,
        logging_file=False,
        workflow_type=None,
        **dict(overrides),
    )
    workflow.initialize()
    quiet_all_handlers()  # the bundle's own loggers exist now
    if save_config is not None:
        with atomic_path(save_config) as tmp:
            tmp.write_text(json.dumps(workflow.parser.get(), indent=2, default=str))
    try:
        workflow.run()
    finally:
        workflow.finalize()
    return workflow


def write_run(run_dir: Path, bundle: Bundle, presets: Sequence[Path], overrides: dict) -> None:
    """Record bundle, presets and user overrides of a training run in ``run_dir/run.json``."""
    record = {"bundle": str(bundle.root), "presets": [str(p) for p in presets], "set": overrides}
    with atomic_path(run_dir / RUN_FILE) as tmp:
        tmp.write_text(json.dumps(record, indent=2))


def read_run(model: Path) -> dict | None:
    """The ``run.json`` of the run a model file belongs to (``RUN/models/model.pt``), if any."""
    for folder in (model.parent, model.parent.parent):
        path = folder / RUN_FILE
        if path.is_file():
            try:
                return json.loads(path.read_text())
            except json.JSONDecodeError as err:
                raise ValueError(f"{path} is not valid JSON ({err}); delete or repair it.") from err
    return None
