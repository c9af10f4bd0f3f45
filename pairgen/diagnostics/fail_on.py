"""``--fail-on``: conditions on a report that make ``pairgen diagnose`` exit with status 1.

A condition is a name, optionally with a threshold after a colon:

========================  ====================================================================
``bad[:N]``               more than N unreadable files (default 0)
``exact-duplicates``      any exact-copy group
``near-duplicates``       any near-duplicate group
``scene-centric``         the dataset verdict is scene-centric
``false-negatives[:P]``   P(at least one same-class negative per anchor) above P (default 0.5)
``low-sharing[:R]``       the first recipe's object-sharing rate below R (default 0.5)
========================  ====================================================================

Example:
    >>> failed_conditions(report, ["bad", "false-negatives:0.9"])   # doctest: +SKIP
    ['bad: 3 unreadable files (> 0)']
"""

from __future__ import annotations

#: Condition names and their default thresholds.
CONDITIONS = {"bad": 0.0, "exact-duplicates": None, "near-duplicates": None, "scene-centric": None,
              "false-negatives": 0.5, "low-sharing": 0.5}


def parse_conditions(text: str) -> list[tuple[str, float | None]]:
    """``"bad,false-negatives:0.8"`` -> ``[("bad", 0.0), ("false-negatives", 0.8)]``."""
    parsed = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition(":")
        if name not in CONDITIONS:
            raise ValueError(f"--fail-on condition must be one of {sorted(CONDITIONS)}, got {name!r}")
        if value and CONDITIONS[name] is None:
            raise ValueError(f"--fail-on condition {name!r} takes no threshold, got {part!r}")
        try:
            parsed.append((name, float(value) if value else CONDITIONS[name]))
        except ValueError:
            raise ValueError(f"--fail-on threshold of {name!r} must be a number, got {value!r}") from None
    return parsed


def failed_conditions(report: dict, conditions: list[tuple[str, float | None]]) -> list[str]:
    """The conditions the report meets, each explained in words."""
    failed = []
    for name, threshold in conditions:
        message = _check(report, name, threshold)
        if message:
            failed.append(message)
    return failed


def _check(report: dict, name: str, threshold: float | None) -> str | None:
    inventory, duplicates = report["inventory"], report["duplicates"]
    if name == "bad" and inventory["bad"] > threshold:
        return f"bad: {inventory['bad']} unreadable files (> {threshold:g})"
    if name == "exact-duplicates" and duplicates["exact"]["groups"]:
        return f"exact-duplicates: {duplicates['exact']['groups']} groups"
    if name == "near-duplicates" and duplicates["near"]["groups"]:
        return f"near-duplicates: {duplicates['near']['groups']} groups"
    if name == "scene-centric" and report["centricity"]["verdict"] == "scene-centric":
        return "scene-centric: the dataset verdict is scene-centric"
    if name == "false-negatives":
        labels = report["labels"]
        fn = labels and labels["false_negatives"]
        if fn and fn["p_at_least_one"] > threshold:
            return f"false-negatives: P(at least one) = {fn['p_at_least_one']:.3f} (> {threshold:g})"
    if name == "low-sharing":
        recipe = report["settings"]["recipes"][0]
        rate = report["pair_quality"].get(recipe, {}).get("object_sharing_rate")
        if rate is not None and rate < threshold:
            return f"low-sharing: {recipe} object-sharing rate {rate:.3f} (< {threshold:g})"
    return None
