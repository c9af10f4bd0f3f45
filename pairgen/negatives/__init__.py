"""Negative sets that know about false negatives.

Masks of who may be a negative of whom (from labels, near-duplicate groups,
shared sources, cluster ids), k-means pseudo-labels on the device, a batch
sampler that spreads groups over batches, false-negative detection from
support views, and a gradient-keeping all-gather for distributed training.

Example:
    >>> from pairgen import negatives
    >>> mask = negatives.negative_mask(labels=[0, 1, 0])   # (6, 6), row = anchor
"""

from pairgen.negatives.batch_sampler import GroupBatchSampler
from pairgen.negatives.distributed import gather, is_distributed
from pairgen.negatives.false_negatives import detect_false_negatives
from pairgen.negatives.kmeans import KMeansResult, kmeans
from pairgen.negatives.masks import negative_mask, positive_mask, queue_negative_mask, related_items

__all__ = [
    "GroupBatchSampler",
    "KMeansResult",
    "detect_false_negatives",
    "gather",
    "is_distributed",
    "kmeans",
    "negative_mask",
    "positive_mask",
    "queue_negative_mask",
    "related_items",
]
