"""Recipes: named, versionable view configurations loaded from YAML.

A recipe is a list of view specs (each drawn ``count`` times per image) and a
normalisation. Built-in recipes are the YAML files in the package's ``recipes``
folder (``recipes/`` at the top of the repository); a recipe also loads from a
path, a dict or a :class:`Recipe`, and round-trips through :meth:`Recipe.to_dict`.

Example:
    >>> recipe = load_recipe("simclr")
    >>> load_recipe(recipe.to_dict()) == recipe
    True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

import pairgen.transforms  # noqa: F401  (registers the invariance ops for recipes)
from pairgen.errors import RecipeError
from pairgen.view import ViewSpec


@dataclass(frozen=True)
class Recipe:
    """A named set of views.

    Attributes:
        name: the recipe's name.
        views: view specs in output order (global views first).
        mean, std: normalisation, or ``None`` for views in ``[0, 1]``.
        description: one line, with the paper.
    """

    name: str
    views: tuple[ViewSpec, ...]
    mean: tuple[float, float, float] | None = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] | None = (0.229, 0.224, 0.225)
    description: str = ""

    def __post_init__(self):
        if not self.views:
            raise RecipeError(f"recipe {self.name!r} has no views")
        if (self.mean is None) != (self.std is None):
            raise RecipeError(f"recipe {self.name!r}: give both mean and std, or neither")
        if self.std is not None and (len(self.std) != 3 or min(self.std) <= 0):
            raise RecipeError(f"recipe {self.name!r}: std must be 3 positive numbers, got {self.std}")
        if self.mean is not None and len(self.mean) != 3:
            raise RecipeError(f"recipe {self.name!r}: mean must be 3 numbers, got {self.mean}")

    @property
    def expanded_views(self) -> list[ViewSpec]:
        """One spec per output view (each spec repeated ``count`` times)."""
        return [spec for spec in self.views for _ in range(spec.count)]

    @property
    def needs_saliency(self) -> bool:
        return any(spec.crop.needs_saliency for spec in self.views)

    def with_size(self, size: int) -> "Recipe":
        """The recipe with its largest (global) views resized to ``size``."""
        largest = max(max(spec.output_size) for spec in self.views)
        views = tuple(dataclasses.replace(v, size=size) if max(v.output_size) == largest else v for v in self.views)
        return dataclasses.replace(self, views=views)

    def to_dict(self) -> dict:
        out = {"name": self.name, "description": self.description, "views": [v.to_dict() for v in self.views]}
        out["normalize"] = None if self.mean is None else {"mean": list(self.mean), "std": list(self.std)}
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "Recipe":
        known = {"name", "description", "views", "normalize"}
        unknown = set(data) - known
        if unknown:
            raise RecipeError(f"recipe has no key(s) {sorted(unknown)}; known: {sorted(known)}")
        if not isinstance(data.get("views"), list):
            raise RecipeError("recipe needs 'views': a list of view settings")
        name = str(data.get("name", "custom"))
        views = []
        for i, view in enumerate(data["views"]):
            try:
                views.append(ViewSpec.from_dict(view))
            except (TypeError, ValueError) as error:
                raise RecipeError(f"recipe {name!r}, view {i}: {error}") from error
        normalize = data.get("normalize", {"mean": list(Recipe.mean), "std": list(Recipe.std)})
        if normalize and not (isinstance(normalize, dict) and {"mean", "std"} <= set(normalize)):
            raise RecipeError(f"recipe {name!r}: normalize must be null or hold 'mean' and 'std', got {normalize!r}")
        mean = tuple(normalize["mean"]) if normalize else None
        std = tuple(normalize["std"]) if normalize else None
        return cls(name=name, views=tuple(views), mean=mean, std=std, description=str(data.get("description", "")))


def _recipe_dirs() -> list[Path]:
    """The built-in recipe folders: inside an installed wheel, or the repository's."""
    installed = Path(str(resources.files("pairgen"))) / "recipes"
    repository = Path(__file__).resolve().parent.parent / "recipes"
    return [d for d in (installed, repository) if d.is_dir()]


def available_recipes() -> dict[str, Path]:
    """Built-in recipe names and their YAML files."""
    found: dict[str, Path] = {}
    for folder in _recipe_dirs():
        for path in sorted(folder.glob("*.yaml")):
            found.setdefault(path.stem, path)
    return found


def load_recipe(recipe: "str | Path | dict | Recipe") -> Recipe:
    """A recipe by built-in name, YAML path, dict or :class:`Recipe`.

    Raises:
        RecipeError: unknown name (listing the available ones), malformed YAML (with
            its file, line and column) or invalid settings.
        FileNotFoundError: a path that does not exist.
    """
    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, dict):
        return Recipe.from_dict(recipe)
    if not isinstance(recipe, (str, Path)):
        raise TypeError(f"recipe must be a name, path, dict or Recipe, got {type(recipe).__name__}")
    builtin = available_recipes()
    if isinstance(recipe, str) and recipe in builtin:
        path = builtin[recipe]
    else:
        path = Path(recipe)
        if path.suffix not in (".yaml", ".yml"):
            raise RecipeError(f"unknown recipe {str(recipe)!r}; available: {', '.join(sorted(builtin))}")
        if not path.is_file():
            raise FileNotFoundError(f"recipe file not found: {path}")
    with open(path, encoding="utf-8") as handle:
        try:
            data = yaml.safe_load(handle)
        except yaml.MarkedYAMLError as error:
            mark, context = error.problem_mark or error.context_mark, error.context_mark
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
            detail = error.problem or error.context
            if error.problem and error.context and context is not None:
                detail += f" ({error.context} started at line {context.line + 1}, column {context.column + 1})"
            raise RecipeError(f"{where}: malformed YAML: {detail}") from error
        except yaml.YAMLError as error:
            raise RecipeError(f"{path}: malformed YAML: {error}") from error
    if not isinstance(data, dict):
        raise RecipeError(f"recipe file {path} must hold a mapping, got {type(data).__name__}")
    data.setdefault("name", path.stem)
    try:
        return Recipe.from_dict(data)
    except (TypeError, ValueError) as error:
        raise RecipeError(f"{path}: {error}") from error
