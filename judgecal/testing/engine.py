"""How a battery searches one property with hypothesis and turns the outcome into a result.

Every battery (:func:`~judgecal.testing.check_metric`,
:func:`~judgecal.testing.check_calibrator`, :func:`~judgecal.testing.check_judge`)
builds, per property, a strategy of examples (dictionaries) and a check that
raises on a bad example; :func:`run_property` searches for an example that
breaks the check and keeps the shrunk one. Keys of an example that start with
``_`` are bookkeeping and left out of the report.

Examples
--------
>>> from hypothesis import strategies as st
>>> def positive(example):
...     assert example["x"] > 0, "not positive"
>>> run_property("positive", st.fixed_dictionaries({"x": st.integers()}), positive,
...              RunSettings(max_examples=20))
PropertyResult(name='positive', status='failed', message='not positive', example={'x': 0})
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis.strategies import SearchStrategy

from judgecal.testing.report import PropertyResult, invalid_argument

__all__ = ["Check", "Example", "RunSettings", "run_property"]

Example = dict[str, Any]
"""One drawn example: named inputs of a property (keys starting with ``_`` are hidden)."""
Check = Callable[[Example], None]
"""A property's check: raises (an ``AssertionError`` or anything) on a bad example."""


@dataclass(frozen=True)
class RunSettings:
    """How hard hypothesis searches each property.

    Examples
    --------
    >>> RunSettings(max_examples=0)
    Traceback (most recent call last):
    ...
    hypothesis.errors.InvalidArgument: max_examples=0 must be an integer >= 1
    """

    max_examples: int = 100
    """Examples drawn per property."""
    derandomize: bool = True
    """Draw the same examples every run (a reproducible report)."""
    shrink: bool = True
    """Shrink a failing example (off where every step is costly and rarely clearer)."""

    def __post_init__(self) -> None:
        n = self.max_examples
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise invalid_argument(f"max_examples={n!r} must be an integer >= 1")
        if not isinstance(self.derandomize, bool):
            raise invalid_argument(f"derandomize={self.derandomize!r} must be a bool")


def run_property(
    name: str, strategy: SearchStrategy[Example], check: Check, run: RunSettings
) -> PropertyResult:
    """Search for an example that breaks ``check``; report the shrunk one."""
    last: dict[str, Any] = {}
    skipped = (Phase.shrink, Phase.explain)
    phases = list(Phase) if run.shrink else [p for p in Phase if p not in skipped]

    @settings(
        phases=phases,
        max_examples=run.max_examples,
        deadline=None,
        database=None,
        derandomize=run.derandomize,
        verbosity=Verbosity.quiet,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(strategy)
    def prop(example: Example) -> None:
        try:
            check(example)
        except BaseException as exc:
            last["example"], last["error"] = example, exc
            raise

    try:
        prop()
    except Exception as exc:
        err = last.get("error", exc)
        msg = str(err) if isinstance(err, AssertionError) else f"raised {type(err).__name__}: {err}"
        return PropertyResult(name, "failed", msg, _public(last.get("example")))
    return PropertyResult(name, "passed")


def _public(example: Example | None) -> Example | None:
    if example is None:
        return None
    return {k: v for k, v in example.items() if not k.startswith("_")}
