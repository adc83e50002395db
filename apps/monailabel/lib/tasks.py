"""MONAI Label tasks for the medunet bundles: MONAI Label's bundle tasks, subclassed where
they do not fit.

- A bundle without trained weights is still served: MONAI Label's ``BundleInferTask``
  skips it, so :class:`MedunetInferTask` finishes the set-up itself, reports
  ``"trained": false`` and "needs training" in ``/info/`` and refuses to infer (with the
  fix) instead of predicting with random weights.
- medunet's own savers (``SaveMicroscopyd``, ``SaveVolumed``) are dropped like MONAI's
  ``SaveImaged``: MONAI Label writes the result itself.
- Microscopy returns instance labels (one id per nucleus, 0 = background), the label the
  boundary weight map trains on when the corrected label comes back.
- Each model sees only the studies it can read (by extension; an exported bundle reads
  what the bundle it was trained with reads); training fine-tunes from ``models/model.pt``
  (the bundles' ``pretrained`` setting: their handler list is built by medunet, so MONAI
  Label's own checkpoint loader is not inserted) and replaces the bundle's run files
  (checkpoint, spacing) each time.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import HTTPException
from monai.transforms import CopyItemsd, DeleteItemsd, SaveImaged, SqueezeDimd, Transposed
from monailabel.interfaces.exception import MONAILabelError, MONAILabelException
from monailabel.tasks.infer.basic_infer import BasicInferTask
from monailabel.tasks.infer.bundle import BundleInferTask
from monailabel.tasks.train.bundle import BundleTrainTask

from medunet.data import MICROSCOPY_SUFFIXES, VOLUME_SUFFIXES
from medunet.transforms import ProbabilityToInstancesd, SaveMicroscopyd, SaveVolumed

__all__ = ["STUDY_EXTENSIONS", "MedunetInferTask", "MedunetTrainTask", "bundle_kind", "readable"]

logger = logging.getLogger(__name__)

#: the study files each kind of bundle reads (the readers' own lists; DICOM comes from a
#: DICOMweb server, as a series, not as the slice files of a local folder)
STUDY_EXTENSIONS = {
    "unet2015_ct_mri": tuple(s for s in VOLUME_SUFFIXES if s != ".dcm"),
    "unet2015_microscopy": MICROSCOPY_SUFFIXES,
}


def bundle_kind(path: str | Path) -> str:
    """The medunet bundle a bundle folder is (an exported one names it in its metadata)."""
    try:
        metadata = json.loads((Path(path) / "configs" / "metadata.json").read_text())
    except (OSError, ValueError):
        return os.path.basename(path)
    return str(metadata.get("medunet", {}).get("bundle", os.path.basename(path)))


def readable(kind: str, path: str) -> bool:
    """Whether a bundle of ``kind`` (:func:`bundle_kind`) reads the study file ``path``."""
    return str(path).lower().endswith(STUDY_EXTENSIONS.get(kind, ()))


def _needs_training(name: str, kind: str) -> str:
    return (
        f"model {name} needs training: label at least 2 studies it can read "
        f"({', '.join(STUDY_EXTENSIONS.get(kind, ()))}) and run POST /train/{name}"
    )


class MedunetInferTask(BundleInferTask):
    """MONAI Label inference with a medunet bundle (trained or not yet)."""

    def __init__(self, path: str, conf: dict[str, str], **kwargs: Any) -> None:
        super().__init__(
            path, conf, post_filter=[SaveImaged, SaveMicroscopyd, SaveVolumed], **kwargs
        )
        self.name = os.path.basename(path)
        self.kind = bundle_kind(path)
        self.model_file = Path(path) / "models" / "model.pt"
        if not self.valid and hasattr(self, "bundle_config"):
            self._serve_untrained(path)
        if not self.model_file.is_file():
            logger.warning(_needs_training(self.name, self.kind))

    def _serve_untrained(self, path: str) -> None:
        """What ``BundleInferTask.__init__`` does after finding weights, without them."""
        sys.path.insert(0, path)
        try:
            network = self.bundle_config.get_parsed_content("network_def", instantiate=True)
        finally:
            sys.path.remove(path)
        metadata = json.loads((Path(path) / "configs" / "metadata.json").read_text())
        self.key_image, image = next(iter(metadata["network_data_format"]["inputs"].items()))
        self.key_pred, pred = next(iter(metadata["network_data_format"]["outputs"].items()))
        labels = {
            v.lower(): int(k)
            for k, v in pred.get("channel_def", {}).items()
            if v.lower() != "background"
        }
        self.add_post_restore = True
        BasicInferTask.__init__(
            self,
            path=str(self.model_file),
            network=network,
            type="segmentation",
            labels=labels,
            dimension=len(image.get("spatial_shape", [0, 0, 0])),
            description=metadata.get("description"),
            load_strict=False,
        )
        self._config.update({"model_filename": ["model.pt"]})
        self.valid = True
        self.version = metadata.get("version")

    def info(self) -> dict[str, Any]:
        info = super().info()
        info["trained"] = self.model_file.is_file()
        if not info["trained"]:
            needs = _needs_training(self.name, self.kind)
            info["description"] = f"{info.get('description', '')} [{needs}]"
        return info

    def post_transforms(self, data: Any = None) -> Sequence[Any]:
        post = list(super().post_transforms(data))
        if any(isinstance(t, ProbabilityToInstancesd) for t in post):
            # instance labels (one id per object) are the result, before MONAI Label's Restored
            at = len(post) - 1 if self.add_post_restore else len(post)
            post[at:at] = [
                DeleteItemsd(keys="pred"),
                CopyItemsd(keys="pred_instances", names="pred"),
            ]
            # (H, W) -> (X, Y): MONAI Label's writer takes MONAI's x-first layout, medunet's
            # microscopy reader gives rows first
            post += [SqueezeDimd(keys="pred", dim=0), Transposed(keys="pred", indices=(1, 0))]
        return post

    def pre_transforms(self, data: Any = None) -> Sequence[Any]:
        # the bundles' preprocessing is shared with training, where it reads the label too
        # (allow_missing_keys); MONAI Label swaps the loaders for its own, which would look
        # for a label: keep the image key only
        kept = []
        for transform in super().pre_transforms(data):
            keys = getattr(transform, "keys", None)
            if keys is not None and "label" in keys:
                keys = tuple(k for k in keys if k != "label")
                if not keys:
                    continue
                transform.keys = keys
            kept.append(transform)
        return kept

    def run_pre_transforms(self, data: dict, transforms: Sequence[Any]) -> dict:
        # MONAI's transforms may update every "image_*" entry as a meta dict; MONAI Label's
        # "image_path" string is none: keep it aside while the transforms run
        path = data.pop("image_path", None)
        data = super().run_pre_transforms(data, transforms)
        if path is not None:
            data["image_path"] = path
        return data

    def __call__(self, request: dict, callbacks: Any = None) -> Any:
        # HTTPException: MONAI Label's endpoint passes its detail to the client (a
        # MONAILabelException would reach it as a bare "Internal Server Error")
        if not self.model_file.is_file():
            logger.error(_needs_training(self.name, self.kind))
            raise HTTPException(status_code=409, detail=_needs_training(self.name, self.kind))
        image = request.get("image")
        if isinstance(image, str) and not readable(self.kind, image):
            detail = (
                f"{os.path.basename(image)}: model {self.name} reads "
                f"{', '.join(STUDY_EXTENSIONS[self.kind])} studies; pick the other model."
            )
            logger.error(detail)
            raise HTTPException(status_code=400, detail=detail)
        return super().__call__(request, callbacks) if callbacks else super().__call__(request)


class MedunetTrainTask(BundleTrainTask):
    """MONAI Label training of a medunet bundle on the studies it can read."""

    def __init__(self, path: str, conf: dict[str, str], **kwargs: Any) -> None:
        super().__init__(path, conf, **kwargs)
        self.name = os.path.basename(path)
        self.kind = bundle_kind(path)
        self._pretrained: str | None = None

    def _fetch_datalist(self, request: dict, datastore: Any) -> list[dict]:
        items = [
            d
            for d in super()._fetch_datalist(request, datastore)
            if readable(self.kind, d["image"])
        ]
        if not items:
            raise MONAILabelException(
                MONAILabelError.APP_ERROR,
                f"no labelled studies for {self.name}: it trains on "
                f"{', '.join(STUDY_EXTENSIONS[self.kind])} studies with a label.",
            )
        logger.info("%s: training on %d labelled studies", self.name, len(items))
        return items

    def _partition_datalist(self, datalist: list, request: dict, shuffle: bool = False):
        train, val = super()._partition_datalist(datalist, request, shuffle)
        if not val:  # too few studies to hold one out: validate on the training studies
            val = list(train)
        return train, val

    def _load_checkpoint(self, model_pytorch: str, pretrained: bool, train_handlers: Any) -> None:
        # the bundle's own ``pretrained`` setting loads the weights (see _update_overrides)
        self._pretrained = model_pytorch if pretrained and os.path.exists(model_pytorch) else None

    def _update_overrides(self, overrides: dict) -> dict:
        overrides.update(
            pretrained=self._pretrained,
            overwrite=True,  # each request is a new run, fine-tuned from models/model.pt
            resume=False,
            cache="none",  # corrected labels are saved under the same names
            show_progress=False,
            num_workers=0,
        )
        return overrides
