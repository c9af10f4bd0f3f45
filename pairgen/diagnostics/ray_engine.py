"""The scan on Ray Data (``pairgen diagnose PATH --engine ray``): one machine or a cluster.

The listing becomes a Ray Dataset of items; :func:`~pairgen.diagnostics.analysis.analyse_batch`
(the function every local worker runs) is mapped over batches of them with
``Dataset.map_batches``; the records stream back in listing order and go through the
same aggregate as a local scan, so the report's figures are the local engine's.

Ray is an optional extra (``pip install "pairgen[ray]"``). Without an ``address`` a
local Ray instance is started (``num_cpus``: the usable CPUs); on a cluster pass its
address (``ray.init(address="auto")`` inside a job, or ``"ray://head:10001"``), and
make sure the data paths are readable from every node (a shared file system).

Example:
    >>> records = ray_scan(open_source("photos/"), ScanSettings(), num_cpus=2)   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator

from .analysis import ScanSettings, analyse_batch
from .inputs import DatasetSource, Item
from .records import ImageRecord
from .scan import BATCH_SIZE

_FIELDS = [f.name for f in dataclasses.fields(Item)]


def ray_scan(source, settings: ScanSettings, shard: tuple[int, int] = (0, 1), limit: int | None = None,
             address: str | None = None, num_cpus: int | None = None,
             batch_size: int = BATCH_SIZE) -> Iterator[ImageRecord]:
    """Records of the source's items (of one shard, at most ``limit``), in listing order, computed by Ray."""
    try:
        import ray
    except ImportError:
        raise ImportError('the Ray engine needs Ray Data: pip install "pairgen[ray]"') from None
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, num_cpus=num_cpus if address is None else None, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    try:
        index, count = shard
        items = (item for item in source.items() if item.ordinal % count == index)
        rows = [_to_row(item) for item in itertools.islice(items, limit)]
        if not rows:
            return
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        dataset = source.dataset if isinstance(source, DatasetSource) else None
        analyse = _Analyse(settings, dataset)
        blocks = max(1, min(len(rows) // batch_size, 4 * int(ray.cluster_resources().get("CPU", 1))))
        scanned = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
            analyse, batch_size=batch_size, batch_format="pyarrow", zero_copy_batch=True)
        for batch in scanned.iter_batches(batch_size=None, batch_format="pyarrow"):
            for text in batch.column("record").to_pylist():
                yield ImageRecord.from_dict(_loads(text))
    finally:
        if started:
            ray.shutdown()


class _Analyse:
    """The per-batch function shipped to Ray tasks: items in, JSON records out."""

    def __init__(self, settings: ScanSettings, dataset):
        self.settings, self.dataset = settings, dataset

    def __call__(self, batch):
        import pyarrow as pa

        from .records import finite_json

        columns = {name: batch.column(name).to_pylist() for name in _FIELDS}
        items = [Item(**dict(zip(_FIELDS, values))) for values in zip(*columns.values())]
        records = analyse_batch(items, self.settings, self.dataset)
        return pa.table({"record": [finite_json(r.to_dict()) for r in records]})


def _to_row(item: Item) -> dict:
    return dataclasses.asdict(item)


def _loads(text: str) -> dict:
    import json

    return json.loads(text)
