"""Speed and memory of `pairgen diagnose` against cleanvision's Imagelab.find_issues, side by side.

Usage: python benchmarks/bench_diagnose.py [--images 400] [--workers 2] [--photos DIR] [--sides LO HI]

Builds a folder of 512-px JPEG photos at run time (random crops, flips and rescales of
Debian opencv-doc's example photos and scikit-image's photos), then times, each in its
own fresh process, one after the other on the same folder:

* pairgen: ``diagnose(folder, workers=W, cache=False)``: decoding, exact and perceptual
  hashes, saliency, Monte-Carlo pairs of ``simclr`` (training's sampler and saliency, on
  its default seeded sample of at most 500 images; ``--pair-sample 0`` measures every
  image), shortcut statistics, and the JSON + HTML report with its plots;
* cleanvision: ``Imagelab(data_path=folder).find_issues()`` with its default issue types
  (exact/near duplicates, blurry, dark, light, low information, odd aspect ratio, odd
  size, grayscale) and default ``n_jobs``.

``--sides 400 600`` builds photos of about 500 px instead (each longer side drawn from
400-600, JPEG quality 75-95): below 512 px a JPEG cannot be DCT-scaled to the 256-px analysis
image, so this is the slower kind. ``--photos DIR`` uses an existing folder of real photos
instead (the first ``--images`` of them). Besides the call, the *whole command* is timed as a new user runs it, start-up and
imports included: ``python -m pairgen diagnose DIR --no-cache --quiet`` against a
``python -c`` that imports cleanvision and runs ``find_issues``.

pairgen's bytecode is compiled first (``compileall``), as installing a wheel does and as
cleanvision's is in site-packages: an editable checkout under ``PYTHONDONTWRITEBYTECODE=1``
would otherwise compile every module at each start (0.27 s of the whole command on a 2-core
AMD EPYC). Times of the call cover the call only (imports excluded; printed separately); for pairgen the scan
alone (everything but the report) is shown too. The two tools alternate ``--repeats`` times
and the fastest run of each counts, which damps the noise of a shared machine. Peak RSS
is the largest of the process and its worker processes. pairgen is also run on a quarter
and a half of the images to show that its memory does not grow with the number of images.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from machine import cpu_model

REPO = Path(__file__).resolve().parents[1]
ENGINE = os.environ.get("PAIRGEN_BENCH_ENGINE", "local")
OPENCV_PHOTOS = Path("/usr/share/doc/opencv-doc/examples/data")
SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry", "retina")


def source_photos() -> list[np.ndarray]:
    import cv2
    from skimage import data

    photos = [getattr(data, name)()[..., :3] for name in SKIMAGE_PHOTOS]
    if OPENCV_PHOTOS.is_dir():
        for path in sorted(OPENCV_PHOTOS.glob("*.jpg")):
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is not None and min(image.shape[:2]) >= 200:
                photos.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    return photos


def build_folder(folder: Path, count: int, seed: int = 0, sides: tuple[int, int] = (512, 512)) -> None:
    """``count`` JPEGs: random crops (50-100% of each side), flips, rescales to a longer side
    drawn uniformly from ``sides`` and JPEG qualities of 90 (``sides`` (512, 512)) or 75-95."""
    import cv2

    rng = np.random.default_rng(seed)
    varied = sides[0] != sides[1]
    photos = source_photos()
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        image = photos[i % len(photos)]
        h, w = image.shape[:2]
        ch, cw = int(h * rng.uniform(0.5, 1.0)), int(w * rng.uniform(0.5, 1.0))
        y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        crop = image[y:y + ch, x:x + cw]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        scale = (rng.uniform(*sides) if varied else sides[0]) / max(ch, cw)
        crop = cv2.resize(crop, (max(1, round(cw * scale)), max(1, round(ch * scale))), interpolation=cv2.INTER_AREA)
        quality = int(rng.integers(75, 96)) if varied else 90
        cv2.imwrite(str(folder / f"img_{i:05d}.jpg"), cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, quality])


def peak_rss_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def run_tool(tool: str, folder: str, workers: int, limit: int | None, pair_sample: int | None) -> dict:
    """In this (child) process: import, time one call, report."""
    start = time.perf_counter()
    if tool == "pairgen":
        sys.path.insert(0, str(REPO))
        from pairgen.diagnostics import diagnose

        imported = time.perf_counter()
        with tempfile.TemporaryDirectory() as out:
            report = diagnose(folder, out=out, workers=workers, cache=False, limit=limit, engine=ENGINE,
                              **({} if pair_sample is None else {"pair_sample": pair_sample or None}))
        done = time.perf_counter()
        images = report["inventory"]["readable"]
        scan_seconds = report["timing"]["seconds"]
        paired = report["pair_quality"]["simclr"]["images"] + report["pair_quality"]["simclr"]["images_without_object"]
    else:
        from cleanvision import Imagelab

        imported = time.perf_counter()
        lab = Imagelab(data_path=folder, verbose=False)
        lab.find_issues(verbose=False)
        done = time.perf_counter()
        images = len(lab.issues)
        scan_seconds = done - imported
        paired = None
    return {"tool": tool, "images": images, "seconds": done - imported, "scan_seconds": scan_seconds,
            "import_seconds": imported - start, "peak_rss_mib": peak_rss_mib(), "pair_images": paired}


def whole_command(tool: str, folder: Path, workers: int, pair_sample: int | None) -> dict:
    """Wall time and peak RSS of the command a user types, start-up included."""
    with tempfile.TemporaryDirectory() as out:
        if tool == "pairgen":
            command = [sys.executable, "-m", "pairgen", "diagnose", str(folder), "--out", out, "--no-cache",
                       "--quiet", "--workers", str(workers), "--engine", ENGINE]
            command += [] if pair_sample is None else ["--pair-sample", str(pair_sample)]
        else:
            command = [sys.executable, "-c", "from cleanvision import Imagelab; "
                       f"Imagelab(data_path={str(folder)!r}, verbose=False).find_issues(verbose=False)"]
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak RSS (its workers: their own)
        seconds = time.perf_counter() - start
        if status != 0:
            raise RuntimeError(f"{' '.join(command)} failed with status {status}")
    return {"tool": tool, "seconds": seconds, "peak_rss_mib": usage.ru_maxrss / 1024}


def in_child(tool: str, folder: Path, workers: int, pair_sample: int | None, limit: int | None = None) -> dict:
    command = [sys.executable, __file__, "--child", tool, "--folder", str(folder), "--workers", str(workers)]
    if pair_sample is not None:
        command += ["--pair-sample", str(pair_sample)]
    if limit is not None:
        command += ["--limit", str(limit)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--photos", type=Path, default=None, help="a folder of real photos to use instead")
    parser.add_argument("--sides", type=int, nargs=2, default=(512, 512), metavar=("LO", "HI"),
                        help="longer sides of the built photos, drawn uniformly (default: all 512)")
    parser.add_argument("--pair-sample", type=int, default=None,
                        help="pairgen's --pair-sample (default: its own, 500; 0 = every image)")
    parser.add_argument("--child", choices=("pairgen", "cleanvision"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_tool(args.child, args.folder, args.workers, args.limit, args.pair_sample)))
        return 0
    print(f"machine: {cpu_model()}, {len(os.sched_getaffinity(0))} CPUs, "
          f"Python {platform.python_version()}")
    compileall.compile_dir(REPO / "pairgen", quiet=1)
    load = f"{os.getloadavg()[0]:.1f}"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        if args.photos is not None:
            folder.mkdir()
            for path in sorted(p for p in args.photos.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[
                    :args.images]:
                (folder / f"{len(list(folder.iterdir())):06d}{path.suffix}").symlink_to(path.resolve())
            args.images = len(list(folder.iterdir()))
            print(f"folder: {args.images} photos from {args.photos}")
        else:
            build_folder(folder, args.images, sides=tuple(args.sides))
            print(f"folder: {args.images} JPEGs, longer side {args.sides[0]}-{args.sides[1]} px, "
                  f"{sum(f.stat().st_size for f in folder.iterdir()) / 2**20:.1f} MiB")
        runs = {"pairgen": [], "cleanvision": []}
        for _ in range(args.repeats):
            for tool in runs:
                runs[tool].append(in_child(tool, folder, args.workers, args.pair_sample))
        results = [min(runs[tool], key=lambda r: r["seconds"]) for tool in runs]
        scaling = [in_child("pairgen", folder, args.workers, args.pair_sample, limit=n) for n in (args.images // 4, args.images // 2)]
        commands = {tool: min((whole_command(tool, folder, args.workers, args.pair_sample) for _ in range(args.repeats)),
                              key=lambda r: r["seconds"]) for tool in runs}
    print(f"load average before/after: {load} / {os.getloadavg()[0]:.1f}")
    print(f"{'tool':12s} {'images':>7s} {'seconds':>8s} {'images/s':>9s} {'scan img/s':>11s} {'peak RSS MiB':>13s} "
          f"{'import s':>9s}")
    for r in results:
        print(f"{r['tool']:12s} {r['images']:7d} {r['seconds']:8.2f} {r['images'] / r['seconds']:9.1f} "
              f"{r['images'] / r['scan_seconds']:11.1f} {r['peak_rss_mib']:13.0f} {r['import_seconds']:9.2f}")
    for tool, all_runs in runs.items():
        print(f"  {tool} runs: " + ", ".join(f"{r['seconds']:.2f} s" for r in all_runs))
    print(f"  pairgen measured pairs on {results[0]['pair_images']} of {results[0]['images']} images")
    ours, theirs = (r["images"] / r["seconds"] for r in results)
    print(f"speed ratio pairgen / cleanvision (call): {ours / theirs:.2f}x; scan alone: "
          f"{results[0]['images'] / results[0]['scan_seconds'] / theirs:.2f}x")
    for tool, r in commands.items():
        print(f"whole command {tool:12s} {r['seconds']:7.2f} s, peak RSS {r['peak_rss_mib']:.0f} MiB")
    print(f"whole-command ratio: {commands['cleanvision']['seconds'] / commands['pairgen']['seconds']:.2f}x")
    print("pairgen peak RSS by number of images: "
          + ", ".join(f"{r['images']}: {r['peak_rss_mib']:.0f} MiB" for r in scaling + results[:1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
