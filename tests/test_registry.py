"""pairgen.registry.Registry: one typed registry for crops, ops, losses, saliency and recipes."""

from dataclasses import dataclass

import pytest

from pairgen.crops import CropSampler, RandomResizedCrop
from pairgen.recipe import Recipe, load_recipe
from pairgen.registry import CROPS, LOSSES, OPS, RECIPES, SALIENCY, Registry


def test_register_get_list_describe():
    registry = Registry("thing")

    @registry.register
    @dataclass(frozen=True)
    class Widget:
        """A widget for tests.

        More text."""

        name = "widget"
        size: int = 3

    registry.register(len, name="length", aliases=("len",))
    assert registry.get("widget") is Widget and registry.get("len") is len and registry.get("length") is len
    assert registry.list() == ["length", "widget"] and list(registry) == ["length", "widget"]
    assert "len" in registry and "nope" not in registry
    assert registry.describe("widget") == "A widget for tests."
    assert registry.build({"type": "widget", "size": 5}) == Widget(size=5)


def test_duplicates_refused_and_unknown_names_list_the_known_ones():
    registry = Registry("thing", aliases={"b": "a"}, builtins={"a": "builtins:len"})
    with pytest.raises(ValueError, match="thing 'a' is already registered"):
        registry.register(print, name="a")
    with pytest.raises(ValueError, match="thing 'b' is already registered"):
        registry.register(print, name="b")
    with pytest.raises(ValueError, match="unknown thing 'c'; known: a, b"):
        registry.get("c")
    with pytest.raises(ValueError, match="needs a name"):
        registry.register(object())
    assert registry.get("b") is len  # built-ins import lazily, by "module:attribute"


def test_build_errors_name_the_setting():
    with pytest.raises(ValueError, match="crop type 'random_resized' has no setting.*scales"):
        CROPS.build({"type": "random_resized", "scales": [0.1, 1]})
    with pytest.raises(ValueError, match="unknown crop type 'nope'; known: .*random_resized"):
        CROPS.build({"type": "nope"})
    assert CROPS.build({"type": "random_resized", "scale": [0.2, 1.0]}) == RandomResizedCrop(scale=(0.2, 1.0))


def test_builtin_registries_hold_their_kinds():
    assert all(issubclass(CROPS.get(n), CropSampler) and CROPS.get(n).name == n for n in CROPS)
    assert all(OPS.get(n).name == n for n in OPS)
    assert LOSSES.get("nt_xent") is LOSSES.get("info_nce") and "nt_xent" not in LOSSES.list()
    assert set(SALIENCY.list()) == {"boundary_contrast", "spectral_residual"}
    assert {"simclr", "byol", "cast", "multicrop"} <= set(RECIPES.list())
    assert isinstance(RECIPES.get("simclr"), Recipe) and RECIPES.describe("simclr").startswith("SimCLR")


def test_a_registered_recipe_loads_by_name():
    recipe = Recipe.from_dict({**load_recipe("simclr").to_dict(), "name": "my_simclr_for_registry_test"})
    RECIPES.register(recipe)
    assert load_recipe("my_simclr_for_registry_test") is recipe
