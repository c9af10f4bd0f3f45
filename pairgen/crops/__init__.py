"""Crop samplers: where each view looks. Recipes name them by their ``name`` (:data:`pairgen.registry.CROPS`)."""

from pairgen.crops.base import CropSampler, crop_from_dict
from pairgen.crops.cast import CASTCrop
from pairgen.crops.contrastive_crop import ContrastiveCrop, SimCCrop
from pairgen.crops.object_centric import ObjectCrop
from pairgen.crops.random_resized import CenterCrop, RandomResizedCrop, random_resized_boxes
from pairgen.crops.shared_object import SharedObjectCrop

__all__ = [
    "CASTCrop",
    "CenterCrop",
    "ContrastiveCrop",
    "CropSampler",
    "ObjectCrop",
    "RandomResizedCrop",
    "SharedObjectCrop",
    "SimCCrop",
    "crop_from_dict",
    "random_resized_boxes",
]
