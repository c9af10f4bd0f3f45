"""Name registries for what recipes build from plain data (crop samplers, view ops).

A registered class is a dataclass of its settings with a ``name``; recipes describe
an instance as ``{"type": name, **settings}`` (YAML lists become tuples).
"""

from __future__ import annotations

import dataclasses
from typing import Any


def to_settings(obj: Any) -> dict:
    """``{"type": obj.name, **settings}`` with tuples as lists (YAML-friendly)."""
    fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    return {"type": obj.name, **{k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}}


def from_settings(registry: dict[str, type], spec: dict, kind: str) -> Any:
    """Build ``registry[spec["type"]](**settings)``; errors name the kind, the type and
    the unknown settings, and list the valid ones."""
    spec = dict(spec)
    name = spec.pop("type", None)
    if name not in registry:
        raise ValueError(f"{kind} type must be one of {sorted(registry)}, got {name!r}")
    cls = registry[name]
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"{kind} type {name!r} has no setting(s) {sorted(unknown)}; known: {sorted(known)}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()})
