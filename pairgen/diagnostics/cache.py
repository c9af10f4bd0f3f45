"""A cache of per-image records keyed by path, size and modification time.

A re-run reads the record of every unchanged file from the cache and scans only
new or changed files (or all, when the scan settings changed). The cache is one
SQLite file (standard library, safe to interrupt; a crashed run keeps what it
committed); records are stored as JSON.

Example:
    >>> cache = RecordCache("report/cache.sqlite", fingerprint="abc")   # doctest: +SKIP
    >>> cache.get_many([item])                                          # doctest: +SKIP
    {}
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable

from .inputs import Item
from .records import ImageRecord, finite_json

_SCHEMA = """CREATE TABLE IF NOT EXISTS records (
    path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, fingerprint TEXT, record TEXT)"""
_LOOKUP_CHUNK = 500  # SQLite's bound-parameter limit is at least 999


class RecordCache:
    """Records of files, valid while the file's size, mtime and the scan settings match.

    Args:
        path: the SQLite file (created with its folder when missing).
        fingerprint: ``ScanSettings.fingerprint()``; records made under another are ignored.
    """

    def __init__(self, path: str | os.PathLike, fingerprint: str):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.path = str(path)
        self.fingerprint = fingerprint
        self._db = sqlite3.connect(self.path)
        self._db.execute(_SCHEMA)
        self._pending: list[tuple] = []
        self.hits = 0
        self.misses = 0

    def get_many(self, items: Iterable[Item]) -> dict[str, ImageRecord]:
        """Cached records of the items whose file is unchanged, by key; the item's ordinal and label win."""
        wanted = {item.key: item for item in items if item.path is not None and item.problem is None
                  and item.skip is None and item.size is not None}
        found: dict[str, ImageRecord] = {}
        keys = list(wanted)
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            chunk = keys[start:start + _LOOKUP_CHUNK]
            rows = self._db.execute(
                f"SELECT path, size, mtime_ns, fingerprint, record FROM records WHERE path IN ({','.join('?' * len(chunk))})",
                chunk)
            for path, size, mtime_ns, fingerprint, text in rows:
                item = wanted[path]
                if size == item.size and mtime_ns == item.mtime_ns and fingerprint == self.fingerprint:
                    record = ImageRecord.from_dict(json.loads(text))
                    record.ordinal, record.label = item.ordinal, item.label
                    found[path] = record
        self.hits += len(found)
        self.misses += len(wanted) - len(found)
        return found

    def put(self, record: ImageRecord) -> None:
        """Queue a record of a file for writing (written by :meth:`commit`)."""
        if record.file_size is None or record.mtime_ns is None:
            return
        self._pending.append((record.key, record.file_size, record.mtime_ns, self.fingerprint,
                              finite_json(record.to_dict())))

    def commit(self) -> None:
        if self._pending:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?)", self._pending)
            self._pending.clear()

    def close(self) -> None:
        self.commit()
        self._db.close()
