"""The GPU check: pairgen's device stage against kornia, torchaug and triton-augment.

Protocol (issue 11, item 7): uint8 batches of ``--batch`` (256) real photos of 256 x 256
already on the GPU, two 224-px views per image, float32 and bfloat16 views. For each
pipeline and dtype: views/s (median of ``--rounds`` timed runs, each synchronised at its
end), the device stage's peak memory over the bytes of its output views
(``torch.cuda.max_memory_allocated`` above what was allocated before the call), and the
host syncs of one call (``torch.cuda.set_sync_debug_mode``; on the CPU the aten ops that
wait for a device: ``item``, ``nonzero``, ...).

Pipelines:

* SimCLR's augmentation (``bench_simclr.py``'s ranges: random resized crop, flip,
  colour jitter with hue, grayscale, blur, normalise): kornia ``AugmentationSequential``,
  torchaug ``SequentialTransform``, pairgen ``PairSampler(mode="device")`` (batched),
  with ``compile=True`` and with ``backend="triton"`` where this pairgen has them, and
  **pairgen fused kernels**: :mod:`pairgen.kernels.fused` called directly on params drawn
  here on the device (all ``2 x batch`` views in one launch; contrast's mean from
  ``view_means``, its mean after the hue step approximated by the mean before it);
* the ops triton-augment shares (crop, flip, brightness/contrast/saturation, grayscale,
  normalise; no hue, blur, solarize): triton-augment ``TritonFusedAugment`` (a 224-px
  crop of the 256-px photo, no resize: its crop has none) and pairgen's fused kernels
  on the same ops (random resized crop: pairgen resamples and antialiases).

The fused kernels' views are also compared with :mod:`pairgen.kernels.reference` on
the same params (max abs difference; float32 should be <= 2e-3).

Peers that are not installed are installed with ``pip install --no-deps --target`` when
``--install`` is given (gpu_check.sh does; torch is never touched), else reported as
skipped. Without CUDA ``--quick`` runs the same code on the CPU at tiny sizes, the
Triton kernels in Triton's interpreter. Run from the repository root:

    python benchmarks/bench_gpu.py --json out.json            # on a GPU machine
    python benchmarks/bench_gpu.py --quick                    # anywhere (CPU: interpreter)
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import torch

from bench_simclr import gpu_memory  # noqa: E402  (one peak-memory measure for both benchmarks)

ROOT = Path(__file__).resolve().parent.parent
PEERS_DIR = Path("/tmp/pairgen-peers")
PEERS = {  # module -> what pip installs (--no-deps: torch and torchvision stay as they are)
    "kornia": ["kornia==0.9.0", "kornia_rs==0.2.0"],
    "torchaug": ["torchaug==0.6.1"],
    "triton_augment": ["triton-augment==0.3.0"],
}
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
SYNC_OPS = ("_local_scalar_dense", "item", "nonzero", "is_nonzero", "masked_select")
TARGETS = "pairgen triton >= 10x kornia, >= 2x torchaug, shared ops >= 1.0x triton-augment, >= 250k views/s, peak <= 3x"


class Skip(Exception):
    """A pipeline this machine cannot run (a peer missing, a pairgen feature not there yet)."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default=None, help="cuda (default when available) or cpu")
    parser.add_argument("--batch", type=int, help="images per batch (default 256; 4 with --quick)")
    parser.add_argument("--size", type=int, help="view side (default 224; 32 with --quick)")
    parser.add_argument("--source", type=int, help="photo side (default 256; 48 with --quick)")
    parser.add_argument("--rounds", type=int, help="timed runs per pipeline, median reported (3; --quick: 1)")
    parser.add_argument("--budget", type=float, default=2.0, help="seconds per timed run (default 2)")
    parser.add_argument("--dtypes", default="float32,bfloat16", help="view dtypes (default float32,bfloat16)")
    parser.add_argument("--only", help="comma-separated name parts: run only matching pipelines")
    parser.add_argument("--install", action="store_true", help="pip-install missing peers (--no-deps --target)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run: a smoke test anywhere")
    parser.add_argument("--json", type=Path, help="write the results here (rewritten after every pipeline)")
    args = parser.parse_args(argv)
    quick = args.quick
    for key, full, small in (("batch", 256, 4), ("size", 224, 32), ("source", 256, 48), ("rounds", 3, 1)):
        if getattr(args, key) is None:
            setattr(args, key, small if quick else full)
        if getattr(args, key) < 1:
            parser.error(f"--{key} must be >= 1")
    if args.size > args.source:
        parser.error("--size must not exceed --source (triton-augment crops without resizing)")
    args.dtypes = [d.strip() for d in args.dtypes.split(",")]
    unknown = [d for d in args.dtypes if d not in DTYPES]
    if unknown:
        parser.error(f"--dtypes: unknown {unknown}; known: {sorted(DTYPES)}")
    args.only = [s.strip().lower() for s in args.only.split(",")] if args.only else []
    return args


# --------------------------------------------------------------------------- peers


def ensure_peer(module: str, install: bool):
    """Import a peer; with ``install``, pip-install it (no dependencies) into PEERS_DIR first if missing."""
    if str(PEERS_DIR) not in sys.path and PEERS_DIR.is_dir():
        sys.path.insert(0, str(PEERS_DIR))
    try:
        return importlib.import_module(module)
    except ImportError as error:
        if not install:
            raise Skip(f"{module} is not installed ({error}); --install installs it") from error
    command = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile", "--target", str(PEERS_DIR),
               *PEERS[module]]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired as error:
        raise Skip(f"pip install {' '.join(PEERS[module])} timed out (no registry reachable?)") from error
    if done.returncode != 0:
        raise Skip(f"pip install {' '.join(PEERS[module])} failed: {done.stderr.strip()[-200:]}")
    if str(PEERS_DIR) not in sys.path:
        sys.path.insert(0, str(PEERS_DIR))
    importlib.invalidate_caches()
    try:
        return importlib.import_module(module)
    except Exception as error:
        raise Skip(f"{module} installed but does not import: {type(error).__name__}: {error}") from error


# --------------------------------------------------------------------------- pipelines
# Each builder takes (settings, dtype) and returns fn(images) -> list of view tensors;
# images: the (B, 3, S, S) uint8 batch on the device (pairgen's samplers get their
# ImageBatch, built once, through settings.batch_for).


def kornia_simclr(s, dtype):
    """kornia's AugmentationSequential on the batch as ``dtype`` in [0, 1]; its crop resizes
    without antialiasing (its default)."""
    ensure_peer("kornia", s.install)
    import kornia.augmentation as K

    aug = K.AugmentationSequential(
        K.RandomResizedCrop((s.size, s.size), scale=s.SCALE, ratio=s.RATIO),
        K.RandomHorizontalFlip(p=s.FLIP_P),
        K.ColorJitter(*s.JITTER, p=s.JITTER_P),
        K.RandomGrayscale(p=s.GRAY_P),
        K.RandomGaussianBlur((s.blur_taps, s.blur_taps), s.SIGMA, p=s.BLUR_P),
        K.Normalize(torch.tensor(s.MEAN), torch.tensor(s.STD)),
    ).to(s.device)

    def views(images):
        x = images.to(dtype) / 255
        return [aug(x), aug(x)]

    return views


def torchaug_simclr(s, dtype):
    """torchaug's SequentialTransform with per-sample parameters (bench_simclr.py's settings)."""
    ensure_peer("torchaug", s.install)
    import torchaug.transforms as TA

    aug = TA.SequentialTransform([
        TA.RandomResizedCrop(s.size, scale=s.SCALE, ratio=s.RATIO, antialias=True),
        TA.RandomHorizontalFlip(p=s.FLIP_P),
        TA.ToDtype(dtype, scale=True),
        TA.RandomColorJitter(*s.JITTER, p=s.JITTER_P),
        TA.RandomGrayscale(p=s.GRAY_P),
        TA.RandomGaussianBlur(s.blur_taps, sigma=s.SIGMA, p=s.BLUR_P),
        TA.Normalize(s.MEAN, s.STD),
    ]).to(s.device)
    return lambda images: [aug(images), aug(images)]


def triton_augment_shared(s, dtype):
    """triton-augment's TritonFusedAugment: one fused kernel for crop (no resize), flip,
    brightness, contrast (its fast, centred contrast), saturation, grayscale, normalise,
    per-sample parameters; input ``dtype`` in [0, 1]."""
    if s.device.type != "cuda":
        raise Skip("triton-augment needs CUDA")
    ta = ensure_peer("triton_augment", s.install)
    b, c, sat, _ = s.JITTER
    aug = ta.TritonFusedAugment(crop_size=s.size, horizontal_flip_p=s.FLIP_P, brightness=b, contrast=c,
                                saturation=sat, grayscale_p=s.GRAY_P, mean=s.MEAN, std=s.STD)

    def views(images):
        x = images.to(dtype) / 255
        return [aug(x), aug(x)]

    return views


def pairgen_sampler(required: dict, optional: dict = {}):  # noqa: B006 (never mutated)
    """pairgen's ``PairSampler(mode="device")`` with the ``required`` options (skipped when
    this pairgen lacks one) and the ``optional`` ones it has."""

    def build(s, dtype):
        from pairgen import PairSampler

        known = inspect.signature(PairSampler).parameters
        missing = [name for name in required if name not in known]
        if missing:
            raise Skip(f"PairSampler has no {', '.join(missing)}= in this pairgen yet")
        options = {**{k: v for k, v in optional.items() if k in known}, **required}
        sampler = PairSampler(recipe="simclr", size=s.size, seed=0, device=s.device, mode="device", dtype=dtype,
                              **options)
        batch = s.batch_for(sampler)

        def views(images):
            pairs = sampler(batch)
            return [pairs.view1, pairs.view2]

        return views

    return build


class FusedViews:
    """pairgen's fused kernels on params drawn here, on the device, without host syncs.

    SimCLR (``shared=False``): random resized crop (one draw of area and aspect, clamped
    to the photo), flip, colour jitter with p = 0.8 in a random order per view (affine
    steps before the HSV hue step in ``affine1``, after it in ``affine2``), grayscale,
    blur, normalise. ``shared=True``: the ops triton-augment has (brightness, contrast,
    saturation in that order, no hue, blur or solarize). Both views of every image in
    one launch (``index``).
    """

    def __init__(self, s, dtype, shared: bool):
        from pairgen.kernels import fused, reference

        self.fused, self.reference, self.s, self.dtype, self.shared = fused, reference, s, dtype, shared
        n, device = 2 * s.batch, s.device
        self.index = torch.arange(s.batch, device=device).repeat(2)
        self.generator = torch.Generator(device).manual_seed(0)
        self.eye = torch.eye(3, 4, device=device).expand(n, 3, 4)
        self.to_gray = torch.tensor(s.LUMA, device=device).expand(3, 3)  # every row: the luma weights

    def draw(self, images: torch.Tensor) -> dict:
        s, n, device = self.s, 2 * self.s.batch, self.s.device
        u = lambda *shape: torch.rand(*shape, generator=self.generator, device=device)  # noqa: E731
        side = images.shape[-1]
        area = (s.SCALE[0] + (s.SCALE[1] - s.SCALE[0]) * u(n)) * side * side
        ratio = torch.exp(math.log(s.RATIO[0]) + (math.log(s.RATIO[1]) - math.log(s.RATIO[0])) * u(n))
        w, h = (area * ratio).sqrt().clamp(max=side), (area / ratio).sqrt().clamp(max=side)
        x1, y1 = u(n) * (side - w), u(n) * (side - h)
        boxes = torch.stack([x1, y1, x1 + w, y1 + h], 1)
        means = self.fused.view_means(images, boxes, s.size, index=self.index)
        applied = u(n) < s.JITTER_P
        b, c, sat, hue = s.JITTER
        factors = [torch.where(applied, 1 - f + 2 * f * u(n), 1.0) for f in (b, c, sat)]
        shift = torch.where(applied, hue * (2 * u(n) - 1), 0.0)
        order = torch.arange(3, device=device).expand(n, 3) if self.shared else u(n, 4).argsort(1)
        affine1, affine2 = self.colour_maps(*factors, order, means)
        args = {"index": self.index, "flip": u(n) < s.FLIP_P, "affine1": affine1, "grayscale": u(n) < s.GRAY_P,
                "mean": s.MEAN, "std": s.STD, "dtype": self.dtype}
        if not self.shared:
            sigma = torch.where(u(n) < s.BLUR_P, s.SIGMA[0] + (s.SIGMA[1] - s.SIGMA[0]) * u(n), 0.0)
            args.update(hue=shift, affine2=affine2, blur_sigma=sigma, blur_kernel_size=s.kernel_size)
        return {"boxes": boxes, **args}

    def colour_maps(self, brightness, contrast, saturation, order, means):
        """Per-view ``3 x 4`` maps of the steps before (``affine1``) and after (``affine2``) the
        hue step (order code 3), composed in each view's order. Contrast blends towards the
        mean gray, carried through the maps (the hue step's effect on it ignored)."""
        n = len(order)
        eye = self.eye[:, :, :3]
        zero = torch.zeros(n, 3, 1, device=order.device)
        s = saturation[:, None, None]
        saturation_map = torch.cat([s * eye + (1 - s) * self.to_gray, zero], 2)
        brightness_map = torch.cat([brightness[:, None, None] * eye, zero], 2)
        before, after = self.eye, self.eye
        past_hue = torch.zeros(n, 1, 1, dtype=torch.bool, device=order.device)
        for step in range(order.shape[1]):
            now = _compose(after, before)
            gray_mean = ((now[:, :, :3] @ means[:, :, None])[:, :, 0] + now[:, :, 3]) @ self.to_gray[0]
            contrast_map = torch.cat([contrast[:, None, None] * eye,
                                      ((1 - contrast) * gray_mean)[:, None, None].expand(n, 3, 1)], 2)
            kind = order[:, step, None, None]
            step_map = torch.where(kind == 0, brightness_map, torch.where(
                kind == 1, contrast_map, torch.where(kind == 2, saturation_map, self.eye)))
            before = torch.where(past_hue, before, _compose(step_map, before))
            after = torch.where(past_hue, _compose(step_map, after), after)
            past_hue = past_hue | (kind == 3)
        return before, after

    def __call__(self, images):
        args = self.draw(images)
        out = self.fused.render_views(images, args.pop("boxes"), self.s.size, **args)
        return [out[: self.s.batch], out[self.s.batch :]]

    def difference(self, images) -> float:
        """Max abs difference of the fused views from the reference's on the same params."""
        args = self.draw(images)
        boxes = args.pop("boxes")
        got = self.fused.render_views(images, boxes, self.s.size, **args)
        want = self.reference.render_views(images, boxes, self.s.size, **args)
        return float((got.float() - want.float()).abs().max())


def _compose(outer: torch.Tensor, inner: torch.Tensor) -> torch.Tensor:
    """The ``3 x 4`` affine map ``outer(inner(x))``."""
    matrix = outer[:, :, :3] @ inner[:, :, :3]
    offset = (outer[:, :, :3] @ inner[:, :, 3:]) + outer[:, :, 3:]
    return torch.cat([matrix, offset], 2)


def fused_kernels(shared: bool):
    def build(s, dtype):
        try:
            importlib.import_module("pairgen.kernels.fused")
        except Exception as error:
            raise Skip(f"pairgen.kernels.fused does not import here: {type(error).__name__}: {error}") from error
        return FusedViews(s, dtype, shared)

    return build


PIPELINES = [  # (name, ops, builder), in the order they run: what matters most first, compiling last
    ("pairgen fused kernels", "simclr", fused_kernels(shared=False)),
    ("pairgen triton (PairSampler)", "simclr", pairgen_sampler({"backend": "triton"})),
    ("kornia AugmentationSequential", "simclr", kornia_simclr),
    ("torchaug SequentialTransform", "simclr", torchaug_simclr),
    ("pairgen batched (device mode)", "simclr", pairgen_sampler({}, {"backend": "batched"})),
    ("triton-augment TritonFusedAugment", "shared", triton_augment_shared),
    ("pairgen fused kernels, shared ops", "shared", fused_kernels(shared=True)),
    ("pairgen compiled", "simclr", pairgen_sampler({"compile": True}, {"backend": "batched"})),
]


# --------------------------------------------------------------------------- measuring


class Settings:
    """What every pipeline builder needs: sizes, device, the SimCLR ranges, the batch."""

    def __init__(self, args, device, images, simclr):
        self.size, self.batch, self.device, self.install = args.size, args.batch, device, args.install
        self.images = images
        for name in ("SCALE", "RATIO", "FLIP_P", "JITTER", "JITTER_P", "GRAY_P", "BLUR_P", "SIGMA", "MEAN", "STD"):
            setattr(self, name, getattr(simclr, name))
        from pairgen.kernels.arguments import LUMA
        from pairgen.ops.blur import kernel_size_for

        self.LUMA = LUMA
        self.kernel_size = kernel_size_for(self.SIGMA[1])  # pairgen's taps: +-4 sigma
        self.blur_taps = max(3, int(0.1 * self.size) // 2 * 2 + 1)  # the peers': SimCLR's 10% of the view, odd
        self._batches = {}

    def batch_for(self, sampler):
        """The photos as pairgen's ImageBatch on the device (collated once, outside the timing)."""
        key = sampler.max_side
        if key not in self._batches:
            self._batches[key] = sampler.collate(list(self.images.cpu())).to(self.device)
        return self._batches[key]


def count_syncs(fn, images, device) -> int:
    """Host syncs of one call: CUDA's sync debug mode's warnings, or on the CPU the aten
    ops that wait for a device."""
    if device.type != "cuda":
        from torch.utils._python_dispatch import TorchDispatchMode

        class SyncCounter(TorchDispatchMode):
            count = 0

            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                self.count += func.__name__.split(".")[0] in SYNC_OPS
                return func(*args, **(kwargs or {}))

        with SyncCounter() as counter:
            fn(images)
        return counter.count
    torch.cuda.synchronize(device)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            fn(images)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)


def measure(fn, images, args, device) -> dict:
    """Warm up, count syncs, take peak memory, then time ``args.rounds`` runs of about ``args.budget`` s."""
    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    if not args.quick:  # warm-up: kernels compile (torch.compile may recompile once), workspaces are set up
        fn(images)
        fn(images)
    out = {"syncs": count_syncs(fn, images, device)}  # with --quick also the warm-up
    if device.type == "cuda":
        out["peak_bytes"], out["output_bytes"] = gpu_memory(fn, images, device)
    calls = 1
    if not args.quick:  # calls per run from one timed call
        sync()
        start = time.perf_counter()
        fn(images)
        sync()
        calls = max(1, min(500, int(args.budget / max(time.perf_counter() - start, 1e-6))))
    rates = []
    for _ in range(args.rounds):
        sync()
        start = time.perf_counter()
        for _ in range(calls):
            views = fn(images)
        sync()
        rates.append(calls * sum(len(v) for v in views) / (time.perf_counter() - start))
    out.update(views_per_s=statistics.median(rates), rates=rates, calls=calls)
    return out


# --------------------------------------------------------------------------- report


def machine(device) -> dict:
    import torchvision

    info = {"python": platform.python_version(), "torch": torch.__version__, "torchvision": torchvision.__version__,
            "cpus": os.cpu_count(), "device": str(device)}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    try:
        import triton

        info["triton"] = triton.__version__
    except Exception:
        info["triton"] = "absent"
    for module in PEERS:
        try:
            info[module] = importlib.import_module(module).__version__
        except Exception:
            info[module] = "absent"
    info["triton_interpret"] = os.environ.get("TRITON_INTERPRET", "0")
    info["load_average"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return info


def ratios(rows: list[dict], judge: bool) -> list[str]:
    """pairgen's rows against the peers at the same dtype, with the issue's targets (GPU
    targets: judged only when ``judge``)."""
    by = {(r["pipeline"], r["dtype"]): r for r in rows if r.get("views_per_s")}
    lines = []

    def check(value, target, above=True):
        if not judge:
            return ""
        met = value >= target if above else value <= target
        return f"  (target {'>=' if above else '<='} {target:g}: {'met' if met else 'NOT met'})"

    for dtype in sorted({r["dtype"] for r in rows}):
        triton = next((n for n in ("pairgen triton (PairSampler)", "pairgen fused kernels") if (n, dtype) in by), None)
        for name, ops, _ in PIPELINES:
            if not name.startswith("pairgen") or (name, dtype) not in by:
                continue
            rate = by[name, dtype]["views_per_s"]
            peers = {"triton-augment TritonFusedAugment": 1.0} if ops == "shared" else {
                "kornia AugmentationSequential": 10.0, "torchaug SequentialTransform": 2.0}
            for peer, target in peers.items():
                if (peer, dtype) in by:
                    value = rate / by[peer, dtype]["views_per_s"]
                    aimed = name == triton or ops == "shared"
                    lines.append(f"{dtype}: {name} / {peer.split()[0]}: {value:.2f}x"
                                 + (check(value, target) if aimed else ""))
            if name == triton:
                lines.append(f"{dtype}: {name}: {rate:.0f} views/s" + check(rate, 250_000))
            row = by[name, dtype]
            if row.get("output_bytes") and name in (triton, "pairgen batched (device mode)"):
                value = row["peak_bytes"] / row["output_bytes"]
                lines.append(f"{dtype}: {name}: peak memory {value:.2f}x the views" + check(value, 3.0, above=False))
    return lines


def print_table(rows: list[dict]) -> None:
    header = (f"{'pipeline':36s} {'ops':7s} {'dtype':9s} {'views/s':>10s} {'peak/out':>9s} {'syncs':>6s} "
              f"{'|fused-ref|':>11s}")
    print("\n" + header + "\n" + "-" * len(header))
    for r in rows:
        if "error" in r:
            print(f"{r['pipeline']:36s} {r['ops']:7s} {r['dtype']:9s} {r['error']}")
            continue
        memory = f"{r['peak_bytes'] / r['output_bytes']:.2f}x" if r.get("output_bytes") else "-"
        difference = f"{r['max_difference']:.2e}" if r.get("max_difference") is not None else "-"
        print(f"{r['pipeline']:36s} {r['ops']:7s} {r['dtype']:9s} {r['views_per_s']:10.4g} {memory:>9s} "
              f"{r['syncs']:6d} {difference:>11s}")


def main(argv=None) -> int:
    args = parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"--device {device}: CUDA is not available here")
    if device.type == "cpu":
        torch.set_num_threads(1)  # a smoke run on a shared machine: one thread behaves best
        os.environ.setdefault("TRITON_INTERPRET", "1")  # before torchvision imports triton
        if not args.quick:
            print("bench_gpu: no CUDA; the full protocol on the CPU would take long: consider --quick")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    sys.path.insert(0, str(ROOT))
    import bench_simclr as simclr  # the SimCLR ranges and the photo set, shared with the core benchmark

    simclr.check_recipe_matches()
    photos = simclr.make_dataset(args.batch, seed=0)
    images = torch.stack([torch.from_numpy(p).permute(2, 0, 1) for p in photos])
    if args.source != images.shape[-1]:
        images = torch.nn.functional.interpolate(images.float(), size=(args.source, args.source), mode="area")
        images = images.round().to(torch.uint8)
    images = images.to(device)
    settings = Settings(args, device, images, simclr)
    summary = {"machine": machine(device), "batch": args.batch, "size": args.size, "source": args.source,
               "rounds": args.rounds, "budget_s": args.budget, "targets": TARGETS, "rows": []}
    print(json.dumps(summary["machine"]), flush=True)
    for name, ops, build in PIPELINES:
        if args.only and not any(part in name.lower() for part in args.only):
            continue
        for dtype_name in args.dtypes:
            row = {"pipeline": name, "ops": ops, "dtype": dtype_name}
            started = time.perf_counter()
            try:
                fn = build(settings, DTYPES[dtype_name])
                row.update(measure(fn, images, args, device))
                if isinstance(fn, FusedViews):
                    row["max_difference"] = fn.difference(images)
            except Skip as reason:
                row["error"] = f"skipped: {reason}"
            except Exception as error:  # a peer broken on this torch, a dtype it lacks: report, go on
                first_line = str(error).splitlines()[0][:160] if str(error) else ""
                row["error"] = f"failed: {type(error).__name__}: {first_line}"
            row["seconds"] = round(time.perf_counter() - started, 1)
            summary["rows"].append(row)
            print(f"  {name} [{dtype_name}]: " + (row.get("error") or f"{row['views_per_s']:.0f} views/s, "
                  f"{row['syncs']} syncs") + f" ({row['seconds']} s)", flush=True)
            summary["ratios"] = ratios(summary["rows"], judge=device.type == "cuda")
            if args.json:
                args.json.parent.mkdir(parents=True, exist_ok=True)
                args.json.write_text(json.dumps(summary, indent=2))
    print_table(summary["rows"])
    judged = "targets: " + TARGETS if device.type == "cuda" else "no GPU: smoke figures, the targets are the GPU's"
    print(f"\nratios ({judged}):")
    for line in summary["ratios"]:
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
