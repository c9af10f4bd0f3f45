"""pairgen: bias-aware positive pairs, debiased negatives and dataset diagnostics for
contrastive self-supervised learning in PyTorch."""

__version__ = "0.1.0"
