"""medunet's MONAI Label app: serves and trains the medunet bundles, offline.

Start it with ``python3 scripts/dev.py label --studies DIR [--port 8000]``. Each bundle
found (the shipped ``unet2015_ct_mri``: NIfTI/NRRD/MHA volumes, ``unet2015_microscopy``:
TIFF/PNG images, and bundles exported by ``medunet export --format bundle`` in a folder of
``$MEDUNET_BUNDLES``) is copied once into the app's model folder (``--conf models_dir DIR``,
default ``apps/monailabel/model``), where MONAI Label's training writes its weights. An
exported bundle brings its trained weights. Nothing is downloaded: no model-zoo index, no
SAM checkpoints.

MONAI Label reads one config file per task, so the copy's ``train.yaml`` and
``inference.yaml`` are the merged configs (the task + presets), built by the
same :func:`medunet.bundle.layer_config` as ``medunet train`` and ``infer``.
``--conf <bundle>.preset NAME|FILE`` layers a preset, e.g. ``--conf
unet2015_microscopy.preset quick_cpu_microscopy`` for a small network that trains in
minutes on a CPU.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from lib.datastore import MedunetDatastore
from lib.tasks import STUDY_EXTENSIONS, MedunetInferTask, MedunetTrainTask, bundle_kind
from monai.bundle import ConfigParser
from monailabel.interfaces.app import MONAILabelApp
from monailabel.interfaces.datastore import Datastore
from monailabel.interfaces.tasks.infer_v2 import InferTask
from monailabel.interfaces.tasks.train import TrainTask

from medunet.bundle import layer_config, list_bundles, resolve_bundle

logger = logging.getLogger(__name__)

#: the app's own settings: a long-running server hosting other models leaves malloc alone
APP_SETTINGS = {"tune_cpu_allocator": False}


def _write_merged_configs(source: Path, target: Path, preset: str | None) -> None:
    """The copy's ``train.yaml`` and ``inference.yaml``: the source bundle's task configs
    merged with ``preset`` and the app's settings (MONAI Label reads one file per task)."""
    bundle = resolve_bundle(source)
    for task in ("train", "inference"):
        config = layer_config(bundle, task, [preset] if preset else [])
        overrides = {k: v for k, v in APP_SETTINGS.items() if k in config.parser}
        merged = config.merged()
        for key, value in overrides.items():
            merged[key] = value
        ConfigParser.export_config_file(
            merged, str(target / "configs" / f"{task}.yaml"), fmt="yaml"
        )
    (target / "configs" / "common.yaml").unlink(missing_ok=True)
    logger.info("%s: merged configs (preset %s)", target.name, preset or "none")


class MedunetApp(MONAILabelApp):
    """The medunet bundles as MONAI Label models (infer and train)."""

    def __init__(self, app_dir: str, studies: str, conf: dict[str, str]) -> None:
        self.conf_in = conf
        self.models_dir = Path(conf.get("models_dir") or Path(app_dir) / "model").resolve()
        self.bundles = self._install_bundles()
        super().__init__(
            app_dir=app_dir,
            studies=studies,
            conf=conf,
            name="medunet",
            description="The 2015 U-Net recipe: CT/MRI volumes and microscopy images",
            version="0.1.0",
        )

    def _install_bundles(self) -> dict[str, Path]:
        """Copy each bundle into the models folder once (trained weights stay there)."""
        self.models_dir.mkdir(parents=True, exist_ok=True)
        out = {}
        for source in list_bundles():
            if bundle_kind(source) not in STUDY_EXTENSIONS:
                continue
            target = self.models_dir / source.name
            exported = (source / "models" / "model.pt").is_file() and source.name != bundle_kind(
                source
            )  # an exported bundle brings its weights; a shipped one's run outputs stay out
            skip = ("eval", "cache") if exported else ("models", "eval", "cache")
            if not (target / "configs").is_dir():
                shutil.copytree(source, target, ignore=shutil.ignore_patterns(*skip))
            else:  # configs follow the source bundle; trained weights are kept
                shutil.copytree(source / "configs", target / "configs", dirs_exist_ok=True)
            (target / "models").mkdir(exist_ok=True)
            _write_merged_configs(source, target, self.conf_in.get(f"{source.name}.preset"))
            out[source.name] = target
        logger.info("medunet bundles in %s: %s", self.models_dir, sorted(out))
        return out

    def init_datastore(self) -> Datastore:
        extensions = sorted({f"*{e}" for exts in STUDY_EXTENSIONS.values() for e in exts})
        return MedunetDatastore(self.studies, extensions=extensions, auto_reload=True)

    def init_infers(self) -> dict[str, InferTask]:
        tasks = {
            name: MedunetInferTask(str(path), self.conf) for name, path in self.bundles.items()
        }
        return {name: task for name, task in tasks.items() if task.is_valid()}

    def init_trainers(self) -> dict[str, TrainTask]:
        return {name: MedunetTrainTask(str(path), self.conf) for name, path in self.bundles.items()}
