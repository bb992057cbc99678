"""The words judgecal uses, defined once.

Every module that speaks of a judge's status, a pairwise outcome, a tie policy,
an interval level or a resample count imports it from here, so that the same
idea is spelled one way in records, calibrators, estimates, runners, bias
probes and the command line.

Judge statuses
--------------
=================  =============================================================
``ok``             the judge's output parsed to a score on the scale
``unparseable``    the judge answered, but not with a score (never scored)
``refused``        the judge declined to answer (never scored)
``error``          the judge raised, or returned something unusable
``timeout``        no answer within the time allowed
``missing``        no judge output at all for this item (a blank cell in a file)
=================  =============================================================

Pairwise outcomes
-----------------
One coding, ordered so that a larger code means the *first* response is
preferred more: ``second = 0``, ``tie = 1``, ``first = 2``. The share of
preference for the first response is ``code / 2`` (a tie is half).

Tie policies (``ties=``)
------------------------
=============  =================================================================
``half``       a tie counts as half a preference for each response
``drop``       ties are left out (weight 0)
``loss``       a tie counts as *not* preferring the first response (0)
``separate``   ties are their own category: estimates report a tie rate beside
               the win rate (only where an estimate can carry two rates)
=============  =================================================================

``negative`` (0.1's name for ``loss``) is still accepted with a
:class:`DeprecationWarning`.

Order policies (``policy=`` of pairwise runs)
---------------------------------------------
A pair judged in both presentation orders whose verdict changes with the
order: ``tie`` scores it as a tie, ``first`` keeps the verdict of the original
order, ``drop`` gives it no score (status ``unparseable``, with the reason).
``exclude`` (0.1's name for ``drop``) is accepted with a warning.

Defaults
--------
``DEFAULT_LEVEL = 0.9`` for every interval; the number of bootstrap or
permutation resamples is always called ``n_resamples``.

Examples
--------
>>> from judgecal import vocabulary as v
>>> v.PAIRWISE_CODES["first"], v.pairwise_code("tie"), v.pairwise_code(0)
(2, 1, 0)
>>> v.check_ties("half", where="example")
'half'
"""

from __future__ import annotations

import warnings
from typing import Any, Final, Literal

from judgecal._exceptions import InputError

__all__ = [
    "DEFAULT_LEVEL",
    "FAILED_STATUSES",
    "ORDER_POLICIES",
    "PAIRWISE_CODES",
    "PAIRWISE_OUTCOMES",
    "STATUSES",
    "TIE_POLICIES",
    "JudgeStatus",
    "OrderPolicy",
    "TiePolicy",
    "check_order_policy",
    "check_ties",
    "pairwise_code",
]

JudgeStatus = Literal["ok", "unparseable", "refused", "error", "timeout", "missing"]
STATUSES: Final[tuple[str, ...]] = ("ok", "unparseable", "refused", "error", "timeout", "missing")
FAILED_STATUSES: Final[tuple[str, ...]] = STATUSES[1:]

PAIRWISE_OUTCOMES: Final[tuple[str, str, str]] = ("second", "tie", "first")
PAIRWISE_CODES: Final[dict[str, int]] = {"second": 0, "tie": 1, "first": 2}

TiePolicy = Literal["half", "drop", "loss", "separate"]
TIE_POLICIES: Final[tuple[str, ...]] = ("half", "drop", "loss", "separate")
_TIE_ALIASES: Final[dict[str, str]] = {"negative": "loss"}

OrderPolicy = Literal["tie", "first", "drop"]
ORDER_POLICIES: Final[tuple[str, ...]] = ("tie", "first", "drop")
_ORDER_ALIASES: Final[dict[str, str]] = {"exclude": "drop"}

DEFAULT_LEVEL: Final[float] = 0.9


def pairwise_code(outcome: Any) -> int:
    """The code (``second=0, tie=1, first=2``) of a pairwise outcome or code.

    Raises
    ------
    InputError
        When ``outcome`` is neither an outcome word nor a code.
    """
    if isinstance(outcome, str) and outcome.strip().lower() in PAIRWISE_CODES:
        return PAIRWISE_CODES[outcome.strip().lower()]
    if not isinstance(outcome, bool) and outcome in (0, 1, 2):
        return int(outcome)
    raise InputError(
        "outcome", f"one of {PAIRWISE_OUTCOMES} or a code 0/1/2", outcome, where="pairwise_code"
    )


def _check_word(
    value: Any, name: str, allowed: tuple[str, ...], aliases: dict[str, str], where: str
) -> str:
    if isinstance(value, str) and value in aliases and aliases[value] in allowed:
        new = aliases[value]
        warnings.warn(
            f"{where}: {name}={value!r} is now called {name}={new!r}; "
            "the old name will be removed.",
            DeprecationWarning,
            stacklevel=4,
        )
        return new
    if not isinstance(value, str) or value not in allowed:
        raise InputError(name, f"one of {set(allowed)}", value, where=where)
    return value


def check_ties(
    value: Any, *, where: str, allowed: tuple[str, ...] = TIE_POLICIES, name: str = "ties"
) -> str:
    """Validate a tie policy (mapping 0.1's names onto today's, with a warning).

    ``allowed`` narrows the policies where some make no sense (a binary target
    cannot keep ties ``separate``).
    """
    return _check_word(value, name, allowed, _TIE_ALIASES, where)


def check_order_policy(value: Any, *, where: str, name: str = "policy") -> str:
    """Validate the policy for pairs whose verdict changes with the presentation order."""
    return _check_word(value, name, ORDER_POLICIES, _ORDER_ALIASES, where)
