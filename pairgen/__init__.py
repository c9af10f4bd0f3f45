"""pairgen: bias-aware positive pairs, debiased negatives and dataset diagnostics for
contrastive self-supervised learning in PyTorch."""

from pairgen import losses, negatives
from pairgen.batch import ImageBatch, PairBatch
from pairgen.pair_sampler import PairSampler
from pairgen.params import ViewParams
from pairgen.recipe import Recipe, available_recipes, load_recipe
from pairgen.ops import Blur, ColorJitter
from pairgen.view import ViewSpec

__version__ = "0.1.0"

__all__ = [
    "Blur",
    "ColorJitter",
    "ImageBatch",
    "PairBatch",
    "PairSampler",
    "Recipe",
    "ViewParams",
    "ViewSpec",
    "available_recipes",
    "load_recipe",
    "losses",
    "negatives",
]
