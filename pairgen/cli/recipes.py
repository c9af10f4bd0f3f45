"""``pairgen recipes``: list the built-in recipes, or print one as YAML."""

from __future__ import annotations

import yaml

from pairgen.recipe import available_recipes, load_recipe


def register(subparsers) -> None:
    parser = subparsers.add_parser("recipes", help="list the built-in recipes or show one")
    parser.add_argument("name", nargs="?", help="a recipe name or YAML path to print in full")
    parser.set_defaults(func=run)


def run(args) -> int:
    if args.name:
        print(yaml.safe_dump(load_recipe(args.name).to_dict(), sort_keys=False), end="")
        return 0
    for name, path in available_recipes().items():
        recipe = load_recipe(path)
        sizes = "+".join(f"{v.count}x{max(v.output_size)}" for v in recipe.views)
        print(f"{name:<12} {sizes:<18} {recipe.description}")
    return 0
