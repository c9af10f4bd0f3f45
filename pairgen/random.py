"""Counter-based random numbers keyed by per-sample seeds.

Every random number pairgen draws for a view is a pure function of that sample's
seed, a *stream* (which parameter it is for) and a counter. A view therefore
replays from its seed alone, on any device, in a batch of any size: the batched
GPU path, the per-sample worker path and a later replay give the same values.
The hash is SplitMix64 (Steele et al., "Fast splittable pseudorandom number
generators", OOPSLA 2014) on int64 tensors.

Example:
    >>> seeds = torch.tensor([1, 2, 3])
    >>> u = uniform(seeds, stream=7, count=4)      # (3, 4) in [0, 1)
    >>> torch.equal(u[1], uniform(seeds[1:2], stream=7, count=4)[0])
    True
"""

from __future__ import annotations

import torch

_GOLDEN = -7046029254386353131  # 0x9E3779B97F4A7C15 as a signed int64
_MIX1 = -4658895280553007687  # 0xBF58476D1CE4E5B9
_MIX2 = -7723592293110705685  # 0x94D049BB133111EB
_SEED_BITS = 62


def _shift_right(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Logical right shift of int64 values (torch shifts arithmetically)."""
    return (x >> bits) & ((1 << (64 - bits)) - 1)


def mix64(x: torch.Tensor) -> torch.Tensor:
    """SplitMix64's finaliser: a bijective avalanche hash of int64 values."""
    x = (x ^ _shift_right(x, 30)) * _MIX1
    x = (x ^ _shift_right(x, 27)) * _MIX2
    return x ^ _shift_right(x, 31)


def derive_seeds(seeds: torch.Tensor, key: int) -> torch.Tensor:
    """Independent child seeds, one per seed, for sub-task ``key``."""
    return mix64(seeds * _GOLDEN + mix64(torch.full_like(seeds, key))) & ((1 << _SEED_BITS) - 1)


def uniform(seeds: torch.Tensor, stream: int, count: int = 1) -> torch.Tensor:
    """Uniform floats in [0, 1), shape ``(len(seeds), count)``, float32.

    Args:
        seeds: int64 tensor ``(B,)`` of per-sample seeds.
        stream: which parameter the numbers are for; different streams are independent.
        count: numbers per sample.
    """
    return uniform_streams(seeds, {stream: count})[stream]


def uniform_streams(seeds: torch.Tensor, counts: dict[int, int]) -> dict[int, torch.Tensor]:
    """``{stream: uniform(seeds, stream, count)}`` for several streams in one pass.

    The same numbers as separate :func:`uniform` calls, with one hash over all of
    them: a view's parameters cost a few kernel launches on a GPU instead of a
    few hundred.

    Example:
        >>> seeds = torch.tensor([1, 2, 3])
        >>> u = uniform_streams(seeds, {3: 1, 5: 4})
        >>> torch.equal(u[5], uniform(seeds, 5, 4)) and u[3].shape == (3, 1)
        True
    """
    if seeds.dtype != torch.int64 or seeds.dim() != 1:
        raise ValueError(f"seeds must be a 1-D int64 tensor, got {seeds.dtype} {tuple(seeds.shape)}")
    if any(count < 0 for count in counts.values()):
        raise ValueError(f"counts must be >= 0, got {counts}")
    counter = torch.tensor([(stream << 20) + k for stream, count in counts.items() for k in range(count)],
                           dtype=torch.int64)
    keys = mix64(counter * _GOLDEN + 1).to(seeds.device, non_blocking=True)  # tiny: hashed on the CPU
    x = mix64(seeds[:, None] * _GOLDEN + keys[None, :])
    values = _shift_right(x, 40).to(torch.float32) * (1.0 / (1 << 24))
    return dict(zip(counts, values.split(list(counts.values()), dim=1)))


def normal(seeds: torch.Tensor, stream: int, count: int = 1) -> torch.Tensor:
    """Standard normal floats ``(len(seeds), count)`` by the Box-Muller transform."""
    u = uniform(seeds, stream, 2 * count)
    radius = torch.sqrt(-2.0 * torch.log1p(-u[:, :count]))  # log1p(-u): u < 1, never log(0)
    return radius * torch.cos(2 * torch.pi * u[:, count:])


def new_seeds(generator: torch.Generator, n: int) -> torch.Tensor:
    """``n`` fresh 62-bit seeds from ``generator`` (int64, on the CPU)."""
    return torch.randint(0, 1 << _SEED_BITS, (n,), generator=generator, dtype=torch.int64)


def worker_seeds(base: int, counter: int, n: int) -> torch.Tensor:
    """Seeds for ``n`` samples in a DataLoader worker, or the main process.

    Mixes the sampler's ``base`` seed, ``torch.initial_seed()`` (which the
    DataLoader sets to a different value in every worker and every epoch, drawn
    from the main process's seeded RNG) and a per-process ``counter``. A run
    therefore replays when the user seeds torch and the sampler alike, with no
    ``worker_init_fn``.
    """
    process = torch.initial_seed() & ((1 << _SEED_BITS) - 1)
    root = derive_seeds(torch.tensor([base], dtype=torch.int64), process)
    call = derive_seeds(root, counter)
    return derive_seeds(call.expand(n) + torch.arange(n, dtype=torch.int64), 0)
