"""``medunet weightmap``: the boundary weight map (the paper's eq. 2) of a label image.

``w(x) = w_c(x) + w0 * exp(-(d1(x) + d2(x))^2 / (2 sigma^2))`` with class-balancing ``w_c``;
written as a float32 TIFF (or NIfTI for volumes, with the labels' affine), optionally with a
PNG heat map to look at.
"""

from __future__ import annotations

import argparse

from medunet.bundle.weightmap import write_weight_map
from medunet.transforms.instances import INSTANCE_MODES

__all__ = ["add_parser"]

EXAMPLE = """examples:
  medunet weightmap DIR/labelsTr/cells_01.tif --output w.tif --preview w.png
  medunet weightmap DIR/labelsTr/case.nii.gz --output w.nii.gz --sigma 3   # sigma in mm
  medunet weightmap mask.png --output w.tif --instances connected_components
"""


def _run(args: argparse.Namespace) -> int:
    out, png, weights = write_weight_map(
        args.labels, args.output, args.preview, args.w0, args.sigma, args.instances,
        args.overwrite,
    )  # fmt: skip
    print(f"weight map: {out} (min {weights.min():.3f}, max {weights.max():.3f})")
    if png:
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
