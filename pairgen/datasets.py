"""Image folders as datasets of pairgen items, with sidecar saliency maps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from pairgen.saliency.sidecar import SIDECAR_INFIXES, load_saliency

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def _is_sidecar(path: Path) -> bool:
    return any(path.stem.endswith(infix) for infix in SIDECAR_INFIXES)


class ImageFolder(Dataset):
    """The images under ``root`` (recursive, sorted, hidden files skipped) as items.

    Items are dicts with ``"image"`` (PIL RGB), ``"index"``, ``"label"`` (the index of
    the image's first-level subfolder when ``root`` has class subfolders) and
    ``"saliency"`` when a sidecar map exists (naming rule: :mod:`pairgen.saliency.sidecar`).

    Args:
        root: folder of images.
        saliency_dir: optional parallel folder of saliency maps.
        extensions: image file suffixes (lower case).

    Raises:
        FileNotFoundError: ``root`` does not exist or holds no image.
        OSError: an image cannot be read (the message names the file).

    Example:
        >>> dataset = ImageFolder("photos/")
        >>> sampler = PairSampler("cast")
        >>> loader = DataLoader(dataset, batch_size=64, collate_fn=sampler.collate)
    """

    def __init__(self, root: str | Path, saliency_dir: str | Path | None = None, extensions: tuple[str, ...] = IMAGE_EXTENSIONS):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"root is not a folder: {self.root}")
        self.saliency_dir = saliency_dir
        self.files = sorted(
            p for p in self.root.rglob("*")
            if p.suffix.lower() in extensions and p.is_file() and not _is_sidecar(p)
            and not any(part.startswith(".") for part in p.relative_to(self.root).parts)
        )
        if not self.files:
            raise FileNotFoundError(f"no images with suffixes {extensions} under {self.root}")
        classes = sorted({p.relative_to(self.root).parts[0] for p in self.files if len(p.relative_to(self.root).parts) > 1})
        self.classes = classes if classes and all(len(p.relative_to(self.root).parts) > 1 for p in self.files) else []
        self._class_index = {name: i for i, name in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict[str, Any]:
        path = self.files[index]
        try:
            with Image.open(path) as image:
                image.load()
                item: dict[str, Any] = {"image": image.convert("RGB") if image.mode not in ("I;16", "I") else image, "index": index}
        except (OSError, UnidentifiedImageError) as error:
            raise OSError(f"cannot read image {path}: {error}") from error
        if self.classes:
            item["label"] = self._class_index[path.relative_to(self.root).parts[0]]
        saliency = load_saliency(path, saliency_dir=self.saliency_dir, image_root=self.root)
        if saliency is not None:
            item["saliency"] = saliency
        return item
