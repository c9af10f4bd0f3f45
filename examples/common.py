"""Pieces shared by the examples: a small ResNet, a projection head and a linear probe.

Kept apart so that each example shows only its own idea. Runs on the CPU in seconds.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# The examples run from a checkout without installing pairgen.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from pairgen.optional_data import OPENCV_SAMPLES, optional_path  # noqa: E402 (after the path insert)

OPENCV_PHOTOS = optional_path(OPENCV_SAMPLES)  # hidden by PAIRGEN_NO_OPTIONAL_DATA=1
SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "camera", "coins", "moon", "clock", "immunohistochemistry", "hubble_deep_field")


def real_photos(max_side: int = 256) -> dict[str, np.ndarray]:
    """Public-domain photos available offline: scikit-image's samples, plus the photos of
    Debian's ``opencv-doc`` when installed (not its chessboard calibration series).

    Each is an HWC (or HW for gray) uint8 array, shrunk so that its longer side is at most ``max_side``.
    """
    import cv2
    from skimage import data

    photos = {name: getattr(data, name)() for name in SKIMAGE_PHOTOS}
    for path in sorted(OPENCV_PHOTOS.glob("*.jpg")):
        if not re.fullmatch(r"(left|right)\d+", path.stem):
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is not None:
                photos[path.stem] = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    for name, image in photos.items():
        scale = max_side / max(image.shape[:2])
        if scale < 1:
            size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
            photos[name] = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return photos


def recipe_without_blur(name: str, size: int) -> dict:
    """A built-in recipe at ``size`` pixels without Gaussian blur, as SimCLR trains on CIFAR-10:
    a tiny image has no fine detail to blur away."""
    from pairgen import load_recipe

    recipe = load_recipe(name).to_dict()
    for view in recipe["views"]:
        view["size"] = size
        view.pop("blur", None)
    return recipe


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (He et al., CVPR 2016)."""

    def __init__(self, channels_in: int, channels_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels_out)
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels_out)
        self.shortcut = nn.Identity()
        if stride != 1 or channels_in != channels_out:
            self.shortcut = nn.Sequential(nn.Conv2d(channels_in, channels_out, 1, stride, bias=False), nn.BatchNorm2d(channels_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class SmallResNet(nn.Module):
    """A CIFAR-style ResNet with three stages of one block each (``width``, 2x, 4x channels).

    ``forward`` returns the globally pooled features ``(B, 4 * width)``;
    ``feature_map`` the last stage's ``(B, 4 * width, h, w)`` map (``layer3``, a quarter
    of the input side, an eighth with ``stem_stride=2``) for dense losses.
    """

    def __init__(self, width: int = 16, stem_stride: int = 1):
        super().__init__()
        self.dim = 4 * width
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, stem_stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        self.layer1 = BasicBlock(width, width)
        self.layer2 = BasicBlock(width, 2 * width, stride=2)
        self.layer3 = BasicBlock(2 * width, 4 * width, stride=2)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer3(self.layer2(self.layer1(self.stem(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_map(x).mean(dim=(2, 3))


def projection_head(dim: int, out: int = 64) -> nn.Module:
    """SimCLR's MLP head: Linear, BatchNorm, ReLU, Linear."""
    return nn.Sequential(nn.Linear(dim, dim), nn.BatchNorm1d(dim), nn.ReLU(), nn.Linear(dim, out))


def to_model_input(images: torch.Tensor, mean, std) -> torch.Tensor:
    """Whole uint8 images ``(N, H, W)`` or ``(N, 3, H, W)`` as normalised float RGB, as the views are."""
    if images.dim() == 3:
        images = images[:, None].expand(-1, 3, -1, -1)
    x = images.float() / 255
    return (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


@torch.no_grad()
def embed(model: nn.Module, inputs: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Frozen features of ``inputs`` (model in eval mode, then restored)."""
    was_training = model.training
    model.eval()
    features = torch.cat([model(inputs[i : i + batch_size]) for i in range(0, len(inputs), batch_size)])
    model.train(was_training)
    return features


def linear_probe(
    train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor,
    weight_decay: float = 1e-4, steps: int = 100,
) -> float:
    """Test accuracy of a multinomial logistic regression on frozen features.

    Features are standardised with the training set's statistics; the weights are
    fitted with full-batch L-BFGS (at most ``steps`` iterations) on the
    cross-entropy plus ``weight_decay`` times the squared weights.
    """
    mean, std = train_x.mean(0), train_x.std(0).clamp_min(1e-6)
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    classes = int(train_y.max()) + 1
    linear = nn.Linear(train_x.shape[1], classes)
    optimizer = torch.optim.LBFGS(linear.parameters(), lr=1, max_iter=steps, history_size=20, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(linear(train_x), train_y) + weight_decay * linear.weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        return float((linear(test_x).argmax(1) == test_y).float().mean())


def set_threads(num_workers: int) -> int:
    """Share the cores between this process and ``num_workers`` DataLoader workers so they do
    not oversubscribe them: the main process gets ``cpu_count - num_workers`` torch threads (at
    least 1); DataLoader workers run one torch thread each already. On a loaded 2-core machine
    ``plain_loop.py --smoke`` took 34 s with torch's default threads and 5 s this way."""
    threads = max(1, (os.cpu_count() or 1) - num_workers)
    torch.set_num_threads(threads)
    return threads


def progress(total: int, desc: str, unit: str = "step"):
    """A tqdm progress bar with ETA on stderr (stdout keeps the results)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, mininterval=1.0)


class Timer:
    """Wall-clock seconds since construction: ``Timer().seconds``."""

    def __init__(self):
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start
