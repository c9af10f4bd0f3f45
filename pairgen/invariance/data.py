"""Photos and video frames to measure invariances on, from files, folders and scikit-image.

Example:
    >>> data = load_measure_data(["skimage"], size=64)
    >>> data.photos[0]["image"].shape, data.photos[0]["name"]
    ((64, 64, 3), 'skimage:astronaut')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from pairgen.collate import to_rgb_uint8
from pairgen.video import IMAGE_SUFFIXES, read_frames

VIDEO_SUFFIXES = (".avi", ".mp4", ".mov", ".mkv", ".webm", ".mpg", ".mpeg", ".m4v")
#: scikit-image's colour photos (its ``data`` module), used for the token ``skimage``, with
#: the two views of its stereo pair as a group.
SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field", "retina")


@dataclass
class MeasureData:
    """Square photos and frames, as items ``{"image", "name"[, "mask"]}``.

    Attributes:
        photos: photos (and their masks, when a masks folder gives them).
        photo_groups: group of each photo: its parent folder's name for photos found in
            sub-folders of a given folder, else None.
        frames: video frames.
        frame_sources: the video of each frame.
    """

    photos: list[dict] = field(default_factory=list)
    photo_groups: list[str | None] = field(default_factory=list)
    frames: list[dict] = field(default_factory=list)
    frame_sources: list[str] = field(default_factory=list)


def square(image: np.ndarray, size: int, resample=Image.BICUBIC) -> np.ndarray:
    """The centred square crop of an HWC (or HW) array, resized to ``size x size``."""
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    crop = Image.fromarray(np.ascontiguousarray(image[top : top + side, left : left + side]))
    return np.array(crop.resize((size, size), resample))


def _photo(path: Path, size: int, masks: Path | None) -> dict:
    try:
        with Image.open(path) as image:
            rgb = to_rgb_uint8(image, str(path))
    except OSError as error:
        raise ValueError(f"cannot read the image {path}: {error}") from error
    item = {"image": square(rgb, size), "name": str(path)}
    if masks is not None:
        candidates = [masks / f"{path.stem}{suffix}" for suffix in (".png", ".jpg", ".bmp")]
        found = next((c for c in candidates if c.is_file()), None)
        if found is not None:
            with Image.open(found) as mask:
                item["mask"] = square((np.asarray(mask.convert("L")) > 127).astype(np.uint8), size, Image.NEAREST)
    return item


def load_measure_data(paths: list[str], size: int = 224, every: int = 5, max_frames: int = 200,
                      masks: str | Path | None = None, groups: dict[str, str] | None = None,
                      max_photos: int = 1000) -> MeasureData:
    """Gather photos and frames from ``paths``.

    Each path is an image file, a video file (its frames, every ``every``-th, at most
    ``max_frames``), a folder (its images and videos; images in its sub-folders are
    photos grouped by sub-folder), or ``skimage`` (scikit-image's colour photos).
    Photos are centre-cropped to squares of ``size``; masks, when ``masks`` is a
    folder, are ``<masks>/<photo stem>.png`` (nonzero = object). ``groups`` maps
    file names to groups and takes precedence over sub-folders.

    Raises:
        FileNotFoundError: naming a path that does not exist. ValueError: nothing found.
    """
    data = MeasureData()
    masks = Path(masks) if masks is not None else None
    if masks is not None and not masks.is_dir():
        raise FileNotFoundError(f"masks folder not found: {masks}")

    def add_photo(path: Path, group: str | None) -> None:
        if len(data.photos) < max_photos:
            data.photos.append(_photo(path, size, masks))
            data.photo_groups.append((groups or {}).get(path.name, group))

    def add_video(path: Path) -> None:
        frames, _ = read_frames(path, every=every, max_frames=max_frames)
        data.frames += [{"image": square(f, size), "name": f"{path}#{i}"} for i, f in enumerate(frames)]
        data.frame_sources += [str(path)] * len(frames)

    for raw in paths:
        if raw == "skimage":
            from skimage import data as skdata

            left, right, _ = skdata.stereo_motorcycle()
            photos = [(f"skimage:{name}", getattr(skdata, name)(), None) for name in SKIMAGE_PHOTOS]
            photos += [("skimage:motorcycle_left", left, "skimage:motorcycle"),
                       ("skimage:motorcycle_right", right, "skimage:motorcycle")]
            for name, image, group in photos:
                if len(data.photos) < max_photos:
                    data.photos.append({"image": square(to_rgb_uint8(image), size), "name": name})
                    data.photo_groups.append(group)
            continue
        path = Path(raw)
        if not path.exists():
            raise FileNotFoundError(f"data path not found: {path} (give image or video files, folders, or 'skimage')")
        if path.is_file():
            add_video(path) if path.suffix.lower() in VIDEO_SUFFIXES else add_photo(path, None)
            continue
        for entry in sorted(path.iterdir()):
            if entry.is_dir():
                for member in sorted(entry.iterdir()):
                    if member.suffix.lower() in IMAGE_SUFFIXES:
                        add_photo(member, entry.name)
            elif entry.suffix.lower() in IMAGE_SUFFIXES:
                add_photo(entry, None)
            elif entry.suffix.lower() in VIDEO_SUFFIXES:
                add_video(entry)
    if not data.photos and not data.frames:
        raise ValueError(f"no image or video found in {paths}")
    return data
