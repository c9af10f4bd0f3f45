"""Hard negative mixing for a memory queue (MoCHi).

Kalantidis et al., "Hard Negative Mixing for Contrastive Learning", NeurIPS
2020. For a MoCo query ``q`` (He et al. 2020) with key ``k`` and queue of
negatives, take the ``n_hard`` queue entries most similar to ``q`` and add
synthetic negatives, re-normalised:

* ``n_mix`` mixes of two hard negatives, ``alpha n_i + (1 - alpha) n_j`` with
  ``alpha ~ U(0, 1)``;
* ``n_query_mix`` harder ones mixing in the query, ``beta q + (1 - beta) n_j``
  with ``beta ~ U(0, 0.5)``, so the query's share stays below half.

Synthetic negatives carry no gradient (they are built from detached features).
The loss is the MoCo InfoNCE over ``[positive, queue, synthetic]`` averaged over
the ``N`` queries; ``n_mix = n_query_mix = 0`` gives plain MoCo.

Example:
    >>> q, k, queue = torch.randn(4, 16), torch.randn(4, 16), torch.randn(64, 16)
    >>> g = torch.Generator().manual_seed(0)
    >>> loss = mochi_info_nce(q, k, queue, n_hard=16, n_mix=8, n_query_mix=4, generator=g)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pairgen.losses._common import (
    NEG_INF,
    check_count,
    check_mask,
    check_temperature,
    embed,
    embed_views,
    full_precision,
)


def _uniform(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    where = device if generator is None else generator.device
    return torch.rand(shape, generator=generator, device=where).to(device)


def _embed_queue(queue: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    bank = embed(queue, "queue").to(q.dtype)
    if bank.shape[0] < 1 or bank.shape[1] != q.shape[1]:
        raise ValueError(f"queue must be (K, {q.shape[1]}) with K >= 1 like query, got {tuple(queue.shape)}")
    return bank


def _check_sizes(n_hard: int, n_mix: int, n_query_mix: int) -> None:
    check_count(n_hard, "n_hard")
    check_count(n_mix, "n_mix", minimum=0)
    check_count(n_query_mix, "n_query_mix", minimum=0)


@torch.no_grad()
def mix_hard_negatives(
    query: torch.Tensor,
    queue: torch.Tensor,
    *,
    n_hard: int = 1024,
    n_mix: int = 1024,
    n_query_mix: int = 256,
    negative_mask: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Synthetic hard negatives of every query, MoCHi's ``h`` and ``h'`` points.

    Args:
        query: ``(N, D)`` queries.
        queue: ``(K, D)`` negatives.
        n_hard: the hardest ``n_hard`` allowed queue entries are mixed (all if fewer).
        n_mix: mixes of two hard negatives per query.
        n_query_mix: mixes of the query with one hard negative per query.
        negative_mask: ``(N, K)`` boolean of allowed queue negatives (see
            :func:`pairgen.negatives.queue_negative_mask`).
        generator: random source; ``None`` uses torch's default generator.

    Returns:
        ``(synthetic, valid)``: unit vectors ``(N, n_mix + n_query_mix, D)`` (mixes
        of two negatives first) without gradient, and ``(N, n_mix + n_query_mix)``
        boolean, False for a query that has no allowed negative to mix.
    """
    _check_sizes(n_hard, n_mix, n_query_mix)
    q = embed(query.detach(), "query")
    bank = _embed_queue(queue.detach(), q)
    n, device = q.shape[0], q.device
    similarity = q @ bank.T
    if negative_mask is not None:
        mask = check_mask(negative_mask, (n, bank.shape[0]), device, "negative_mask")
        similarity = similarity.masked_fill(~mask, NEG_INF)
    top, hardest = similarity.topk(min(n_hard, bank.shape[0]), dim=1)
    n_valid = torch.isfinite(top).sum(1, keepdim=True)

    def pick(u: torch.Tensor) -> torch.Tensor:
        """Hard negatives at uniform positions among each query's allowed hardest."""
        position = (u * n_valid).long().clamp_max(n_valid.clamp_min(1) - 1)
        return bank[hardest.gather(1, position)]

    u = _uniform((n, n_mix, 3), generator, device).to(q.dtype)
    alpha = u[..., 2:]
    pairs = alpha * pick(u[..., 0]) + (1 - alpha) * pick(u[..., 1])
    u = _uniform((n, n_query_mix, 2), generator, device).to(q.dtype)
    beta = 0.5 * u[..., 1:]
    with_query = beta * q[:, None, :] + (1 - beta) * pick(u[..., 0])
    synthetic = F.normalize(torch.cat([pairs, with_query], dim=1), dim=2)
    valid = (n_valid > 0).expand(n, n_mix + n_query_mix)
    return synthetic, valid


def mochi_info_nce(
    query: torch.Tensor,
    key: torch.Tensor,
    queue: torch.Tensor,
    temperature: float = 0.2,
    n_hard: int = 1024,
    n_mix: int = 1024,
    n_query_mix: int = 256,
    negative_mask: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """MoCo InfoNCE with MoCHi's synthetic hard negatives, averaged over the queries.

    Args:
        query: ``(N, D)`` query embeddings (normalised inside); ``N >= 1``.
        key: ``(N, D)`` their positive keys (from the momentum encoder).
        queue: ``(K, D)`` negative keys.
        temperature: ``t`` (0.2 for MoCo v2, as in the paper).
        n_hard: MoCHi's ``N``, the hardest queue negatives mixed (1024 in one of the
            paper's settings, with ``n_mix`` 1024 and ``n_query_mix`` 256).
        n_mix: MoCHi's ``s``, synthetic negatives mixed from two hard negatives.
        n_query_mix: MoCHi's ``s'``, synthetic negatives mixed from the query and a
            hard negative.
        negative_mask: ``(N, K)`` boolean of allowed queue negatives; excluded
            entries leave the loss and are never mixed. A query with no allowed
            negative has loss 0 and counts in the mean.
        generator: random source for the mixing; ``None`` uses torch's default.

    Returns:
        Scalar loss, float32 (float64 for float64 inputs).

    Raises:
        ValueError: on mismatched shapes, NaN embeddings, bad sizes or masks.
    """
    temperature = check_temperature(temperature)
    _check_sizes(n_hard, n_mix, n_query_mix)
    with full_precision(query):
        q, k = embed_views({"query": query, "key": key}, min_items=1)
        bank = _embed_queue(queue, q)
        positive = (q * k).sum(1, keepdim=True) / temperature
        negatives = (q / temperature) @ bank.T
        if negative_mask is not None:
            mask = check_mask(negative_mask, (q.shape[0], bank.shape[0]), q.device, "negative_mask")
            negatives = negatives.masked_fill(~mask, NEG_INF)
        parts = [positive, negatives]
        if n_mix + n_query_mix > 0:
            synthetic, valid = mix_hard_negatives(
                q, bank, n_hard=n_hard, n_mix=n_mix, n_query_mix=n_query_mix,
                negative_mask=negative_mask, generator=generator,
            )
            mixed = torch.einsum("nd,nsd->ns", q / temperature, synthetic)
            parts.append(mixed.masked_fill(~valid, NEG_INF))
        logits = torch.cat(parts, dim=1)
        return F.cross_entropy(logits, torch.zeros(q.shape[0], dtype=torch.long, device=q.device))


class MoCHiLoss(nn.Module):
    """Module form of :func:`mochi_info_nce`, with its own seeded generator.

    Args:
        temperature: as in :func:`mochi_info_nce`.
        n_hard: as in :func:`mochi_info_nce`.
        n_mix: as in :func:`mochi_info_nce`.
        n_query_mix: as in :func:`mochi_info_nce`.
        seed: seed of the mixing generator, created on the queries' device on
            first use; ``None`` uses torch's default generator.

    Example:
        >>> criterion = MoCHiLoss(n_hard=16, n_mix=8, n_query_mix=4, seed=0)
        >>> loss = criterion(torch.randn(4, 16), torch.randn(4, 16), torch.randn(64, 16))
    """

    def __init__(
        self,
        temperature: float = 0.2,
        n_hard: int = 1024,
        n_mix: int = 1024,
        n_query_mix: int = 256,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.temperature = check_temperature(temperature)
        _check_sizes(n_hard, n_mix, n_query_mix)
        if seed is not None:
            check_count(seed, "seed", minimum=0)
        self.n_hard, self.n_mix, self.n_query_mix, self.seed = n_hard, n_mix, n_query_mix, seed
        self._generator: torch.Generator | None = None

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        queue: torch.Tensor,
        negative_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if self.seed is not None and (self._generator is None or self._generator.device != query.device):
            self._generator = torch.Generator(device=query.device).manual_seed(self.seed)
        return mochi_info_nce(
            query, key, queue, self.temperature, self.n_hard, self.n_mix, self.n_query_mix,
            negative_mask, self._generator,
        )

    def extra_repr(self) -> str:
        return (
            f"temperature={self.temperature}, n_hard={self.n_hard}, n_mix={self.n_mix}, "
            f"n_query_mix={self.n_query_mix}, seed={self.seed}"
        )
