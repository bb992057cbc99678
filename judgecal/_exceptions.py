"""judgecal's exceptions and warnings.

Every error judgecal raises on purpose derives from :class:`JudgecalError`, so
``except judgecal.JudgecalError`` catches all of them. Subclasses also derive
from the matching built-in so that code written against ``ValueError`` or
``TypeError`` keeps working::

    JudgecalError
    ├── InputError (ValueError)          bad argument value: names the parameter,
    │   │                                 what was expected and what came in
    │   ├── InputTypeError (TypeError)   wrong type of argument
    │   └── RecordError                   a bad row in a record file or frame:
    │                                     row number, field, expected, got
    ├── NotFittedError (ValueError, AttributeError)  an estimator used before ``fit``
    ├── PersistenceError (ValueError)    a saved file that is corrupt, tampered
    │                                     with, or of an unknown schema version
    ├── JudgeError                        a judge wrapper that cannot go on
    └── MissingDependencyError (ImportError)  an optional package is absent

    JudgecalWarning (UserWarning)
    ├── SmallSampleWarning               too few labels for a stage; pooled fit used
    └── ConvergenceWarning               sampler diagnostics are poor
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConvergenceWarning",
    "InputError",
    "InputTypeError",
    "JudgeError",
    "JudgecalError",
    "JudgecalWarning",
    "MissingDependencyError",
    "NotFittedError",
    "PersistenceError",
    "RecordError",
    "SmallSampleWarning",
]


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class JudgecalError(Exception):
    """Base class of every exception judgecal raises on purpose."""


class InputError(JudgecalError, ValueError):
    """An argument has a bad value.

    Parameters
    ----------
    parameter : str
        Name of the offending parameter.
    expected : str
        What was expected, in words.
    got : object
        What came in (shown with ``repr``, shortened).
    where : str, optional
        The function or method that received it.

    Examples
    --------
    >>> err = InputError("method", "one of {'isotonic', 'logistic'}", "platt", where="fit")
    >>> print(err)
    The 'method' parameter of fit must be one of {'isotonic', 'logistic'}. Got 'platt' instead.
    """

    def __init__(self, parameter: str, expected: str, got: Any, *, where: str | None = None):
        self.parameter = parameter
        self.expected = expected
        self.got = got
        self.where = where
        place = f" of {where}" if where else ""
        super().__init__(
            f"The {parameter!r} parameter{place} must be {expected}. Got {_short(got)} instead."
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_input_error,
            (type(self), self.parameter, self.expected, self.got, self.where),
        )


def _rebuild_input_error(
    cls: type[InputError], parameter: str, expected: str, got: Any, where: str | None
) -> InputError:
    return cls(parameter, expected, got, where=where)


class InputTypeError(InputError, TypeError):
    """An argument has the wrong type."""


class RecordError(InputError):
    """A record (row) of input data is invalid.

    Examples
    --------
    >>> print(RecordError(3, "score", "a finite number", "nan"))
    Row 3: field 'score' must be a finite number. Got 'nan' instead.
    """

    def __init__(self, row: int | str, field: str, expected: str, got: Any):
        self.row = row
        self.field = field
        JudgecalError.__init__(
            self, f"Row {row}: field {field!r} must be {expected}. Got {_short(got)} instead."
        )
        self.parameter = field
        self.expected = expected
        self.got = got
        self.where = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.row, self.field, self.expected, self.got))


class NotFittedError(JudgecalError, ValueError, AttributeError):
    """An estimator was used before ``fit`` was called."""


class PersistenceError(JudgecalError, ValueError):
    """A saved object cannot be loaded: corrupt, tampered with, or an unknown schema."""


class JudgeError(JudgecalError):
    """A judge wrapper cannot go on (for example, a judge of an unsupported shape)."""


class MissingDependencyError(JudgecalError, ImportError):
    """An optional dependency is not installed; the message says what to install."""


class JudgecalWarning(UserWarning):
    """Base class of judgecal's warnings."""


class SmallSampleWarning(JudgecalWarning):
    """A stage has too few human labels for its own fit; the pooled fit is used."""


class ConvergenceWarning(JudgecalWarning):
    """Posterior sampling diagnostics (r-hat, ESS, divergences) are poor."""
