"""Where the images come from: an image folder, a CSV/JSON file list, or a Python dataset.

Every source yields :class:`Item` objects in a fixed order, with an ``ordinal`` that
numbers them across the whole listing, so that ``--shard i/n`` scans every n-th item
and a merge puts the shards back in the order a full scan has.

* **Folder**: walked recursively, each directory's entries sorted by name. The first
  sub-folder of a file's path is its label (``root/cat/x.jpg`` -> ``"cat"``); files
  directly under the root have no label. Hidden files and folders (name starting with
  ``.``) are not scanned but counted as skipped. Symbolic links are followed; a link
  that loops, dangles or points at a directory already being walked is listed as bad,
  as are FIFOs, sockets and devices (opening those could block).
* **File list**: a ``.csv`` with a header (path column ``path``/``file``/``filename``/
  ``image``; optional ``label``/``class``/``target`` and ``mask``/``saliency`` columns) or
  a ``.json`` holding a list of paths, a list of objects with those keys, or a
  ``{"images": [...]}`` object. Relative paths are relative to the list file.
* **WebDataset shards**: a ``.tar`` file, or a glob of them (``shards/train-*.tar``): each
  member with an image extension is an item (key ``SHARD.tar/NAME``), its label the
  ``.cls``/``.txt`` member of the same sample (WebDataset's convention: members of one
  sample share the name up to the first dot). Members are read in place (offset and size).
* **Hugging Face datasets**: a ``datasets.Dataset`` with an image column, as a dataset
  (below; ``ClassLabel`` names become the labels), or a folder written by
  ``Dataset.save_to_disk`` (read with ``datasets.load_from_disk``, offline).
* **Dataset**: any object with ``__len__`` and ``__getitem__``; an item is an image, an
  ``(image, label, ...)`` tuple or a dict with ``image``/``img`` and ``label``/``target``
  keys. Images may be PIL images, numpy arrays or tensors (HWC or CHW).

Optional sidecars (the naming rule of ``pairgen.saliency.sidecar``): a saliency map or
object mask ``NAME.saliency.png`` / ``NAME_saliency.png`` (or ``.npy``, ``.tif``) next to
``NAME.jpg``, or ``mask_dir/a/NAME.png`` for ``root/a/NAME.jpg``, is used instead of the
computed saliency; sidecar files themselves are skipped, not scanned as images.

Example:
    >>> source = open_source("photos/")            # doctest: +SKIP
    >>> [item.key for item in source.items()][:2]  # doctest: +SKIP
    ['photos/cat/1.jpg', 'photos/cat/2.jpg']
"""

from __future__ import annotations

import csv
import errno
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from pairgen.saliency.sidecar import is_sidecar_stem, saliency_dir_candidates, sidecar_names

#: File extensions Pillow can decode; a file with another extension that turns out
#: not to be an image is skipped (a README in the folder), not listed as bad.
IMAGE_EXTENSIONS = frozenset(ext.lower() for ext in Image.registered_extensions())

_PATH_COLUMNS = ("path", "file", "filename", "image", "img")
_LABEL_COLUMNS = ("label", "class", "target", "category")
_MASK_COLUMNS = ("mask", "saliency")


@dataclass(frozen=True)
class Item:
    """One entry of a listing, small enough to send to a worker process.

    Attributes:
        key: the path as listed, or ``"#<index>"`` for a dataset item.
        ordinal: position in the full listing.
        path: filesystem path to read, or None for a dataset item.
        index: dataset index, or None for a file.
        label: class name or None.
        size, mtime_ns: from ``stat`` (None for dataset items).
        mask_path: sidecar saliency/mask file, if any.
        offset: where the item's bytes start inside ``path`` (a tar member), else None
            (``size`` is then the member's size).
        problem: why the item is bad, when the listing already knows (symlink loop).
        skip: why the item is not scanned (hidden file).
        strict: True when the item was named as an image (file lists, files with an
            image extension): failing to decode is then bad, not skipped.
    """

    key: str
    ordinal: int
    path: str | None = None
    index: int | None = None
    label: str | None = None
    size: int | None = None
    mtime_ns: int | None = None
    mask_path: str | None = None
    offset: int | None = None
    problem: str | None = None
    skip: str | None = None
    strict: bool = True


class FolderSource:
    """A folder of images, recursive, class sub-folders as labels."""

    def __init__(self, root: str | os.PathLike, mask_dir: str | os.PathLike | None = None):
        self.root = Path(root)
        if not self.root.is_dir():
            raise ValueError(f"path {str(root)!r} is not a directory")
        self.mask_dir = Path(mask_dir) if mask_dir is not None else None
        self.cacheable = True

    def __len__(self) -> int:
        return sum(1 for _ in self._walk(with_stat=False))

    def items(self) -> Iterator[Item]:
        return self._walk(with_stat=True)

    def _walk(self, with_stat: bool) -> Iterator[Item]:
        ordinal = 0
        root_stat = os.stat(self.root)
        # Depth-first with an explicit stack: (directory, its class label, ids of its ancestors).
        stack: list[tuple[str, str | None, frozenset]] = [
            (str(self.root), None, frozenset({(root_stat.st_dev, root_stat.st_ino)}))]
        visited = {(root_stat.st_dev, root_stat.st_ino)}
        while stack:
            directory, label, ancestors = stack.pop()
            try:
                with os.scandir(directory) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as err:
                yield Item(key=directory, ordinal=ordinal, problem=f"cannot list directory: {_os_reason(err)}")
                ordinal += 1
                continue
            subdirs = []
            names = {entry.name for entry in entries}
            for entry in entries:
                item, subdir = self._classify(entry, directory, ordinal, label, ancestors, visited, with_stat, names)
                if subdir is not None:
                    subdirs.append(subdir)
                    continue
                yield item
                ordinal += 1
            stack.extend(reversed(subdirs))

    def _classify(self, entry: os.DirEntry, directory: str, ordinal: int, label: str | None, ancestors: frozenset,
                  visited: set, with_stat: bool, names: set[str]):
        """An Item for a file (or bad entry), or the (path, label, ancestors) of a sub-folder to walk.

        Paths stay strings here: the walk runs in the process that feeds the workers.
        """
        key = entry.name if directory == "." else entry.path  # as str(Path(...)) spells it: no "./"
        if entry.name.startswith("."):
            kind = "folder" if _is_dir(entry) else "file"
            return Item(key=key, ordinal=ordinal, skip=f"hidden {kind}"), None
        stem, suffix = _stem_suffix(entry.name)
        if is_sidecar_stem(stem) and not _is_dir(entry):
            return Item(key=key, ordinal=ordinal, skip="saliency sidecar"), None
        try:
            st = entry.stat() if (with_stat or entry.is_symlink() or entry.is_dir()) else None
        except OSError as err:
            return Item(key=key, ordinal=ordinal, problem=_link_reason(err)), None
        mode = st.st_mode if st is not None else (stat.S_IFREG if entry.is_file(follow_symlinks=False) else 0)
        if stat.S_ISDIR(mode):
            ident = (st.st_dev, st.st_ino)
            if ident in ancestors:
                return Item(key=key, ordinal=ordinal, problem="symlink loop: links to a folder that contains it"), None
            if ident in visited:
                return Item(key=key, ordinal=ordinal, skip="link to a folder already scanned"), None
            visited.add(ident)
            return None, (key, entry.name if label is None else label, ancestors | {ident})
        if not stat.S_ISREG(mode):
            return Item(key=key, ordinal=ordinal, problem=f"not a regular file ({_file_kind(mode)})"), None
        mask = self._sidecar(key, stem, names) if with_stat else None
        return Item(
            key=key, ordinal=ordinal, path=key, label=label,
            size=st.st_size if st is not None else None,
            mtime_ns=st.st_mtime_ns if st is not None else None,
            mask_path=mask, strict=suffix.lower() in IMAGE_EXTENSIONS,
        ), None

    def _sidecar(self, path: str, stem: str, names: set[str]) -> str | None:
        """The image's sidecar map: next to it (looked up in the folder listing), else in ``mask_dir``."""
        for name in sidecar_names(stem):
            if name in names:
                return os.path.join(os.path.dirname(path), name)
        if self.mask_dir is not None:
            for candidate in saliency_dir_candidates(path, self.mask_dir, self.root):
                if candidate.is_file():
                    return str(candidate)
        return None


def _stem_suffix(name: str) -> tuple[str, str]:
    """``(Path(name).stem, Path(name).suffix)`` without building a path (a trailing dot is no suffix)."""
    dot = name.rfind(".")
    return (name[:dot], name[dot:]) if 0 < dot < len(name) - 1 else (name, "")


class FileListSource:
    """Images named in a CSV or JSON file, with optional labels and mask sidecars."""

    def __init__(self, list_file: str | os.PathLike):
        self.list_file = Path(list_file)
        suffix = self.list_file.suffix.lower()
        if suffix not in (".csv", ".json"):
            raise ValueError(f"file list {str(list_file)!r} must end in .csv or .json")
        self.cacheable = True
        self._rows = _read_csv(self.list_file) if suffix == ".csv" else _read_json(self.list_file)

    def __len__(self) -> int:
        return len(self._rows)

    def items(self) -> Iterator[Item]:
        base = self.list_file.parent
        for ordinal, (path, label, mask) in enumerate(self._rows):
            full = Path(path) if os.path.isabs(path) else base / path
            mask_full = None if mask is None else str(Path(mask) if os.path.isabs(mask) else base / mask)
            key = str(full)
            try:
                st = os.stat(full)
            except OSError as err:
                yield Item(key=key, ordinal=ordinal, label=label, problem=_link_reason(err))
                continue
            if not stat.S_ISREG(st.st_mode):
                yield Item(key=key, ordinal=ordinal, label=label, problem=f"not a regular file ({_file_kind(st.st_mode)})")
                continue
            yield Item(key=key, ordinal=ordinal, path=key, label=label, size=st.st_size,
                       mtime_ns=st.st_mtime_ns, mask_path=mask_full)


class TarSource:
    """WebDataset tar shards: image members are items, read in place; ``.cls``/``.txt`` members label them."""

    def __init__(self, shards: list[Path]):
        import tarfile

        self.shards = shards
        self.cacheable = False
        self._rows = []
        for shard in shards:
            try:
                with tarfile.open(shard, "r:") as archive:
                    members = [m for m in archive.getmembers() if m.isfile()]
                    labels = {}
                    for member in members:
                        stem, _, extension = Path(member.name).name.partition(".")
                        if extension in ("cls", "txt", "label"):
                            handle = archive.extractfile(member)
                            labels[(str(Path(member.name).parent), stem)] = handle.read(256).decode().strip() or None
            except (OSError, tarfile.TarError) as err:
                raise ValueError(f"{str(shard)!r} is not a readable tar file: {err}") from None
            for member in members:
                name = Path(member.name)
                if name.suffix.lower() in IMAGE_EXTENSIONS:
                    stem = name.name.partition(".")[0]
                    self._rows.append((shard, member, labels.get((str(name.parent), stem))))

    def __len__(self) -> int:
        return len(self._rows)

    def items(self) -> Iterator[Item]:
        for ordinal, (shard, member, label) in enumerate(self._rows):
            yield Item(key=f"{shard}/{member.name}", ordinal=ordinal, path=str(shard), label=label,
                       size=member.size, offset=member.offset_data)


class DatasetSource:
    """A map-style Python dataset (``__len__`` + ``__getitem__``)."""

    def __init__(self, dataset):
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"dataset must have __len__ and __getitem__, got {type(dataset).__name__}")
        self.dataset = dataset
        self.cacheable = False

    def __len__(self) -> int:
        return len(self.dataset)

    def items(self) -> Iterator[Item]:
        for index in range(len(self.dataset)):
            yield Item(key=f"#{index}", ordinal=index, index=index)


def load_dataset_item(dataset, index: int):
    """``(image, label or None, mask or None)`` from ``dataset[index]``."""
    item = dataset[index]
    label = mask = None
    if isinstance(item, dict):
        image = _first_key(item, ("image", "img", "pixel_values"), index)
        label = next((item[k] for k in _LABEL_COLUMNS + ("y",) if k in item), None)
        mask = next((item[k] for k in _MASK_COLUMNS if k in item), None)
    elif isinstance(item, (tuple, list)):
        image = item[0]
        label = item[1] if len(item) > 1 else None
    else:
        image = item
    return image, _label_name(label, getattr(dataset, "classes", None) or _class_names(dataset)), mask


def _class_names(dataset) -> list[str] | None:
    """The names of a Hugging Face dataset's ``ClassLabel`` column, if it has one."""
    features = getattr(dataset, "features", None)
    if not isinstance(features, dict):
        return None
    return next((f.names for f in features.values() if getattr(f, "names", None)), None)


def open_source(data, mask_dir=None):
    """The source for a folder path, a ``.csv``/``.json`` list path, or a dataset object."""
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if path.is_dir() and (path / "dataset_info.json").is_file() and (path / "state.json").is_file():
            try:
                import datasets
            except ImportError:
                raise ValueError(f"{str(data)!r} is a Hugging Face dataset folder: pip install datasets") from None
            return DatasetSource(datasets.load_from_disk(str(path)))
        if path.is_dir():
            return FolderSource(path, mask_dir=mask_dir)
        if path.suffix.lower() == ".tar" and path.is_file():
            return TarSource([path])
        if any(c in str(data) for c in "*?["):
            import glob

            shards = sorted(Path(p) for p in glob.glob(str(data)))
            if shards and all(p.suffix.lower() == ".tar" for p in shards):
                return TarSource(shards)
            raise ValueError(f"pattern {str(data)!r} matches no .tar shards")
        if path.is_file():
            return FileListSource(path)
        raise ValueError(f"path {str(data)!r} does not exist")
    return DatasetSource(data)


def _first_key(item: dict, keys: tuple, index: int):
    for key in keys:
        if key in item:
            return item[key]
    raise ValueError(f"dataset item {index} is a dict without any of the keys {keys}")


def _label_name(label, classes) -> str | None:
    if label is None:
        return None
    if hasattr(label, "item") and getattr(label, "ndim", 0) == 0:
        label = label.item()
    if isinstance(label, int) and classes is not None and 0 <= label < len(classes):
        return str(classes[label])
    return str(label)


def _read_csv(path: Path) -> list[tuple[str, str | None, str | None]]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        lowered = {c.lower().strip(): c for c in columns}
        path_col = next((lowered[c] for c in _PATH_COLUMNS if c in lowered), None)
        if path_col is None:
            raise ValueError(f"{path}: no path column; expected one of {_PATH_COLUMNS}, found {columns}")
        label_col = next((lowered[c] for c in _LABEL_COLUMNS if c in lowered), None)
        mask_col = next((lowered[c] for c in _MASK_COLUMNS if c in lowered), None)
        return [(row[path_col], row[label_col] or None if label_col else None,
                 row[mask_col] or None if mask_col else None) for row in reader]


def _read_json(path: Path) -> list[tuple[str, str | None, str | None]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        if "images" not in data:
            raise ValueError(f"{path}: a JSON object must have an 'images' list")
        data = data["images"]
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of paths or objects, got {type(data).__name__}")
    rows = []
    for i, entry in enumerate(data):
        if isinstance(entry, str):
            rows.append((entry, None, None))
        elif isinstance(entry, dict):
            image = next((entry[k] for k in _PATH_COLUMNS if k in entry), None)
            if image is None:
                raise ValueError(f"{path}: entry {i} has none of the keys {_PATH_COLUMNS}")
            label = next((entry[k] for k in _LABEL_COLUMNS if k in entry), None)
            mask = next((entry[k] for k in _MASK_COLUMNS if k in entry), None)
            rows.append((str(image), None if label is None else str(label), mask))
        else:
            raise ValueError(f"{path}: entry {i} must be a string or an object, got {type(entry).__name__}")
    return rows


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _link_reason(err: OSError) -> str:
    if err.errno == errno.ELOOP:
        return "symlink loop (too many levels of symbolic links)"
    if err.errno == errno.ENOENT:
        return "file not found (or a dangling symbolic link)"
    return _os_reason(err)


def _os_reason(err: OSError) -> str:
    return f"{err.strerror or type(err).__name__}" + (f" (errno {err.errno})" if err.errno else "")


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device")):
        if test(mode):
            return name
    return "special file"
