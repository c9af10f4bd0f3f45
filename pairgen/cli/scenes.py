"""``pairgen scenes``: write scene-centric (or control) scenes with true masks and boxes as an image folder."""

from __future__ import annotations

from pairgen.datasets import FASHION_MNIST
from pairgen.scenes import (
    DISTRACTOR_STYLES,
    SceneSettings,
    make_scenes,
    write_scene_folder,
)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "scenes",
        help="write cluttered scenes (or the centred control) with true masks and boxes",
        description="Write scenes of one Fashion-MNIST object among distractors on real photos (pairgen.scenes) as "
        "OUT/CLASS/NNNNNN.png with the object mask as the saliency sidecar NNNNNN.saliency.png and its box as "
        "NNNNNN.boxes.json, and OUT/scenes.json with the settings, split, seed, control and count. Deterministic from --seed.",
    )
    parser.add_argument("out", metavar="OUT", help="output folder")
    parser.add_argument("--control", action="store_true", help="the control: the same objects centred and large, no distractors")
    parser.add_argument("--split", choices=("train", "test"), default="train",
                        help="Fashion-MNIST split and background pool (default: train)")
    parser.add_argument("--n", type=int, default=6000, help="number of scenes (default: 6000)")
    parser.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    parser.add_argument("--size", type=int, default=SceneSettings.size, help=f"image side (default: {SceneSettings.size})")
    parser.add_argument("--background-pool", type=int, default=SceneSettings.background_pool,
                        help="photos the backgrounds are cut from, the split's first ones by name; 0: all "
                        f"(default: {SceneSettings.background_pool})")
    parser.add_argument("--distractors", type=int, default=SceneSettings.distractors,
                        help=f"distractors per cluttered scene (default: {SceneSettings.distractors})")
    parser.add_argument("--distractor-fraction", type=float, nargs=2, metavar=("LOW", "HIGH"),
                        default=SceneSettings.distractor_fraction,
                        help="range of a distractor's diameter as a fraction of the side (default: %(default)s)")
    parser.add_argument("--distractor-style", choices=DISTRACTOR_STYLES, default=SceneSettings.distractor_style,
                        help="objects: each its own bright tint, off the object's square (several salient objects); "
                        "texture: photo-textured, anywhere (with --distractors 3 --distractor-fraction 0.2 0.35: the "
                        "scene benchmark's earlier scenes, one main salient object) "
                        f"(default: {SceneSettings.distractor_style})")
    parser.add_argument("--fashion-mnist", default=str(FASHION_MNIST), help="folder with the Fashion-MNIST idx files (default: %(default)s, Debian's dataset-fashion-mnist)")
    parser.set_defaults(func=run)


def run(args) -> int:
    if args.n < 1:
        raise SystemExit("pairgen scenes: --n must be >= 1")
    if args.seed < 0:
        raise SystemExit("pairgen scenes: --seed must be >= 0")
    try:
        settings = SceneSettings(size=args.size, background_pool=args.background_pool, distractors=args.distractors,
                                 distractor_fraction=tuple(args.distractor_fraction),
                                 distractor_style=args.distractor_style)
        scenes = make_scenes(args.split, args.n, seed=args.seed, control=args.control, settings=settings,
                             fashion_root=args.fashion_mnist)
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"pairgen scenes: {error}") from error
    out = write_scene_folder(args.out, scenes, settings, made={"split": args.split, "seed": args.seed, "control": args.control})
    kind = "control" if args.control else "cluttered"
    print(f"wrote {len(scenes)} {kind} {args.split} scenes ({args.size} px) to {out}")
    return 0
