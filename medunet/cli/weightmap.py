"""``medunet weightmap``: the boundary weight map (the paper's eq. 2) of a label image.

``w(x) = w_c(x) + w0 * exp(-(d1(x) + d2(x))^2 / (2 sigma^2))`` with class-balancing ``w_c``;
written as a float32 TIFF (or NIfTI for volumes, with the labels' affine), optionally with a
PNG heat map to look at.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from medunet.data.images import is_volume, write_like
from medunet.transforms.instances import INSTANCE_MODES
from medunet.transforms.weight_map import weight_map_of_file
from medunet.visualize import weight_map_png

__all__ = ["add_parser"]

EXAMPLE = """examples:
  medunet weightmap DIR/labelsTr/cells_01.tif --output w.tif --preview w.png
  medunet weightmap DIR/labelsTr/case.nii.gz --output w.nii.gz --sigma 3   # sigma in mm
  medunet weightmap mask.png --output w.tif --instances connected_components
"""


def _run(args: argparse.Namespace) -> int:
    if is_volume(args.output) != is_volume(args.labels):
        raise ValueError(
            f"--output {args.output}: write a {'.nii.gz' if is_volume(args.labels) else '.tif'} "
            f"for {args.labels}."
        )
    if args.preview and not str(args.preview).lower().endswith(".png"):
        raise ValueError(f"--preview {args.preview}: the preview is a .png file.")
    for target in filter(None, (args.output, args.preview)):
        if Path(target).exists() and not args.overwrite:
            raise FileExistsError(f"{target} exists; pass --overwrite to replace it.")
    weights, meta = weight_map_of_file(args.labels, args.w0, args.sigma, args.instances)
    out = write_like(args.output, weights, meta, overwrite=args.overwrite)
    print(f"weight map: {out} (min {weights.min():.3f}, max {weights.max():.3f})")
    if args.preview:
        png = weight_map_png(
            weights, args.preview, title=Path(args.labels).name, overwrite=args.overwrite
        )
        print(f"preview: {png}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "weightmap",
        help="boundary weight map of a label image",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("labels", help="instance label image (TIFF, PNG, NIfTI, NRRD, MHA)")
    p.add_argument("--output", required=True, help="weight map file (.tif, or .nii.gz for volumes)")
    p.add_argument("--preview", default=None, help="also write a PNG heat map")
    p.add_argument("--w0", type=float, default=10.0, help="border weight (paper: 10)")
    p.add_argument("--sigma", type=float, default=5.0, help="border width (paper: 5 px)")
    p.add_argument(
        "--instances",
        default="labels",
        choices=INSTANCE_MODES,
        help="labels: one id per object; connected_components: a binary mask's components",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.set_defaults(func=_run)
