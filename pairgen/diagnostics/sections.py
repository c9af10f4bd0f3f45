"""The report's sections, in page order: adding a section is its own file and one line here.

Example:
    >>> [s.name for s in SECTIONS][:2]
    ['inventory', 'centricity']
"""

from __future__ import annotations

from . import centricity, hashing, inventory, labels, pair_quality, shortcuts

SECTIONS = (
    inventory.SECTION,
    centricity.SECTION,
    pair_quality.SECTION,
    hashing.SECTION,
    labels.SECTION,
    shortcuts.SECTION,
)


def recommendations(report: dict) -> list[dict]:
    """``[{"topic", "text", "because"}]`` of every section, in page order."""
    return [rec for section in SECTIONS for rec in section.recommend(report[section.name], report)]
