"""Forward + backward time of pairgen's contrastive losses vs lightly's NTXentLoss.

Issue 4's target, on CPU at 2N = 8192 anchors (N = 4096 pairs), D = 128:
``info_nce`` within 1.5x of lightly's ``NTXentLoss``, the debiased losses within 2x.
All losses run in one process on the same inputs, interleaved round by round,
and the median time per loss is reported with its ratio to lightly.

lightly is a benchmark-only dependency: ``pip install --no-deps lightly`` (its loss
module needs nothing beyond torch).

Usage:
    python benchmarks/bench_losses.py [--pairs 4096] [--dim 128] [--repeats 5] [--threads N]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pairgen import losses  # noqa: E402


def _time_once(loss_fn, z1: torch.Tensor, z2: torch.Tensor) -> float:
    a = z1.detach().clone().requires_grad_(True)
    b = z2.detach().clone().requires_grad_(True)
    start = time.perf_counter()
    loss_fn(a, b).backward()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=4096, help="N; the loss sees 2N anchors")
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        from lightly.loss.ntx_ent_loss import NTXentLoss
    except ImportError:
        print("lightly is not installed: pip install --no-deps lightly", file=sys.stderr)
        return 1

    generator = torch.Generator().manual_seed(0)
    z1 = torch.randn(args.pairs, args.dim, generator=generator)
    z2 = z1 + 0.5 * torch.randn(args.pairs, args.dim, generator=generator)
    temperature = 0.5
    candidates = {
        "lightly NTXentLoss": NTXentLoss(temperature=temperature),
        "info_nce": losses.InfoNCELoss(temperature=temperature),
        "debiased_info_nce": losses.DebiasedInfoNCELoss(tau_plus=0.1, temperature=temperature),
        "hard_negative_info_nce": losses.HardNegativeInfoNCELoss(beta=1.0, tau_plus=0.1, temperature=temperature),
    }
    lightly_value = float(candidates["lightly NTXentLoss"](z1, z2))
    ours_value = float(candidates["info_nce"](z1, z2))
    if abs(lightly_value - ours_value) > 1e-4 * abs(lightly_value):
        print(f"values differ: lightly {lightly_value} vs info_nce {ours_value}", file=sys.stderr)
        return 1

    times: dict[str, list[float]] = {name: [] for name in candidates}
    for name, fn in candidates.items():  # warm-up
        _time_once(fn, z1, z2)
    for _ in range(args.repeats):
        for name, fn in candidates.items():
            times[name].append(_time_once(fn, z1, z2))

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    print(f"2N = {2 * args.pairs} anchors, D = {args.dim}, float32 CPU, forward + backward, median of {args.repeats}")
    print(f"loss value: lightly {lightly_value:.6f}, info_nce {ours_value:.6f}")
    base = statistics.median(times["lightly NTXentLoss"])
    print(f"{'loss':<26}{'median s':>10}{'vs lightly':>12}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<26}{median:>10.3f}{median / base:>11.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
