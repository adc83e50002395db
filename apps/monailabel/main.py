"""medunet's MONAI Label app: serves and trains the medunet bundles, offline.

Start it with ``python3 scripts/dev.py label --studies DIR [--port 8000]``. Each shipped
bundle (``unet2015_ct_mri``: NIfTI/NRRD/MHA volumes, ``unet2015_microscopy``: TIFF/PNG
images) is copied once into the app's model folder (``--conf models_dir DIR``, default
``apps/monailabel/model``), where MONAI Label's training writes its weights. Nothing is
downloaded: no model-zoo index, no SAM checkpoints.

``--conf <bundle>.preset NAME|FILE`` layers a preset (``configs/NAME.yaml`` or a YAML file)
over that bundle's train and inference configs, e.g. ``--conf unet2015_microscopy.preset
quick_cpu_microscopy`` for a small network that trains in minutes on a CPU.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from lib.tasks import STUDY_EXTENSIONS, MedunetInferTask, MedunetTrainTask
from monai.bundle import ConfigParser
from monailabel.datastore.local import LocalDatastore
from monailabel.interfaces.app import MONAILabelApp
from monailabel.interfaces.datastore import Datastore
from monailabel.interfaces.tasks.infer_v2 import InferTask
from monailabel.interfaces.tasks.train import TrainTask

from medunet.cli.bundles import list_bundles, resolve_preset

logger = logging.getLogger(__name__)


def _apply_settings(bundle: Path, values: dict) -> None:
    """Write settings (a preset's, ours) into the bundle copy's train and inference configs
    (the ids each of them has), as MONAI Label reads one config file per task."""
    for name in ("train.yaml", "inference.yaml"):
        parser = ConfigParser()
        parser.read_config(str(bundle / "configs" / name))
        for key, value in values.items():
            if key in parser:
                parser[key] = value
        ConfigParser.export_config_file(parser.get(), str(bundle / "configs" / name), fmt="yaml")
    logger.info("%s: settings %s", bundle.name, sorted(values))


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
        """Copy each shipped bundle into the models folder once (weights stay there)."""
        self.models_dir.mkdir(parents=True, exist_ok=True)
        out = {}
        for source in list_bundles():
            if source.name not in STUDY_EXTENSIONS:
                continue
            target = self.models_dir / source.name
            if not (target / "configs").is_dir():
                shutil.copytree(
                    source, target, ignore=shutil.ignore_patterns("models", "eval", "cache")
                )
            else:  # configs follow the shipped bundle; trained weights are kept
                shutil.copytree(source / "configs", target / "configs", dirs_exist_ok=True)
            (target / "models").mkdir(exist_ok=True)
            preset = self.conf_in.get(f"{source.name}.preset")
            settings = ConfigParser.load_config_file(str(resolve_preset(preset))) if preset else {}
            # a long-running server hosting other models: leave its malloc alone
            _apply_settings(target, {**settings, "tune_cpu_allocator": False})
            out[source.name] = target
        logger.info("medunet bundles in %s: %s", self.models_dir, sorted(out))
        return out

    def init_datastore(self) -> Datastore:
        extensions = sorted({f"*{e}" for exts in STUDY_EXTENSIONS.values() for e in exts})
        return LocalDatastore(self.studies, extensions=extensions, auto_reload=True)

    def init_infers(self) -> dict[str, InferTask]:
        tasks = {
            name: MedunetInferTask(str(path), self.conf) for name, path in self.bundles.items()
        }
        return {name: task for name, task in tasks.items() if task.is_valid()}

    def init_trainers(self) -> dict[str, TrainTask]:
        return {name: MedunetTrainTask(str(path), self.conf) for name, path in self.bundles.items()}
