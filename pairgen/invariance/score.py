"""The invariance score of Purushwalkam & Gupta (NeurIPS 2020), as their code computes it.

"Demystifying Contrastive Self-Supervised Learning: Invariances, Augmentations and
Dataset Biases" scores how invariant a representation is to a transformation from the
firing rates of Goodfellow et al. (NeurIPS 2009), over *sets* of images (one image
under several transformations, or several images of one instance), each set in a
*class*. This module follows the authors' ``measure_invariances.py`` (demystifyssl):

1. the firing percentile is ``p = min((1 - 1 / C) * 100, 95)`` for ``C`` classes (a
   neuron selective for one class fires on ``1 / C`` of the images, at most 5%);
2. over all ``N`` images, with ``i = floor(N * p / 100)``, neuron ``j`` has the upper
   threshold ``t_j`` (the ``i``-th smallest value of ``f_j``, from 0) and the lower
   threshold ``s_j`` (the ``i``-th largest); its global firing rate ``G_j`` is the
   fraction of images with ``f_j >= t_j``;
3. in a set of ``n >= 3`` images (smaller sets are skipped) the neuron fires
   ``max(#{f_j > t_j}, #{f_j < s_j})`` times: the better of its two signs; its local
   firing rate ``L_cj`` in class ``c`` is the mean of ``count / n`` over the class's
   sets where it fires at least once (0 when it fires in none);
4. the class's score is the mean of the ``top_k`` largest ``L_cj / G_j``;
5. the **score** is the mean over classes times ``100 - p`` (so that a neuron firing on
   every image of its sets at the nominal global rate scores 100).

Without class labels the reference treats each set as its own class, and so does
``classes=None`` here. The comparisons are the reference's: ``>=`` for the global
rate, strict ``>`` and ``<`` inside sets, so an image exactly at a threshold counts
globally but not locally. Ties never raise, but on exactly invariant features the set
whose value *is* the threshold does not fire: when ``N * p / 100`` falls on a set
boundary (8 or 20 equal sets of identical rows) no set fires and the score is 0. With
few neurons per class firing, the top-k mean also averages zeros: the score needs
``D`` well above ``top_k * C / 2`` neurons to reach its ceiling.
pairgen's own pooled variant with chance and maximum levels is
:func:`pairgen.invariance.pooled_invariance` (not the paper's score).

Example:
    >>> g = torch.Generator().manual_seed(0)
    >>> objects = torch.randn(30, 512, generator=g).repeat_interleave(5, 0)  # 30 sets of 5
    >>> sets = torch.arange(30).repeat_interleave(5)
    >>> stable = objects + 0.3 * torch.randn(150, 512, generator=g)
    >>> noise = torch.randn(150, 512, generator=g)
    >>> f"{invariance_score(stable, sets).score:.1f} {invariance_score(noise, sets).score:.1f}"
    '83.0 31.8'
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

#: Sets with fewer images are skipped, as in the reference.
MIN_SET_SIZE = 3


def firing_percentile(classes: int) -> float:
    """The reference's firing percentile ``min((1 - 1 / classes) * 100, 95)``."""
    if classes < 1:
        raise ValueError(f"classes must be >= 1, got {classes}")
    return min((1.0 - 1.0 / classes) * 100.0, 95.0)


@dataclass(frozen=True)
class InvarianceScore:
    """The paper's invariance score and its per-neuron statistics.

    Attributes:
        score: mean over classes of ``per_class``, the paper's number.
        per_class: ``(C,)`` score of each class (top-k mean of ``L / G`` times ``100 - p``).
        percentile: the firing percentile ``p``.
        upper, lower: ``(D,)`` thresholds of the positive and negative sign.
        global_rate: ``(D,)`` fraction of images with ``f >= upper``.
        local_rate: ``(C, D)`` local firing rate of each neuron in each class.
        top_k: neurons averaged per class.
        classes, sets, images: classes, sets of at least 3 images, and their images.
    """

    score: float
    per_class: torch.Tensor
    percentile: float
    upper: torch.Tensor
    lower: torch.Tensor
    global_rate: torch.Tensor
    local_rate: torch.Tensor
    top_k: int
    classes: int
    sets: int
    images: int

    def to_dict(self) -> dict:
        """Plain data for JSON."""
        return {"score": self.score, "percentile": self.percentile, "top_k": self.top_k, "classes": self.classes,
                "sets": self.sets, "images": self.images, "per_class": self.per_class.tolist()}


def invariance_score(
    features: torch.Tensor, sets: torch.Tensor, classes: torch.Tensor | None = None, top_k: int = 25
) -> InvarianceScore:
    """The invariance score of Purushwalkam & Gupta for ``(M, D)`` features in ``sets``.

    Args:
        features: one row per image, one column per neuron (at least ``top_k`` columns).
        sets: ``(M,)`` integer set id of each row (rows of a set need not be adjacent).
        classes: ``(M,)`` integer class of each row, one class per set; ``None``: each
            set is its own class (the reference's choice without class labels).
        top_k: neurons averaged per class (the paper reports 10 and 25).

    Raises:
        ValueError: shapes disagree, a set spans two classes, ``top_k`` is not in
            ``[1, D]``, no set has 3 images, or features are not finite.
    """
    if features.dim() != 2:
        raise ValueError(f"features must be (M, D), got shape {tuple(features.shape)}")
    count, neurons = features.shape
    for name, ids in (("sets", sets), ("classes", classes)):
        if ids is not None and (ids.shape != (count,) or ids.is_floating_point() or ids.is_complex()):
            raise ValueError(f"{name} must be ({count},) integer ids, got {ids.dtype} {tuple(ids.shape)}")
    if not 1 <= top_k <= neurons:
        raise ValueError(f"top_k must be in [1, {neurons}] (the number of neurons), got {top_k}")
    f = features.detach().double().cpu()
    if not torch.isfinite(f).all():
        raise ValueError("features must be finite (no NaN or infinity)")
    _, set_of = torch.unique(sets.cpu(), return_inverse=True)
    sizes = torch.bincount(set_of)
    if classes is None:
        class_of = set_of
    else:
        _, class_of = torch.unique(classes.cpu(), return_inverse=True)
    set_class = torch.zeros(len(sizes), dtype=torch.long).scatter_(0, set_of, class_of)
    if not torch.equal(set_class[set_of], class_of):
        raise ValueError("classes must be constant within each set")
    eligible = sizes >= MIN_SET_SIZE
    if not bool(eligible.any()):
        raise ValueError(f"no set has at least {MIN_SET_SIZE} images (set sizes: {sorted(set(sizes.tolist()))})")

    n_classes = int(class_of.max()) + 1
    percentile = firing_percentile(n_classes)
    index = int((count * percentile) // 100)
    ordered = f.sort(0).values
    upper, lower = ordered[index], ordered[count - 1 - index]
    global_rate = (f >= upper).double().mean(0)  # >= 1 / M: the threshold is one of the values

    def per_set(fires: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(sizes), neurons, dtype=torch.float64).index_add_(0, set_of, fires.double())

    firing = torch.maximum(per_set(f > upper), per_set(f < lower))
    fired = (firing > 0) & eligible[:, None]
    fraction = torch.where(fired, firing / sizes[:, None], 0.0)
    sums = torch.zeros(n_classes, neurons, dtype=torch.float64).index_add_(0, set_class, fraction)
    counts = torch.zeros(n_classes, neurons, dtype=torch.float64).index_add_(0, set_class, fired.double())
    local_rate = torch.where(counts > 0, sums / counts.clamp_min(1), 0.0)
    top = (local_rate / global_rate).topk(top_k, dim=1).values
    per_class = top.sum(1) / top_k * (100.0 - percentile)
    return InvarianceScore(
        score=math.fsum(per_class.tolist()) / n_classes, per_class=per_class, percentile=percentile, upper=upper,
        lower=lower, global_rate=global_rate, local_rate=local_rate, top_k=top_k, classes=n_classes,
        sets=int(eligible.sum()), images=int(sizes[eligible].sum()),
    )
