"""A bundle task's config: its files, presets and overrides layered in one place.

Every consumer (``medunet train``, ``infer``, ``export``, ``check``, the MONAI Label app)
builds its config with :func:`layer_config`: the bundle's ``common.yaml`` + ``<task>.yaml``,
then the presets of the run a model comes from (its ``run.json``), then the given presets,
then the run's ``--set`` overrides and the given ones. ``ID=VALUE`` overrides are parsed as
YAML values and checked against the merged config: a misspelt id or a value of the wrong
type is a one-line error before anything runs.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from monai.bundle import ConfigParser

from medunet.bundle.registry import Bundle, resolve_preset
from medunet.bundle.runs import read_run
from medunet.engines.calibration import ONE_SE

__all__ = [
    "LayeredConfig",
    "device_override",
    "layer_config",
    "parse_overrides",
    "read_configs",
    "run_setting",
    "spatial_dims_of",
]


def device_override(device: str | None) -> dict[str, Any]:
    """The ``device`` override for ``cpu``/``cuda``/``cuda:N`` (nothing: the bundle's default)."""
    if device is None:
        return {}
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"--device {device}: no CUDA device is available; use --device cpu.")
    return {"device": f"$torch.device('{device}')"}


#: settings that take a number or one of these words (a planned run may hold either)
NUMBER_OR_WORD = {"calibrate_tolerance": (ONE_SE,)}


def _number_or_word(key: str, old: Any, new: Any) -> bool:
    """Whether ``key`` takes a number or a word and ``old`` and ``new`` are each one."""
    words = NUMBER_OR_WORD.get(key)

    def fits(value: Any) -> bool:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        return number or value in words

    return words is not None and fits(old) and fits(new)


def _type_name(value: Any, key: str = "") -> str:
    if key in NUMBER_OR_WORD:
        return " or ".join(["a number", *map(repr, NUMBER_OR_WORD[key])])
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
    if isinstance(old, dict) and "_target_" in old:
        return True  # a component (e.g. the suffix list) may be replaced by its value
    return isinstance(new, type(old))


def run_preset(recorded: str) -> Path:
    """A preset as ``run.json`` records it: a name, or a file (a shipped preset recorded by
    an older medunet as the path of a checkout that has moved is found by its name)."""
    path = Path(recorded)
    if path.is_file():
        return path.resolve()
    try:
        return resolve_preset(path.stem)
    except ValueError as err:
        raise ValueError(
            f"the run's preset {recorded} no longer exists; restore it, or name it again with "
            "--preset."
        ) from err


def read_configs(config_files: Sequence[Path]) -> ConfigParser:
    """The merged (unparsed) config of ``config_files``, to look ids up in: the files are
    loaded once here; every later step takes this parser's content
    (:meth:`LayeredConfig.parser_with`), not the files."""
    return ConfigParser(ConfigParser.load_config_files([str(f) for f in config_files]))


def _all_ids(config: Any, prefix: str = "") -> list[str]:
    ids = []
    if isinstance(config, Mapping):
        for k, v in config.items():
            ids.append(f"{prefix}{k}")
            ids.extend(_all_ids(v, f"{prefix}{k}#"))
    return ids


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
        if not _compatible(old, value) and not _number_or_word(key, old, value):
            raise ValueError(
                f"--set {item}: {key} takes {_type_name(old, key)} (now {old!r}), got {value!r}."
            )
        out[key] = value
    return out


@dataclass
class LayeredConfig:
    """The files of a bundle task with presets, and the overrides on top of them."""

    bundle: Bundle
    task: str
    presets: list[Path]
    files: list[Path]
    parser: ConfigParser  # the merged files, without the overrides
    overrides: dict[str, Any]

    def merged(self, extra: Mapping[str, Any] | None = None) -> dict:
        """The whole config with the overrides (and ``extra``) applied, unparsed: e.g. to
        write to a file. Built from the files as loaded once (:attr:`parser`)."""
        return self.parser_with(extra).get()

    def parser_with(self, extra: Mapping[str, Any] | None = None) -> ConfigParser:
        """A parser of the merged config with the overrides and ``extra`` applied, to
        instantiate components from; the files are not read again."""
        parser = ConfigParser(copy.deepcopy(self.parser.get()))
        for key, value in {**self.overrides, **(extra or {})}.items():
            parser[key] = value
        return parser


def layer_config(
    bundle: Bundle,
    task: str,
    presets: Sequence[str | Path] = (),
    settings: Sequence[str] = (),
    run: Mapping[str, Any] | None = None,
) -> LayeredConfig:
    """The config of ``bundle``'s ``task`` (``"train"``, ``"inference"``, ...).

    Args:
        presets: preset names or files, layered after the bundle's files.
        settings: ``ID=VALUE`` overrides (checked against the merged config).
        run: a training run's record (``run.json``): its presets come first, its overrides
            (those ids the task's config has) before ``settings``.
    """
    run_presets = [run_preset(p) for p in (run or {}).get("presets", [])]
    preset_files = run_presets + [
        p for p in (resolve_preset(x) for x in presets) if p not in run_presets
    ]
    files = [*bundle.configs(task), *preset_files]
    parser = read_configs(files)
    overrides = {k: v for k, v in (run or {}).get("set", {}).items() if k in parser}
    overrides.update(parse_overrides(settings, parser))
    return LayeredConfig(bundle, task, preset_files, files, parser, overrides)


def spatial_dims_of(bundle: Bundle, parser: ConfigParser) -> int:
    """The spatial dims of a run, the one place that decides them (check, plan, training,
    inference): the merged config's ``spatial_dims`` (the Z-stack preset sets 3 on the 2D
    microscopy bundle), else the bundle's own."""
    if "spatial_dims" in parser and isinstance(parser["spatial_dims"], int):
        return int(parser["spatial_dims"])
    return bundle.spatial_dims


def run_setting(
    name: str,
    model: str | Path | None = None,
    presets: Sequence[str | Path] = (),
    default: Any = None,
) -> Any:
    """A setting of a training run (the ``run.json`` beside ``model``: its overrides, then
    its presets) or of ``presets``; ``default`` when none of them sets it.

    Raises:
        ValueError: ``model`` has no ``run.json`` beside it.
    """
    files, overrides = [resolve_preset(p) for p in presets], {}
    if model is not None:
        run = read_run(Path(model).expanduser().resolve())
        if run is None:
            raise ValueError(
                f"--model {model}: no run.json beside it (is it from medunet train?); give "
                f"the {name} setting instead."
            )
        files = [run_preset(p) for p in run.get("presets", [])] + files
        overrides = run.get("set", {})
    if name in overrides:
        return overrides[name]
    if files:
        parser = read_configs(files)
        if name in parser:
            return parser[name]
    return default
