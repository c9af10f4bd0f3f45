"""One typed registry for everything pairgen builds by name.

A :class:`Registry` maps names to entries of one kind: crop samplers, view ops,
losses, saliency methods, recipes. The built-in entries are listed here by where
they live (``"module:attribute"``) and imported on first use, so no module has to
be imported for its side effect and no two tables name the same things; users add
their own with :meth:`Registry.register`.

Classes registered for recipes (crops, ops) are dataclasses of their settings with
a ``name``; recipes describe an instance as ``{"type": name, **settings}`` (YAML
lists become tuples), see :meth:`Registry.build` and :func:`to_settings`.

Example:
    >>> OPS.get("flip").__name__
    'Flip'
    >>> "cast" in CROPS and "info_nce" in LOSSES.list()
    True
    >>> OPS.get("flipp")
    Traceback (most recent call last):
    ...
    ValueError: unknown op 'flipp'; known: blur, brightness, color_jitter, contrast, flip, grayscale, hue, illumination, normalize, occlusion, saturation, solarize, viewpoint
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def _import(path: str) -> Any:
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


class Registry(Generic[T]):
    """Names -> entries of one kind, with aliases, lazy built-ins and clear errors.

    Args:
        kind: what the entries are (``"crop"``, ``"op"``, ...), used in messages.
        builtins: name -> ``"module:attribute"`` of the built-in entries, or a
            function returning name -> anything that ``resolve`` turns into an entry
            (called once, on first use).
        resolve: turns a built-in's value into the entry (default: import it).
        aliases: other names -> canonical names.
    """

    def __init__(self, kind: str, builtins: Mapping[str, Any] | Callable[[], Mapping[str, Any]] = (),
                 resolve: Callable[[Any], T] = _import, aliases: Mapping[str, str] | None = None):
        self.kind = kind
        self._builtins = builtins
        self._resolve = resolve
        self._entries: dict[str, Any] = {}
        self._loaded: dict[str, T] = {}
        self._aliases = dict(aliases or {})
        self._ready = False

    def _init(self) -> None:
        if not self._ready:
            self._ready = True
            builtins = self._builtins() if callable(self._builtins) else self._builtins
            for name, value in dict(builtins).items():
                self._entries.setdefault(name, value)

    def register(self, entry: T | None = None, *, name: str | None = None, aliases: tuple[str, ...] = ()):
        """Add ``entry`` under ``name`` (default ``entry.name``); usable as a class decorator.

        Raises:
            ValueError: the name (or an alias) is already taken.
        """
        if entry is None:
            return lambda cls: self.register(cls, name=name, aliases=aliases)
        self._init()
        name = name if name is not None else getattr(entry, "name", None)
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.kind} needs a name to be registered, got {name!r}")
        for key in (name, *aliases):
            if key in self._entries or key in self._aliases:
                raise ValueError(f"{self.kind} {key!r} is already registered")
        self._entries[name] = entry
        self._loaded[name] = entry
        self._aliases.update({alias: name for alias in aliases})
        return entry

    def canonical(self, name: str) -> str:
        """The registered name of ``name`` or of its alias."""
        self._init()
        key = self._aliases.get(name, name)
        if key not in self._entries:
            known = ", ".join(sorted([*self._entries, *self._aliases]))
            raise ValueError(f"unknown {self.kind} {name!r}; known: {known}")
        return key

    def get(self, name: str) -> T:
        """The entry of ``name`` (or alias); an unknown name raises a ``ValueError`` listing the known ones."""
        key = self.canonical(name)
        if key not in self._loaded:
            self._loaded[key] = self._resolve(self._entries[key])
        return self._loaded[key]

    def list(self) -> list[str]:
        """The registered names, sorted (aliases left out)."""
        self._init()
        return sorted(self._entries)

    def describe(self, name: str) -> str:
        """The first line of the entry's docstring (a recipe's description)."""
        entry = self.get(name)
        doc = getattr(entry, "description", None) or (entry.__doc__ or "")
        return doc.strip().splitlines()[0] if doc.strip() else ""

    def __contains__(self, name: object) -> bool:
        self._init()
        return name in self._entries or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        return iter(self.list())

    def build(self, spec: Mapping[str, Any]) -> Any:
        """An instance of a registered settings class from ``{"type": name, **settings}``;
        errors name the kind, the type and the unknown settings, and list the valid ones."""
        if not isinstance(spec, Mapping):
            raise ValueError(f"a {self.kind} must be a mapping {{type: name, ...}}, got {spec!r}")
        spec = dict(spec)
        name = spec.pop("type", None)
        if not isinstance(name, str):
            raise ValueError(f"{self.kind} needs a 'type', one of {self.list()}; got {name!r}")
        if name not in self:
            raise ValueError(f"unknown {self.kind} type {name!r}; known: {', '.join(self.list())}")
        cls = self.get(name)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(spec) - known
        if unknown:
            raise ValueError(f"{self.kind} type {name!r} has no setting(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()})


def to_settings(obj: Any) -> dict:
    """``{"type": obj.name, **settings}`` with tuples as lists (YAML-friendly)."""
    fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    return {"type": obj.name, **{k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}}


def _recipe_files() -> dict[str, Path]:
    from pairgen.recipe import available_recipes

    return available_recipes()


def _load_recipe_file(path: Path):
    from pairgen.recipe import load_recipe

    return load_recipe(path)


#: Crop samplers (:class:`pairgen.crops.CropSampler`) by their ``name``.
CROPS: Registry = Registry("crop", {
    "random_resized": "pairgen.crops.random_resized:RandomResizedCrop",
    "center": "pairgen.crops.random_resized:CenterCrop",
    "cast": "pairgen.crops.cast:CASTCrop",
    "ccrop": "pairgen.crops.contrastive_crop:ContrastiveCrop",
    "simccrop": "pairgen.crops.contrastive_crop:SimCCrop",
    "object": "pairgen.crops.object_centric:ObjectCrop",
    "shared_object": "pairgen.crops.shared_object:SharedObjectCrop",
})

#: View ops (:class:`pairgen.ops.view_op.ViewOp`) by their ``name``.
OPS: Registry = Registry("op", {
    "flip": "pairgen.ops.flip:Flip",
    "brightness": "pairgen.ops.color:Brightness",
    "contrast": "pairgen.ops.color:Contrast",
    "saturation": "pairgen.ops.color:Saturation",
    "hue": "pairgen.ops.hue:Hue",
    "color_jitter": "pairgen.ops.color:ColorJitter",
    "grayscale": "pairgen.ops.color:Grayscale",
    "blur": "pairgen.ops.blur:Blur",
    "solarize": "pairgen.ops.solarize:Solarize",
    "normalize": "pairgen.ops.normalize:Normalize",
    "occlusion": "pairgen.transforms.occlusion:Occlusion",
    "viewpoint": "pairgen.transforms.viewpoint:Viewpoint",
    "illumination": "pairgen.transforms.illumination:Illumination",
})

#: Contrastive loss modules (:mod:`pairgen.losses`), with the names papers and libraries use as aliases.
LOSSES: Registry = Registry("loss", {
    "info_nce": "pairgen.losses.info_nce:InfoNCELoss",
    "debiased_info_nce": "pairgen.losses.debiased_info_nce:DebiasedInfoNCELoss",
    "hard_negative_info_nce": "pairgen.losses.hard_negative_info_nce:HardNegativeInfoNCELoss",
    "false_negative_cancellation": "pairgen.losses.false_negative_cancellation:FalseNegativeCancellationLoss",
    "mochi": "pairgen.losses.mochi:MoCHiLoss",
    "supervised_contrastive": "pairgen.losses.supervised_contrastive:SupConLoss",
}, aliases={"nt_xent": "info_nce", "dcl": "debiased_info_nce", "hcl": "hard_negative_info_nce",
            "fnc": "false_negative_cancellation", "supcon": "supervised_contrastive"})

#: Weight-free saliency methods ``fn(images, **options) -> (B, 1, H, W)`` (:mod:`pairgen.saliency`).
SALIENCY: Registry = Registry("saliency method", {
    "boundary_contrast": "pairgen.saliency.boundary_contrast:boundary_contrast",
    "spectral_residual": "pairgen.saliency.spectral_residual:spectral_residual",
})

#: Built-in recipes (:class:`pairgen.recipe.Recipe`), the YAML files of the ``recipes`` folder.
RECIPES: Registry = Registry("recipe", _recipe_files, resolve=_load_recipe_file)
