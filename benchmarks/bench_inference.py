"""Overlap-tile inference: medunet's OverlapTileInferer vs MONAI's sliding window.

Side by side in one process, same weights (the same-padded twin of the valid UNet2015 for
MONAI, which needs outputs the size of its window):

1. network input pixels per image pixel (halo + overlap + padding overhead);
2. wall-clock on a 2048^2 image, UNet2015 channels (16, 32, 64, 128, 256): ours (valid,
   automatic tile for the default and a 4 GiB budget) vs MONAI roi 512 overlap 0.5 gaussian
   (nnU-Net's default) and overlap 0.25 constant; each case runs in a fresh process, once
   with glibc's default malloc and once with ``tune_glibc_malloc()`` (for all contenders);
3. peak memory (RSS, in child processes) for 2048^2 and 4096^2 images: bounded by the tile,
   not the image, apart from the image-sized input/output buffers;
4. 3D: the same for a 192^3 volume, UNet2015 channels (8, 16, 32, 64), ours valid and
   same-with-crop vs MONAI roi 96;
5. ONNX Runtime (``--backend onnxruntime``): the same overlap-tile inference with the valid
   network exported to ONNX (:func:`medunet.networks.export_onnx`) and run by
   :class:`~medunet.networks.OnnxRuntimeNetwork`, in the same process as the others, in 2D,
   3D and for the CT/MRI bundle (skipped, saying so, without ``medunet[onnx]``);
6. the CT/MRI bundle's default inference (its ``inference.yaml``:
   its network, same-padded channels 32..256, and its inferer) on a 192^3 volume vs MONAI
   ``sliding_window_inference`` with the same network, roi 96, overlap 0.5 gaussian (the model
   zoo's and nnU-Net's setting) and overlap 0.25 (``--ct-mri-only`` runs just this).

    python benchmarks/bench_inference.py [--skip-3d] [--skip-memory] [--memory-only] [--ct-mri-only]

Targets: 2D time ratio vs overlap 0.5 gaussian <= 0.5, vs overlap 0.25 <= 1.0 (issue 5);
the CT/MRI bundle's inference <= 1.0x MONAI overlap 0.5 gaussian (issue 9); with the faster
backend <= 0.45x MONAI overlap 0.5 gaussian at 2048^2 (issue 25).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from monai.data.utils import dense_patch_slices
from monai.inferers import sliding_window_inference

from medunet.inferers import OverlapTileInferer, tune_glibc_malloc
from medunet.networks import UNet2015


def monai_windows(image: tuple[int, ...], roi: int, overlap: float) -> int:
    interval = [int(roi * (1 - overlap)) if roi != n else roi for n in image]
    return len(dense_patch_slices(image, (roi,) * len(image), interval))


def pixel_overhead_monai(image: tuple[int, ...], roi: int, overlap: float) -> float:
    return monai_windows(image, roi, overlap) * roi ** len(image) / math.prod(image)


def pixel_overhead_ours(plan: dict, image: tuple[int, ...]) -> float:
    return math.prod(t * r for t, r in zip(plan.tiles, plan.roi, strict=True)) / math.prod(image)


def timed(fn) -> tuple[float, torch.Tensor]:
    start = time.perf_counter()
    with torch.no_grad():
        out = fn()
    return time.perf_counter() - start, out


def onnx_twin(network: UNet2015, folder: str):
    """``network`` exported to ONNX and run by ONNX Runtime, or None without medunet[onnx]."""
    try:
        from medunet.networks import OnnxRuntimeNetwork, export_onnx

        path = export_onnx(network, Path(folder) / "net.onnx")
        return OnnxRuntimeNetwork(path)
    except ImportError as err:
        print(f"  (ONNX Runtime skipped: {err})")
        return None


def twins(spatial_dims: int, channels: tuple[int, ...]) -> tuple[UNet2015, UNet2015]:
    valid = UNet2015(spatial_dims, 1, 2, channels).eval()
    same = UNet2015(spatial_dims, 1, 2, channels, padding="same").eval()
    same.load_state_dict(valid.state_dict())
    return valid, same


def compare(
    name: str, size: tuple[int, ...], channels: tuple[int, ...], roi: int, tuned: bool
) -> None:
    """All contenders on one image, in this process (the allocator tuned for all or none)."""
    torch.manual_seed(0)
    valid, same = twins(len(size), channels)
    x = torch.rand(1, 1, *size)
    opts = {"tune_cpu_allocator": tuned}
    contenders = {
        "ours valid, default budget": (OverlapTileInferer(**opts), valid),
        "ours valid, 512 MiB budget": (OverlapTileInferer(memory_budget_mb=512, **opts), valid),
        "ours same+crop, default budget": (OverlapTileInferer(**opts), same),
    }
    folder = tempfile.mkdtemp(prefix="bench-onnx-")
    runtime = onnx_twin(valid, folder)
    if runtime is not None:
        contenders["ours valid, ONNX Runtime"] = (OverlapTileInferer(**opts), runtime)
    print(f"\n== {name}: image {size}, UNet2015 channels {channels}")
    print("input pixels per image pixel:")
    for label, (inferer, net) in contenders.items():
        plan = inferer.plan(size, net)
        print(
            f"  {label:<32} {pixel_overhead_ours(plan, size):5.2f}  "
            f"(tile {plan.roi}, {math.prod(plan.tiles)} tiles)"
        )
    for ov in (0.25, 0.5):
        label = f"MONAI roi {roi} overlap {ov}"
        print(f"  {label:<32} {pixel_overhead_monai(size, roi, ov):5.2f}")
    with torch.no_grad():  # warm-up
        valid(torch.rand(1, 1, *(valid.input_size_for(8),) * len(size)))
    times, outputs = {}, {}
    for label, (inferer, net) in contenders.items():
        times[label], outputs[label] = timed(lambda i=inferer, n=net: i(x, n))
    if runtime is not None:
        diff = (outputs["ours valid, ONNX Runtime"] - outputs["ours valid, default budget"]).abs()
        print(f"ONNX Runtime vs PyTorch, same tiles: max |logit difference| {diff.max():.1e}")
    t_gauss, _ = timed(
        lambda: sliding_window_inference(x, roi, 1, same, overlap=0.5, mode="gaussian")
    )
    t_const, _ = timed(lambda: sliding_window_inference(x, roi, 1, same, overlap=0.25))
    print(f"wall-clock: MONAI overlap 0.5 gaussian {t_gauss:.2f} s, overlap 0.25 {t_const:.2f} s")
    for label, t in times.items():
        print(
            f"  {label:<32} {t:6.2f} s | / MONAI 0.5 gaussian {t / t_gauss:4.2f} (target <= 0.5)"
            f" | / MONAI 0.25 {t / t_const:4.2f} (target <= 1.0)"
        )


def peak_rss_mb() -> float:
    """This process's peak resident memory (MB) from ``VmHWM``: ``ru_maxrss`` would carry
    the parent's peak over at exec (a child started after the 3D runs read GBs)."""
    with open("/proc/self/status") as f:
        kib = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    return kib / 1024


def child_memory(size: int, roi: int) -> None:
    """Run in a child process: peak RSS of one 2D inference of a ``size``^2 image."""
    valid, _ = twins(2, (16, 32, 64, 128, 256))
    x = torch.rand(1, 1, size, size)
    base = peak_rss_mb()
    inferer = OverlapTileInferer(roi_size=roi)
    plan = inferer.plan((size, size), valid)
    with torch.no_grad():
        out = inferer(x, valid)
    peak = peak_rss_mb()
    padded = math.prod(
        r + (t - 1) * s for r, t, s in zip(plan.roi, plan.tiles, plan.stride, strict=True)
    )
    # input, mirrored input, MONAI's output and count map, the final output
    image_mb = 4 * (x.numel() + padded * (1 + out.shape[1] + 1) + out.numel()) / 2**20
    print(
        json.dumps(
            {
                "size": size,
                "tile": plan.roi[0],
                "tiles": math.prod(plan.tiles),
                "peak_extra_mb": round(peak - base),
                "image_buffers_mb": round(image_mb),
                "tile_estimate_mb": round(valid.tile_geometry.estimate_activation_mb(plan.roi)),
            }
        )
    )


def memory(roi: int) -> None:
    print(f"\n== peak memory, 2D UNet2015 (16..256), fixed tile {roi}")
    for size in (2048, 4096):
        res = subprocess.run(
            [sys.executable, __file__, "--child-memory", str(size), "--roi", str(roi)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(res.stdout.strip().splitlines()[-1])
        rest = r["peak_extra_mb"] - r["image_buffers_mb"]
        print(
            f"{size}^2: {r['tiles']} tiles | peak extra RSS {r['peak_extra_mb']} MB = "
            f"image-sized buffers {r['image_buffers_mb']} MB + {rest} MB for the tile "
            f"(activation estimate {r['tile_estimate_mb']} MB)"
        )


def compare_ct_mri_bundle(size: tuple[int, ...] = (192, 192, 192), roi: int = 96) -> None:
    """The CT/MRI bundle's own network and inferer vs MONAI's sliding window (same network)."""
    from monai.bundle import ConfigParser

    from medunet.bundle import resolve_bundle

    torch.manual_seed(0)
    parser = ConfigParser()
    parser.read_config([str(f) for f in resolve_bundle("unet2015_ct_mri").configs("inference")])
    net = parser.get_parsed_content("network_def").eval()
    inferer = parser.get_parsed_content("inferer")
    inferer.progress = False
    x = torch.rand(1, 1, *size)
    plan = inferer.plan(size, net)
    print(f"\n== CT/MRI bundle default inference: volume {size}, UNet2015 {net.channels} same")
    monai_05, monai_025 = (pixel_overhead_monai(size, roi, ov) for ov in (0.5, 0.25))
    print(
        f"input voxels per voxel: ours {pixel_overhead_ours(plan, size):.2f} (tile {plan.roi},"
        f" halo {inferer.halo}, {math.prod(plan.tiles)} tiles); MONAI roi {roi} 0.5: "
        f"{monai_05:.2f}, 0.25: {monai_025:.2f}"
    )
    with torch.no_grad():
        net(torch.rand(1, 1, 16, 16, 16))  # warm-up
    t_ours, ours = timed(lambda: inferer(x, net))
    runtime = onnx_twin(net, tempfile.mkdtemp(prefix="bench-onnx-"))
    t_onnx = None
    if runtime is not None:
        t_onnx, onnx_out = timed(lambda: inferer(x, runtime))
        diff = float((onnx_out - ours).abs().max())
    t_gauss, _ = timed(
        lambda: sliding_window_inference(x, roi, 1, net, overlap=0.5, mode="gaussian")
    )
    t_const, _ = timed(lambda: sliding_window_inference(x, roi, 1, net, overlap=0.25))
    print(
        f"wall-clock: ours {t_ours:.1f} s, MONAI 0.5 gaussian {t_gauss:.1f} s, 0.25 {t_const:.1f} s"
    )
    print(
        f"  ours / MONAI 0.5 gaussian {t_ours / t_gauss:.2f} (target <= 1.0) | "
        f"ours / MONAI 0.25 {t_ours / t_const:.2f}"
    )
    if t_onnx is not None:
        print(
            f"  ours on ONNX Runtime {t_onnx:.1f} s: / MONAI 0.5 gaussian {t_onnx / t_gauss:.2f}"
            f" | / ours on PyTorch {t_onnx / t_ours:.2f} | max |logit difference| {diff:.1e}"
        )


def in_child(*args: str) -> None:
    """Run this script in a fresh process (each its own allocator state), echo its output."""
    res = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    sys.stdout.write(res.stdout)
    if res.returncode != 0:
        sys.stdout.write(res.stderr)
        raise SystemExit(res.returncode)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-3d", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--child-memory", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-compare", choices=("2D", "3D"), help=argparse.SUPPRESS)
    parser.add_argument("--tuned-malloc", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--roi", type=int, default=1212, help="memory test tile")
    parser.add_argument("--memory-only", action="store_true")
    parser.add_argument("--ct-mri-only", action="store_true")
    args = parser.parse_args()
    if args.ct_mri_only:
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
        compare_ct_mri_bundle()
        return
    if args.tuned_malloc:
        tune_glibc_malloc()  # before any contender runs, so all share it
    if args.child_memory:
        child_memory(args.child_memory, args.roi)
        return
    if args.child_compare == "2D":
        compare("2D", (2048, 2048), (16, 32, 64, 128, 256), 512, args.tuned_malloc)
        return
    if args.child_compare == "3D":
        compare("3D", (192, 192, 192), (8, 16, 32, 64), 96, args.tuned_malloc)
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    cases = [] if args.memory_only else ["2D"] if args.skip_3d else ["2D", "3D"]
    for case in cases:
        for tuned in (False, True):
            malloc = "tuned (the inferer's default)" if tuned else "default (tuning off)"
            print(f"\n##### {case}, glibc malloc {malloc}")
            in_child("--child-compare", case, *(["--tuned-malloc"] if tuned else []))
    if not args.skip_3d:
        compare_ct_mri_bundle()
    if not args.skip_memory:
        memory(args.roi)


if __name__ == "__main__":
    main()
