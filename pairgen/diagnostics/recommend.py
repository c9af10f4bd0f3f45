"""Recommendations that follow from the report's numbers.

Each recommendation names its topic, says what to do, and quotes the numbers it
follows from. The rules and their thresholds are the constants below.

Example:
    >>> recs = recommendations(report)            # doctest: +SKIP
    >>> recs[0]["topic"], recs[0]["text"]         # doctest: +SKIP
    ('files', 'Fix or remove the 3 unreadable files ...')
"""

from __future__ import annotations

#: simclr object-sharing rate below which random crops miss the object too often.
LOW_SHARING = 0.6
#: Mean view IoU above which the two views are too alike to teach invariance.
HIGH_IOU = 0.5
#: P(at least one same-class negative) above which false negatives need handling.
COMMON_FALSE_NEGATIVES = 0.5
#: False-negative fraction of all negatives above which a higher temperature helps.
HIGH_FALSE_NEGATIVE_FRACTION = 0.05
#: Largest / smallest class above which batches should be balanced.
HIGH_IMBALANCE = 10.0
#: Class-mean spread (in overall standard deviations) that makes a statistic a shortcut.
SHORTCUT_SPREAD = 1.5
#: Per-class grayscale fraction spread that makes grayscale a shortcut.
GRAYSCALE_SPREAD = 0.3
#: Fraction of blurry images above which the blur augmentation should be weakened.
MANY_BLURRY = 0.3
#: Mean image side (pixels) below which the crop size should be small.
SMALL_IMAGES = 96


def recommendations(report: dict) -> list[dict]:
    """``[{"topic", "text", "because"}]`` for the report's sections."""
    out: list[dict] = []
    _files(report["inventory"], out)
    _crops(report["centricity"], report["pair_quality"], report["settings"]["recipes"], out)
    _negatives(report["labels"], report["duplicates"], out)
    _shortcuts(report["shortcuts"], report["inventory"], out)
    return out


def _add(out: list, topic: str, text: str, because: str) -> None:
    out.append({"topic": topic, "text": text, "because": because})


def _files(inventory: dict, out: list) -> None:
    if inventory["bad"]:
        _add(out, "files", f"Fix or remove the {inventory['bad']} unreadable file(s) listed in the inventory; "
             "a training DataLoader stops at the first one.", f"{inventory['bad']} bad of {inventory['items']} items")
    wrong = inventory["notes"].get("wrong extension", 0)
    if wrong:
        _add(out, "files", f"Rename the {wrong} file(s) whose extension does not match the format; some loaders "
             "choose the decoder by extension.", f"{wrong} files with a wrong extension")


def _crops(centricity: dict, pairs: dict, recipes: list[str], out: list) -> None:
    share = centricity.get("object_centric_fraction")
    simclr = pairs.get("simclr", {}).get("object_sharing_rate")
    if share is None:
        return
    because = f"{share:.0%} of images object-centric" + (f"; simclr pairs share the object {simclr:.0%} of the time"
                                                         if simclr is not None else "")
    if share < 0.5 or (simclr is not None and simclr < LOW_SHARING):
        _add(out, "recipe", "Random resized crops will often show different objects in the two views: use a "
             "saliency-constrained recipe (`cast`) or raise the minimum crop scale (e.g. 0.3-0.5) "
             "(Purushwalkam & Gupta, NeurIPS 2020; Mishra et al., CAST, 2021).", because)
    else:
        _add(out, "recipe", "The data is object-centric and random resized crops keep the object in most pairs: "
             "`simclr`-style crops suit it.", because)
    for name in recipes:
        if name == "simclr" or name not in pairs:
            continue
        rate, iou = pairs[name]["object_sharing_rate"], pairs[name]["mean_iou"]
        if rate is not None and simclr is not None:
            _add(out, "recipe", f"`{name}` keeps the object in both views in {rate:.0%} of pairs against "
                 f"{simclr:.0%} for `simclr`.", f"Monte-Carlo over {pairs[name]['pairs']} pairs")
        if iou is not None and iou > HIGH_IOU:
            _add(out, "recipe", f"`{name}`'s two views overlap a lot (mean IoU {iou:.2f}); widen its crop scale "
                 "range so the views differ enough to teach invariance.", f"mean IoU {iou:.2f} > {HIGH_IOU}")


def _negatives(labels: dict | None, duplicates: dict, out: list) -> None:
    exact = duplicates["exact"]
    if exact["groups"]:
        _add(out, "duplicates", f"Remove {exact['redundant_images']} exact copies ({exact['groups']} groups).",
             f"{exact['images_in_groups']} images in exact-duplicate groups")
    near = duplicates["near"]
    if near["groups"] > exact["groups"]:
        fn = duplicates["false_negatives"]
        _add(out, "negatives", "Pass the near-duplicate groups as a negatives mask (or deduplicate) so copies "
             "are not pushed apart as negatives.",
             f"{near['groups']} near-duplicate groups; {fn['p_at_least_one']:.1%} of anchors meet one per batch")
    if labels is None or labels["false_negatives"] is None:
        return
    fn = labels["false_negatives"]
    because = (f"{labels['classes']} classes; at batch size {fn['batch_size']}: {fn['expected_per_anchor']:.1f} "
               f"same-class negatives per anchor, P(at least one) = {fn['p_at_least_one']:.0%}")
    if fn["p_at_least_one"] > COMMON_FALSE_NEGATIVES:
        _add(out, "negatives", "Most anchors meet same-class negatives: mask them with the labels (supervised "
             "contrastive, Khosla et al. 2020), or use the debiased loss (Chuang et al. 2020) with "
             f"tau+ = {fn['fraction_of_negatives']:.3f}, or a batch sampler that spreads classes.", because)
    if fn["fraction_of_negatives"] > HIGH_FALSE_NEGATIVE_FRACTION:
        _add(out, "temperature", "Use a higher temperature (0.2-0.5): it tolerates semantically similar negatives "
             "(Wang & Liu, CVPR 2021).", f"{fn['fraction_of_negatives']:.1%} of negatives share the anchor's class")
    else:
        _add(out, "temperature", "False negatives are rare: the usual temperature (0.1-0.2) is fine.",
             f"{fn['fraction_of_negatives']:.2%} of negatives share the anchor's class")
    if labels["imbalance_ratio"] > HIGH_IMBALANCE:
        _add(out, "labels", "Classes are imbalanced: rare classes will be under-represented among positives; "
             "consider a class-balanced sampler.", f"largest/smallest class = {labels['imbalance_ratio']:.1f}")


def _shortcuts(shortcuts: dict, inventory: dict, out: list) -> None:
    overall = shortcuts["overall"]
    if not overall["images"]:
        return
    gray = overall["grayscale_fraction"]
    spread = shortcuts["class_spread"]
    if 0.02 < gray < 0.98:
        _add(out, "augmentation", "Keep random grayscale (p = 0.2) so that colour versus gray is not a feature.",
             f"{gray:.0%} of images are grayscale")
    if spread.get("grayscale_fraction", 0) > GRAYSCALE_SPREAD:
        _add(out, "shortcuts", "Grayscale differs between classes: a model can use it as a class cue.",
             f"per-class grayscale fractions differ by {spread['grayscale_fraction']:.0%}")
    differing = [name for name in ("brightness", "colourfulness", "saturation", "contrast", "blur")
                 if spread.get(name, 0) > SHORTCUT_SPREAD]
    if differing:
        _add(out, "shortcuts", f"Classes differ in {', '.join(differing)}: use strong colour jitter (SimCLR "
             "strength 1.0) and check that linear probes do not rely on these statistics.",
             "class means span " + ", ".join(f"{spread[n]:.1f} ({n})" for n in differing)
             + " overall standard deviations")
    if overall["blurry_fraction"] > MANY_BLURRY:
        _add(out, "augmentation", "Many images are already blurry: lower the Gaussian-blur probability.",
             f"{overall['blurry_fraction']:.0%} blurry (variance of Laplacian < 100)")
    side = min(inventory["width"].get("mean", 0), inventory["height"].get("mean", 0))
    if 0 < side < SMALL_IMAGES:
        _add(out, "augmentation", f"Images are small (mean side about {side:.0f} px): crop to their size "
             "(e.g. 32) rather than 224, and drop blur as CIFAR SimCLR setups do.", "mean image width and height")
