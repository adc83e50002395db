"""bfloat16 on a CPU: the network fed channels-last (medunet) vs the plain NCHW input.

:func:`medunet.inferers.autocast.autocast_network` hands the CPU's bfloat16 forward pass a
channels-last input; this times it against the same network under ``torch.autocast`` with
the input as it comes, side by side in one process (alternating, median of several calls),
for a training step (forward, weighted loss stand-in, backward, Adam) and an inference tile,
in 2D and 3D, at the sizes the plan picks on a CPU. It also prints the largest difference
between the two outputs, relative to the largest output (the same products, summed in
another order: they differ by bfloat16's rounding, about 1e-2 of the largest output here).

    python benchmarks/bench_layout.py [--threads 2]

Needs a CPU with bfloat16 in hardware (AMX or AVX512-BF16; elsewhere bfloat16 is emulated
and the plan keeps float32, so the layout is not used).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from medunet.inferers.autocast import autocast_network, bf16_is_fast
from medunet.networks import UNet2015

#: (name, spatial dims, channels, input tile, training?)
CASES = (
    ("2D train step, 16..128, 188^2", 2, (16, 32, 64, 128), 188, True),
    ("2D inference tile, 16..128, 572^2", 2, (16, 32, 64, 128), 572, False),
    ("3D train step, 8..32, 64^3", 3, (8, 16, 32), 64, True),
    ("3D inference tile, 8..32, 96^3", 3, (8, 16, 32), 96, False),
)


def plain_bf16(network):
    """The forward pass as before: ``torch.autocast`` on the input as it comes."""

    def forward(x):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return network(x).float()

    return forward


def step_seconds(forward, network, x, optimizer, train: bool) -> float:
    start = time.perf_counter()
    if train:
        loss = forward(x).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    else:
        with torch.no_grad():
            forward(x)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, bf16 in hardware: {bf16_is_fast()}")
    for name, dims, channels, tile, train in CASES:
        torch.manual_seed(0)
        network = UNet2015(dims, 1, 2, channels=channels)
        optimizer = torch.optim.Adam(network.parameters(), 1e-4)
        x = torch.rand(1, 1, *([tile] * dims))
        ways = {"NCHW": plain_bf16(network), "channels-last": autocast_network(network, "bf16")}
        with torch.no_grad():
            ref = ways["NCHW"](x)
            diff = float((ref - ways["channels-last"](x)).abs().max() / ref.abs().max())
        times: dict[str, list[float]] = {way: [] for way in ways}
        for i in range(args.repeats + 2):  # alternating; the first two calls warm up
            for way, forward in ways.items():
                seconds = step_seconds(forward, network, x, optimizer, train)
                if i >= 2:
                    times[way].append(seconds)
        plain, ours = (statistics.median(times[w]) * 1e3 for w in ways)
        print(
            f"{name:36s} | NCHW {plain:7.1f} ms | channels-last {ours:7.1f} ms | "
            f"speed-up {plain / ours:4.2f}x | max |diff| / max |out| {diff:.1e}"
        )


if __name__ == "__main__":
    main()
