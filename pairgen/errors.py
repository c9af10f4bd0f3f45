"""pairgen's exceptions: one base class, a few kinds, all of them ``ValueError``.

Catch :class:`PairgenError` to handle every mistake pairgen reports about what it was
given; the ``pairgen`` command prints them as one line and exits with status 2.

Example:
    >>> from pairgen import PairSampler
    >>> try:
    ...     PairSampler("simclrr")
    ... except RecipeError as error:
    ...     print(str(error).split(";")[0])
    unknown recipe 'simclrr'
"""

from __future__ import annotations


class PairgenError(ValueError):
    """Base class of pairgen's errors (a ``ValueError``, so ``except ValueError`` still works)."""


class RecipeError(PairgenError):
    """A recipe that does not exist, does not parse, or holds invalid settings."""


class InputError(PairgenError):
    """Dataset items or files pairgen cannot read: bad shapes, dtypes, missing keys."""


class ConfigurationError(PairgenError):
    """Arguments that cannot work together: a bad size or seed, a device that is not available."""
