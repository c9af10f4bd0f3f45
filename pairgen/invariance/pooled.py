"""pairgen's pooled firing-rate invariance, with chance and maximum levels: not the paper's score.

A simpler variant of the ratio of Goodfellow et al., "Measuring Invariances in Deep
Networks" (NeurIPS 2009), for reading small experiments; the score of Purushwalkam &
Gupta (NeurIPS 2020) is :func:`pairgen.invariance.invariance_score`. It differs from
theirs: a fixed ``percentile`` instead of one set by the number of classes, one sign,
counts pooled over all sets instead of a per-class average, no ``100 - p`` factor, and
sets of 2 are kept. For features ``f`` of images grouped in sets:

1. a neuron ``j`` *fires* on an image when ``f_j >= t_j``, where the threshold ``t_j`` is
   the ``percentile`` of ``f_j`` over a reference set (the lower order statistic at
   position ``floor((N - 1) * percentile / 100)``; default all images of all sets), so
   ties at the threshold fire and exactly invariant features are measured;
2. its *global firing rate* ``G_j`` is the fraction of the reference on which it fires;
3. its *local firing rate* ``L_j`` is the fraction of images that fire among the sets in
   which it fires at least once (counts pooled, so that unequal sets weigh by their size);
4. its invariance is ``L_j / G_j``; the *score* is the mean of the ``top_k`` largest.

A neuron firing on every member of every set it fires on has ``L_j = 1`` and reaches
the largest invariance ``1 / G_j``; features independent of the image reach ``1 / (1 -
(1 - G_j) ** n)`` on sets of size ``n`` (the chance of a set firing at all).
:class:`PooledInvariance` reports both for the top neurons and the score normalised
between them (0 = chance, 1 = fully invariant), and the same for the mean over all
scored neurons. With few sets the top-k score saturates: a neuron that fires on
``F > n`` images must spread over at least ``ceil(F / n)`` sets, so many neurons tie
at that ceiling; the mean still separates transformations there. Neurons whose global
rate is below ``min_global_rate`` (by default half the nominal ``1 - percentile /
100``) fire on too few images to be measured and get invariance 0 (with ``>=`` every
neuron reaches the default, ties or not).

Example:
    >>> features = torch.tensor([[0.0, 1.0], [0.5, 2.0], [5.0, 0.0], [6.0, 0.5]])
    >>> result = pooled_invariance(features, sets=torch.tensor([0, 0, 1, 1]), percentile=70.0, top_k=1)
    >>> result.global_rate.tolist(), result.local_rate.tolist(), result.score
    ([0.5, 0.5], [1.0, 1.0], 2.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def firing_thresholds(reference: torch.Tensor, percentile: float) -> torch.Tensor:
    """``(D,)`` thresholds: the ``percentile`` of each column of the ``(N, D)`` reference
    (lower order statistic at position ``floor((N - 1) * percentile / 100)``)."""
    if reference.dim() != 2 or reference.shape[0] == 0:
        raise ValueError(f"reference must be a non-empty (N, D) feature matrix, got shape {tuple(reference.shape)}")
    if not 0.0 <= percentile < 100.0:
        raise ValueError(f"percentile must be in [0, 100), got {percentile}")
    position = math.floor((reference.shape[0] - 1) * percentile / 100.0)
    return reference.kthvalue(position + 1, dim=0).values


@dataclass(frozen=True)
class PooledInvariance:
    """Per-neuron firing statistics and pairgen's pooled invariance of one transformation.

    Attributes:
        thresholds, global_rate, local_rate, invariance: ``(D,)`` float64.
        selective: ``(D,)`` bool, the neuron's global rate reaches ``min_global_rate``.
        top: indices of the ``top_k`` most invariant selective neurons, best first.
        score: mean invariance of ``top``.
        chance: mean over ``top`` of the invariance of image-independent features.
        maximum: mean over ``top`` of ``1 / G_j``, the invariance of exactly invariant features.
        normalized: ``(score - chance) / (maximum - chance)``.
        mean: mean invariance of all selective neurons.
        mean_normalized: ``mean`` normalised as ``normalized``, with the chance and
            maximum of all selective neurons.
        sets, images: how many sets and images were measured.
        percentile, min_global_rate: the settings.
    """

    thresholds: torch.Tensor
    global_rate: torch.Tensor
    local_rate: torch.Tensor
    invariance: torch.Tensor
    selective: torch.Tensor
    top: torch.Tensor
    score: float
    chance: float
    maximum: float
    normalized: float
    mean: float
    mean_normalized: float
    sets: int
    images: int
    percentile: float
    min_global_rate: float

    def to_dict(self, per_neuron: bool = False) -> dict:
        """Plain data for JSON (the per-neuron arrays only when ``per_neuron``)."""
        out = {"score": self.score, "chance": self.chance, "maximum": self.maximum, "normalized": self.normalized,
               "mean": self.mean, "mean_normalized": self.mean_normalized, "top_k": len(self.top), "top": self.top.tolist(), "neurons": len(self.invariance),
               "selective_neurons": int(self.selective.sum()), "sets": self.sets, "images": self.images,
               "percentile": self.percentile, "min_global_rate": self.min_global_rate}
        if per_neuron:
            for name in ("thresholds", "global_rate", "local_rate", "invariance"):
                out[name] = getattr(self, name).tolist()
        return out


def pooled_invariance(
    features: torch.Tensor,
    sets: torch.Tensor,
    reference: torch.Tensor | None = None,
    percentile: float = 95.0,
    top_k: int = 25,
    min_global_rate: float | None = None,
    min_set_size: int = 2,
) -> PooledInvariance:
    """pairgen's pooled invariance of ``(M, D)`` features whose rows belong to ``sets``.

    Args:
        features: one row per image, one column per neuron.
        sets: ``(M,)`` integer set id of each row (rows of a set need not be adjacent).
        reference: ``(N, D)`` features that set the thresholds and global rates
            (default ``features``).
        percentile: firing threshold percentile (95: neurons fire on 5% of images).
        top_k: how many of the most invariant neurons the score averages.
        min_global_rate: neurons firing on a smaller fraction of the reference are not
            scored (default half of ``1 - percentile / 100``).
        min_set_size: smaller sets are ignored (a single image is trivially invariant).

    Raises:
        ValueError: shapes disagree, no set is large enough, or no neuron reaches a
            ``min_global_rate`` given above the default.
    """
    if features.dim() != 2:
        raise ValueError(f"features must be (M, D), got shape {tuple(features.shape)}")
    if sets.shape != (features.shape[0],) or sets.is_floating_point():
        raise ValueError(f"sets must be ({features.shape[0]},) integer ids, got {sets.dtype} {tuple(sets.shape)}")
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    if not 0.0 <= percentile < 100.0:
        raise ValueError(f"percentile must be in [0, 100), got {percentile}")
    if min_set_size < 2:
        raise ValueError(f"min_set_size must be >= 2, got {min_set_size}")
    features = features.detach().double().cpu()
    reference = features if reference is None else reference.detach().double().cpu()
    if reference.dim() != 2 or reference.shape[1] != features.shape[1]:
        raise ValueError(f"reference must be (N, {features.shape[1]}), got shape {tuple(reference.shape)}")
    if not (torch.isfinite(features).all() and torch.isfinite(reference).all()):
        raise ValueError("features and reference must be finite (no NaN or infinity)")
    if min_global_rate is None:
        min_global_rate = (1.0 - percentile / 100.0) / 2
    if not 0.0 < min_global_rate <= 1.0:
        raise ValueError(f"min_global_rate must be in (0, 1], got {min_global_rate}")

    thresholds = firing_thresholds(reference, percentile)
    global_rate = (reference >= thresholds).sum(0).double() / reference.shape[0]

    _, member_of = torch.unique(sets.cpu(), return_inverse=True)
    sizes = torch.bincount(member_of)
    kept = sizes[member_of] >= min_set_size
    if not bool(kept.any()):
        raise ValueError(f"no set has at least min_set_size={min_set_size} images")
    _, member_of = torch.unique(member_of[kept], return_inverse=True)
    fires = (features[kept] >= thresholds).long()
    sizes = torch.bincount(member_of)
    counts = torch.zeros(len(sizes), features.shape[1], dtype=torch.long).index_add_(0, member_of, fires)
    fired_images = (sizes[:, None] * (counts > 0)).sum(0)
    local_rate = torch.where(fired_images > 0, counts.sum(0).double() / fired_images.clamp_min(1).double(), 0.0)

    selective = global_rate >= min_global_rate
    if not bool(selective.any()):
        raise ValueError(f"no neuron fires on at least min_global_rate={min_global_rate} of the reference")
    safe_rate = torch.where(selective, global_rate, 1.0)
    invariance = torch.where(selective, local_rate / safe_rate, 0.0)
    k = min(top_k, int(selective.sum()))
    top = torch.sort(invariance, descending=True, stable=True).indices[:k]

    # Image-independent features: a set of n fires with probability 1 - (1 - G) ** n.
    fire_any = 1.0 - (1.0 - safe_rate[:, None]) ** sizes.double()[None, :]
    chance_each = sizes.sum().double() / (fire_any * sizes.double()[None, :]).sum(1)
    most = 1.0 / safe_rate

    def summary(neurons: torch.Tensor) -> tuple[float, float, float, float]:
        count = len(neurons)
        value = math.fsum(invariance[neurons].tolist()) / count
        low = math.fsum(chance_each[neurons].tolist()) / count
        high = math.fsum(most[neurons].tolist()) / count
        return value, low, high, (value - low) / (high - low) if high > low else 0.0

    score, chance, maximum, normalized = summary(top)
    mean, _, _, mean_normalized = summary(selective.nonzero()[:, 0])
    return PooledInvariance(
        thresholds=thresholds, global_rate=global_rate, local_rate=local_rate, invariance=invariance,
        selective=selective, top=top, score=score, chance=chance, maximum=maximum, normalized=normalized,
        mean=mean, mean_normalized=mean_normalized, sets=len(sizes), images=int(kept.sum()), percentile=float(percentile), min_global_rate=float(min_global_rate),
    )
