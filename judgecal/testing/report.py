"""What a property battery returns: one result per property, and the error a broken one raises.

Examples
--------
>>> from judgecal.testing.report import PropertyReport, PropertyResult
>>> report = PropertyReport("metric f", (PropertyResult("range", "passed"),))
>>> report.ok, report.passed
(True, ['range'])
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn

import numpy as np

__all__ = [
    "PropertyReport",
    "PropertyResult",
    "PropertyViolationError",
    "fail",
    "invalid_argument",
    "show_value",
]

PropertyStatus = Literal["passed", "failed", "skipped"]
_STATUS_ORDER: tuple[PropertyStatus, ...] = ("passed", "failed", "skipped")


class PropertyViolationError(AssertionError):
    """A property that should hold does not; the message names it and shows the example."""


PropertyViolationError.__module__ = "judgecal.testing"


def fail(message: str) -> NoReturn:
    """Raise :class:`PropertyViolationError` with ``message``."""
    raise PropertyViolationError(message)


def invalid_argument(message: str) -> Exception:
    """hypothesis's ``InvalidArgument`` (imported only when an argument is bad).

    The testing helpers follow hypothesis's API style, where a bad argument or
    combination of arguments raises ``hypothesis.errors.InvalidArgument``.
    """
    from hypothesis.errors import InvalidArgument

    return InvalidArgument(message)


def show_value(value: Any, limit: int = 400) -> str:
    """A short text for a value in a message (arrays as lists, cut at ``limit`` characters).

    Examples
    --------
    >>> import numpy as np
    >>> show_value({"labels": np.array([0, 1])})
    '{labels=[0, 1]}'
    """
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, Mapping):
        text = "{" + ", ".join(f"{k}={show_value(v, limit)}" for k, v in value.items()) + "}"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class PropertyResult:
    """The outcome of one property of a battery."""

    name: str
    """Property name, e.g. ``"permutation"``."""
    status: PropertyStatus
    """What happened."""
    message: str = ""
    """Why it failed (the assertion or exception message) or why it was skipped."""
    example: Mapping[str, Any] | None = None
    """The shrunk counterexample hypothesis found (failed properties only)."""

    def __str__(self) -> str:
        head = f"{self.name}: {self.status}"
        if self.status == "passed":
            return head
        lines = [head]
        if self.message:
            lines.append(textwrap.indent(self.message, "    "))
        if self.example is not None:
            lines.append(f"    example: {show_value(self.example)}")
        return "\n".join(lines)


@dataclass(frozen=True)
class PropertyReport:
    """The results of a property battery (``check_metric``, ``check_calibrator``, ``check_judge``).

    Examples
    --------
    >>> failed = PropertyResult("symmetry", "failed", "f(a, b) != f(b, a)", {"a": [0, 1]})
    >>> r = PropertyReport("f", (PropertyResult("range", "passed"), failed))
    >>> r.ok, r.failed
    (False, ['symmetry'])
    >>> print(r)
    Properties of f: 1 passed, 1 failed, 0 skipped
    range: passed
    symmetry: failed
        f(a, b) != f(b, a)
        example: {a=[0, 1]}
    """

    subject: str
    """What was tested."""
    results: tuple[PropertyResult, ...] = field(default_factory=tuple)
    """One result per property, in the order they ran."""

    @property
    def ok(self) -> bool:
        """True when no property failed."""
        return not self.failed

    @property
    def failed(self) -> list[str]:
        """Names of the properties that failed."""
        return [r.name for r in self.results if r.status == "failed"]

    @property
    def passed(self) -> list[str]:
        """Names of the properties that held."""
        return [r.name for r in self.results if r.status == "passed"]

    def __getitem__(self, name: str) -> PropertyResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(name)

    def __str__(self) -> str:
        counts = [f"{sum(r.status == s for r in self.results)} {s}" for s in _STATUS_ORDER]
        head = f"Properties of {self.subject}: {', '.join(counts)}"
        return "\n".join([head, *(str(r) for r in self.results)])

    def raise_if_failed(self) -> PropertyReport:
        """Raise :class:`PropertyViolationError` with the whole report when a property failed."""
        if not self.ok:
            raise PropertyViolationError(str(self))
        return self
