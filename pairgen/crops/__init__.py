"""Crop samplers: where each view looks. Recipes name them by their ``name``."""

from pairgen.crops.base import CROP_SAMPLERS, CropSampler, crop_from_dict, register_crop
from pairgen.crops.cast import CASTCrop
from pairgen.crops.contrastive_crop import ContrastiveCrop, SimCCrop
from pairgen.crops.object_centric import ObjectCrop
from pairgen.crops.random_resized import CenterCrop, RandomResizedCrop, random_resized_boxes
from pairgen.crops.shared_object import SharedObjectCrop

__all__ = [
    "CROP_SAMPLERS",
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
    "register_crop",
]
