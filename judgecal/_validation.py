"""Input checks shared by every public function.

Each check turns user input into a clean numpy array or raises an
:class:`~judgecal.InputError` naming the parameter, what was expected and what
came in. Nothing here coerces silently: NaN, inf, wrong shapes and wrong types
are errors.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from judgecal._exceptions import InputError, InputTypeError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
StrArray = NDArray[np.str_]


def as_float_1d(
    value: Any,
    name: str,
    *,
    where: str | None = None,
    allow_2d_single_column: bool = True,
    allow_empty: bool = False,
    finite: bool = True,
) -> FloatArray:
    """Return ``value`` as a 1-D float64 array or raise ``InputError``.

    Examples
    --------
    >>> as_float_1d([1, 2.5], "scores")
    array([1. , 2.5])
    >>> as_float_1d([1, float("nan")], "scores")
    Traceback (most recent call last):
    ...
    judgecal._exceptions.InputError: The 'scores' parameter must be finite ... index 1: nan ...
    """
    if isinstance(value, str | bytes) or value is None:
        raise InputTypeError(name, "an array-like of numbers", value, where=where)
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        raise InputTypeError(
            name, "an array-like of numbers, not a single number", value, where=where
        )
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested sequences
        raise InputTypeError(name, "an array-like of numbers", value, where=where) from exc
    if arr.dtype == object or arr.dtype.kind in "USV":
        try:
            arr = arr.astype(np.float64)
        except (ValueError, TypeError):
            bad = _first_non_numeric(arr.ravel())
            raise InputTypeError(
                name, "an array-like of numbers", f"non-numeric entry {bad!r}", where=where
            ) from None
    elif arr.dtype.kind == "b":
        arr = arr.astype(np.float64)
    elif arr.dtype.kind not in "iuf":
        raise InputTypeError(name, "an array-like of numbers", f"dtype {arr.dtype}", where=where)
    if arr.ndim == 2 and allow_2d_single_column and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        expected = "a 1-D array (or a single column)" if allow_2d_single_column else "a 1-D array"
        raise InputError(name, expected, f"an array of shape {arr.shape}", where=where)
    if not allow_empty and arr.size == 0:
        raise InputError(name, "a non-empty array", "an empty array", where=where)
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if finite:
        ok = np.isfinite(arr)
        if not ok.all():
            idx = int(np.flatnonzero(~ok)[0])
            raise InputError(
                name,
                "finite numbers (no NaN or inf)",
                Verbatim(
                    f"{int((~ok).sum())} non-finite value(s), first at index {idx}: {arr[idx]}"
                ),
                where=where,
            )
    return arr


class Verbatim(str):
    """A string shown without quotes in error messages."""

    def __repr__(self) -> str:
        return str(self)


#: C0 and C1 control characters and lone surrogates: never part of an id or a name.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")

#: What an id, stage or rater name must be (used in messages).
NAME_TEXT = "a string without control characters (such as NUL, tab or newline)"


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a control character or a lone surrogate.

    numpy's fixed-width strings drop trailing NULs, so ``"a\\0"`` and ``"a"``
    would become one id, one stage or one rater in the arrays judgecal builds:
    such names are refused where records are made.

    Examples
    --------
    >>> has_control_characters("a\\0"), has_control_characters("Stage 2: ä")
    (True, False)
    """
    return _CONTROL.search(text) is not None


def _first_non_numeric(values: NDArray[Any]) -> Any:
    for v in values:
        try:
            float(v)
        except (ValueError, TypeError):
            return v
    return None  # pragma: no cover


def check_probability_targets(
    value: Any, name: str = "y", *, where: str | None = None
) -> FloatArray:
    """Targets for a binary calibrator: 0/1 labels or soft labels in [0, 1].

    Examples
    --------
    >>> check_probability_targets([0, 1, 0.5])
    array([0. , 1. , 0.5])
    """
    y = as_float_1d(value, name, where=where)
    bad = (y < 0) | (y > 1)
    if bad.any():
        idx = int(np.flatnonzero(bad)[0])
        raise InputError(
            name,
            "binary labels (0/1) or soft labels (share of raters agreeing) in [0, 1]",
            Verbatim(f"{y[idx]!r} at index {idx}"),
            where=where,
        )
    return y


def check_weights(
    value: Any, n: int, name: str = "sample_weight", *, where: str | None = None
) -> FloatArray:
    """Non-negative finite weights of length ``n`` with a positive sum; ``None`` means ones."""
    if value is None:
        return np.ones(n)
    w = as_float_1d(value, name, where=where)
    check_same_length(n, w.size, name, where=where)
    if (w < 0).any():
        raise InputError(
            name, "non-negative weights", Verbatim(f"minimum {w.min()!r}"), where=where
        )
    if w.sum() <= 0:
        raise InputError(name, "weights with a positive sum", Verbatim("all zero"), where=where)
    return w


def check_same_length(n: int, m: int, name: str, *, where: str | None = None) -> None:
    """Raise unless ``m == n``."""
    if m != n:
        raise InputError(
            name, f"of length {n} (one per score)", Verbatim(f"length {m}"), where=where
        )


def check_stages(value: Any, n: int, name: str = "stages", *, where: str | None = None) -> StrArray:
    """Stage labels as a 1-D array of non-empty strings, one per score.

    Examples
    --------
    >>> check_stages(["selection", "generation"], 2)
    array(['selection', 'generation'], dtype='<U10')
    """
    if isinstance(value, str):
        _no_trailing_nul([value], name, where)
        return np.full(n, value)
    if value is None:
        raise InputTypeError(name, "a sequence of stage names", value, where=where)
    try:
        if not (isinstance(value, np.ndarray) and value.dtype.kind == "U"):
            raw = np.asarray(value if isinstance(value, np.ndarray) else list(value), dtype=object)
            if raw.ndim == 1:
                _no_trailing_nul(raw.tolist(), name, where)
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise InputTypeError(name, "a sequence of stage names", value, where=where) from exc
    if arr.ndim != 1:
        raise InputError(
            name, "a 1-D sequence of stage names", Verbatim(f"shape {arr.shape}"), where=where
        )
    check_same_length(n, arr.size, name, where=where)
    if arr.dtype.kind not in "U":
        if arr.dtype == object and all(isinstance(v, str) for v in arr):
            arr = arr.astype(str)
        else:
            bad = next((v for v in arr.tolist() if not isinstance(v, str)), arr.dtype)
            raise InputTypeError(name, "stage names as strings", bad, where=where)
    if arr.size and bool((arr == "").any()):
        raise InputError(name, "non-empty stage names", "''", where=where)
    return arr


def _no_trailing_nul(names: Any, name: str, where: str | None) -> None:
    """numpy string arrays drop trailing NUL characters: "a\\0" would merge with "a"."""
    bad = next((v for v in names if isinstance(v, str) and v.endswith("\0")), None)
    if bad is not None:
        raise InputError(name, "stage names that do not end in a NUL character", bad, where=where)


def check_int(
    value: Any,
    name: str,
    *,
    low: int | None = None,
    high: int | None = None,
    where: str | None = None,
    integral_float: bool = False,
) -> int:
    """An integer in ``[low, high]``.

    Python and numpy integers are accepted; bools (Python or numpy) never are.
    With ``integral_float=True`` a float with an integral value (``4.0``,
    ``np.float64(4)``) is accepted too.

    Examples
    --------
    >>> import numpy as np
    >>> check_int(np.int64(4), "threshold"), check_int(4.0, "threshold", integral_float=True)
    (4, 4)
    >>> check_int(np.bool_(True), "threshold")
    Traceback (most recent call last):
    ...
    judgecal._exceptions.InputTypeError: The 'threshold' parameter must be an integer. Got ...
    """
    if isinstance(value, bool | np.bool_):
        raise InputTypeError(name, "an integer", value, where=where)
    if (
        integral_float
        and isinstance(value, numbers.Real)
        and not isinstance(value, numbers.Integral)
    ):
        as_float = float(value)
        if not as_float.is_integer():
            raise InputError(name, "an integer (a float must have no fraction)", value, where=where)
        value = int(as_float)
    if not isinstance(value, numbers.Integral):
        raise InputTypeError(name, "an integer", value, where=where)
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        lo = "-inf" if low is None else str(low)
        hi = "inf" if high is None else str(high)
        raise InputError(name, f"an integer in [{lo}, {hi}]", v, where=where)
    return v


def check_float(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    where: str | None = None,
) -> float:
    """A finite float in the given interval (Python or numpy numbers; never a bool).

    Examples
    --------
    >>> import numpy as np
    >>> check_float(np.float32(0.5), "level", low=0, high=1)
    0.5
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise InputTypeError(name, "a real number", value, where=where)
    try:
        v = float(value)
    except OverflowError:  # an int too large for a float
        v = float("inf")
    bad = not np.isfinite(v)
    if low is not None:
        bad = bad or (v <= low if low_open else v < low)
    if high is not None:
        bad = bad or (v >= high if high_open else v > high)
    if bad:
        lb = "(" if low_open else "["
        hb = ")" if high_open else "]"
        lo = "-inf" if low is None else repr(low)
        hi = "inf" if high is None else repr(high)
        raise InputError(name, f"a finite number in {lb}{lo}, {hi}{hb}", value, where=where)
    return v


def check_choice(value: Any, name: str, choices: Sequence[Any], *, where: str | None = None) -> Any:
    """One of ``choices``.

    Examples
    --------
    >>> check_choice("platt", "method", ("isotonic", "logistic"), where="fit")
    Traceback (most recent call last):
    ...
    judgecal._exceptions.InputError: The 'method' parameter of fit must be one of ... 'platt' ...
    """
    try:
        ok = bool(value in choices)
    except (TypeError, ValueError):  # unhashable or array-valued input
        ok = False
    if not ok:
        raise InputError(name, f"one of {tuple(choices)!r}", value, where=where)
    return value


def make_rng(seed: Any, name: str = "seed", *, where: str | None = None) -> np.random.Generator:
    """A numpy Generator from ``None``, a non-negative integer, or a Generator.

    Examples
    --------
    >>> make_rng(0).integers(0, 10, 3).tolist()
    [8, 6, 5]
    >>> make_rng("x")
    Traceback (most recent call last):
    ...
    judgecal._exceptions.InputTypeError: The 'seed' parameter must be None, ... Got 'x' instead.
    """
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise InputTypeError(
            name, "None, a non-negative integer or a numpy Generator", seed, where=where
        )
    if int(seed) < 0:
        raise InputError(
            name, "None, a non-negative integer or a numpy Generator", seed, where=where
        )
    return np.random.default_rng(int(seed))
