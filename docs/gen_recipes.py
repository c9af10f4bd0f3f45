"""Render the recipe reference page from the built-in recipe YAML files.

The mkdocs hook (``docs/hooks.py``) calls :func:`recipes_page` on every build, so
the page can never fall behind the YAML files. Run by hand to print it::

    python docs/gen_recipes.py
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pairgen.recipe import available_recipes, load_recipe  # noqa: E402


#: Reading order: the baselines first, then the bias-aware recipes (others follow alphabetically).
ORDER = ("simclr", "byol", "multicrop", "cast", "objaware", "ccrop", "simccrop")


def _header_comment(path: Path) -> str:
    """The YAML file's leading ``#`` comment (the paper and its defaults), as one paragraph."""
    lines = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return " ".join(lines)


def _value(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "–".join(_value(v) for v in value)
    return str(value)


def _options(options: dict | None, skip: tuple[str, ...] = ()) -> str:
    if not options:
        return "–"
    return ", ".join(f"{key} {_value(value)}" for key, value in options.items() if key not in skip and value is not None)


def _jitter(jitter: dict | None) -> str:
    return "–" if not jitter else f"p {_value(jitter['p'])}: {_options(jitter, skip=('p', 'type'))}"


def _blur(blur: dict | None) -> str:
    return "–" if not blur else f"p {_value(blur['p'])}, sigma {_value(blur['sigma'])}"


def _view_table(views: list[dict]) -> list[str]:
    """One column per view spec, one row per setting (narrow enough for the page)."""
    heads = [f"{view['count']} view{'s' if view['count'] > 1 else ''}, {view['size']} px" for view in views]
    ops = [{op["type"]: op for op in v.get("ops", [])} for v in views]
    rows = {
        "crop": [f"`{v['crop']['type']}`: {_options(v['crop'], skip=('type',))}" for v in views],
        "flip": [_value(o.get("flip", {}).get("p", 0)) for o in ops],
        "colour jitter": [_jitter(o.get("color_jitter")) for o in ops],
        "grayscale": [_value(o.get("grayscale", {}).get("p", 0)) for o in ops],
        "blur": [_blur(o.get("blur")) for o in ops],
        "solarize": [_value(o.get("solarize", {}).get("p", 0)) for o in ops],
    }
    common = {"flip", "color_jitter", "grayscale", "blur", "solarize"}
    if any(set(o) - common for o in ops):
        rows["other ops"] = [", ".join(name for name in o if name not in common) or "–" for o in ops]
    rows["order"] = [" → ".join(o) or "–" for o in ops]
    lines = ["| | " + " | ".join(heads) + " |", "|---|" + "---|" * len(views)]
    lines += [f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows.items()]
    return lines


def _normalisation(norm: dict | None) -> str:
    return "none (views in [0, 1])" if not norm else f"mean {norm['mean']}, std {norm['std']}"


def recipes_page(gallery: Path | None = REPO / "docs" / "images") -> str:
    """The Markdown of the recipe reference: one section per built-in recipe."""
    out = [
        "# Recipe reference",
        "",
        "Generated from the YAML files in `recipes/` by `docs/gen_recipes.py` on every docs build.",
        "`pairgen recipes` lists them; `pairgen recipes NAME` prints one with every default filled in;",
        '`PairSampler(recipe="NAME")`, a path to your own YAML file or a dict loads one. Probabilities',
        "are per view; ranges are `low–high`; sizes are output pixels (`PairSampler(size=...)` changes",
        "the largest views). See the [gallery](gallery.md) for sampled pairs on photos.",
        "",
    ]
    recipes = available_recipes()
    order = [name for name in ORDER if name in recipes] + sorted(set(recipes) - set(ORDER))
    for name in order:
        path = recipes[name]
        recipe = load_recipe(path).to_dict()
        out += [f"## `{name}`", "", f"**{recipe['description']}**", "", _header_comment(Path(path)), ""]
        out += _view_table(recipe["views"])
        out += ["", f"Normalisation: {_normalisation(recipe.get('normalize'))}."]
        if gallery is not None and (gallery / f"preview_{name}.png").is_file():
            out += ["", f"Sampled pairs: [gallery](gallery.md#{name})."]
        out += ["", f'??? note "recipes/{Path(path).name}"', "", "    ```yaml"]
        out += [f"    {line}".rstrip() for line in Path(path).read_text().splitlines()]
        out += ["    ```", ""]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(recipes_page(), end="")
