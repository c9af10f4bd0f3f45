"""Scene-centric images made offline from real data, with their true object masks and boxes.

Each scene pastes one labelled Fashion-MNIST object (Xiao et al., 2017), tinted, onto a
crop of a real photo (scikit-image's samples and Debian's ``opencv-doc`` photos; by default
one of the split's first three, so that the background tells few scenes apart), among
distractor objects: six smaller ellipses, each tinted as the object is and shaded by a crop of
any photo of the pool, laid off the object's square, whose total area is about the object's;
the object then holds about half of the salient area and is one of several salient objects,
the setting where random crops make false positive pairs (Selvaraju et al., "CASTing
Your Model", CVPR 2021; Purushwalkam & Gupta, "Demystifying Contrastive Self-Supervised
Learning", NeurIPS 2020). The ``control`` variant keeps each scene's object, tint and
background but centres the object, makes it large and drops the distractors: an
object-centric set with the same content. Training and test scenes use disjoint background
photos and disjoint Fashion-MNIST splits.

:func:`write_scene_folder` stores scenes as an image folder that
:class:`pairgen.datasets.ImageFolder` reads (class sub-folders): ``CLASS/NAME.png``, the
true object mask as the saliency sidecar ``CLASS/NAME.saliency.png`` (0 or 255) and the
object box as ``CLASS/NAME.boxes.json`` (``[[x1, y1, x2, y2]]``, source pixels, exclusive
ends), which :class:`SceneFolder` adds to the items as ``"boxes"``.

Example:
    >>> backgrounds = background_photos("train")                        # doctest: +SKIP
    >>> objects, labels = fashion_mnist("train", limit=1000)             # doctest: +SKIP
    >>> scenes = render_scenes(objects, labels, backgrounds, n=8, seed=0)  # doctest: +SKIP
    >>> scenes.images.shape, scenes.masks.shape, scenes.boxes.shape      # doctest: +SKIP
    ((8, 64, 64, 3), (8, 64, 64), (8, 4))
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pairgen.datasets import (
    FASHION_MNIST,
    FASHION_MNIST_CLASSES,
    ImageFolder,
    fashion_mnist,
)

OPENCV_PHOTOS = Path("/usr/share/doc/opencv-doc/examples/data")

#: Natural photos of ``opencv-doc`` (no calibration boards, text, logos or drawings).
OPENCV_PHOTO_NAMES = (
    "Blender_Suzanne1.jpg", "HappyFish.jpg", "aero1.jpg", "aero3.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg",
    "basketball1.png", "board.jpg", "box_in_scene.png", "building.jpg", "butterfly.jpg", "chicky_512.png",
    "ela_original.jpg", "fruits.jpg", "graf1.png", "home.jpg", "leuvenA.jpg", "licenseplate_motion.jpg",
    "messi5.jpg", "orange.jpg", "rubberwhale1.png", "smarties.png", "squirrel_cls.jpg", "starry_night.jpg",
    "stuff.jpg",
)

#: scikit-image sample photos bundled with the package (no download).
SKIMAGE_PHOTO_NAMES = (
    "astronaut", "brick", "camera", "chelsea", "clock", "coffee", "coins", "grass", "gravel",
    "hubble_deep_field", "immunohistochemistry", "moon", "retina", "rocket",
)

#: Every ``TEST_EVERY``-th photo (sorted by name) is a test background; the rest train.
TEST_EVERY = 4

BOXES_SUFFIX = ".boxes.json"
#: How distractors are drawn (:attr:`SceneSettings.distractor_style`).
DISTRACTOR_STYLES = ("objects", "texture")
#: Places tried for an ``"objects"`` distractor before it is laid at the last one, overlap or not.
PLACEMENT_TRIES = 20


@dataclass(frozen=True)
class SceneSettings:
    """The statistics of the scenes (defaults: the benchmark's, see docs/scene_centric.md).

    Attributes:
        size: image side in pixels.
        object_fraction: range of the object's side (its 28-px frame, resized) as a
            fraction of the image side, cluttered scenes.
        control_fraction: the object's side in the control, centred.
        distractors: number of distractors per cluttered scene.
        distractor_fraction: range of a distractor's diameter, as a fraction of the side.
        background_pool: how many photos of the split's pool the backgrounds are cut from (0:
            all; the first ones by name); distractor textures always come from the whole pool.
        background_contrast: the backgrounds' contrast around their mean (1 = the photo's).
        threshold: Fashion-MNIST grey level (0-255) above which a pixel belongs to the object.
        distractor_style: ``"objects"``: ellipses each with its own tint, drawn as the
            object's is, shaded by a photo crop's grey level, laid off the object's square and
            a pixel apart from each other (up to :data:`PLACEMENT_TRIES` places each; the
            last is kept); ``"texture"``: ellipses textured with photo crops, laid anywhere
            (with ``distractors=3, distractor_fraction=(0.2, 0.35)``: the benchmark's scenes
            before 2026-12-02, :data:`TEXTURE_SCENES`, which hold one main salient object).
    """

    size: int = 64
    object_fraction: tuple[float, float] = (0.35, 0.55)
    control_fraction: float = 0.85
    distractors: int = 6
    distractor_fraction: tuple[float, float] = (0.15, 0.22)
    background_pool: int = 3
    background_contrast: float = 0.7
    threshold: int = 40
    distractor_style: str = "objects"

    def __post_init__(self):
        if self.size < 16:
            raise ValueError(f"size must be >= 16 pixels, got {self.size}")
        for name in ("object_fraction", "distractor_fraction"):
            low, high = getattr(self, name)
            if not 0.0 < low <= high <= 1.0:
                raise ValueError(f"{name} must satisfy 0 < low <= high <= 1, got {(low, high)}")
        if not 0.0 < self.control_fraction <= 1.0:
            raise ValueError(f"control_fraction must be in (0, 1], got {self.control_fraction}")
        if self.distractor_style not in DISTRACTOR_STYLES:
            raise ValueError(f"distractor_style must be one of {DISTRACTOR_STYLES}, got {self.distractor_style!r}")
        for name in ("distractors", "background_pool"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.background_contrast <= 1.0:
            raise ValueError(f"background_contrast must be in [0, 1], got {self.background_contrast}")
        if not 0 <= self.threshold < 255:
            raise ValueError(f"threshold must be in [0, 255), got {self.threshold}")


#: The benchmark's scenes before 2026-12-02: three photo-textured distractors laid anywhere.
TEXTURE_SCENES = SceneSettings(distractors=3, distractor_fraction=(0.2, 0.35), distractor_style="texture")


@dataclass
class Scenes:
    """Rendered scenes: ``images`` ``(N, S, S, 3)`` uint8, ``masks`` ``(N, S, S)`` bool (the
    object's visible pixels), ``boxes`` ``(N, 4)`` float32 xyxy (the mask's tight box,
    exclusive ends), ``labels`` ``(N,)`` int64 (Fashion-MNIST classes)."""

    images: np.ndarray
    masks: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.images)

    def items(self) -> list[dict[str, Any]]:
        """The scenes as pairgen items: image, label, index, ``"saliency"`` (the true mask,
        uint8 0/255) and ``"boxes"`` (the true box)."""
        return [
            {"image": image, "label": int(label), "index": i, "saliency": mask.astype(np.uint8) * 255, "boxes": box[None]}
            for i, (image, mask, box, label) in enumerate(zip(self.images, self.masks, self.boxes, self.labels))
        ]


def _to_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.shape[2] == 4:
        image = image[..., :3]
    if image.dtype != np.uint8:
        image = (np.clip(image.astype(np.float64) / max(float(image.max()), 1e-12), 0, 1) * 255).round().astype(np.uint8)
    return image


def background_photos(split: str = "train", max_side: int = 256, opencv_root: str | Path = OPENCV_PHOTOS) -> list[np.ndarray]:
    """The background pool of ``split`` (``"train"`` or ``"test"``): real photos, RGB uint8.

    The photos of scikit-image and (when installed) ``opencv-doc`` (the folder
    ``opencv_root``) are sorted by name; every :data:`TEST_EVERY`-th is a test background,
    so the two pools never share a photo. Each is shrunk so that its longer side is at
    most ``max_side``.

    Raises:
        ValueError: for an unknown ``split``.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return [image.copy() for image in _pool(split, max_side, str(opencv_root))]


@lru_cache(maxsize=4)
def _pool(split: str, max_side: int, opencv_root: str) -> tuple[np.ndarray, ...]:
    from skimage import data

    photos = {name: _to_rgb(getattr(data, name)()) for name in SKIMAGE_PHOTO_NAMES}
    for name in OPENCV_PHOTO_NAMES:
        image = cv2.imread(str(Path(opencv_root) / name), cv2.IMREAD_COLOR)
        if image is not None:
            photos[re.sub(r"\.\w+$", "", name)] = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    names = sorted(photos)
    chosen = [name for i, name in enumerate(names) if (i % TEST_EVERY == TEST_EVERY - 1) == (split == "test")]
    pool = []
    for name in chosen:
        image = photos[name]
        scale = max_side / max(image.shape[:2])
        if scale < 1:
            image = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        pool.append(np.ascontiguousarray(image))
    return tuple(pool)


def _photo_crop(photo: np.ndarray, side: int, rng: np.random.Generator, low: float) -> np.ndarray:
    """A square crop of ``photo`` (side ``low``-1 of its shorter side), flipped at random, resized to ``side``."""
    h, w = photo.shape[:2]
    crop = max(8, int(round(min(h, w) * rng.uniform(low, 1.0))))
    y, x = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
    patch = photo[y : y + crop, x : x + crop]
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    return cv2.resize(np.ascontiguousarray(patch), (side, side), interpolation=cv2.INTER_AREA)


def _tint(rng: np.random.Generator) -> np.ndarray:
    """A saturated, bright RGB colour in [0, 1]."""
    hsv = np.uint8([[[rng.integers(0, 180), rng.integers(150, 256), rng.integers(200, 256)]]])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32) / 255


def _object_place(size: int, settings: SceneSettings, layout: np.random.Generator) -> tuple[int, int, int]:
    """The cluttered object's side and top-left corner."""
    side = int(round(layout.uniform(*settings.object_fraction) * size))
    return side, int(layout.integers(0, size - side + 1)), int(layout.integers(0, size - side + 1))


def _distractor(
    size: int, backgrounds: list[np.ndarray], settings: SceneSettings, layout: np.random.Generator,
    avoid: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A distractor ellipse's mask and its photo texture; with ``avoid``, drawn again (place,
    shape, angle) until it is off those pixels, the last of :data:`PLACEMENT_TRIES` kept."""
    diameter = layout.uniform(*settings.distractor_fraction) * size
    texture = _photo_crop(backgrounds[int(layout.integers(len(backgrounds)))], size, layout, 0.1).astype(np.float32)
    for _ in range(1 if avoid is None else PLACEMENT_TRIES):
        blob = np.zeros((size, size), np.uint8)
        centre = (int(layout.integers(0, size)), int(layout.integers(0, size)))
        axes = (max(1, int(diameter / 2)), max(1, int(diameter / 2 * layout.uniform(0.5, 1.0))))
        cv2.ellipse(blob, centre, axes, float(layout.uniform(0, 180)), 0, 360, 1, -1)
        if avoid is None or not (avoid & (blob > 0)).any():
            break
    return blob > 0, texture


def content_draws(seed: tuple[int, ...], pool: int) -> tuple[np.ndarray, bool, int, np.random.Generator]:
    """A scene's first draws from its content stream: the object's tint, its flip, which of the
    ``pool`` background photos it is cut from, and the stream (which draws the crop next)."""
    content = np.random.default_rng([*seed, 0])
    tint = _tint(content)
    flip = bool(content.random() < 0.5)
    return tint, flip, int(content.integers(pool)), content


def render_scene(
    obj: np.ndarray, backgrounds: list[np.ndarray], seed: tuple[int, ...], control: bool = False,
    settings: SceneSettings = SceneSettings(),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One scene: ``(image, mask, box)`` for the grey object ``obj`` (28 x 28 uint8).

    The object, its tint and the background depend only on ``seed``; the object's
    place and size, and the distractors, also on ``control`` and ``settings``. Every random draw comes
    from streams derived from ``seed``, so a scene replays.
    """
    size = settings.size
    pool = backgrounds[: settings.background_pool] if settings.background_pool else backgrounds
    tint, flip, photo, content = content_draws(seed, len(pool))
    background = _photo_crop(pool[photo], size, content, 0.3).astype(np.float32)
    mean = background.mean(axis=(0, 1), keepdims=True)
    image = mean + settings.background_contrast * (background - mean)

    layout = np.random.default_rng([*seed, 1 if control else 2])
    if control:
        side = int(round(settings.control_fraction * size))
        x = y = (size - side) // 2
    elif settings.distractor_style == "texture":
        for _ in range(settings.distractors):
            blob, texture = _distractor(size, backgrounds, settings, layout)
            image[blob] = texture[blob]
        side, x, y = _object_place(size, settings, layout)
    else:
        side, x, y = _object_place(size, settings, layout)
        taken = np.zeros((size, size), bool)
        taken[y : y + side, x : x + side] = True
        for _ in range(settings.distractors):
            blob, texture = _distractor(size, backgrounds, settings, layout, taken)
            taken |= cv2.dilate(blob.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0  # a pixel's gap between distractors
            image[blob] = 255 * _tint(layout) * (0.3 + 0.7 * texture[blob].mean(axis=1, keepdims=True) / 255)
    grey = cv2.resize(obj[:, ::-1] if flip else obj, (side, side), interpolation=cv2.INTER_LINEAR)
    mask = np.zeros((size, size), bool)
    mask[y : y + side, x : x + side] = grey > settings.threshold
    shade = np.zeros((size, size), np.float32)
    shade[y : y + side, x : x + side] = grey.astype(np.float32) / 255
    image[mask] = 255 * tint * (0.3 + 0.7 * shade[mask, None])
    ys, xs = np.nonzero(mask)
    box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1] if len(xs) else [0, 0, 0, 0], np.float32)
    return np.clip(image, 0, 255).round().astype(np.uint8), mask, box


def render_scenes(
    objects: np.ndarray, labels: np.ndarray, backgrounds: list[np.ndarray], n: int, seed: int = 0,
    control: bool = False, settings: SceneSettings = SceneSettings(), stream: int = 0,
) -> Scenes:
    """``n`` scenes, class-balanced: scene ``i`` shows an object of class ``i % 10`` (of the
    classes present), picked from ``objects`` at random; deterministic from ``seed`` and
    ``stream`` (a scene's object and background do not depend on ``control``).

    Args:
        objects: ``(M, 28, 28)`` uint8 grey objects on black (Fashion-MNIST images).
        labels: ``(M,)`` their classes.
        backgrounds: RGB uint8 photos (:func:`background_photos`).
        n: number of scenes.
        seed: the seed.
        control: centred, large objects without distractors.
        settings: the scene statistics.
        stream: separates sets made from one seed (0 train, 1 test by convention).

    Raises:
        ValueError: naming the argument that is empty or malformed.
    """
    objects, labels = np.asarray(objects), np.asarray(labels)
    if objects.ndim != 3 or objects.dtype != np.uint8 or len(objects) == 0:
        raise ValueError(f"objects must be a non-empty (M, H, W) uint8 array, got {objects.dtype} {objects.shape}")
    if labels.shape != (len(objects),):
        raise ValueError(f"labels must have shape ({len(objects)},), got {labels.shape}")
    if not backgrounds:
        raise ValueError("backgrounds is empty: no background photo")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    classes = np.unique(labels)
    by_class = [np.flatnonzero(labels == c) for c in classes]
    images = np.zeros((n, settings.size, settings.size, 3), np.uint8)
    masks = np.zeros((n, settings.size, settings.size), bool)
    boxes = np.zeros((n, 4), np.float32)
    out_labels = classes[np.arange(n) % len(classes)].astype(np.int64)
    for i in range(n):
        members = by_class[i % len(classes)]
        pick = members[int(np.random.default_rng([seed, stream, i, 3]).integers(len(members)))]
        images[i], masks[i], boxes[i] = render_scene(objects[pick], backgrounds, (seed, stream, i), control, settings)
    return Scenes(images, masks, boxes, out_labels)


def make_scenes(
    split: str, n: int, seed: int = 0, control: bool = False, settings: SceneSettings = SceneSettings(),
    fashion_root: str | Path = FASHION_MNIST, limit: int | None = None, opencv_root: str | Path = OPENCV_PHOTOS,
) -> Scenes:
    """Scenes of ``split`` from Fashion-MNIST's split of that name and that split's background pool.

    ``limit`` draws the objects from the split's first ``limit`` items only (faster to read).

    Raises:
        FileNotFoundError: Fashion-MNIST is not installed (``dataset-fashion-mnist``).
    """
    objects, labels = fashion_mnist(split, fashion_root, limit=limit)
    return render_scenes(objects, labels, background_photos(split, opencv_root=opencv_root), n, seed, control, settings, stream=0 if split == "train" else 1)


def write_scene_folder(out: str | Path, scenes: Scenes, settings: SceneSettings | None = None, sidecars: bool = True,
                       made: dict[str, Any] | None = None) -> Path:
    """Write ``scenes`` as an image folder with class sub-folders and sidecars; returns ``out``.

    ``CLASS/NNNNNN.png``, ``CLASS/NNNNNN.saliency.png`` (the mask, 0/255) and
    ``CLASS/NNNNNN.boxes.json`` (without ``sidecars``: the images only); ``settings``,
    when given, go to ``out/scenes.json`` with the count and ``made`` (how the scenes were
    made, e.g. ``{"split": "train", "seed": 0, "control": False}``: what replays them).

    Raises:
        ValueError: when ``made`` repeats a key of ``settings`` or ``count`` (before anything is written).
    """
    out = Path(out)
    written = {**asdict(settings), "count": len(scenes)} if settings is not None else {}
    clashes = sorted(set(written) & set(made or {}))
    if clashes:
        raise ValueError(f"made must not repeat the settings' keys or 'count', got {clashes}")
    names = [re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_") for name in FASHION_MNIST_CLASSES]
    for i in range(len(scenes)):
        folder = out / f"{int(scenes.labels[i])}_{names[int(scenes.labels[i])]}"
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / f"{i:06d}"
        cv2.imwrite(f"{stem}.png", cv2.cvtColor(scenes.images[i], cv2.COLOR_RGB2BGR))
        if not sidecars:
            continue
        cv2.imwrite(f"{stem}.saliency.png", scenes.masks[i].astype(np.uint8) * 255)
        Path(f"{stem}{BOXES_SUFFIX}").write_text(json.dumps([scenes.boxes[i].tolist()]) + "\n")
    if settings is not None:
        (out / "scenes.json").write_text(json.dumps({**written, **(made or {})}, indent=1) + "\n")
    return out


def load_boxes(image_path: str | Path) -> np.ndarray | None:
    """The ``(n, 4)`` float32 boxes of the sidecar ``NAME.boxes.json`` next to an image, or ``None``.

    Raises:
        ValueError: naming the file when it is not a list of ``[x1, y1, x2, y2]``.
    """
    path = Path(image_path)
    path = path.with_name(path.stem + BOXES_SUFFIX)
    if not path.is_file():
        return None
    try:
        boxes = np.asarray(json.loads(path.read_text()), dtype=np.float32)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{path}: cannot read boxes ({error})") from error
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4 or not np.isfinite(boxes).all():
        raise ValueError(f"{path}: boxes must be a list of [x1, y1, x2, y2], got shape {boxes.shape}")
    return boxes


class SceneFolder(ImageFolder):
    """An :class:`~pairgen.datasets.ImageFolder` whose items also carry ``"boxes"`` from
    ``NAME.boxes.json`` sidecars (as :func:`write_scene_folder` writes them)."""

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = super().__getitem__(index)
        boxes = load_boxes(self.files[index])
        if boxes is not None:
            item["boxes"] = boxes
        return item
