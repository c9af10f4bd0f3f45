"""Invariance-targeted view ops (Purushwalkam & Gupta, NeurIPS 2020): occlusion,
viewpoint and illumination. Importing this package registers them for recipes
(``ops: [{type: occlusion, ...}]``)."""

from pairgen.transforms.boxes import move_boxes
from pairgen.transforms.illumination import Illumination, planck_gains
from pairgen.transforms.occlusion import Occlusion
from pairgen.transforms.viewpoint import Viewpoint, homography_from_corners, warp_points

__all__ = ["Illumination", "Occlusion", "Viewpoint", "homography_from_corners", "move_boxes", "planck_gains", "warp_points"]
