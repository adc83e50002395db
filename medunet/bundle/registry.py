"""Where bundles and presets are: shipped with medunet, plus folders of your own.

The medunet bundles (``unet2015_microscopy``, ``unet2015_ct_mri``) and the presets layered
over them (``quick_cpu_microscopy``, ``isbi2012_em``, ...) live at the top of the repository
(``bundles/``, ``configs/``) and ship inside the installed package as ``medunet/bundles/``
and ``medunet/configs/`` (pyproject's ``package-dir``). :func:`shipped_path` finds them
either way: inside the package (a wheel), else beside it (a checkout or an editable
install), so a pip-installed medunet finds them from any working directory.
``$MEDUNET_BUNDLES`` and ``$MEDUNET_PRESETS`` (folders separated by ``os.pathsep``) add
folders searched first.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

__all__ = [
    "Bundle",
    "bundle_dirs",
    "list_bundles",
    "list_presets",
    "preset_dirs",
    "resolve_bundle",
    "resolve_preset",
    "shipped_path",
]


def shipped_path(name: str) -> Path:
    """A folder shipped with medunet (``"bundles"``, ``"configs"``): inside the installed
    package (a wheel), else at the top of the checkout it is imported from."""
    package = Path(str(resources.files("medunet")))
    inside = package / name
    return inside if inside.is_dir() else package.parent / name


def _dirs(variable: str, shipped: str) -> list[Path]:
    extra = [Path(p).expanduser() for p in os.environ.get(variable, "").split(os.pathsep) if p]
    return [*extra, shipped_path(shipped)]


def bundle_dirs() -> list[Path]:
    """Folders searched for bundles: ``$MEDUNET_BUNDLES`` entries, then the shipped ones."""
    return _dirs("MEDUNET_BUNDLES", "bundles")


def preset_dirs() -> list[Path]:
    """Folders searched for presets: ``$MEDUNET_PRESETS`` entries, then the shipped ones."""
    return _dirs("MEDUNET_PRESETS", "configs")


def _is_bundle(path: Path) -> bool:
    return (path / "configs" / "metadata.json").is_file()


def list_bundles() -> list[Path]:
    """Bundle folders by name (the first folder of :func:`bundle_dirs` holding a name wins)."""
    found: dict[str, Path] = {}
    for root in bundle_dirs():
        if root.is_dir():
            for path in sorted(root.iterdir()):
                if _is_bundle(path):
                    found.setdefault(path.name, path)
    return [found[name] for name in sorted(found)]


def list_presets() -> dict[str, Path]:
    """``{name: file}`` of the presets (``*.yaml``) in :func:`preset_dirs`, first one wins."""
    found: dict[str, Path] = {}
    for root in preset_dirs():
        if root.is_dir():
            for path in sorted(root.glob("*.yaml")):
                found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


@dataclass
class Bundle:
    """A bundle folder (MONAI model-zoo layout) and its metadata."""

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

    def configs(self, name: str) -> list[Path]:
        """The files of the ``name`` task (``train``, ``inference``), as ``python -m
        monai.bundle run --config_file`` takes them: ``<name>.yaml`` alone (the shipped
        tasks carry their copy of ``common.yaml``, the one definition of the network and
        preprocessing, as model-zoo bundles run from one file)."""
        return [self.config(name)]

    @property
    def meta_file(self) -> Path:
        return self.root / "configs" / "metadata.json"

    @property
    def kind(self) -> str:
        """``"microscopy"`` or ``"volume"`` (CT/MRI): what the bundle's images are, by its
        metadata's image modality; the one place that decides it."""
        image = self.metadata["network_data_format"]["inputs"]["image"]
        return "microscopy" if "microscopy" in str(image.get("modality", "")).lower() else "volume"

    @property
    def spatial_dims(self) -> int:
        spatial = self.metadata["network_data_format"]["inputs"]["image"]["spatial_shape"]
        return len(spatial)


def resolve_bundle(name_or_path: str | Path) -> Bundle:
    """A bundle folder, or the name of a shipped one (``unet2015_microscopy``)."""
    path = Path(name_or_path).expanduser()
    if not _is_bundle(path):
        by_name = {p.name: p for p in list_bundles()}
        if str(name_or_path) not in by_name:
            raise ValueError(
                f"{name_or_path}: not a bundle folder (no configs/metadata.json) nor a shipped "
                f"bundle; choose one of {sorted(by_name)} or give a bundle folder."
            )
        path = by_name[str(name_or_path)]
    metadata = json.loads((path / "configs" / "metadata.json").read_text())
    return Bundle(path.resolve(), metadata)


def resolve_preset(name_or_path: str | Path) -> Path:
    """A preset YAML file, or the name of a shipped one (``quick_cpu_microscopy``)."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path.resolve()
    presets = list_presets()
    name = Path(str(name_or_path)).stem
    if name in presets:
        return presets[name].resolve()
    raise ValueError(
        f"--preset {name_or_path}: no such file or preset; choose one of {sorted(presets)}."
    )
