"""Scene-centric evidence: does the crop sampler alone change what a contrastive encoder learns?

An experiment that varies one thing, the crop sampler. Every arm trains a fresh SmallResNet
with SimCLR (Chen et al., ICML 2020) on the scenes of :mod:`pairgen.scenes` (a labelled
Fashion-MNIST object among distractors on real photos; the control: the same object, centred
and large) with the photometric pipeline of the ``simclr`` recipe; only the recipe's
``crop`` entry differs between arms:

* ``simclr``: random resized crops (0.08-1);
* ``cast_mask`` / ``cast_builtin``: CAST's saliency-constrained crops (Selvaraju et al.,
  CVPR 2021) with the true object masks / pairgen's built-in saliency;
* ``shared_object_mask`` / ``shared_object_builtin``: pairgen's ``shared_object`` crops
  (skipped with a message while that recipe does not exist);
* ``objaware_box``: object-aware crops in the true box (Mishra et al., 2021);
* ``ccrop``: ContrastiveCrop (Peng et al., CVPR 2022) with its heatmap refresh
  (:class:`pairgen.crops.box_refresh.HeatmapRefresh`);
* ``simclr_dcl``: simclr's crops with the debiased loss (Chuang et al., NeurIPS 2020);
* ``simclr_scale20`` / ``cast_mask_scale08``: the crop-scale factorial. CAST's sampler draws
  its candidates at scale 0.2-1, simclr's crops at 0.08-1: simclr's crops at CAST's scale and
  CAST's crops at simclr's scale tell the saliency constraint's share of cast's gain from the
  milder scale's;
* ``stock_*``: the built-in recipes as they are (their own photometrics; secondary rows).

Each encoder is judged by a linear probe (and a kNN classifier) on the object labels: fitted
on the training scenes, scored on held-apart test scenes (other photos, Fashion-MNIST's test
split); encoders trained on the cluttered scenes are also probed on the control scenes
(:data:`TRANSFER`) and on the cluttered scenes' object crops (:data:`OBJECT_CROP`).
Calibration rows: the untrained encoder (``random_init``) and the encoder trained with labels
for the same budget (``supervised``). ``pairgen diagnose`` runs on both sets.

Usage, from the repository root::

    python benchmarks/scene_centric.py                  # CPU: 4 main arms, 3 seeds (< 60 min, 2 idle cores)
    python benchmarks/scene_centric.py --seeds 1        # the reduced run
    python benchmarks/scene_centric.py --smoke          # seconds, for the tests
    python benchmarks/scene_centric.py --scene background_pool=0   # the scenes' first design
    bash benchmarks/scene_gpu.sh                        # GPU: all arms, 5 seeds, 10x steps
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from common import SmallResNet, embed, linear_probe, projection_head
from machine import cpu_model

from pairgen import PairSampler, load_recipe, losses
from pairgen.collate import collate_items
from pairgen.crops.box_refresh import HeatmapRefresh
from pairgen.datasets import FASHION_MNIST
from pairgen.diagnostics.pair_quality import box_iou
from pairgen.recipe import available_recipes
from pairgen.saliency import builtin_saliency
from pairgen.scenes import (
    OPENCV_PHOTOS,
    Scenes,
    SceneSettings,
    make_scenes,
    render_scenes,
    write_scene_folder,
)

SETS = ("cluttered", "control")
#: The papers' protocol: pretrain on the scene-centric set, judge on object-centric images (CAST
#: and Purushwalkam & Gupta pretrain on MS-COCO and evaluate downstream, object-centric
#: classification among the tasks): encoders trained on the cluttered scenes, probed on the
#: control scenes (the same objects, centred and large).
TRANSFER = "cluttered_to_control"
#: Told where the object is: encoders trained on the cluttered scenes, probed on crops of the
#: cluttered scenes around the true object box, the box's longer side at ``control_fraction``
#: of the crop (the control puts the object's padded 28-px frame there: a little larger here).
#: Against the whole-scene probe, it tells what the features know of the object from what
#: pooling over the clutter hides.
OBJECT_CROP = "cluttered_object"
#: The result's columns, in the tables' order, with their names there.
COLUMN_NAMES = {"cluttered": "cluttered", "control": "control", TRANSFER: "cluttered -> control",
                OBJECT_CROP: "cluttered object crop"}

#: Each arm: (crop source, saliency source, loss). Crop source: "simclr" keeps simclr's crop,
#: else the named recipe's crop replaces it; "stock:NAME" is the recipe NAME as it is;
#: ``(NAME, {field: value})`` is NAME's crop with those fields changed.
ARMS = {
    "simclr": ("simclr", None, "info_nce"),
    "simclr_dcl": ("simclr", None, "debiased_info_nce"),
    "simclr_scale20": (("simclr", {"scale": [0.2, 1.0]}), None, "info_nce"),
    "cast_mask": ("cast", "mask", "info_nce"),
    "cast_mask_scale08": (("cast", {"scale": [0.08, 1.0]}), "mask", "info_nce"),
    "cast_builtin": ("cast", "builtin", "info_nce"),
    "shared_object_mask": ("shared_object", "mask", "info_nce"),
    "shared_object_builtin": ("shared_object", "builtin", "info_nce"),
    "objaware_box": ("objaware", "box", "info_nce"),
    "ccrop": ("ccrop", "heatmap", "info_nce"),
    "stock_cast": ("stock:cast", "mask", "info_nce"),
    "stock_objaware": ("stock:objaware", "box", "info_nce"),
    "stock_ccrop": ("stock:ccrop", "heatmap", "info_nce"),
}
#: The CPU configuration's arms: random crops against the two bias-aware samplers with the true
#: masks (what they can do) and CAST with the built-in saliency (what a user without masks gets).
MAIN_ARMS = ("simclr", "cast_mask", "shared_object_mask", "cast_builtin")

CONFIGS = {
    # 2 idle CPU cores, under 60 minutes: 4 arms x 3 seeds x 2 sets, 350 steps (15 epochs) each;
    # the batched backend renders a batch of 32-px views in half the time of the per-image one.
    "cpu": dict(arms=MAIN_ARMS, seeds=3, train=6000, test=2000, steps=350, batch=256, workers=0, threads=1, jobs=2, preload=False, device="cpu", backend="batched"),
    # One H200: all arms, 5 seeds, 10x the images (4x the batch, 2.5x the steps), 8 processes sharing the card.
    "gpu": dict(arms=tuple(ARMS), seeds=5, train=6000, test=2000, steps=750, batch=1024, workers=0, threads=1, jobs=8, preload=True, device="cuda", backend="batched"),
    # Seconds, for the tests.
    "smoke": dict(arms=tuple(ARMS), seeds=1, train=128, test=64, steps=9, batch=32, workers=0, threads=1, jobs=1, preload=False, device="cpu", backend="batched"),
}
#: The scenes' statistics (docs/scene_centric.md says why).
SCENES = SceneSettings()
VIEW_SIZE, WIDTH, LR, TEMPERATURE, TAU_PLUS = 32, 16, 3e-3, 0.2, 0.1


def scene_settings(changes: list[str]) -> SceneSettings:
    """:data:`SCENES` with ``FIELD=VALUE`` changes (a range as ``LOW,HIGH``).

    Raises:
        ValueError: naming the unknown field or the malformed value.
    """
    fields = vars(SCENES)
    values = {}
    for change in changes:
        key, _, text = change.partition("=")
        if key not in fields:
            raise ValueError(f"--scene: unknown field {key!r} (one of {', '.join(fields)})")
        kind = type(fields[key])
        try:
            values[key] = tuple(float(x) for x in text.split(",")) if kind is tuple else kind(text)
        except ValueError:
            raise ValueError(f"--scene {key}: cannot read {text!r} as {kind.__name__}") from None
    return dataclasses.replace(SCENES, **values)


def arm_recipe(arm: str, size: int = VIEW_SIZE) -> dict | None:
    """The arm's recipe dict: simclr's, without blur (a 32-px view has no detail to blur), at
    ``size``, with only ``crop`` replaced (by the crop source's, with the arm's field changes);
    ``None`` when the crop's recipe does not exist."""
    source, changes = crop_source(arm)
    name = source.split(":", 1)[1] if source.startswith("stock:") else "simclr"
    if source.removeprefix("stock:") not in available_recipes():
        return None
    recipe = load_recipe(name).to_dict()
    if not source.startswith("stock:") and source != "simclr":
        crops = [view["crop"] for view in load_recipe(source).to_dict()["views"]]
        base = recipe["views"][0]
        recipe["views"] = [{**copy.deepcopy(base), "crop": crop, "count": 1} for crop in crops]
        if len(crops) == 1:
            recipe["views"] = [{**recipe["views"][0], "count": 2}]
    recipe["name"] = arm
    for view in recipe["views"]:
        view["crop"] = {**view["crop"], **copy.deepcopy(changes)}
        view["size"] = size
        view["ops"] = [op for op in view.get("ops", []) if op["type"] != "blur"]
    return recipe


def crop_source(arm: str) -> tuple[str, dict]:
    """The arm's crop source: a recipe name (or ``stock:NAME``) and the crop fields it changes ({} for none)."""
    source = ARMS[arm][0]
    return source if isinstance(source, tuple) else (source, {})


class SceneItems(Dataset):
    """Scenes as pairgen items, with the saliency an arm needs (true mask, built-in map or none)
    and the true boxes for ``box`` arms."""

    def __init__(self, scenes: Scenes, saliency: np.ndarray | None = None, boxes: bool = False):
        self.scenes, self.saliency, self.boxes = scenes, saliency, boxes

    def __len__(self) -> int:
        return len(self.scenes)

    def __getitem__(self, index: int) -> dict:
        item = {"image": self.scenes.images[index], "label": int(self.scenes.labels[index]), "index": index}
        if self.saliency is not None:
            item["saliency"] = self.saliency[index]
        if self.boxes:
            item["boxes"] = self.scenes.boxes[index][None]
        return item


class PreloadedBatches:
    """The whole training set collated once on ``device``; each epoch yields shuffled full
    batches of it (no DataLoader: the GPU configuration, where collating every step would
    cost more than the step). ``reload()`` collates again (after a heatmap refresh)."""

    def __init__(self, dataset: Dataset, sampler: PairSampler, batch_size: int, seed: int, device: torch.device):
        self.dataset, self.sampler, self.batch_size, self.device = dataset, sampler, batch_size, device
        self.generator = torch.Generator().manual_seed(seed)
        self.reload()

    def reload(self) -> None:
        items = [self.dataset[i] for i in range(len(self.dataset))]
        self.batch = collate_items(items, self.sampler.max_side).to(self.device)

    def __iter__(self):
        order = torch.randperm(len(self.dataset), generator=self.generator)
        for start in range(0, len(order) - self.batch_size + 1, self.batch_size):
            yield self.batch.rows(order[start : start + self.batch_size])  # a host index: no sync


def arm_items(saliency: str | None, data: dict) -> SceneItems:
    """The training items for an arm's saliency source. ``box`` arms also carry the true masks as
    saliency: the object crop uses the boxes, and a map spares the sampler computing the built-in one."""
    maps = {"mask": data["masks"], "box": data["masks"], "builtin": data["builtin"]}.get(saliency)
    return SceneItems(data["scenes"], maps, boxes=saliency == "box")


def builtin_maps(images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """pairgen's built-in saliency of every scene (uint8), computed once."""
    maps = [builtin_saliency(torch.from_numpy(images[i : i + batch_size]).permute(0, 3, 1, 2))[:, 0]
            for i in range(0, len(images), batch_size)]
    return (torch.cat(maps).clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def model_input(images: np.ndarray, size: int, mean, std) -> torch.Tensor:
    """Whole scenes, area-resized to the view size and :func:`normalised`."""
    return normalised(np.stack([cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA) for image in images]), mean, std)


def normalised(images: np.ndarray, mean, std) -> torch.Tensor:
    """``(N, S, S, 3)`` uint8 images as the encoder's input, normalised as the views are."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    return (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


def object_window(box, image_side: int, fraction: float) -> tuple[int, int, int]:
    """``(left, top, side)`` of the square around an xyxy object ``box`` whose side holds the box's
    longer side at ``fraction`` (centred on the box, moved inside the image; the whole image for
    an empty box)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    if x2 <= x1 or y2 <= y1:
        return 0, 0, image_side
    side = min(image_side, max(1, round(max(x2 - x1, y2 - y1) / fraction)))
    left = int(np.clip(round((x1 + x2 - side) / 2), 0, image_side - side))
    top = int(np.clip(round((y1 + y2 - side) / 2), 0, image_side - side))
    return left, top, side


def object_crops(scenes: Scenes, size: int, fraction: float) -> np.ndarray:
    """Each scene's :func:`object_window`, resized to ``size`` pixels (area when shrinking)."""
    crops = []
    for image, box in zip(scenes.images, scenes.boxes):
        left, top, side = object_window(box, image.shape[0], fraction)
        crop = image[top : top + side, left : left + side]
        crops.append(cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA if side >= size else cv2.INTER_LINEAR))
    return np.stack(crops)


def knn_accuracy(train_x, train_y, test_x, test_y, k: int = 20) -> float:
    """Accuracy of a majority vote among the ``k`` nearest training features (cosine)."""
    train_x, test_x = F.normalize(train_x, dim=1), F.normalize(test_x, dim=1)
    neighbours = (test_x @ train_x.T).topk(k, dim=1).indices
    votes = F.one_hot(train_y[neighbours], int(train_y.max()) + 1).sum(1)
    return float((votes.argmax(1) == test_y).float().mean())


def train_encoder(arm: str, data: dict, seed: int, config: dict) -> nn.Module:
    """A fresh encoder trained ``config["steps"]`` steps with the arm's pairs and loss
    (``supervised``: cross-entropy on simclr's first view)."""
    torch.manual_seed(seed)
    device = torch.device(config["device"])
    model = SmallResNet(WIDTH, stem_stride=2).to(device)
    head = (nn.Linear(model.dim, 10) if arm == "supervised" else projection_head(model.dim)).to(device)
    _, saliency, loss_name = ARMS.get(arm, ("simclr", None, "info_nce"))
    recipe = arm_recipe("simclr" if arm == "supervised" else arm)
    dataset = arm_items(saliency, data)
    refresh = None
    if saliency == "heatmap":
        refresh = HeatmapRefresh(dataset, layer="layer3", every=config["refresh_every"], warmup=config["refresh_warmup"],
                                 size=VIEW_SIZE, batch_size=500, stored=16)
        dataset = refresh.dataset
    sampler = PairSampler(recipe, seed=seed, device=device, mode="device", backend=config["backend"])
    if config["preload"]:
        loader = PreloadedBatches(dataset, sampler, config["batch"], seed, device)
    else:
        loader = DataLoader(dataset, batch_size=config["batch"], shuffle=True, drop_last=True, num_workers=config["workers"],
                            collate_fn=sampler.collate, generator=torch.Generator().manual_seed(seed))
    parameters = [*model.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=LR, weight_decay=1e-4)
    steps, warmup = config["steps"], max(1, config["steps"] // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(  # linear warm-up, cosine decay
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    step, epoch = 0, 0
    while step < config["steps"]:
        for batch in loader:
            pairs = sampler(batch)
            if arm == "supervised":
                loss = F.cross_entropy(head(model(pairs.view1)), pairs.labels.to(device))
            else:
                z1, z2 = head(model(pairs.view1)), head(model(pairs.view2))
                loss = (losses.debiased_info_nce(z1, z2, tau_plus=TAU_PLUS, temperature=TEMPERATURE)
                        if loss_name == "debiased_info_nce" else losses.info_nce(z1, z2, temperature=TEMPERATURE))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            if step == config["steps"]:
                break
        epoch += 1
        if refresh is not None and step < config["steps"] and refresh.on_epoch_end(epoch, model) and config["preload"]:
            loader.reload()
    return model.cpu()


def evaluate(model: nn.Module, data: dict, inputs: str = "probe") -> tuple[float, float]:
    """(linear probe, kNN) accuracy of the frozen encoder on the held-apart test scenes
    (``inputs="object"``: on their object crops, :data:`OBJECT_CROP`)."""
    train_x, test_x = embed(model, data[f"{inputs}_train"]), embed(model, data[f"{inputs}_test"])
    train_y, test_y = torch.from_numpy(data["scenes"].labels), torch.from_numpy(data["test_labels"])
    return linear_probe(train_x, train_y, test_x, test_y), knn_accuracy(train_x, train_y, test_x, test_y)


def scene_data(config: dict, control: bool, fake: bool, builtin: bool) -> dict:
    """Training scenes, their saliency maps, and the probe's inputs for one set."""
    settings = config.get("scenes", SCENES)
    if fake:  # the smoke run without Fashion-MNIST: skimage blobs as objects (test_scenes builds the same)
        from pairgen.scenes import background_photos

        rng = np.random.default_rng(0)
        objects = (rng.random((50, 28, 28)) > 0.5).astype(np.uint8) * 200
        labels = np.arange(50) % 10
        train_pool, test_pool = (background_photos(split, opencv_root=config["opencv_photos"]) for split in ("train", "test"))
        scenes = render_scenes(objects, labels, train_pool, config["train"], 0, control, settings)
        test = render_scenes(objects, labels, test_pool, config["test"], 0, control, settings, stream=1)
    else:
        limit = 2000 if config["train"] < 1000 else None  # the smoke run reads fewer objects
        roots = dict(fashion_root=config["fashion_mnist"], opencv_root=config["opencv_photos"], limit=limit)
        scenes = make_scenes("train", config["train"], seed=0, control=control, settings=settings, **roots)
        test = make_scenes("test", config["test"], seed=0, control=control, settings=settings, **roots)
    mean, std = load_recipe("simclr").mean, load_recipe("simclr").std
    return {
        "scenes": scenes, "test_labels": test.labels,
        "masks": scenes.masks.astype(np.uint8) * 255, "builtin": builtin_maps(scenes.images) if builtin else None,
        "probe_train": model_input(scenes.images, VIEW_SIZE, mean, std),
        "probe_test": model_input(test.images, VIEW_SIZE, mean, std),
        **({} if control else {
            f"object_{split}": normalised(object_crops(s, VIEW_SIZE, settings.control_fraction), mean, std)
            for split, s in (("train", scenes), ("test", test))}),
    }


def sample_pairs(arm: str, data: dict, count: int, seed: int = 0):
    """One pair of the arm's views for each of the first ``count`` training scenes (no heatmaps yet for ccrop)."""
    dataset = arm_items(ARMS[arm][1], data)
    sampler = PairSampler(arm_recipe(arm), seed=seed)
    return sampler(sampler.collate([dataset[i] for i in range(count)]))


def object_in_pairs(arm: str, data: dict, count: int = 1000, shown: float = 0.5, missing: float = 0.1,
                    seed: int = 0) -> dict:
    """What the arm's pairs show of the true object, one pair on each of the first ``count`` training scenes.

    Args:
        arm: a key of :data:`ARMS`.
        data: one set's :func:`scene_data`.
        count: scenes (one pair each).
        shown: share of the object's pixels a view must hold to show it.
        missing: a view holding less than this share of the object's pixels misses it.
        seed: the sampler's seed.

    Returns:
        ``object_sharing_rate`` (pairs whose two views both show the object; a scene without
        object pixels counts as shared), ``view_iou`` (mean IoU of the two crop boxes),
        ``object_share_of_view`` (mean share of a view's pixels that are object),
        ``view_share_of_object`` (mean share of the object's pixels a view holds) and
        ``views_missing_object`` (share of views that miss it), rounded to 4 decimals.
    """
    pairs = sample_pairs(arm, data, min(count, len(data["scenes"])), seed=seed)
    if len(pairs.params) != 2:
        raise ValueError(f"{arm}: object_in_pairs needs two views, got {len(pairs.params)}")
    masks = torch.from_numpy(data["scenes"].masks[: len(pairs)])
    total = masks.sum((1, 2)).double()
    ys, xs = torch.arange(masks.shape[1]).view(1, -1, 1) + 0.5, torch.arange(masks.shape[2]).view(1, 1, -1) + 0.5
    object_pixels, density = [], []
    for params in pairs.params:
        box = params.boxes.double().view(-1, 4, 1, 1)
        inside = (xs >= box[:, 0]) & (xs < box[:, 2]) & (ys >= box[:, 1]) & (ys < box[:, 3])
        pixels = (inside & masks).sum((1, 2)).double()
        object_pixels.append(pixels)
        density.append(pixels / inside.sum((1, 2)).clamp(min=1))
    held, density = torch.stack(object_pixels), torch.stack(density)  # (2, B): object pixels per view
    values = {
        "object_sharing_rate": (held >= shown * total).all(0).double().mean(),
        "view_iou": box_iou(pairs.params[0].boxes.double(), pairs.params[1].boxes.double()).mean(),
        "object_share_of_view": density.mean(),
        "view_share_of_object": (held / total.clamp(min=1)).mean(),
        "views_missing_object": (held < missing * total).double().mean(),
    }
    return {key: round(float(value), 4) for key, value in values.items()}


def diagnose_verdicts(data: dict[str, dict], count: int) -> dict:
    """``pairgen diagnose`` on ``count`` training scenes of each set (images only, no sidecars)."""
    from pairgen.diagnostics import diagnose

    out = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, d in data.items():
            scenes = d["scenes"]
            subset = Scenes(scenes.images[:count], scenes.masks[:count], scenes.boxes[:count], scenes.labels[:count])
            images = write_scene_folder(Path(folder) / name, subset, sidecars=False)
            report = diagnose(images, out=Path(folder) / f"{name}_report", workers=0, html=False, cache=False,
                              batch_size=min(256, count))
            out[name] = {
                "verdict": report["centricity"]["verdict"],
                "object_centric_fraction": report["centricity"].get("object_centric_fraction"),
                "recommendations": [r["text"] for r in report.get("recommendations", []) if r["topic"] == "recipe"],
            }
    return out


def git_commit() -> str | None:
    """The checkout's commit (``+dirty`` when it has uncommitted changes), or None outside git."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty.strip() else "")


def machine(device: str) -> str:
    """The CPU's model (the GPU's too on CUDA) and the CPUs visible: floating-point results, and
    so the accuracies a seed gives, differ between CPU models."""
    gpu = f", {torch.cuda.get_device_name()}" if device == "cuda" else ""
    return f"{cpu_model()}, {os.cpu_count()} CPUs visible{gpu}"


def versions() -> dict[str, str]:
    """Versions of what renders the scenes and trains the encoders."""
    import kornia

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "opencv": cv2.__version__, "kornia": kornia.__version__}


_STATE: dict = {}


def init_job(state: dict) -> None:
    """A training process's set-up: the scenes and settings, and its torch threads."""
    _STATE.update(state)
    torch.set_num_threads(state["config"]["threads"])


def run_job(job: tuple[str, str, int]) -> tuple[dict[str, tuple[float, float]], float]:
    """Train (or not, for ``random_init``) and evaluate one (row, set, seed): ``({set: (probe, kNN)},
    seconds)`` for its set (for a cluttered encoder also :data:`OBJECT_CROP`, and :data:`TRANSFER`
    when the control is loaded)."""
    row, name, seed = job
    data, config, timer = _STATE["data"], _STATE["config"], time.perf_counter()
    if row == "random_init":
        torch.manual_seed(seed)
        model = SmallResNet(WIDTH, stem_stride=2)
    else:
        model = train_encoder(row, data[name], seed, config)
    scores = {name: evaluate(model, data[name])}
    if name == "cluttered" and "control" in data:
        scores[TRANSFER] = evaluate(model, data["control"])
    if name == "cluttered":
        scores[OBJECT_CROP] = evaluate(model, data[name], inputs="object")
    scores = {key: (round(a, 4), round(k, 4)) for key, (a, k) in scores.items()}
    print(f"{row:22s} {name:9s} seed {seed}: " + ", ".join(f"{key} probe {a:.4f} kNN {k:.4f}" for key, (a, k) in scores.items())
          + f" ({time.perf_counter() - timer:.0f} s, at {time.perf_counter() - _STATE['start']:.0f} s)", flush=True)
    return scores, round(time.perf_counter() - timer, 1)


def run_indexed(indexed: tuple[int, tuple[str, str, int]]) -> tuple[int, tuple]:
    """``(index, run_job(job))``: a finished job's place in the job list, for results that arrive out of order."""
    index, job = indexed
    return index, run_job(job)


COLOURS = {"view 1": (230, 60, 40), "view 2": (40, 120, 240), "object": (255, 255, 255)}


def draw_pairs_figure(data: dict, arms: list[str], out: Path, scenes: int = 3, zoom: int = 2) -> Path:
    """A PNG: per arm (a row), ``scenes`` cluttered scenes with the object outlined (white) and
    the pair's two crop boxes (red, blue), each followed by its two views."""

    mean, std = torch.tensor(load_recipe("simclr").mean).view(3, 1, 1), torch.tensor(load_recipe("simclr").std).view(3, 1, 1)
    side = data["scenes"].images.shape[1] * zoom
    rows = []
    for arm in arms:
        pairs = sample_pairs(arm, data, scenes, seed=1)
        cells = []
        for i in range(scenes):
            scene = cv2.resize(data["scenes"].images[i], (side, side), interpolation=cv2.INTER_NEAREST)
            mask = cv2.resize(data["scenes"].masks[i].astype(np.uint8), (side, side), interpolation=cv2.INTER_NEAREST)
            contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
            cv2.drawContours(scene, contours, -1, COLOURS["object"], 1)
            for params, colour in zip(pairs.params, (COLOURS["view 1"], COLOURS["view 2"])):
                x1, y1, x2, y2 = (params.boxes[i] * zoom).round().int().tolist()
                cv2.rectangle(scene, (x1, y1), (x2 - 1, y2 - 1), colour, 2)
            views = [((v[i] * std + mean).clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy() for v in pairs.views]
            views = [cv2.resize(v, (side // 2, side // 2), interpolation=cv2.INTER_NEAREST) for v in views]
            cells += [scene, np.concatenate(views, 0), np.full((side, 6, 3), 255, np.uint8)]
        row = np.concatenate(cells, 1)
        label = np.full((22, row.shape[1], 3), 255, np.uint8)
        cv2.putText(label, arm, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        rows += [label, row]
    out.parent.mkdir(parents=True, exist_ok=True)
    from PIL import Image

    Image.fromarray(np.concatenate(rows, 0)).quantize(96).save(out, optimize=True)  # a small palette PNG
    return out


def draw_scenes_figure(cluttered: Scenes, control: Scenes, out: Path, columns: int = 8, zoom: int = 2) -> Path:
    """A PNG: two rows of cluttered training scenes, then the control scenes of the first row's objects."""
    rows = [cluttered.images[:columns], cluttered.images[columns : 2 * columns], control.images[:columns]]
    grid = np.concatenate([np.concatenate(list(row), 1) for row in rows], 0)
    grid = cv2.resize(grid, (grid.shape[1] * zoom, grid.shape[0] * zoom), interpolation=cv2.INTER_NEAREST)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
    return out


def plot_results(result: dict, out: Path) -> Path:
    """A PNG: linear-probe accuracy per arm (mean and std over seeds) on both sets, with the
    calibration rows (untrained, supervised) drawn as bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = list(result["recipes"])
    columns = [name for name in COLUMN_NAMES if name in next(iter(result["recipes"].values()))]
    titles = {TRANSFER: "trained on cluttered, probed on control", OBJECT_CROP: "cluttered, probed on object crops"}
    wide = len(columns) if len(columns) <= 3 else 2  # four panels: two rows of two
    tall = math.ceil(len(columns) / wide)
    figure, axes = plt.subplots(tall, wide, figsize=(4.5 * wide, 3.6 * tall), sharey=True, squeeze=False)
    axes = axes.ravel()
    for axis, name in zip(axes, columns):
        for row, colour in (("random_init", "0.6"), ("supervised", "tab:green")):
            values = np.array(result["references"].get(row, {}).get(name, []))
            if len(values):
                axis.axhspan(values.mean() - values.std(), values.mean() + values.std(), color=colour, alpha=0.3, lw=0)
                axis.axhline(values.mean(), color=colour, lw=1.5, label=row)
        means = [np.mean(result["recipes"][arm][name]) if result["recipes"][arm].get(name) else np.nan for arm in arms]
        stds = [np.std(result["recipes"][arm][name]) if result["recipes"][arm].get(name) else 0 for arm in arms]
        axis.bar(range(len(arms)), means, yerr=stds, capsize=3, color="tab:blue", alpha=0.8)
        axis.set_xticks(range(len(arms)), arms, rotation=35, ha="right", fontsize=8)
        axis.set_title(titles.get(name, name), fontsize=10)
        axis.grid(axis="y", alpha=0.3)
    for axis in axes[::wide]:
        axis.set_ylabel("linear probe accuracy")
    axes[0].legend(fontsize=8, loc="upper left")
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=90)
    plt.close(figure)
    return out


def markdown_table(result: dict) -> str:
    """The result as a Markdown table: probe and kNN accuracy (mean +- std over seeds) per set and
    probe (:data:`COLUMN_NAMES`), and each arm's object-sharing rate on the cluttered set."""
    settings = result["settings"]
    fmt = lambda v: f"{np.mean(v):.3f} +- {np.std(v):.3f}" if v else "-"
    rows = {**{f"*{k}*": v for k, v in result["references"].items()}, **result["recipes"]}
    columns = [name for name in COLUMN_NAMES if any(name in values for values in rows.values())]
    header = [f"{COLUMN_NAMES[name]} {kind}" for kind in ("probe", "kNN") for name in columns]
    lines = ["| row | " + " | ".join(header) + " | pairs sharing the object (cluttered) |", "|---|" + "---|" * (len(header) + 1)]
    for row, values in rows.items():
        name = row.strip("*")
        knn = settings.get("knn", {}).get(name, {})
        sharing = settings.get("object_sharing_rate", {}).get(name, {}).get("cluttered")
        cells = [fmt(source.get(column)) for source in (values, knn) for column in columns]
        lines.append(f"| {row} | " + " | ".join(cells) + f" | {'-' if sharing is None else f'{sharing:.0%}'} |")
    return "\n".join(lines)


def object_in_pairs_table(statistics: dict) -> str:
    """:func:`object_in_pairs` of each arm and set as a Markdown table."""
    keys = ("object_sharing_rate", "view_iou", "object_share_of_view", "view_share_of_object", "views_missing_object")
    lines = ["| arm | set | " + " | ".join(k.replace("_", " ") for k in keys) + " |", "|---|---|" + "---|" * len(keys)]
    for arm, sets in statistics.items():
        lines += [f"| {arm} | {name} | " + " | ".join(f"{values[k]:.3f}" for k in keys) + " |" for name, values in sets.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--smoke", action="store_true", help="a few steps on a few scenes (the tests)")
    parser.add_argument("--arms", nargs="+", choices=tuple(ARMS), help="default: the configuration's")
    parser.add_argument("--seeds", type=int, help="number of seeds (0, 1, ...); default: the configuration's")
    parser.add_argument("--steps", type=int, help="training steps per arm; default: the configuration's")
    parser.add_argument("--jobs", type=int, help="training processes in parallel (one thread each on the CPU)")
    parser.add_argument("--preload", action="store_true", help="collate the training set once (the GPU path) instead of a DataLoader")
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    parser.add_argument("--no-references", action="store_true", help="skip the random_init and supervised rows")
    parser.add_argument("--no-diagnose", action="store_true")
    parser.add_argument("--scene", action="append", default=[], metavar="FIELD=VALUE",
                        help="change one of the scenes' statistics (pairgen.scenes.SceneSettings), e.g. background_pool=0")
    parser.add_argument("--pair-stats", action="store_true",
                        help="only print what each arm's pairs show of the object (no training; to --out if given), then exit")
    parser.add_argument("--fake-objects", action="store_true", help="random blobs instead of Fashion-MNIST (smoke tests)")
    parser.add_argument("--fashion-mnist", type=Path, default=FASHION_MNIST, help="folder of the Fashion-MNIST idx files")
    parser.add_argument("--opencv-photos", type=Path, default=OPENCV_PHOTOS, help="folder of the opencv-doc photos")
    parser.add_argument("--out", type=Path, help="default: benchmarks/results/scene_centric[_gpu].json")
    parser.add_argument("--budget-s", type=float, metavar="SECONDS",
                        help="stop at the first job that finishes after this many seconds (jobs still running are "
                             "ended; settings.complete false); the JSON is rewritten after every job either way")
    parser.add_argument("--figures", type=Path, metavar="RESULT_JSON",
                        help="only draw docs/images/scene_centric_{accuracy,pairs,scenes}.png from a result file, then exit")
    args = parser.parse_args(argv)
    roots = dict(fashion_mnist=str(args.fashion_mnist), opencv_photos=str(args.opencv_photos))
    if args.figures:
        images = Path(__file__).resolve().parents[1] / "docs" / "images"
        result = json.loads(args.figures.read_text())
        print(markdown_table(result))
        print(plot_results(result, images / "scene_centric_accuracy.png"))
        data = scene_data(dict(CONFIGS["smoke"], train=64, **roots), False, args.fake_objects, builtin=True)
        arms = [arm for arm in ARMS if not arm.startswith("stock") and arm_recipe(arm) is not None]
        print(draw_pairs_figure(data, arms, images / "scene_centric_pairs.png"))
        control = scene_data(dict(CONFIGS["smoke"], train=64, **roots), True, args.fake_objects, builtin=False)
        print(draw_scenes_figure(data["scenes"], control["scenes"], images / "scene_centric_scenes.png"))
        return 0
    config = dict(CONFIGS["smoke" if args.smoke else args.config])
    for key in ("arms", "seeds", "steps", "jobs"):
        if getattr(args, key) is not None:
            config[key] = tuple(getattr(args, key)) if key == "arms" else getattr(args, key)
    config["preload"] = config["preload"] or args.preload
    config.update(roots)
    try:
        config["scenes"] = scene_settings(args.scene)
    except ValueError as error:
        parser.error(str(error))
    epochs = max(1, config["steps"] * config["batch"] // config["train"])
    config["refresh_warmup"], config["refresh_every"] = max(1, epochs * 2 // 5), max(1, epochs // 5)
    if config["device"] == "cuda" and not torch.cuda.is_available():
        print("scene_centric: the gpu configuration needs CUDA", file=sys.stderr)
        return 2
    torch.set_num_threads(config["threads"])
    results = Path(tempfile.gettempdir()) if args.smoke else Path(__file__).resolve().parent / "results"
    out = args.out or results / f"scene_centric{'_smoke' if args.smoke else '_gpu' if args.config == 'gpu' else ''}.json"
    arms = [arm for arm in config["arms"] if arm_recipe(arm) is not None]
    for arm in set(config["arms"]) - set(arms):
        print(f"scene_centric: skipping {arm}: recipe {crop_source(arm)[0].removeprefix('stock:')!r} does not exist yet")

    start, load_at_start = time.perf_counter(), [round(x, 2) for x in os.getloadavg()]
    commit = git_commit()  # before the first write: the result file may be tracked
    try:
        builtin = any(ARMS[arm][1] == "builtin" for arm in arms)
        data = {name: scene_data(config, name == "control", args.fake_objects, builtin) for name in args.sets}
    except FileNotFoundError as error:
        print(f"scene_centric: {error}", file=sys.stderr)
        return 2
    print(f"scenes ready ({time.perf_counter() - start:.0f} s)", flush=True)
    if args.pair_stats:
        statistics = {arm: {name: object_in_pairs(arm, d) for name, d in data.items()} for arm in arms}
        print(object_in_pairs_table(statistics))
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps({"pair_statistics": statistics, "commit": commit,
                                            "scenes": config["train"]}, indent=1) + "\n")
            print(f"wrote {args.out}")
        return 0
    rows = [*(["random_init", "supervised"] if not args.no_references else []), *arms]
    # Seed-major: a run cut short (--budget-s, a timeout) has every row at its first seeds.
    jobs = [(row, name, seed) for seed in range(config["seeds"]) for row in rows for name in args.sets]
    state = dict(data=data, config=config, start=start)
    columns = [*args.sets, *([TRANSFER] if set(SETS) <= set(args.sets) else []),
               *([OBJECT_CROP] if "cluttered" in args.sets else [])]

    def assemble(done: dict, final: dict | None = None) -> dict:
        """The JSON of the finished jobs ``done`` (index in ``jobs`` -> outcome); ``final``: the
        end-of-run measurements (pair statistics, diagnose verdicts), None while
        jobs run. A row's list holds its finished seeds in order; ``missing_jobs`` names the rest."""
        probe = {row: {name: [] for name in columns} for row in rows}
        knn, seconds = copy.deepcopy(probe), {row: {name: [] for name in args.sets} for row in rows}
        for index in sorted(done):
            (row, name, _), (scores, wall) = jobs[index], done[index]
            seconds[row][name].append(wall)
            for key, (accuracy, neighbours) in scores.items():
                probe[row][key].append(accuracy)
                knn[row][key].append(neighbours)
        complete = final is not None and len(done) == len(jobs)
        final = final or {"statistics": {}, "verdicts": {}}
        sharing = {arm: {name: v["object_sharing_rate"] for name, v in sets.items()} for arm, sets in final["statistics"].items()}
        return {
            "recipes": {arm: probe[arm] for arm in arms},
            "references": {row: probe[row] for row in ("random_init", "supervised") if row in probe},
            "diagnose": {name: v["verdict"] for name, v in final["verdicts"].items()},
            "settings": {
                **{k: v for k, v in config.items() if k not in ("arms", "scenes")}, "arms": arms, "smoke": args.smoke,
                "view_size": VIEW_SIZE, "width": WIDTH, "lr": LR, "temperature": TEMPERATURE, "tau_plus": TAU_PLUS,
                "scenes": {k: list(v) if isinstance(v, tuple) else v for k, v in vars(config["scenes"]).items()},
                "complete": complete, "jobs_done": len(done), "jobs_total": len(jobs), "budget_s": args.budget_s,
                "missing_jobs": [list(job) for index, job in enumerate(jobs) if index not in done],
                "knn": knn, "object_sharing_rate": sharing, "pair_statistics": final["statistics"],
                "diagnose_details": final["verdicts"], "seconds_per_job": seconds,
                "total_seconds": round(time.perf_counter() - start, 1), "torch_threads": torch.get_num_threads(),
                "machine": machine(config["device"]), "versions": versions(),
                "commit": commit, "load_average_at_start": load_at_start,
                "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
                "fake_objects": args.fake_objects,
            },
        }

    def write(payload: dict) -> None:  # whole or not at all: a run killed mid-write keeps the last file
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".part")
        partial.write_text(json.dumps(payload, indent=1) + "\n")
        os.replace(partial, out)

    done: dict = {}

    def collect(finished) -> None:
        for index, outcome in finished:
            done[index] = outcome
            write(assemble(done))
            if args.budget_s is not None and time.perf_counter() - start > args.budget_s and len(done) < len(jobs):
                print(f"scene_centric: budget of {args.budget_s:g} s reached after {len(done)} of {len(jobs)} jobs", flush=True)
                return

    if config["jobs"] > 1:
        # CUDA cannot be used in forked children: spawn them there (they receive the scenes pickled).
        context = multiprocessing.get_context("spawn" if config["device"] == "cuda" else "fork")
        with context.Pool(config["jobs"], initializer=init_job, initargs=(state,)) as pool:
            collect(pool.imap_unordered(run_indexed, enumerate(jobs), chunksize=1))  # leaving ends the jobs still running
    else:
        init_job(state)
        collect(run_indexed(indexed) for indexed in enumerate(jobs))
    statistics = {arm: {name: object_in_pairs(arm, d) for name, d in data.items()} for arm in arms}
    verdicts = {} if args.no_diagnose else diagnose_verdicts(data, min(400, config["train"]))
    result = assemble(done, {"statistics": statistics, "verdicts": verdicts})
    write(result)
    print(markdown_table(result))
    print(f"wrote {out} ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
