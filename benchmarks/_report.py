"""The one JSON line every benchmark prints, with the same keys everywhere: `benchmark`, its figures, `targets`,
`ceilings`, `within_target`, `within_ceiling` (or `benchmark` and `skipped`), and the exit code that goes with it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def _within(figures: Mapping[str, Any], limits: Mapping[str, float], checks: Mapping[str, bool]) -> bool:
    # A figure that could not be measured here (None, e.g. RSS without /proc) does not fail the run.
    return all(figures[k] is None or figures[k] <= v for k, v in limits.items()) and all(checks.values())


def report(
    name: str,
    figures: Mapping[str, Any],
    *,
    targets: Mapping[str, float],
    ceilings: Mapping[str, float],
    checks: Mapping[str, bool] | None = None,
) -> int:
    """Print the result line and return the exit code: 1 past a ceiling (a regression), else 0.

    `targets` and `ceilings` map figure names to the largest acceptable value: a target is the goal, a ceiling is
    generous (shared 2-core machines) and fails the run. `checks` are yes/no figures that must hold for both.
    """
    missing = sorted((set(targets) | set(ceilings)) - set(figures))
    if missing:
        raise KeyError(f"{name}: limits for figures it did not measure: {missing}")
    checks = dict(checks or {})
    line = {
        "benchmark": name,
        **figures,
        **checks,
        "targets": dict(targets),
        "ceilings": dict(ceilings),
        "within_target": _within(figures, targets, checks),
        "within_ceiling": _within(figures, ceilings, checks),
    }
    print(json.dumps(line), flush=True)
    return 0 if line["within_ceiling"] else 1


def skipped(name: str, reason: str) -> int:
    """The line of a benchmark that cannot run on this machine (e.g. no private PulseAudio); not a failure."""
    print(json.dumps({"benchmark": name, "skipped": reason}), flush=True)
    return 0
