"""mkdocs hooks: pages generated from the repository on every build.

* ``recipes.md`` from ``recipes/*.yaml`` (``docs/gen_recipes.py``);
* ``performance.md``: ``docs/performance_intro.md`` followed by every ``benchmarks/RESULTS*.md``;
* a short stub for each guide in :data:`GUIDES` that its own branch has not added yet.

Generated pages never fall behind their sources, and nothing generated is committed. The
home page, ``docs/index.md``, is written for users; the README stays the repository's page.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from mkdocs.structure.files import File

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
sys.path.insert(0, str(DOCS))

from gen_recipes import recipes_page  # noqa: E402

#: Guides written alongside their features; until a page exists, a stub keeps the nav whole.
GUIDES = {
    "diagnostics.md": ("Diagnostics", "pairgen diagnose"),
    "invariance.md": ("Invariance", "pairgen"),
}

_LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")


def _relink(markdown: str, source: Path) -> str:
    """Point a repository file's relative links and images at the site: files under ``docs/``
    keep their path relative to it, benchmark results become the performance page, and links
    to other repository files become code spans."""

    def replace(match: re.Match) -> str:
        bang, text, target = match.groups()
        if re.match(r"^[a-z]+:|^#", target):
            return match.group(0)
        path = (source.parent / target.split("#")[0]).resolve()
        anchor = "#" + target.split("#", 1)[1] if "#" in target else ""
        if path.is_relative_to(DOCS):
            return f"{bang}[{text}]({path.relative_to(DOCS).as_posix()}{anchor})"
        if not bang and path.parent == REPO / "benchmarks" and path.name.startswith("RESULTS"):
            return f"[{text}](performance.md)"
        shown = path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else target
        return f"{text} (`{shown}`)"

    return _LINK.sub(replace, markdown)


def _shift_headings(markdown: str) -> str:
    """One level deeper, outside code fences (an included file's title becomes a section)."""
    out, fenced = [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        out.append("#" + line if not fenced and line.startswith("#") else line)
    return "\n".join(out)


def performance_page() -> str:
    parts = [(DOCS / "performance_intro.md").read_text()]
    # The core benchmark first, the examples' results last.
    order = lambda path: (path.name != "RESULTS.md", path.name == "RESULTS_examples.md", path.name)  # noqa: E731
    for results in sorted((REPO / "benchmarks").glob("RESULTS*.md"), key=order):
        parts.append(f"<!-- from benchmarks/{results.name} -->\n" + _shift_headings(_relink(results.read_text(), results)))
    return "\n\n".join(parts) + "\n"


def on_files(files, config):
    generated = {
        "recipes.md": recipes_page(),
        "performance.md": performance_page(),
    }
    for uri, (title, command) in GUIDES.items():
        if files.get_file_from_path(uri) is None:
            generated[uri] = f"# {title}\n\nThis guide is being written; meanwhile see `{command} --help`.\n"
    for uri, content in generated.items():
        files.append(File.generated(config, uri, content=content))
    return files
