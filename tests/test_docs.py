"""The generated documentation pages: the recipe reference and the mkdocs hook's rewriting."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
import yaml

from pairgen.recipe import available_recipes, load_recipe

DOCS = Path(__file__).resolve().parents[1] / "docs"
sys.path.insert(0, str(DOCS))


def test_recipe_reference_documents_every_recipe_from_its_yaml():
    from gen_recipes import recipes_page

    page = recipes_page()
    sections = page.split("\n## ")[1:]
    assert sorted(section.split("`")[1] for section in sections) == sorted(available_recipes())
    for section in sections:
        name = section.split("`")[1]
        path = available_recipes()[name]
        recipe = load_recipe(path)
        assert f"**{recipe.description}**" in section
        for spec in recipe.views:                   # one column per view spec: count and size
            assert f"{spec.count} view{'s' if spec.count > 1 else ''}, {max(spec.output_size)} px" in section
        # The collapsed YAML block is the file itself, and parses back to the same recipe.
        block = section.split("```yaml\n", 1)[1].split("    ```", 1)[0]
        text = "\n".join(line[4:] for line in block.splitlines())
        assert text.strip() == Path(path).read_text().strip()
        assert load_recipe({"name": name, **yaml.safe_load(text)}) == recipe


@pytest.fixture(scope="module")
def hooks():
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip("mkdocs is not installed (pip install '.[docs]')")
    import hooks

    return hooks


def test_relink_points_repository_links_at_the_site(hooks):
    readme = hooks.REPO / "README.md"
    text = (
        "See [the design](docs/architecture.md#rendering), [numbers](benchmarks/RESULTS.md), "
        "[a script](benchmarks/bench_losses.py), [web](https://example.org/x.md) and ![img](docs/images/a.png)."
    )
    assert hooks._relink(text, readme) == (
        "See [the design](architecture.md#rendering), [numbers](performance.md), "
        "a script (`benchmarks/bench_losses.py`), [web](https://example.org/x.md) and ![img](images/a.png)."
    )
    # From benchmarks/: a picture in docs/images keeps working on the performance page.
    results = hooks.REPO / "benchmarks" / "RESULTS.md"
    assert hooks._relink("![report](../docs/images/r.png)", results) == "![report](images/r.png)"


def test_shift_headings_leaves_code_alone(hooks):
    text = "# Title\ntext\n```bash\n# a comment\n```\n## Section"
    assert hooks._shift_headings(text) == "## Title\ntext\n```bash\n# a comment\n```\n### Section"


def test_performance_page_includes_every_results_file(hooks):
    page = hooks.performance_page()
    for results in (hooks.REPO / "benchmarks").glob("RESULTS*.md"):
        assert f"<!-- from benchmarks/{results.name} -->" in page
        title = results.read_text().splitlines()[0]
        assert "#" + title in page


def test_gallery_compression_keeps_the_page_white_and_fits(tmp_path):
    import numpy as np
    from PIL import Image

    from gen_gallery import compress

    rng = np.random.default_rng(0)
    picture = np.full((300, 400, 3), 255, np.uint8)                       # white page
    picture[50:250, 50:350] = rng.integers(0, 256, (200, 300, 3))         # a noisy "photo"
    picture[10:14, 10:200] = 0                                            # black "text"
    source, out = tmp_path / "raw.png", tmp_path / "small.png"
    Image.fromarray(picture).save(source)
    size = compress(source, out, max_kb=60)
    assert size == out.stat().st_size <= 60 * 1024 < source.stat().st_size
    result = np.asarray(Image.open(out).convert("RGB"))
    assert result.shape[0] < 300                                          # noise needed shrinking to fit
    assert (result[0, 0] == 255).all() and (result[-1, -1] == 255).all()  # exact white, not a tinted grey


#: A line ``<!-- snippet: skip (reason) -->`` right before a ```python fence keeps the test from
#: running that block (a GPU, a long run, data the reader brings); the reason shows in the skip.
SKIP = re.compile(r"<!--\s*snippet:\s*skip\s*\(([^)]*)\)\s*-->\s*$")


def snippets(page: Path) -> list[tuple[int, str, str | None]]:
    """The page's Python blocks: (line, code, skip reason or None)."""
    lines = page.read_text().splitlines()
    found, index = [], 0
    while index < len(lines):
        if lines[index].strip() == "```python":
            start = index + 1
            end = next(i for i in range(start, len(lines)) if lines[i].strip() == "```")
            previous = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
            reason = SKIP.search(previous)
            found.append((start + 1, "\n".join(lines[start:end]) + "\n", reason.group(1) if reason else None))
            index = end
        index += 1
    return found


PAGES = sorted(p for p in DOCS.rglob("*.md") if snippets(p))


def test_every_page_with_code_is_tested():
    assert {"index.md", "quickstart.md", "migrating.md"} <= {p.name for p in PAGES}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_snippets_run_as_written(page, tmp_path, monkeypatch):
    # Blocks of one page run in order in one namespace, in an empty folder, as a reader pastes them.
    monkeypatch.chdir(tmp_path)
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    namespace: dict = {"__name__": "__main__"}
    ran, skipped = 0, []
    for line, code, reason in snippets(page):
        if reason is not None:
            skipped.append(f"line {line}: {reason}")
            continue
        exec(compile(code, f"{page.name}:{line}", "exec"), namespace)
        ran += 1
    if ran == 0:
        pytest.skip("; ".join(skipped))
