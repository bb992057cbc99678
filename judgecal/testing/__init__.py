"""Property-based testing for metrics, calibrators and judges.

========================================  =================================================
``judgecal.testing.assertions``           ``assert_*`` to call inside your own tests
``judgecal.testing.batteries``            ``check_metric``, ``check_calibrator``,
                                          ``check_judge``: hypothesis searches each property
``judgecal.testing.report``               what a battery returns, and the error it raises
``judgecal.testing.strategies``           hypothesis strategies (also ``judgecal.strategies``)
``judgecal.testing.simulate``             the known-truth simulator (numpy only)
``judgecal.testing.*_battery``            the properties of each battery, one function each
========================================  =================================================

The assertions, the report and the simulator never import hypothesis; it is
imported when a battery or a strategy is first used.

Examples
--------
>>> from judgecal.testing import assert_probabilities
>>> assert_probabilities([0.1, 0.9])
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from judgecal.testing.assertions import (
    assert_calibrated,
    assert_monotone,
    assert_permutation_invariant,
    assert_probabilities,
    assert_stage_renaming_invariant,
)
from judgecal.testing.report import PropertyReport, PropertyResult, PropertyViolationError

__all__ = [
    "PropertyReport",
    "PropertyResult",
    "PropertyViolationError",
    "assert_calibrated",
    "assert_monotone",
    "assert_permutation_invariant",
    "assert_probabilities",
    "assert_stage_renaming_invariant",
    "check_calibrator",
    "check_judge",
    "check_metric",
]

_BATTERIES = ("check_calibrator", "check_judge", "check_metric")


def __getattr__(name: str) -> Any:
    if name in _BATTERIES:  # batteries need hypothesis: import them on first use
        value = getattr(importlib.import_module("judgecal.testing.batteries"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'judgecal.testing' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from judgecal.testing.batteries import check_calibrator, check_judge, check_metric
