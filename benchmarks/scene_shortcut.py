"""Do the scene benchmark's encoders learn the background instead of the object?

A check of the hypothesis in ``benchmarks/RESULTS_scene.md``: on the first design of the
cluttered scenes (backgrounds cut from all 30 training photos, ``background_pool=0``) every
scene's background is its own crop of one of the photos and both views of a pair share it,
so contrastive training can match views by background alone. This script trains
the ``simclr`` and ``cast_mask`` arms of ``benchmarks/scene_centric.py`` (its CPU
configuration: 350 steps, one seed) and probes the frozen features of the whole scenes for

* the object's class (fitted on the training scenes, scored on the held-apart test scenes,
  as the benchmark does), and
* the background photo's identity (which training photo the scene's background was cut
  from; fitted on the first 4500 training scenes, scored on the other 1500),

against the untrained encoder. Usage::

    python benchmarks/scene_shortcut.py [--steps 350] [--seed 0] [--out benchmarks/results/scene_shortcut.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scene_centric as bench  # noqa: E402

from pairgen.scenes import background_photos, content_draws  # noqa: E402

ARMS = ("simclr", "cast_mask")
#: The scenes the shortcut was found on: the benchmark's, with backgrounds from the whole pool.
SCENES = dataclasses.replace(bench.SCENES, background_pool=0)
SPLIT = 4500


def background_index(n: int, pool: int, seed: int = 0, stream: int = 0) -> np.ndarray:
    """Which photo of the pool each of the first ``n`` scenes' background was cut from
    (``pairgen.scenes.content_draws``, the draws ``render_scene`` makes)."""
    return np.array([content_draws((seed, stream, i), pool)[2] for i in range(n)], np.int64)


def probes(model, data: dict, photos: np.ndarray) -> dict:
    """Object-class and background-photo probe accuracies of a frozen encoder."""
    train_x, test_x = bench.embed(model, data["probe_train"]), bench.embed(model, data["probe_test"])
    train_y, test_y = torch.from_numpy(data["scenes"].labels), torch.from_numpy(data["test_labels"])
    photo = torch.from_numpy(photos)
    return {
        "object_class": round(bench.linear_probe(train_x, train_y, test_x, test_y), 4),
        "background_photo": round(bench.linear_probe(train_x[:SPLIT], photo[:SPLIT], train_x[SPLIT:], photo[SPLIT:]), 4),
    }


_DATA: dict = {}


def _train(job):
    arm, seed = job
    torch.set_num_threads(1)
    return arm, bench.train_encoder(arm, _DATA["data"], seed, _DATA["config"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=bench.CONFIGS["cpu"]["steps"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "scene_shortcut.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    config = dict(bench.CONFIGS["cpu"], steps=args.steps, fashion_mnist=str(bench.FASHION_MNIST),
                  opencv_photos=str(bench.OPENCV_PHOTOS), scenes=SCENES)
    _DATA.update(data=bench.scene_data(config, control=False, fake=False, builtin=False), config=config)
    data = _DATA["data"]
    photos = background_index(len(data["scenes"]), len(background_photos("train")))
    with multiprocessing.get_context("fork").Pool(2) as pool:
        trained = dict(pool.map(_train, [(arm, args.seed) for arm in ARMS]))
    torch.manual_seed(args.seed)
    rows = {"random_init": probes(bench.SmallResNet(bench.WIDTH, stem_stride=2), data, photos)}
    rows.update({arm: probes(model, data, photos) for arm, model in trained.items()})
    result = {"rows": rows, "settings": {"steps": args.steps, "seed": args.seed, "set": "cluttered",
                                         "background_photos": int(photos.max()) + 1, "commit": bench.git_commit(),
                                         "seconds": round(time.perf_counter() - start, 1)}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    for row, values in rows.items():
        print(f"{row:12s} object class {values['object_class']:.3f}  background photo {values['background_photo']:.3f}")
    print(f"wrote {args.out} ({result['settings']['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
