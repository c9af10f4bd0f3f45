"""Views per second of pairgen's SimCLR pipeline against its peers, side by side in one run.

SimCLR's augmentation (Chen et al., ICML 2020, appendix A): random resized crop (area
0.08-1, aspect 3/4-4/3) to 224 px, horizontal flip p=0.5, colour jitter
(0.8, 0.8, 0.8, 0.2) with p=0.8, grayscale p=0.2, Gaussian blur p=0.5 with sigma
0.1-2, ImageNet normalisation; two views per image, from 256 x 256 photos.

CPU protocol (``--device cpu``, the default), all on the same cores (``--cores``,
default 2; the process and its workers are pinned to them when the machine has more):

* per-sample pipelines run in ``--workers`` DataLoader workers (torch uses one thread
  per worker, as the DataLoader sets): torchvision v2, lightly's ``SimCLRTransform``
  and pairgen's worker mode (the random stage batched inside ``collate``), also with
  uint8 views (``dtype=torch.uint8``) normalised in the main process, as a training
  loop would on the model's device (``PairSampler.normalize``);
* batched pipelines run on whole uint8 batches in the main process with
  ``torch.set_num_threads(--threads)`` (default: the cores): kornia's
  ``AugmentationSequential``, torchaug's ``SequentialTransform`` (per-sample
  parameters) and pairgen's device mode. On a machine shared with other jobs, torch's
  OpenMP threads wait for each other and a batched pipeline can run several times
  slower with 2 threads than with 1: ``--threads 1`` shows that.

GPU protocol (``--device cuda``): uint8 batches of 256 already on the GPU; pairgen's
device mode, kornia and torchaug; throughput and the device stage's peak memory
(``torch.cuda.max_memory_allocated`` above what was allocated before the call)
against the bytes of the output views. ``--protocol device`` on the CPU runs the same
code there (a dry run of the GPU code; no memory column).

views/s = 2 x images/s, after warm-up, median over ``--repeats`` rounds that
interleave the pipelines (the machine may be shared: the spread is printed too, and
views per CPU-second of all the pipeline's processes, which contention distorts less).
Peers that are not installed are skipped. Run from the repository root:

    python benchmarks/bench_simclr.py                  # CPU, 2 cores
    python benchmarks/bench_simclr.py --quick          # a fast smoke run
    python benchmarks/bench_simclr.py --device cuda    # GPU (see benchmarks/gpu_check.sh)

Same ops and ranges everywhere. Differences that cannot be removed without changing a
library, and so stay (each is noted at its pipeline below):

* blur kernel: torchvision, torchaug and kornia use 23 taps (SimCLR's 10% of 224 px,
  made odd); pairgen 17 taps (+-4 sigma of the largest sigma, 2: the weights differ by
  < 1e-6); lightly blurs with PIL's ``GaussianBlur(radius=sigma)`` (PIL's box
  approximation of a Gaussian);
* colour jitter: pairgen fuses brightness, contrast, saturation, grayscale and the
  normalisation into per-sample colour maps split around the HSV hue step, clamped
  once per fused run instead of after every step (``pairgen/ops/fusion.py``);
* torchaug applies a p < 1 op to exactly round(p x B) samples of a batch (not an
  independent coin per sample), and draws the order of the four jitter steps per
  chunk (at most 24 chunks per batch), not per sample; its crops are per sample;
* kornia resizes crops without antialiasing (its default, bilinear), the others with
  an antialiased filter (PIL's, or torch's ``antialias=True``, which pairgen's batched
  backend reproduces with separable weight matrices).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout, no install

from pairgen import PairSampler  # noqa: E402
from machine import cpu_model  # noqa: E402

SIZE, SOURCE_SIDE = 224, 256
SCALE, RATIO = (0.08, 1.0), (3 / 4, 4 / 3)
FLIP_P = 0.5
JITTER, JITTER_P = (0.8, 0.8, 0.8, 0.2), 0.8
GRAY_P = 0.2
BLUR_P, SIGMA, BLUR_TAPS = 0.5, (0.1, 2.0), 23
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "hubble_deep_field", "immunohistochemistry", "retina",
                  "rocket", "camera", "moon", "brick", "grass", "gravel")
OPENCV_PHOTOS = Path("/usr/share/doc/opencv-doc/examples/data")


# --------------------------------------------------------------------------- data

def source_photos(extra: Path | None) -> list[np.ndarray]:
    """Real photos as HWC RGB uint8: skimage's, opencv-doc's JPEGs if installed, and ``extra``'s."""
    import cv2
    from skimage import data

    photos = []
    for name in SKIMAGE_PHOTOS:
        try:
            image = getattr(data, name)()
        except Exception:  # a photo this skimage version fetches from the network
            continue
        photos.append(np.repeat(image[:, :, None], 3, 2) if image.ndim == 2 else image[:, :, :3])
    files = sorted(OPENCV_PHOTOS.glob("*.jpg")) if OPENCV_PHOTOS.is_dir() else []
    if extra is not None:
        if not extra.is_dir():
            raise FileNotFoundError(f"--photos: no such folder {extra}")
        files += sorted(p for p in extra.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    for path in files:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is not None and min(image.shape[:2]) >= 128:
            photos.append(image[:, :, ::-1])
    if not photos:
        raise RuntimeError("no photos found (skimage.data has none offline?)")
    return photos


def make_dataset(n: int, seed: int, extra: Path | None = None) -> list[np.ndarray]:
    """``n`` 256 x 256 RGB photos: random square crops (60-100% of the shorter side) of real photos."""
    import cv2

    photos = source_photos(extra)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        photo = photos[i % len(photos)]
        h, w = photo.shape[:2]
        side = int(min(h, w) * rng.uniform(0.6, 1.0))
        top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        crop = np.ascontiguousarray(photo[top : top + side, left : left + side])
        out.append(cv2.resize(crop, (SOURCE_SIDE, SOURCE_SIDE), interpolation=cv2.INTER_AREA))
    return out


class Photos(Dataset):
    """In-memory images, each passed through ``transform`` (per-sample pipelines) or returned as is."""

    def __init__(self, items, transform=None):
        self.items, self.transform = items, transform

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        item = self.items[index]
        return item if self.transform is None else self.transform(item)


class TwoViews:
    """Two independent draws of a per-sample transform."""

    def __init__(self, transform):
        self.transform = transform

    def __call__(self, item):
        return self.transform(item), self.transform(item)


# --------------------------------------------------------------------------- pipelines

def torchvision_transform():
    """torchvision v2, its fastest form we found on this CPU: uint8 CHW tensors through
    crop and flip (torch's SIMD antialiased uint8 resize), then float for the rest.
    (Tried: PIL throughout, uint8 throughout, PIL crop then uint8: all slower, the
    23-tap float blur dominating every form.)"""
    from torchvision.transforms import v2 as T

    return T.Compose([
        T.RandomResizedCrop(SIZE, scale=SCALE, ratio=RATIO, antialias=True),
        T.RandomHorizontalFlip(FLIP_P),
        T.ToDtype(torch.float32, scale=True),
        T.RandomApply([T.ColorJitter(*JITTER)], p=JITTER_P),
        T.RandomGrayscale(GRAY_P),
        T.RandomApply([T.GaussianBlur(BLUR_TAPS, sigma=SIGMA)], p=BLUR_P),
        T.Normalize(MEAN, STD),
    ])


def lightly_transform():
    """lightly's SimCLRTransform; its defaults are SimCLR's, set explicitly here.
    Its blur is PIL's GaussianBlur(radius=sigma) (lightly's own op, no kernel size)."""
    from lightly.transforms import SimCLRTransform

    b, c, s, h = JITTER
    return SimCLRTransform(input_size=SIZE, cj_prob=JITTER_P, cj_strength=1.0, cj_bright=b, cj_contrast=c,
                           cj_sat=s, cj_hue=h, min_scale=SCALE[0], random_gray_scale=GRAY_P,
                           gaussian_blur=BLUR_P, sigmas=SIGMA, vf_prob=0.0, hf_prob=FLIP_P, rr_prob=0.0,
                           normalize={"mean": list(MEAN), "std": list(STD)})


def kornia_pipeline(device):
    """kornia's AugmentationSequential on the whole batch (float input in [0, 1]).
    Its RandomResizedCrop default resizes without antialiasing (kept: kornia's default)."""
    import kornia.augmentation as K

    aug = K.AugmentationSequential(
        K.RandomResizedCrop((SIZE, SIZE), scale=SCALE, ratio=RATIO),
        K.RandomHorizontalFlip(p=FLIP_P),
        K.ColorJitter(*JITTER, p=JITTER_P),
        K.RandomGrayscale(p=GRAY_P),
        K.RandomGaussianBlur((BLUR_TAPS, BLUR_TAPS), SIGMA, p=BLUR_P),
        K.Normalize(torch.tensor(MEAN), torch.tensor(STD)),
    ).to(device)

    def views(images):
        x = images.float().div_(255)
        return aug(x), aug(x)

    return views


def torchaug_pipeline(device):
    """torchaug's SequentialTransform, batched with per-sample parameters: its default
    overrides (batch_transform, unlimited chunks) give every sample its own crop, flip
    coin, jitter factors, grayscale coin and blur sigma. Differences (torchaug's design):
    exactly round(p x B) samples get a p < 1 op, and the jitter step order is drawn per
    chunk (at most 24 per batch)."""
    import torchaug.transforms as TA

    aug = TA.SequentialTransform([
        TA.RandomResizedCrop(SIZE, scale=SCALE, ratio=RATIO, antialias=True),
        TA.RandomHorizontalFlip(p=FLIP_P),
        TA.ToDtype(torch.float32, scale=True),
        TA.RandomColorJitter(*JITTER, p=JITTER_P),
        TA.RandomGrayscale(p=GRAY_P),
        TA.RandomGaussianBlur(BLUR_TAPS, sigma=SIGMA, p=BLUR_P),
        TA.Normalize(MEAN, STD),
    ]).to(device)

    def views(images):
        return aug(images), aug(images)

    return views


def pairgen_device_pipeline(device):
    """pairgen's device mode: ``sampler(batch)`` renders both views batched on ``device``."""
    sampler = PairSampler(recipe="simclr", size=SIZE, seed=0, device=device, mode="device")

    def views(batch):
        pairs = sampler(batch)
        return pairs.view1, pairs.view2

    return sampler, views


def check_recipe_matches():
    """Fail loudly if pairgen's simclr recipe drifts from the ranges the peers are given here."""
    view = PairSampler(recipe="simclr", size=SIZE, seed=0).views[0]
    flip, jitter, gray, blur = view.ops
    got = (view.crop.scale, tuple(round(r, 4) for r in view.crop.ratio), flip.p,
           (jitter.brightness, jitter.contrast, jitter.saturation, jitter.hue), jitter.p, gray.p, blur.p,
           tuple(blur.sigma), [op.name for op in view.ops])
    want = (SCALE, (0.75, 1.3333), FLIP_P, JITTER, JITTER_P, GRAY_P, BLUR_P, SIGMA,
            ["flip", "color_jitter", "grayscale", "blur"])
    if got != want:
        raise RuntimeError(f"pairgen's simclr recipe {got} differs from the benchmark's ranges {want}")


# --------------------------------------------------------------------------- timing

class Result:
    def __init__(self, name, where, input_form):
        self.name, self.where, self.input_form = name, where, input_form
        self.rates: list[float] = []  # views per wall-clock second, one per round
        self.cpu_rates: list[float] = []  # views per CPU second (all processes of the pipeline)
        self.stats: list[tuple[float, float]] = []  # (mean, std) of the first view of each round's last batch
        self.memory = None  # (peak bytes, output bytes) on GPUs
        self.error = None

    @property
    def median(self):
        return statistics.median(self.rates) if self.rates else float("nan")


    @property
    def cpu_median(self):
        return statistics.median(self.cpu_rates) if self.cpu_rates else float("nan")

    @property
    def stats_text(self) -> str:
        if not self.stats:
            return ""
        return f"{statistics.mean(m for m, _ in self.stats):+.2f}/{statistics.mean(s for _, s in self.stats):.2f}"


def view_stats(view) -> tuple[float, float]:
    """Mean and std of a batch of views: the same recipe should give about the same numbers."""
    v = view.float()
    return float(v.mean()), float(v.std())


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads), from /proc; NaN elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    except (OSError, IndexError, ValueError):
        return float("nan")


def worker_pids(loader) -> list[int]:
    """The pids of a persistent DataLoader's workers (torch keeps them on its iterator)."""
    iterator = getattr(loader, "_iterator", None)
    return [w.pid for w in getattr(iterator, "_workers", [])]


class Timing:
    """Wall seconds and CPU seconds of this process and ``pids()`` over a block
    (processes started inside the block count from zero)."""

    def __init__(self, pids=lambda: []):
        self.pids = pids

    def __enter__(self):
        self.before = {pid: cpu_seconds(pid) for pid in (os.getpid(), *self.pids())}
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.start
        self.cpu = sum(cpu_seconds(pid) - self.before.get(pid, 0.0) for pid in (os.getpid(), *self.pids()))


def time_loader(loader, epochs, sampler=None, finish=None):
    """(images, wall s, CPU s, first view of the last batch) over ``epochs`` full passes;
    ``finish(view)`` runs on every view in the main process (uint8 views: normalisation)."""
    images, last = 0, None
    with Timing(lambda: worker_pids(loader)) as timing:
        for _ in range(epochs):
            for batch in loader:
                if sampler is not None:
                    batch = sampler(batch)
                    views = batch.views if finish is None else [finish(v) for v in batch.views]
                    last = views[0]
                    images += len(batch)
                else:
                    last = batch[0]
                    images += len(last)
    return images, timing.wall, timing.cpu, last


def time_batched(fn, batches, epochs, sync, budget):
    """Like :func:`time_loader` for ``fn`` over ``epochs`` passes of ``batches``, cut short
    after ``budget`` seconds (at least one batch): slow peers need minutes per epoch, and a
    batched pipeline's steady rate needs no whole epoch."""
    images, last = 0, None
    with Timing() as timing:
        for batch in [b for _ in range(epochs) for b in batches]:
            last = fn(batch)[0]
            images += len(last)
            if time.perf_counter() - timing.start > budget:
                break
        sync()
    return images, timing.wall, timing.cpu, last


def cpu_benchmark(args, photos):
    """(Result, build) pairs of the CPU protocol; ``build()`` returns a timer of ``epochs``."""
    torch.set_num_threads(args.threads)
    pil = [Image.fromarray(p) for p in photos]
    chw = [torch.from_numpy(p).permute(2, 0, 1).contiguous() for p in photos]
    uint8_batches = [torch.stack(chw[i : i + args.batch]) for i in range(0, len(chw) - args.batch + 1, args.batch)]
    generator = torch.Generator().manual_seed(0)
    workers, main = f"{args.workers} workers", f"main, {args.threads} thread{'s' * (args.threads > 1)}"

    def loader(dataset, collate=None):
        return DataLoader(dataset, batch_size=args.batch, shuffle=True, num_workers=args.workers, drop_last=True,
                          collate_fn=collate, persistent_workers=args.workers > 0, generator=generator)

    def torchvision_workers():
        dl = loader(Photos(chw, TwoViews(torchvision_transform())))
        return lambda epochs: time_loader(dl, epochs)

    def lightly_workers():
        dl = loader(Photos(pil, lightly_transform()))
        return lambda epochs: time_loader(dl, epochs)

    def pairgen_workers():
        sampler = PairSampler(recipe="simclr", size=SIZE, seed=0, mode="worker")
        dl = loader(Photos(pil), sampler.collate)
        return lambda epochs: time_loader(dl, epochs, sampler)

    def pairgen_workers_uint8():
        sampler = PairSampler(recipe="simclr", size=SIZE, seed=0, mode="worker", dtype=torch.uint8)
        dl = loader(Photos(pil), sampler.collate)
        return lambda epochs: time_loader(dl, epochs, sampler, sampler.normalize)

    def batched(build):
        def timer():
            fn = build("cpu")
            return lambda epochs: time_batched(fn, uint8_batches, epochs, lambda: None, args.budget)
        return timer

    def pairgen_device():
        sampler, fn = pairgen_device_pipeline("cpu")
        batches = [sampler.collate(list(b)) for b in uint8_batches]
        return lambda epochs: time_batched(fn, batches, epochs, lambda: None, args.budget)

    return run_rounds(args, [
        (Result("torchvision v2", workers, "uint8 CHW tensor"), torchvision_workers),
        (Result("lightly SimCLRTransform", workers, "PIL"), lightly_workers),
        (Result("pairgen worker mode", workers, "PIL"), pairgen_workers),
        (Result("pairgen worker mode, uint8 views", workers, "PIL"), pairgen_workers_uint8),
        (Result("kornia AugmentationSequential", main, "uint8 batch"), batched(kornia_pipeline)),
        (Result("torchaug SequentialTransform", main, "uint8 batch"), batched(torchaug_pipeline)),
        (Result("pairgen device mode", main, "uint8 batch"), pairgen_device),
    ])


def run_rounds(args, runs):
    """Build and warm up every selected pipeline, then time ``repeats`` interleaved rounds."""
    selected = [(r, build) for r, build in runs if not args.only or any(k in r.name.lower() for k in args.only)]
    timers = []
    for result, build in selected:
        try:
            timer = build()
            timer(args.warmup)
            timers.append((result, timer))
        except ImportError as error:
            result.error = f"skipped: {error}"
        except Exception as error:  # a peer that breaks on this torch version: report it, go on
            result.error = f"failed: {type(error).__name__}: {str(error)[:120]}"
        print(f"  ready: {result.name}" + (f" ({result.error})" if result.error else ""), flush=True)
    for round_ in range(args.repeats):
        for result, timer in timers:
            images, wall, cpu, last = timer(args.epochs)
            result.rates.append(2 * images / wall)
            result.cpu_rates.append(2 * images / cpu if cpu > 0 else float("nan"))
            result.stats.append(view_stats(last))
        done = ", ".join(f"{r.name} {r.rates[-1]:.0f}" for r, _ in timers)
        print(f"  round {round_ + 1}/{args.repeats} views/s: {done}", flush=True)
    return [result for result, _ in selected]


def gpu_memory(fn, batch, device):
    """(peak bytes allocated during ``fn(batch)`` above the bytes before it, bytes of its output views)."""
    torch.cuda.synchronize(device)
    torch.cuda.empty_cache()
    before = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    views = fn(batch)
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device) - before
    return peak, sum(v.numel() * v.element_size() for v in views)


def device_benchmark(args, photos):
    """The GPU protocol: uint8 batches already on ``--device``, batched pipelines only
    (``--protocol device`` runs it on the CPU too, without the memory column)."""
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    if cuda and not torch.cuda.is_available():
        raise SystemExit(f"--device {args.device}: CUDA is not available here")
    if not cuda:
        torch.set_num_threads(args.threads)
    chw = torch.stack([torch.from_numpy(p).permute(2, 0, 1) for p in photos])
    uint8_batches = [chw[i : i + args.batch].to(device) for i in range(0, len(chw) - args.batch + 1, args.batch)]
    where = torch.cuda.get_device_name(device) if cuda else f"{device}, {args.threads} threads"

    def sync():
        if cuda:
            torch.cuda.synchronize(device)

    def prepare(fn, batch, result):
        fn(batch)  # first call: kernels load, workspaces are set up
        if cuda:
            result.memory = gpu_memory(fn, batch, device)

    def batched(build, name):
        result = Result(name, where, f"uint8 batch on {device.type}")

        def timer():
            fn = build(device)
            prepare(fn, uint8_batches[0], result)
            return lambda epochs: time_batched(fn, uint8_batches, epochs, sync, args.budget)
        return result, timer

    pairgen = Result("pairgen device mode", where, f"uint8 batch on {device.type}")

    def pairgen_device():
        sampler, fn = pairgen_device_pipeline(device)
        batches = [sampler.collate(list(b.cpu())).to(device) for b in uint8_batches]
        prepare(fn, batches[0], pairgen)
        return lambda epochs: time_batched(fn, batches, epochs, sync, args.budget)

    return run_rounds(args, [
        batched(kornia_pipeline, "kornia AugmentationSequential"),
        batched(torchaug_pipeline, "torchaug SequentialTransform"),
        (pairgen, pairgen_device),
    ])


# --------------------------------------------------------------------------- report

def machine_line(args) -> str:
    import torchvision

    cpu = cpu_model()
    cores = f"{args.cores} of {os.cpu_count()} cores used" if args.device == "cpu" else f"{os.cpu_count()} cores"
    line = (f"{date.today()}, {cpu}, {cores}, torch {torch.__version__}, "
            f"torchvision {torchvision.__version__}, Python {platform.python_version()}")
    if args.device.startswith("cuda") and torch.cuda.is_available():
        line += f", GPU {torch.cuda.get_device_name(torch.device(args.device))}"
    return line


def versions() -> str:
    out = []
    for name in ("lightly", "kornia", "torchaug"):
        try:
            out.append(f"{name} {__import__(name).__version__}")
        except Exception:
            out.append(f"{name} absent")
    return ", ".join(out)


def report(args, results) -> dict:
    print(f"\nSimCLR views/s, {args.images} photos {SOURCE_SIDE}px -> {SIZE}px, batch {args.batch}, "
          f"median of {args.repeats} round(s) x {args.epochs} epoch(s)")
    print(machine_line(args))
    print(versions())
    header = (f"{'pipeline':32s} {'runs on':18s} {'input':20s} {'views/s':>8s} {'min-max':>13s} "
              f"{'views/CPU-s':>11s} {'mean/std':>10s}")
    if args.device.startswith("cuda"):
        header += f" {'peak mem / output':>18s}"
    print(header)
    print("-" * len(header))
    for r in results:
        if r.error:
            print(f"{r.name:32s} {r.where:18s} {r.input_form:20s} {r.error}")
            continue
        line = (f"{r.name:32s} {r.where:18s} {r.input_form:20s} {r.median:8.0f} "
                f"{f'{min(r.rates):.0f}-{max(r.rates):.0f}':>13s} {r.cpu_median:11.0f} {r.stats_text:>10s}")
        if r.memory:
            peak, out = r.memory
            line += f" {peak / out:8.2f}x ({peak / 2**20:.0f} MiB)"
        print(line)
    by_name = {r.name: r for r in results if r.rates}
    ratios = {}

    def ratio(a, b, target=None):
        if a in by_name and b in by_name:
            value = by_name[a].median / by_name[b].median
            ratios[f"{a} / {b}"] = value
            verdict = "" if target is None else f"  (target >= {target}x: {'met' if value >= target else 'NOT met'})"
            print(f"  {a} / {b}: {value:.2f}x{verdict}")

    print("\nratios:")
    if args.protocol == "cpu":
        best = max((n for n in by_name if n.startswith("pairgen")), key=lambda n: by_name[n].median, default=None)
        for name in by_name:
            if name != "lightly SimCLRTransform":
                ratio(name, "lightly SimCLRTransform", 2 if name == best else None)
        for peer in ("torchvision v2", "kornia AugmentationSequential", "torchaug SequentialTransform"):
            if best:
                ratio(best, peer)
    else:
        gpu = args.device.startswith("cuda")  # the targets are the GPU's
        ratio("pairgen device mode", "kornia AugmentationSequential", 10 if gpu else None)
        ratio("pairgen device mode", "torchaug SequentialTransform", 2 if gpu else None)
        pg = next((r for r in results if r.name == "pairgen device mode" and r.memory), None)
        if pg:
            value = pg.memory[0] / pg.memory[1]
            print(f"  pairgen device-stage peak memory / output views: {value:.2f}x "
                  f"(target <= 3x: {'met' if value <= 3 else 'NOT met'})")
    return {
        "machine": machine_line(args), "peers": versions(), "device": args.device, "protocol": args.protocol,
        "threads": args.threads, "batch": args.batch,
        "images": args.images, "repeats": args.repeats, "epochs": args.epochs, "ratios": ratios,
        "results": [{"pipeline": r.name, "runs_on": r.where, "input": r.input_form, "views_per_s": r.rates,
                     "median": r.median if r.rates else None,
                     "views_per_cpu_s": r.cpu_rates, "view_mean_std": r.stats, "error": r.error,
                     "peak_bytes": r.memory[0] if r.memory else None,
                     "output_bytes": r.memory[1] if r.memory else None} for r in results],
    }


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="cpu (CPU protocol) or cuda[:N] (GPU protocol)")
    parser.add_argument("--protocol", choices=("cpu", "device"), help="cpu: workers and batched pipelines on "
                        "the CPU (default on cpu); device: batched pipelines on uint8 batches on --device (default "
                        "on cuda; on cpu it is a dry run of the GPU code)")
    parser.add_argument("--batch", type=int, help="batch size (default 64 on CPU, 256 on GPU)")
    parser.add_argument("--images", type=int, help="photos in the dataset (default 512)")
    parser.add_argument("--epochs", type=int, help="timed epochs per round (default 2 on CPU, 10 on GPU)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up epochs per pipeline (default 1)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved timing rounds; the median is reported")
    parser.add_argument("--budget", type=float, help="seconds per round after which a batched pipeline stops "
                        "early (default 20; 3 with --quick)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers of per-sample pipelines")
    parser.add_argument("--cores", type=int, default=2, help="CPU cores the benchmark may use (CPU protocol)")
    parser.add_argument("--threads", type=int, help="torch threads of batched pipelines on the CPU (default --cores)")
    parser.add_argument("--photos", type=Path, help="a folder of extra photos for the dataset")
    parser.add_argument("--only", help="comma-separated name parts: time only matching pipelines")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--quick", action="store_true", help="a fast smoke run (few photos, one round)")
    args = parser.parse_args(argv)
    if args.protocol is None:
        args.protocol = "cpu" if args.device == "cpu" else "device"
    if args.protocol == "cpu" and args.device != "cpu":
        parser.error("--protocol cpu runs on the CPU: drop --device or use --protocol device")
    gpu = args.protocol == "device"
    if args.quick:
        defaults = dict(batch=64 if gpu else 16, images=128 if gpu else 64, epochs=2 if gpu else 1, budget=3.0)
        args.repeats, args.warmup = 1, 1
    else:
        defaults = dict(batch=256 if gpu else 64, images=512, epochs=10 if gpu else 2, budget=20.0)
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.threads is None:
        args.threads = args.cores
    for key in ("batch", "images", "epochs", "repeats", "cores", "threads", "budget"):
        if getattr(args, key) < 1:
            parser.error(f"--{key} must be >= 1, got {getattr(args, key)}")
    if args.workers < 0 or args.warmup < 0:
        parser.error("--workers and --warmup must be >= 0")
    if args.images < args.batch:
        parser.error(f"--images ({args.images}) must be at least --batch ({args.batch})")
    args.only = [s.strip().lower() for s in args.only.split(",")] if args.only else []
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if hasattr(os, "sched_setaffinity") and args.device == "cpu":
        cores = sorted(os.sched_getaffinity(0))
        if len(cores) > args.cores:
            os.sched_setaffinity(0, cores[: args.cores])  # workers inherit the same cores
    check_recipe_matches()
    photos = make_dataset(args.images, seed=0, extra=args.photos)
    print(f"{len(photos)} photos ready; {args.protocol} protocol on {args.device}", flush=True)
    results = cpu_benchmark(args, photos) if args.protocol == "cpu" else device_benchmark(args, photos)
    summary = report(args, results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
