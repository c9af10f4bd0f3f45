"""Small constant tensors built once per device (no host-to-device copy per call)."""

from __future__ import annotations

import torch

_CACHE: dict[tuple, torch.Tensor] = {}


def constant(values: tuple, device: torch.device | str, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``torch.tensor(values)`` on ``device``, cached (``values`` is a nested tuple).

    Example:
        >>> constant((1.0, 2.0), "cpu") is constant((1.0, 2.0), "cpu")
        True
    """
    if torch.compiler.is_compiling():
        return torch.tensor(values, dtype=dtype, device=device)
    key = (values, str(device), dtype)
    found = _CACHE.get(key)
    if found is None:
        found = _CACHE[key] = torch.tensor(values, dtype=dtype, device=device)
    return found
