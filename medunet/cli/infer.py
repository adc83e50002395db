"""``medunet infer``: a bundle's inference config on files or folders, one prediction each.

Microscopy: ``OUT/<name>_labels.tif`` (instances) and ``OUT/<name>_prob.tif``; CT/MRI:
``OUT/<name>_seg.nii.gz`` on the input's own grid and affine. Whole slides and long volumes
(``--block-size``, or any input whose whole-image prediction would need more than
``--max-memory``, by default half the memory available) are streamed block by block within
that bound, objects stitched across blocks; an interrupted streamed prediction continues
with ``--resume``. A model trained by
``medunet train`` brings its run's presets, ``--set`` overrides and the files beside it
(post-processing thresholds, spacing), so the network and processing match the training.
"""

from __future__ import annotations

import argparse
from functools import partial

from medunet.bundle import BACKENDS, StreamOptions, run_inference
from medunet.cli.logs import cli_log_policy, setup_logging
from medunet.cli.options import (
    add_bundle_options,
    bundle_argument,
    positive_float,
    positive_int,
    show_progress,
)

__all__ = ["add_parser"]

EXAMPLE = """examples:
  medunet infer unet2015_microscopy cells/*.tif --model runs/cells/models/model.pt --output preds
  medunet infer unet2015_ct_mri scans/ --model runs/ct/models/model.pt --output segs --tta
  medunet infer unet2015_microscopy slide.tif --model M --output preds --block-size 1024
  medunet infer unet2015_ct_mri cohort/ --model M --output segs --cluster local:4
  medunet infer unet2015_microscopy slide.tif --model M --output preds --cluster local:4
  medunet infer unet2015_microscopy cells/ --model M --output preds --backend onnxruntime
  medunet infer unet2015_microscopy slide.tif --model M --output preds --output-format zarr,geojson
  medunet infer unet2015_ct_mri scans/ --model M --output segs --output-format nifti,seg.nrrd
"""


def _run(args: argparse.Namespace) -> int:
    out = run_inference(
        args.bundle,
        args.inputs,
        args.output,
        model=args.model,
        tta=args.tta,
        overwrite=args.overwrite,
        device=args.device,
        presets=args.preset,
        settings=args.set,
        log_policy=cli_log_policy,
        progress=show_progress(args),
        stream=StreamOptions(
            block_size=args.block_size,
            max_memory_gb=args.max_memory,
            resume=args.resume,
        ),
        cluster=args.cluster,
        worker_setup=partial(setup_logging, args.verbose, args.debug),
        backend=args.backend,
        output_formats=args.output_format,
    )
    print(f"predictions in {out}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "infer",
        help="segment images with a trained bundle",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bundle_argument(p)
    p.add_argument("inputs", nargs="+", help="image files or folders of images")
    p.add_argument("--output", required=True, help="folder for the predictions")
    p.add_argument("--model", default=None, help="model.pt (default: the bundle's models/model.pt)")
    p.add_argument(
        "--tta",
        nargs="?",
        const="flips",
        default=None,
        choices=("flips", "rot90", "none"),
        help="test-time augmentation: flips (default when given), rot90 (8 symmetries, 2D) "
        "or none (one pass; a planned run averages membranes' and volumes' views by default)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing predictions")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--block-size",
        type=positive_int,
        default=None,
        metavar="N",
        help="stream every input in blocks of about N pixels (2D) or slabs of N slices (3D): "
        "bounded memory for whole slides and long volumes",
    )
    p.add_argument(
        "--max-memory",
        type=positive_float,
        default=None,
        metavar="GB",
        help="the peak memory of the run: inputs whose whole-image prediction would need more "
        "are streamed in blocks it allows, and tiles are held within it (default: half the "
        "memory available, printed in the log; with --cluster local:N, shared by the workers; "
        "a value given is each worker's)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted streamed prediction from the blocks already done",
    )
    p.add_argument(
        "--output-format",
        default=None,
        metavar="F[,F]",
        help="what to write, one or several comma-separated, streamed or not: microscopy "
        "tiff (default), zarr (OME-NGFF <name>.ome.zarr: image, labels layer and pyramids, "
        "for napari) and geojson (<name>.geojson, one polygon per object, for QuPath); "
        "CT/MRI nifti (default) and seg.nrrd (a 3D Slicer segmentation, segments named by "
        "--set class_names=[...])",
    )
    p.add_argument(
        "--cluster",
        default=None,
        metavar="SPEC",
        help="predict on dask.distributed, each input a task and each block of a streamed "
        "slide one: local:N (N worker processes), tcp://HOST:PORT or a scheduler file (an "
        "existing cluster); needs pip install 'medunet[distributed]'",
    )
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="pytorch",
        help="what runs the network: pytorch (default) or onnxruntime (the model exported to "
        "ONNX, or a .onnx --model; same tiles and outputs, often faster on CPU; needs pip "
        "install 'medunet[onnx]')",
    )
    add_bundle_options(p)
    p.set_defaults(func=_run)
