"""nnU-Net v2 as a peer of ``bench_quality.py``: plan, preprocess, train for a budget, predict.

What an nnU-Net user does, with nnU-Net's own defaults (its planner, preprocessing, network,
augmentation, loss and sliding-window prediction with mirroring), in one process:

1. the Decathlon-style folder becomes an nnU-Net raw dataset (2D images as 16-bit PNG with
   a binary foreground label; volumes as NIfTI with their classes);
2. ``extract_fingerprints``, ``plan_experiments`` and ``preprocess`` for the ``2d`` or
   ``3d_fullres`` configuration;
3. training on all cases (fold ``all``), stopped at the step that crosses ``--budget``
   seconds (an nnU-Net epoch is 250 steps, minutes on a CPU), nnU-Net's polynomial
   learning-rate schedule fitted to the epochs that fit; the clock starts with the training
   loop;
4. ``nnUNetPredictor`` on the held-out images; objects = connected components of the
   predicted foreground (2D).

    python benchmarks/nnunet_v2.py --data DIR --output OUT --work WORK --budget 300 --seed 1

Needs ``nnunetv2`` (``pip install nnunetv2``); ``bench_quality.py`` skips this peer
otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np

DATASET_ID = 501


def convert(data: Path, raw: Path, dims: int) -> tuple[Path, list[Path]]:
    """The nnU-Net raw dataset of ``data``; returns it and the held-out images' files."""
    import nibabel as nib
    import tifffile
    from PIL import Image

    folder = raw / f"Dataset{DATASET_ID:03d}_Bench"
    for sub in ("imagesTr", "labelsTr", "imagesTs"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    ending = ".png" if dims == 2 else ".nii.gz"
    cases = sorted((data / "imagesTr").glob("*.tif" if dims == 2 else "*.nii.gz"))
    for image in cases:
        case = image.name[: -len(".tif" if dims == 2 else ".nii.gz")]
        label = data / "labelsTr" / image.name
        if dims == 2:
            Image.fromarray(tifffile.imread(image).astype(np.uint16)).save(
                folder / "imagesTr" / f"{case}_0000.png"
            )
            fg = (tifffile.imread(label) > 0).astype(np.uint8)
            Image.fromarray(fg).save(folder / "labelsTr" / f"{case}.png")
        else:
            (folder / "imagesTr" / f"{case}_0000.nii.gz").write_bytes(image.read_bytes())
            lab = nib.load(label)
            nib.save(nib.Nifti1Image(np.asarray(lab.dataobj).astype(np.uint8), lab.affine),
                     folder / "labelsTr" / f"{case}.nii.gz")  # fmt: skip
    tests = []
    for image in sorted((data / "imagesTs").glob("*.tif" if dims == 2 else "*.nii.gz")):
        case = image.name[: -len(".tif" if dims == 2 else ".nii.gz")]
        target = folder / "imagesTs" / f"{case}_0000{ending}"
        if dims == 2:
            Image.fromarray(tifffile.imread(image).astype(np.uint16)).save(target)
        else:
            target.write_bytes(image.read_bytes())
        tests.append(target)
    labels = {"background": 0, "object": 1} if dims == 2 else {"background": 0, "gm": 1, "wm": 2}
    dataset = {
        "channel_names": {"0": "zscore" if dims == 2 else "MRI"},
        "labels": labels,
        "numTraining": len(cases),
        "file_ending": ending,
    }
    (folder / "dataset.json").write_text(json.dumps(dataset, indent=2))
    return folder, tests


def budget_trainer(budget: float):
    """An ``nnUNetTrainer`` that trains for ``budget`` seconds."""
    from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer

    class BudgetTrainer(nnUNetTrainer):
        def run_training(self):
            self.on_train_start()
            start, epoch = time.perf_counter(), self.current_epoch
            steps = 0
            while True:
                self.on_epoch_start()
                self.on_train_epoch_start()
                outputs = []
                for _ in range(self.num_iterations_per_epoch):  # 250: minutes on a CPU
                    outputs.append(self.train_step(next(self.dataloader_train)))
                    if time.perf_counter() - start >= budget:
                        break  # the budget ends inside an epoch: it is the last one
                steps += len(outputs)
                self.on_train_epoch_end(outputs)
                with self.no_grad():
                    self.on_validation_epoch_start()
                    val = []  # nnU-Net's pseudo-Dice log; over budget, one batch will do
                    for _ in range(self.num_val_iterations_per_epoch):
                        val.append(self.validation_step(next(self.dataloader_val)))
                        if time.perf_counter() - start >= budget:
                            break
                    self.on_validation_epoch_end(val)
                self.on_epoch_end()
                epoch += 1
                elapsed = time.perf_counter() - start
                if elapsed >= budget:
                    break
                # fit the polynomial schedule to the epochs that fit in the budget
                self.num_epochs = epoch + math.ceil((budget - elapsed) / (elapsed / epoch))
                self.lr_scheduler.max_steps = self.num_epochs
            self.steps = steps
            self.train_seconds = time.perf_counter() - start
            self.on_train_end()

        @staticmethod
        def no_grad():
            import torch

            return torch.no_grad()

    return BudgetTrainer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--budget", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dims", type=int, default=2, choices=(2, 3))
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    for name in ("raw", "preprocessed", "results"):
        (args.work / name).mkdir(parents=True, exist_ok=True)
        os.environ[f"nnUNet_{name}"] = str(args.work / name)
    import torch
    from batchgenerators.utilities.file_and_folder_operations import load_json
    from nnunetv2.experiment_planning.plan_and_preprocess_api import (
        extract_fingerprints,
        plan_experiments,
        preprocess,
    )
    from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)  # noqa: NPY002 - nnU-Net's augmentation draws from the global RNG
    folder, tests = convert(args.data, args.work / "raw", args.dims)
    configuration = "2d" if args.dims == 2 else "3d_fullres"
    extract_fingerprints([DATASET_ID], check_dataset_integrity=True, num_processes=2)
    plan_experiments([DATASET_ID])
    preprocess([DATASET_ID], configurations=(configuration,), num_processes=(2,))
    pre = args.work / "preprocessed" / folder.name
    device = torch.device(args.device)
    plans = load_json(pre / "nnUNetPlans.json")
    plans["continue_training"] = False  # what nnUNetv2_train passes in (2.8 pops it)
    trainer = budget_trainer(args.budget)(
        plans=plans, configuration=configuration, fold="all",
        dataset_json=load_json(pre / "dataset.json"), device=device,
    )  # fmt: skip
    trainer.run_training()
    # the trained network as nnU-Net's own final validation hands it over (the predictor's
    # loader looks the trainer class up by name among nnU-Net's, where this one is not)
    trainer.set_deep_supervision_enabled(False)
    trainer.network.eval()
    predictor = nnUNetPredictor(tile_step_size=0.5, use_mirroring=True, device=device)
    predictor.manual_initialization(
        trainer.network, trainer.plans_manager, trainer.configuration_manager,
        [trainer.network.state_dict()],
        trainer.dataset_json, type(trainer).__name__, trainer.inference_allowed_mirroring_axes,
    )  # fmt: skip
    raw_out = args.work / "predictions"
    raw_out.mkdir(exist_ok=True)
    predictor.predict_from_files([[str(t)] for t in tests], str(raw_out), save_probabilities=False,
                                 overwrite=True, num_processes_preprocessing=1,
                                 num_processes_segmentation_export=1)  # fmt: skip
    write_outputs(tests, raw_out, args)
    record = {"steps": int(trainer.steps), "train_seconds": round(trainer.train_seconds, 1)}
    (args.output / "train.json").write_text(json.dumps(record))
    return 0


def write_outputs(tests: list[Path], raw_out: Path, args: argparse.Namespace) -> None:
    """nnU-Net's predictions as the benchmark's files: instance labels (2D) or classes."""
    import nibabel as nib
    import tifffile
    from PIL import Image
    from scipy import ndimage as ndi

    args.output.mkdir(parents=True, exist_ok=True)
    for test in tests:
        case = test.name.split("_0000")[0]
        if args.dims == 2:
            seg = np.asarray(Image.open(raw_out / f"{case}.png"))
            labels = ndi.label(seg > 0)[0].astype(np.int32)
            tifffile.imwrite(args.output / f"{case}_labels.tif", labels)
        else:
            seg = nib.load(raw_out / f"{case}.nii.gz")
            ref = nib.load(args.data / "imagesTs" / f"{case}.nii.gz")
            nib.save(nib.Nifti1Image(np.asarray(seg.dataobj).astype(np.uint8), ref.affine),
                     args.output / f"{case}_seg.nii.gz")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
