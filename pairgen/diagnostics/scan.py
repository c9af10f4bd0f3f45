"""The streaming scan: items in, records out, in listing order, in parallel.

Items are analysed in batches by a pool of forked worker processes (``workers``; 0
runs in this process, as on platforms without ``fork``). At most ``2 * workers + 2`` batches are in flight, so memory stays
flat however many images there are, and records come out in the order of the
listing (a merge of shards relies on that). Unchanged files come from the cache.
A batch that takes longer than ``item_timeout`` seconds is retried item by item in
a fresh pool, and an item that still times out is listed as bad: the scan never
hangs on one file. A tqdm progress bar shows the rate and the ETA.

``shard=(i, n)`` scans the items whose ordinal is ``i`` modulo ``n`` (0 <= i < n), so
that a cluster job array can split a dataset with no shared state.

Example:
    >>> source = open_source("photos/")                                   # doctest: +SKIP
    >>> for record in scan(source, ScanSettings(), workers=2):            # doctest: +SKIP
    ...     print(record.key, record.status)
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Iterator

import cv2
import torch
from tqdm import tqdm

from .analysis import ScanSettings, analyse_batch
from .cache import RecordCache
from .inputs import DatasetSource, Item
from .records import ImageRecord

#: Items per task sent to a worker.
BATCH_SIZE = 32
#: Seconds one batch (and, on retry, one item) may take before it is abandoned.
DEFAULT_ITEM_TIMEOUT = 120.0

_worker_settings: ScanSettings | None = None
_worker_dataset = None


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> ``(i, n)`` with 0 <= i < n."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"shard must look like i/n (e.g. 0/4), got {text!r}") from None
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard i/n needs n >= 1 and 0 <= i < n, got {text!r}")
    return index, count


def default_workers() -> int:
    """The CPUs this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def shard_total(total: int, shard: tuple[int, int], limit: int | None = None) -> int:
    """How many of ``total`` items shard ``(i, n)`` scans, at most ``limit``."""
    index, count = shard
    size = max(0, (total - index + count - 1) // count)
    return size if limit is None else min(size, limit)


def scan(source, settings: ScanSettings, workers: int = 0, cache: RecordCache | None = None,
         shard: tuple[int, int] = (0, 1), limit: int | None = None, progress: bool = False,
         item_timeout: float = DEFAULT_ITEM_TIMEOUT) -> Iterator[ImageRecord]:
    """Records of the source's items (of one shard, at most ``limit``), in listing order."""
    if workers < 0:
        raise ValueError(f"workers must be >= 0, got {workers}")
    if "fork" not in multiprocessing.get_all_start_methods():
        workers = 0  # spawned workers would re-run `python -m pairgen`'s unguarded __main__
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    index, count = shard
    items = (item for item in source.items() if item.ordinal % count == index)
    items = itertools.islice(items, limit)
    dataset = source.dataset if isinstance(source, DatasetSource) else None
    bar = tqdm(total=shard_total(len(source), shard, limit) if progress else None, unit="img",
               disable=not progress, mininterval=0.5, smoothing=0.05, desc="pairgen diagnose")
    batches = _batched(items, BATCH_SIZE)
    try:
        if workers == 0:
            for batch in batches:
                cached = _cached(cache, batch, settings)
                fresh = analyse_batch([item for item in batch if item.key not in cached], settings, dataset)
                yield from _emit(batch, cached, fresh, cache, bar)
        else:
            yield from _parallel(batches, settings, dataset, workers, cache, bar, item_timeout)
    finally:
        bar.close()
        if cache is not None:
            cache.commit()


def _parallel(batches, settings, dataset, workers, cache, bar, item_timeout) -> Iterator[ImageRecord]:
    pool = _new_pool(workers, settings, dataset)
    inflight: deque = deque()
    try:
        for batch in batches:
            cached = _cached(cache, batch, settings)
            todo = [item for item in batch if item.key not in cached]
            inflight.append([batch, cached, todo, pool.apply_async(_analyse_batch, (todo,)) if todo else None])
            while len(inflight) > 2 * workers + 2:
                pool = yield from _finish(inflight, pool, workers, settings, dataset, cache, bar, item_timeout)
        while inflight:
            pool = yield from _finish(inflight, pool, workers, settings, dataset, cache, bar, item_timeout)
    finally:
        pool.terminate()
        pool.join()


def _finish(inflight, pool, workers, settings, dataset, cache, bar, item_timeout):
    """Wait for the oldest batch and emit it; on a timeout, replace the pool. Returns the pool."""
    batch, cached, todo, pending = inflight.popleft()
    if pending is None:
        yield from _emit(batch, cached, [], cache, bar)
        return pool
    try:
        fresh = pending.get(timeout=item_timeout)
    except multiprocessing.TimeoutError:
        pool.terminate()
        pool.join()
        fresh = []
        for item in todo:  # one by one in fresh pools, to find the item that hangs
            pool = _new_pool(1, settings, dataset)
            try:
                fresh.extend(pool.apply_async(_analyse_batch, ([item],)).get(timeout=item_timeout))
            except multiprocessing.TimeoutError:
                fresh.append(_timed_out(item, item_timeout))
            finally:
                pool.terminate()
                pool.join()
        pool = _new_pool(workers, settings, dataset)
        for entry in inflight:  # the old pool's pending batches are lost: resubmit
            if entry[3] is not None:
                entry[3] = pool.apply_async(_analyse_batch, (entry[2],))
    yield from _emit(batch, cached, fresh, cache, bar)
    return pool


def _cached(cache: RecordCache | None, batch: list[Item], settings: ScanSettings) -> dict:
    """The batch's cached records, less those on the wrong side of the pair-quality sample."""
    if cache is None:
        return {}
    return {key: record for key, record in cache.get_many(batch).items()
            if record.status != "ok" or bool(record.pairs) == settings.measures_pairs(key)}


def _emit(batch: list[Item], cached: dict, fresh: list[ImageRecord], cache, bar) -> Iterator[ImageRecord]:
    fresh_by_key = {record.key: record for record in fresh}
    for item in batch:
        record = cached.get(item.key)
        if record is None:
            record = fresh_by_key[item.key]
            if cache is not None:
                cache.put(record)
        bar.update(1)
        yield record
    if cache is not None:
        cache.commit()


def _timed_out(item: Item, seconds: float) -> ImageRecord:
    return ImageRecord(key=item.key, ordinal=item.ordinal, label=item.label, status="bad",
                       reason=f"timed out: analysis took longer than {seconds:g} s")


def _new_pool(workers: int, settings: ScanSettings, dataset):
    """A pool of forked workers, forked while OpenCV has no pool threads.

    A child forked while OpenCV's thread pool is running deadlocks in its first
    OpenCV call (``setNumThreads``); shrinking the pool to one thread for the
    moment of the fork avoids that without the start-up cost of spawned workers.
    """
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        return multiprocessing.get_context("fork").Pool(workers, initializer=_init_worker,
                                                        initargs=(settings, dataset))
    finally:
        cv2.setNumThreads(threads)


def _init_worker(settings: ScanSettings, dataset) -> None:
    global _worker_settings, _worker_dataset
    _worker_settings, _worker_dataset = settings, dataset
    cv2.setNumThreads(1)  # one process per core already
    torch.set_num_threads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle


def _analyse_batch(items: list[Item]) -> list[ImageRecord]:
    return analyse_batch(items, _worker_settings, _worker_dataset)


def _batched(items, size: int) -> Iterator[list[Item]]:
    while True:
        batch = list(itertools.islice(items, size))
        if not batch:
            return
        yield batch
