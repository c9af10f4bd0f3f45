"""Every threshold the recommendations follow, in one place.

Each constant is the number a rule compares a report figure against; the rules live
with their sections (``Section.recommend``).
"""

#: simclr object-sharing rate below which random crops miss the object too often. On the
#: cluttered scenes of ``benchmarks/scene_centric.py``, simclr's pairs shared the object 53%
#: of the time, and every arm that transferred better (cluttered -> control probe) shared it
#: 69-94% (RESULTS_scene.md, "Crop scale or saliency constraint? The factorial"): 0.6 lies
#: between the two, not fitted.
LOW_SHARING = 0.6
#: Mean view IoU above which the two views are too alike to teach invariance.
HIGH_IOU = 0.5
#: Share of object-centric images below which the data counts as scene-centric.
OBJECT_CENTRIC_MAJORITY = 0.5
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
#: Grayscale fraction between these two keeps random grayscale worthwhile.
MIXED_GRAYSCALE = (0.02, 0.98)
#: Fraction of blurry images above which the blur augmentation should be weakened.
MANY_BLURRY = 0.3
#: Mean image side (pixels) below which the crop size should be small.
SMALL_IMAGES = 96
