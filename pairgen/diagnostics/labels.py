"""Class balance and the expected in-batch false negatives of contrastive learning.

Instance discrimination (SimCLR, MoCo) treats every other image of the batch as a
negative, so same-class images become *false negatives* (Chuang et al., "Debiased
Contrastive Learning", NeurIPS 2020). For a batch of ``B`` images drawn uniformly
*without replacement* from ``N`` images in classes of sizes ``n_c``, the other
``B - 1`` images of an anchor of class ``c`` are a draw without replacement from the
``N - 1`` others, ``n_c - 1`` of them same-class (hypergeometric):

* expected same-class negatives per anchor: ``E_c = (B - 1)(n_c - 1) / (N - 1)``;
* chance of at least one: ``P_c = 1 - C(N - n_c, B - 1) / C(N - 1, B - 1)``;
* averaged over anchors (anchor in class ``c`` with probability ``n_c / N``);
* the false-negative fraction of all negatives is ``E / (B - 1) = sum n_c (n_c - 1) / (N (N - 1))``,
  the ``tau+`` class prior of the debiased loss.

With two views per image each anchor has ``2(B - 1)`` negatives and twice the
same-class ones; the fraction is the same. The same formulas with near-duplicate
groups as "classes" give the duplicates that end up as negatives.

Example:
    >>> rates = false_negative_rates([50, 50], batch_size=3)
    >>> round(rates["expected_per_anchor"], 4), round(rates["p_at_least_one"], 4)
    (0.9899, 0.7475)
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from .page import pct
from .plots import Panel, figure, short
from .section import Section, add
from .thresholds import (
    COMMON_FALSE_NEGATIVES,
    HIGH_FALSE_NEGATIVE_FRACTION,
    HIGH_IMBALANCE,
)

#: Per-class details are listed for at most this many classes (the largest).
MAX_LISTED_CLASSES = 1000


def false_negative_rates(sizes: Sequence[int], batch_size: int, total: int | None = None) -> dict:
    """Expected same-group negatives per anchor and the chance of at least one.

    Args:
        sizes: group (class) sizes, each >= 1.
        batch_size: images per batch ``B`` (>= 2); clamped to ``N`` when larger.
        total: ``N``; defaults to ``sum(sizes)``. Images outside the groups are
            singletons (they never have a same-group negative).

    Returns:
        ``expected_per_anchor``, ``p_at_least_one``, ``fraction_of_negatives`` and the
        ``batch_size`` used.
    """
    sizes = [int(s) for s in sizes]
    if any(s < 1 for s in sizes):
        raise ValueError("sizes must all be >= 1")
    n = sum(sizes) if total is None else int(total)
    if n < sum(sizes):
        raise ValueError(f"total ({n}) is smaller than the sum of sizes ({sum(sizes)})")
    if batch_size < 2:
        raise ValueError(f"batch_size must be >= 2, got {batch_size}")
    if n < 2:
        return {"batch_size": batch_size, "expected_per_anchor": 0.0, "p_at_least_one": 0.0,
                "fraction_of_negatives": 0.0}
    b = min(batch_size, n)
    others = b - 1
    expected = sum(s * (s - 1) for s in sizes) * others / (n * (n - 1))
    p_any = sum(s * _p_at_least_one(n, s, others) for s in sizes if s > 1) / n
    return {"batch_size": b, "expected_per_anchor": expected, "p_at_least_one": p_any,
            "fraction_of_negatives": expected / others}


def _p_at_least_one(n: int, size: int, others: int) -> float:
    """P(at least one of ``size - 1`` same-class images among ``others`` draws from ``n - 1``)."""
    if n - size < others:
        return 1.0
    log_none = _log_choose(n - size, others) - _log_choose(n - 1, others)
    return -math.expm1(log_none)


def _log_choose(a: int, k: int) -> float:
    return math.lgamma(a + 1) - math.lgamma(k + 1) - math.lgamma(a - k + 1)


class LabelStats:
    """Counts labels; reports balance and false-negative rates at a batch size."""

    def __init__(self):
        self.counts: Counter = Counter()
        self.unlabelled = 0

    def add(self, record) -> None:
        if record.status != "ok":
            return
        if record.label is None:
            self.unlabelled += 1
        else:
            self.counts[record.label] += 1

    def result(self, settings: dict) -> dict | None:
        batch_size = settings["batch_size"]
        if not self.counts:
            return None
        sizes = list(self.counts.values())
        n = sum(sizes)
        k = len(sizes)
        entropy = -sum(s / n * math.log(s / n) for s in sizes)
        largest = self.counts.most_common(MAX_LISTED_CLASSES)
        return {
            "classes": k,
            "labelled_images": n,
            "unlabelled_images": self.unlabelled,
            "counts": dict(sorted(largest)),
            "imbalance_ratio": max(sizes) / min(sizes),
            "normalised_entropy": entropy / math.log(k) if k > 1 else 1.0,
            "false_negatives": false_negative_rates(sizes, batch_size) if n >= 2 else None,
        }


class LabelsSection(Section):
    """Class balance and the same-class negatives a batch holds."""

    name = "labels"

    def stats(self, settings: dict) -> LabelStats:
        return LabelStats()

    def html(self, result: dict | None, report: dict, preview) -> str:
        return _html(result)

    def recommend(self, result: dict | None, report: dict) -> list[dict]:
        return _advice(result)


SECTION = LabelsSection()


def _html(lab: dict | None) -> str:
    if lab is None:
        return "<section><h2>Labels</h2><p>No labels (images are not in class sub-folders).</p></section>"
    fn = lab["false_negatives"]
    unlabelled = f", {lab['unlabelled_images']:,} unlabelled" if lab["unlabelled_images"] else ""
    text = (f"<p>{lab['classes']:,} classes, {lab['labelled_images']:,} labelled images{unlabelled}; "
            f"largest/smallest class {lab['imbalance_ratio']:.1f}, normalised entropy "
            f"{lab['normalised_entropy']:.3f} (1 = balanced).</p>")
    if fn is not None:
        text += (f"<p>In a batch of {fn['batch_size']} images drawn without replacement, an anchor meets on average "
                 f"<b>{fn['expected_per_anchor']:.2f}</b> same-class negatives; <b>{pct(fn['p_at_least_one'], 1)}"
                 f"</b> of anchors meet at least one; {pct(fn['fraction_of_negatives'], 2)} of all negatives are "
                 f"false negatives (two views per image double the counts, not the fraction).</p>")
    return f"<section><h2>Labels</h2>{text}{_figure(lab)}</section>"


def _figure(labels: dict, top: int = 40) -> str:
    counts = sorted(labels["counts"].items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    title = "Images per class" + (f" (largest {top} of {labels['classes']})" if labels["classes"] > top else "")
    panel = Panel(title, width=1080)
    panel.bars(range(len(counts)), [c for _, c in counts])
    panel.categories([short(k) for k, _ in counts], rotate=True)
    return figure([panel], "class counts")


def _advice(labels: dict | None) -> list[dict]:
    out: list[dict] = []
    if labels is None or labels["false_negatives"] is None:
        return out
    fn = labels["false_negatives"]
    because = (f"{labels['classes']} classes; at batch size {fn['batch_size']}: {fn['expected_per_anchor']:.1f} "
               f"same-class negatives per anchor, P(at least one) = {fn['p_at_least_one']:.0%}")
    if fn["p_at_least_one"] > COMMON_FALSE_NEGATIVES:
        add(out, "negatives", "Most anchors meet same-class negatives: mask them with the labels (supervised "
            "contrastive, Khosla et al. 2020), or use the debiased loss (Chuang et al. 2020) with "
            f"tau+ = {fn['fraction_of_negatives']:.3f}, or a batch sampler that spreads classes.", because)
    if fn["fraction_of_negatives"] > HIGH_FALSE_NEGATIVE_FRACTION:
        add(out, "temperature", "Use a higher temperature (0.2-0.5): it tolerates semantically similar negatives "
            "(Wang & Liu, CVPR 2021).", f"{fn['fraction_of_negatives']:.1%} of negatives share the anchor's class")
    else:
        add(out, "temperature", "False negatives are rare: the usual temperature (0.1-0.2) is fine.",
            f"{fn['fraction_of_negatives']:.2%} of negatives share the anchor's class")
    if labels["imbalance_ratio"] > HIGH_IMBALANCE:
        add(out, "labels", "Classes are imbalanced: rare classes will be under-represented among positives; "
            "consider a class-balanced sampler.", f"largest/smallest class = {labels['imbalance_ratio']:.1f}")
    return out
