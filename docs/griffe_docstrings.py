"""Griffe extension for the API pages: read pairgen's docstrings as they are written.

* pairgen's Google-style docstrings title their doctest section ``Example:``; griffe
  only parses ``Examples:`` as code (anything else becomes an admonition whose
  ``>>>`` lines render as quotes), so the section is renamed before parsing;
* Sphinx roles (``:class:`~pairgen.params.ViewParams```) would show literally; they
  become code spans (``ViewParams``: with ``~`` the last dotted name, as Sphinx shows it).
"""

from __future__ import annotations

import re

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:[ \t]*$", flags=re.MULTILINE)
_ROLE = re.compile(r":(?:class|meth|func|mod|data|attr|obj|exc):`(~?)([^`]+)`")


def _code_span(match: re.Match) -> str:
    short, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


class ReadableDocstrings(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(_code_span, _EXAMPLE.sub(r"\1Examples:", obj.docstring.value))
