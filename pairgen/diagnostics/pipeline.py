"""``diagnose`` and ``merge``: scan, aggregate, recommend, write the report.

Example:
    >>> report = diagnose("photos/", out="report/", workers=2)          # doctest: +SKIP
    >>> report["centricity"]["verdict"]                                  # doctest: +SKIP
    'object-centric'
    >>> diagnose("photos/", out="s0", shard="0/2"); diagnose("photos/", out="s1", shard="1/2")  # doctest: +SKIP
    >>> merge(["s0", "s1"], out="report/")                               # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import heapq
import itertools
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

from .. import __version__
from .aggregate import Aggregate
from .analysis import ScanSettings
from .cache import RecordCache
from .centricity import agreement, read_centricity_labels
from .decode import DEFAULT_MAX_PIXELS, decode_object
from .hashing import NEAR_DUPLICATE_DISTANCE
from .inputs import DatasetSource, load_dataset_item, open_source
from .pair_quality import DEFAULT_PAIR_SAMPLE, pair_sample_keys, resolve_recipes
from .records import ImageRecord, finite_json
from .report import SCHEMA_VERSION, write_report
from .scan import DEFAULT_ITEM_TIMEOUT, default_workers, parse_shard, scan
from .sections import recommendations

RECORDS_FILE = "records.jsonl"
CACHE_FILE = "cache.sqlite"


def diagnose(data, out: str | os.PathLike = "report", recipe="simclr", batch_size: int = 256,
             workers: int | None = None, limit: int | None = None, shard: str | tuple[int, int] | None = None,
             cache: bool | str | os.PathLike = True, progress: bool = False, backbone: str | None = None,
             centricity_labels: str | os.PathLike | None = None, mask_dir: str | os.PathLike | None = None, pairs_per_image: int = 16, seed: int = 0,
             max_pixels: int = DEFAULT_MAX_PIXELS, near_duplicate_distance: int = NEAR_DUPLICATE_DISTANCE,
             item_timeout: float = DEFAULT_ITEM_TIMEOUT, html: bool = True, engine: str = "local",
             ray_address: str | None = None, pair_sample: int | None = DEFAULT_PAIR_SAMPLE) -> dict:
    """Diagnose a dataset for contrastive learning; write the report into ``out``.

    Args:
        data: an image folder, a ``.csv``/``.json`` file list, or a map-style dataset.
        out: output folder for ``report.json``, ``report.html``, ``records.jsonl`` and the cache.
        recipe: recipe whose pairs are measured (next to ``simclr``): a built-in name or a YAML path.
        batch_size: batch size for the false-negative estimates.
        workers: decoding processes (default: the usable CPUs; 0 = in this process).
        limit: scan at most this many items (of this shard).
        shard: ``"i/n"`` or ``(i, n)``: scan only items ``i`` modulo ``n``; see :func:`merge`.
        cache: True for ``out/cache.sqlite``, a path, or False for none (datasets never cache).
        progress: show a progress bar with ETA on stderr.
        backbone: add a pretrained backbone's cue to the centricity verdicts (a name of
            ``backbone.BACKBONES``; needs its weights package); default: weight-free.
        centricity_labels: a CSV of known object-/scene-centric labels (see
            ``centricity.read_centricity_labels``): the report gives the verdicts' balanced accuracy.
        mask_dir: folder of sidecar masks mirroring an image folder (``a/b.jpg`` -> ``a/b.png``).
        pairs_per_image: Monte-Carlo pairs per image and recipe.
        seed: base seed of the Monte-Carlo pairs.
        max_pixels: decompression-bomb limit.
        near_duplicate_distance: Hamming radius of near duplicates (bits of 64).
        item_timeout: seconds a batch (then an item) may take before it is listed as timed out.
        html: also write ``report.html`` (the JSON is always written).
        engine: ``"local"`` (forked worker processes) or ``"ray"`` (Ray Data, see ``ray_engine``;
            the same per-image function and merge, so the same figures; no cache).
        ray_address: the Ray cluster to use (default: start a local instance with ``workers`` CPUs).
        pair_sample: measure pair quality on a seeded sample of at most this many images
            (None: every image); the sample is drawn from the whole source (every shard), or
            from the items scanned when ``limit`` is given.

    Returns:
        The report as a dict (the content of ``report.json``).
    """
    if engine not in ("local", "ray"):
        raise ValueError(f"engine must be 'local' or 'ray', got {engine!r}")
    _check_int("batch_size", batch_size, 2)
    _check_int("pairs_per_image", pairs_per_image, 1)
    _check_int("seed", seed, 0)
    _check_int("max_pixels", max_pixels, 1)
    _check_int("near_duplicate_distance", near_duplicate_distance, 0)
    if workers is not None:
        _check_int("workers", workers, 0)
    if limit is not None:
        _check_int("limit", limit, 0)
    if pair_sample is not None:
        _check_int("pair_sample", pair_sample, 1)
    if not item_timeout > 0:
        raise ValueError(f"item_timeout must be > 0 seconds, got {item_timeout}")
    shard = parse_shard(shard) if isinstance(shard, str) else (shard or (0, 1))
    workers = default_workers() if workers is None else workers
    source = open_source(data, mask_dir=mask_dir)
    if next(iter(source.items()), None) is None:  # the first entry is enough: no second walk of the tree
        raise ValueError(f"no images found in {str(data)!r}")
    labels = read_centricity_labels(centricity_labels) if centricity_labels is not None else None
    cue = None
    if backbone is not None:
        from .backbone import BackboneCue

        cue = BackboneCue(backbone)
    settings = ScanSettings(samplers=resolve_recipes(recipe), backbone=cue, pairs_per_image=pairs_per_image,
                            seed=seed, max_pixels=max_pixels, pair_sample=pair_sample,
                            pair_keys=pair_sample_keys(_population(source, shard, limit), pair_sample, seed))
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    record_cache = None
    if cache and source.cacheable and engine == "local":
        record_cache = RecordCache(folder / CACHE_FILE if cache is True else cache, settings.fingerprint())
    report_settings = _settings(settings, batch_size, near_duplicate_distance, f"{shard[0]}/{shard[1]}", limit)
    aggregate = Aggregate(report_settings)
    start = time.perf_counter()
    if engine == "ray":
        from .ray_engine import ray_scan

        records = ray_scan(source, settings, shard=shard, limit=limit, address=ray_address,
                           num_cpus=max(1, workers))
    else:
        records = scan(source, settings, workers=workers, cache=record_cache, shard=shard, limit=limit,
                       progress=progress, item_timeout=item_timeout)
    try:
        items = _stream_to_file(records, folder / RECORDS_FILE, aggregate)
    finally:
        if record_cache is not None:
            record_cache.close()
    seconds = time.perf_counter() - start
    meta = {
        "source": str(data) if isinstance(data, (str, os.PathLike)) else f"{type(data).__name__} (Python dataset)",
        "settings": report_settings,
        "timing": {"seconds": seconds, "items": items, "items_per_second": items / seconds if seconds > 0 else 0.0,
                   "cache_hits": record_cache.hits if record_cache else 0, "workers": workers, "engine": engine},
    }
    if labels is not None:
        meta["centricity_agreement"] = agreement(_read_records(folder / RECORDS_FILE), labels)
    return _finish(aggregate, meta, folder, html, preview=_previewer(source))


def merge(shard_dirs: list[str | os.PathLike], out: str | os.PathLike = "report",
          batch_size: int | None = None, html: bool = True,
          centricity_labels: str | os.PathLike | None = None) -> dict:
    """Merge the outputs of ``diagnose(..., shard="i/n")`` for all ``i`` into one report.

    The merged report equals the report of one full scan (timing aside): records are
    merged back into listing order by their ordinal.

    Args:
        shard_dirs: the shards' output folders, in any order.
        out: output folder of the merged report.
        batch_size: batch size of the false-negative estimates (default: the shards').
        html: also write ``report.html``.
        centricity_labels: as in :func:`diagnose`.
    """
    if not shard_dirs:
        raise ValueError("merge needs at least one shard folder")
    metas = []
    for folder in shard_dirs:
        path = Path(folder) / "report.json"
        if not path.is_file() or not (Path(folder) / RECORDS_FILE).is_file():
            raise ValueError(f"{str(folder)!r} is not a diagnose output folder (needs report.json and {RECORDS_FILE})")
        metas.append(json.loads(path.read_text(encoding="utf-8")))
    first = metas[0]["settings"]
    count = parse_shard(first["shard"])[1]
    indices = sorted(parse_shard(m["settings"]["shard"])[0] for m in metas)
    if indices != list(range(count)):
        raise ValueError(f"shards must be 0..{count - 1} of {count}, exactly once each; got {indices}")
    for folder, meta in zip(shard_dirs, metas):
        if meta["settings"]["fingerprint"] != first["fingerprint"] or meta["source"] != metas[0]["source"]:
            raise ValueError(f"shard {str(folder)!r} was scanned from another source or with other settings")
    if batch_size is not None:
        _check_int("batch_size", batch_size, 2)
    settings = first | {"batch_size": batch_size or first["batch_size"], "shard": None, "merged_shards": count}
    aggregate = Aggregate(settings)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    streams = [_read_records(Path(d) / RECORDS_FILE) for d in shard_dirs]
    items = _stream_to_file(heapq.merge(*streams, key=lambda r: r.ordinal), folder / RECORDS_FILE, aggregate)
    seconds = time.perf_counter() - start
    shard_seconds = sum(m["timing"]["seconds"] for m in metas)
    labels = read_centricity_labels(centricity_labels) if centricity_labels is not None else None
    meta = {
        "source": metas[0]["source"],
        "settings": settings,
        "timing": {"seconds": seconds, "items": items, "items_per_second": items / shard_seconds if shard_seconds else 0.0,
                   "cache_hits": sum(m["timing"]["cache_hits"] for m in metas), "shard_seconds": shard_seconds},
    }
    if labels is not None:
        meta["centricity_agreement"] = agreement(_read_records(folder / RECORDS_FILE), labels)
    return _finish(aggregate, meta, folder, html)


def _finish(aggregate: Aggregate, meta: dict, folder: Path, html: bool, preview=None) -> dict:
    settings = meta["settings"]
    report = {
        "schema_version": SCHEMA_VERSION,
        "generator": f"pairgen {__version__}",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "source": meta["source"],
        "settings": settings,
    }
    report.update(aggregate.sections())
    if "centricity_agreement" in meta:
        report["centricity"]["agreement"] = meta["centricity_agreement"]
    report["recommendations"] = recommendations(report)
    report["timing"] = meta["timing"]
    aggregate.export(folder)
    write_report(report, folder, with_html=html, preview=preview)
    return report


def _previewer(source):
    """Thumbnails of a dataset's items by key (``"#<index>"``); files are read by the report itself."""
    if not isinstance(source, DatasetSource):
        return None

    def preview(key: str):
        image = load_dataset_item(source.dataset, int(key[1:]))[0]
        return decode_object(image).rgb

    return preview


def _settings(settings: ScanSettings, batch_size: int, distance: int, shard: str, limit: int | None) -> dict:
    return {
        "recipes": [name for name, _ in settings.samplers],
        "batch_size": batch_size,
        "pairs_per_image": settings.pairs_per_image,
        "seed": settings.seed,
        "centricity_cues": "saliency" if settings.backbone is None else f"saliency + {settings.backbone.name}",
        "analysis_side": settings.side,
        "max_pixels": settings.max_pixels,
        "near_duplicate_distance": distance,
        "shard": shard,
        "limit": limit,
        "pair_sample": settings.pair_sample,
        "pair_sample_images": None if settings.pair_keys is None else len(settings.pair_keys),
        "fingerprint": settings.fingerprint(),
    }


def _population(source, shard: tuple[int, int], limit: int | None) -> Iterator[str]:
    """Keys the pair-quality sample is drawn from: every readable-looking item, or this scan's when limited."""
    items = source.items()
    if limit is not None:
        items = itertools.islice((item for item in items if item.ordinal % shard[1] == shard[0]), limit)
    return (item.key for item in items if item.skip is None and item.problem is None)


def _check_int(name: str, value, lowest: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
        raise ValueError(f"{name} must be an integer >= {lowest}, got {value!r}")


def _stream_to_file(records, path: Path, aggregate: Aggregate) -> int:
    """Feed records to the aggregate and write them as JSON lines; returns the count."""
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            aggregate.add(record)
            handle.write(finite_json(record.to_dict()))
            handle.write("\n")
            count += 1
    return count


def _read_records(path: Path) -> Iterator[ImageRecord]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield ImageRecord.from_dict(json.loads(line))
