import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from pairgen import PairSampler, Recipe, available_recipes, load_recipe
from pairgen.pair_sampler import PARTNER_RECIPES
from pairgen.positive_sampler import PositivePairSampler

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(available_recipes()))
def test_every_recipe_round_trips_and_samples(name, photos):
    recipe = load_recipe(name)
    assert load_recipe(recipe.to_dict()) == recipe
    assert Recipe.from_dict(yaml.safe_load(yaml.safe_dump(recipe.to_dict()))) == recipe
    assert recipe.description
    items = [photos["astronaut"], photos["camera"]]
    if name in PARTNER_RECIPES:  # views of an item and of its partner image
        sampler, items = PositivePairSampler(recipe, size=64, seed=0), [tuple(items)]
    else:
        sampler = PairSampler(recipe, size=64, seed=0)
    pairs = sampler(sampler.collate(items))
    assert len(pairs.views) == len(recipe.expanded_views) >= 2
    for view in pairs.views:
        assert view.isfinite().all()


def test_papers_defaults():
    simclr, byol, multicrop = (load_recipe(n) for n in ("simclr", "byol", "multicrop"))
    (view,) = simclr.views
    assert view.count == 2 and view.crop.scale == (0.08, 1.0)
    assert (view.color_jitter.brightness, view.color_jitter.hue, view.color_jitter.p) == (0.8, 0.2, 0.8)
    assert view.grayscale == 0.2 and view.blur.p == 0.5 and view.blur.sigma == (0.1, 2.0)
    first, second = byol.views
    assert (first.blur.p, first.solarize, second.blur.p, second.solarize) == (1.0, 0.0, 0.1, 0.2)
    assert [v.count for v in multicrop.views] == [1, 1, 6]
    assert multicrop.views[2].size == 96 and multicrop.views[2].crop.scale == (0.05, 0.4)


def test_loading_by_path_and_dict(tmp_path):
    data = load_recipe("simclr").to_dict()
    data["name"] = "mine"
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(data))
    assert load_recipe(path).name == "mine"
    assert load_recipe(str(path)) == load_recipe(data)


def test_bad_recipes_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="unknown recipe 'simclrr'; available: .*byol.*simclr"):
        load_recipe("simclrr")
    with pytest.raises(FileNotFoundError, match="nothere.yaml"):
        load_recipe(tmp_path / "nothere.yaml")
    data = load_recipe("simclr").to_dict()
    data["views"][0]["colour_jitter"] = data["views"][0].pop("color_jitter")
    with pytest.raises(ValueError, match="view 0.*colour_jitter"):
        load_recipe(data)
    data = load_recipe("simclr").to_dict()
    data["views"][0]["flip"] = 1.5
    with pytest.raises(ValueError, match="flip"):
        load_recipe(data)
    with pytest.raises(ValueError, match="no views"):
        Recipe(name="x", views=())


@pytest.mark.slow
def test_recipes_ship_inside_the_wheel(tmp_path):
    """After a plain (non-editable) install the recipes still load."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(REPO)],
                   check=True, cwd=tmp_path)
    (wheel,) = tmp_path.glob("pairgen-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {f"pairgen/recipes/{n}.yaml" for n in available_recipes()} <= set(names)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)], check=True)
    code = "import pairgen, sys; assert pairgen.__file__.startswith(sys.argv[1]), pairgen.__file__; " \
           "print(sorted(pairgen.available_recipes())); pairgen.load_recipe('byol')"
    out = subprocess.run([sys.executable, "-c", code, str(target)], check=True, capture_output=True, text=True,
                         cwd=tmp_path, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert "simclr" in out.stdout
