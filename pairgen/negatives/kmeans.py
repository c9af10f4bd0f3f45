"""k-means on the device, for cluster ids used as pseudo-labels.

Clusters of embeddings stand in for the classes that an unlabelled dataset
hides: items of one cluster can be kept out of each other's negatives
(:func:`pairgen.negatives.negative_mask`) or spread over batches
(:class:`pairgen.negatives.GroupBatchSampler`), as in PCL (Li et al. 2021) and
SwAV-style pseudo-labelling. Lloyd's algorithm (Lloyd 1982) with k-means++
seeding (Arthur and Vassilvitskii, "k-means++: the advantages of careful
seeding", SODA 2007), in torch on the embeddings' device, with a bounded number
of iterations and an explicit generator.

Example:
    >>> x = torch.cat([torch.randn(50, 2), torch.randn(50, 2) + 10])
    >>> result = kmeans(x, 2, generator=torch.Generator().manual_seed(0))
    >>> result.labels[:50].unique().numel(), result.labels[50:].unique().numel()
    (1, 1)
"""

from __future__ import annotations

from typing import NamedTuple

import torch

#: Rows of the distance matrix computed at once: bounds memory to ~2**24 floats.
_CHUNK_ELEMENTS = 1 << 24


class KMeansResult(NamedTuple):
    """Output of :func:`kmeans`.

    Attributes:
        labels: ``(N,)`` int64 cluster id of every point.
        centroids: ``(k, D)`` cluster centres.
        inertia: sum of squared distances of the points to their centres.
        n_iter: Lloyd iterations run.
        converged: whether the centres moved less than the tolerance.
    """

    labels: torch.Tensor
    centroids: torch.Tensor
    inertia: float
    n_iter: int
    converged: bool


def _nearest(x: torch.Tensor, x_sq: torch.Tensor, centroids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Index of and squared distance to the nearest centroid, in row chunks."""
    c_sq = (centroids * centroids).sum(1)
    rows = max(1, _CHUNK_ELEMENTS // max(1, centroids.shape[0]))
    labels, dists = [], []
    for start in range(0, x.shape[0], rows):
        chunk = x[start : start + rows]
        d = (x_sq[start : start + rows, None] - 2 * chunk @ centroids.T + c_sq[None, :]).clamp_min_(0)
        dist, label = d.min(1)
        labels.append(label)
        dists.append(dist)
    return torch.cat(labels), torch.cat(dists)


def _plus_plus_init(x: torch.Tensor, x_sq: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """k-means++ seeding: each new centre drawn with probability proportional to D(x)^2."""
    n = x.shape[0]
    first = torch.randint(0, n, (1,), generator=generator, device=generator.device).to(x.device)
    centroids = x[first]
    closest = _nearest(x, x_sq, centroids)[1]
    for _ in range(1, k):
        total = closest.sum()
        if total <= 0:  # fewer distinct points than clusters: any point will do
            weights = torch.ones_like(closest)
        else:
            weights = closest / total
        pick = torch.multinomial(weights.to(generator.device), 1, generator=generator).to(x.device)
        centroids = torch.cat([centroids, x[pick]])
        closest = torch.minimum(closest, _nearest(x, x_sq, x[pick])[1])
    return centroids


def kmeans(
    x: torch.Tensor,
    n_clusters: int,
    *,
    max_iter: int = 100,
    tol: float = 1e-4,
    generator: torch.Generator | None = None,
) -> KMeansResult:
    """Cluster the rows of ``x`` into ``n_clusters`` groups.

    Runs on ``x``'s device in float32 (float64 stays float64). A cluster that
    loses all its points takes the point farthest from its centre, so every id in
    ``0..n_clusters-1`` is used whenever ``x`` has that many distinct rows.

    Args:
        x: ``(N, D)`` points, e.g. embeddings (normalise them first for cosine k-means).
        n_clusters: ``k``, at most ``N``.
        max_iter: bound on Lloyd iterations.
        tol: stop when the centres move (summed squared shift) less than ``tol``
            times the mean variance of the features (as scikit-learn).
        generator: random source for the seeding; default a CPU generator seeded
            with 0, so the result is deterministic. A generator on ``x``'s device
            is used in place.

    Returns:
        :class:`KMeansResult` with ``labels`` ``(N,)`` int64.

    Raises:
        ValueError: on a non-2-D or non-finite ``x`` or an invalid count.
    """
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[0] < 1:
        raise ValueError(f"x must be a 2-D tensor (N, D) with N >= 1, got {getattr(x, 'shape', type(x))}")
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, int) or not 1 <= n_clusters <= x.shape[0]:
        raise ValueError(f"n_clusters must be an integer in [1, {x.shape[0]}] (the number of points), got {n_clusters!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    if not tol >= 0:
        raise ValueError(f"tol must be >= 0, got {tol!r}")
    x = x.detach()
    x = x if x.dtype == torch.float64 else x.float()
    if not torch.isfinite(x).all():
        raise ValueError("x contains NaN or infinite values")
    if generator is None:
        generator = torch.Generator().manual_seed(0)

    x_sq = (x * x).sum(1)
    threshold = tol * x.var(0, unbiased=False).mean()
    centroids = _plus_plus_init(x, x_sq, n_clusters, generator)
    ones = torch.ones(x.shape[0], dtype=x.dtype, device=x.device)
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        labels, dists = _nearest(x, x_sq, centroids)
        counts = torch.zeros(n_clusters, dtype=x.dtype, device=x.device).index_add_(0, labels, ones)
        sums = torch.zeros_like(centroids).index_add_(0, labels, x)
        new = sums / counts.clamp_min(1)[:, None]
        empty = torch.nonzero(counts == 0).flatten()
        if empty.numel():  # refill empty clusters with the worst-served points, deterministically
            far = torch.topk(dists, empty.numel()).indices
            new[empty] = x[far]
        shift = ((new - centroids) ** 2).sum()
        centroids = new
        if shift <= threshold:
            converged = True
            break
    labels, dists = _nearest(x, x_sq, centroids)
    return KMeansResult(labels, centroids, float(dists.sum()), n_iter, converged)
