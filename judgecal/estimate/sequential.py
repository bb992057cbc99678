r"""Label until you know: anytime-valid intervals and the stop-or-continue decision.

A fixed-``n`` interval covers at a sample size fixed in advance. Looking at it
after every batch of labels and stopping when it is narrow enough (or excludes
a value) breaks that promise. An asymptotic confidence sequence holds at every
``n`` at once, so its coverage survives any stopping rule (Waudby-Smith, Arnold,
Wu, Wang and Ramdas, "Time-uniform central limit theory and asymptotic
confidence sequences", *Ann. Statist.* 2024). For a mean of i.i.d. terms with
standard deviation :math:`\sigma`, the two-sided sequence after :math:`n`
terms is

.. math::

    \hat\theta_n \pm \hat\sigma_n \sqrt{\frac{2(n\rho^2 + 1)}{n^2\rho^2}
        \log\frac{\sqrt{n\rho^2 + 1}}{\alpha}},
    \qquad
    \rho^2 = \frac{-2\log\alpha + \log(1 - 2\log\alpha)}{n^\star},

tightest near the planned size :math:`n^\star`. The PPI++ estimate is, up to
the judge-only term whose variance is :math:`O(1/N)`, the mean of the
rectified terms :math:`y_i - \lambda f_i`, so its sequence is the one above
with :math:`\hat\sigma_n = \mathrm{se}_n \sqrt n` from the estimate's own
standard error (the prediction-powered use of asymptotic confidence sequences,
as in Zrnic and Candès, *PNAS* 2024, "Cross-prediction-powered inference", and
Waudby-Smith et al., section on PPI). ``n`` counts labelled items.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from judgecal._exceptions import InputError, InputTypeError
from judgecal._validation import check_float, check_int, make_rng
from judgecal.estimate.ppi import critical_value
from judgecal.estimate.rates import estimate_difference, estimate_rate
from judgecal.estimate.results import RateEstimate
from judgecal.metrics import Interval
from judgecal.records.core import Judgment, JudgmentSet, Rating
from judgecal.vocabulary import DEFAULT_LEVEL

__all__ = [
    "LabelDecision",
    "anytime_interval",
    "cs_half_width",
    "default_planned_n",
    "label_until",
    "next_labels",
]


def _rho_squared(alpha: float, planned_n: float) -> float:
    log_alpha = math.log(alpha)
    return (-2.0 * log_alpha + math.log(1.0 - 2.0 * log_alpha)) / planned_n


def cs_half_width(sigma: float, n: int, *, level: float = DEFAULT_LEVEL, planned_n: float) -> float:
    """Half-width of the asymptotic confidence sequence after ``n`` terms of sd ``sigma``.

    Examples
    --------
    >>> round(cs_half_width(0.5, 400, planned_n=400), 4)
    0.0691
    >>> round(1.6449 * 0.5 / 20, 4)  # the fixed-n normal half-width
    0.0411
    """
    alpha = 1.0 - level
    rho2 = _rho_squared(alpha, planned_n)
    grown = n * rho2 + 1.0
    return sigma * math.sqrt(2.0 * grown / (n**2 * rho2) * math.log(math.sqrt(grown) / alpha))


def default_planned_n(width: float, level: float = DEFAULT_LEVEL) -> int:
    """Labels a human-only mean of a 0/1 target (sd 1/2) needs for full ``width``: the
    size the sequence is tuned for when none is given (fixed before any label is seen)."""
    z = critical_value(level, math.inf, "normal")
    return max(10, math.ceil((z / width) ** 2))


def anytime_interval(result: RateEstimate, *, planned_n: float, bounded: bool = True) -> Interval:
    """The anytime-valid interval for a PPI++ (or human-only, or IPW) estimate.

    Parameters
    ----------
    result : RateEstimate
        An estimate that carries its standard error (``std_error``).
    planned_n : float
        Labelled size the sequence is tuned for; fix it before labelling.
    bounded : bool
        Clip to [0, 1] (a rate) or to [-1, 1] (a difference, ``False``).

    Examples
    --------
    >>> import judgecal
    >>> hidden = judgecal.keep_labels(judgecal.load_pandalm(with_texts=False), 150, seed=0)
    >>> r = judgecal.estimate_rate(hidden, strata=None)
    >>> cs = anytime_interval(r, planned_n=150)
    >>> cs.low < r.low < r.high < cs.high
    True
    """
    where = "anytime_interval"
    if not isinstance(result, RateEstimate):
        raise InputTypeError("result", "a RateEstimate", result, where=where)
    if result.std_error is None:
        raise InputError(
            "result", "an estimate with std_error (ppi++, ppi, human)", result.method, where=where
        )
    check_float(planned_n, "planned_n", low=1.0, where=where)
    n_labelled = max(result.n_labelled, 1)
    sigma = result.std_error * math.sqrt(n_labelled)
    half = cs_half_width(sigma, n_labelled, level=result.level, planned_n=planned_n)
    low, high = result.estimate - half, result.estimate + half
    edge = 0.0 if bounded else -1.0
    return Interval(result.estimate, max(low, edge), min(high, 1.0), result.level)


class LabelDecision(BaseModel):
    """Stop labelling, or label ``label_more`` more items.

    Examples
    --------
    >>> d = LabelDecision(stop=False, label_more=10, width=0.2, target_width=0.1,
    ...                   n_labelled=40, low=0.3, high=0.5, estimate=0.4, reason="too wide")
    >>> str(d)
    'label 10 more: the 90% anytime interval [0.300, 0.500] is 0.200 wide (target 0.100)'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    stop: bool
    """True when the interval is narrow enough or the budget is spent."""
    label_more: int
    """Items to label next (0 when stopping)."""
    width: float
    """Width of the anytime-valid interval now."""
    target_width: float
    """The width asked for."""
    n_labelled: int
    """Labelled items so far."""
    estimate: float
    """Point estimate now."""
    low: float
    """Lower end of the anytime-valid interval."""
    high: float
    """Upper end of the anytime-valid interval."""
    reason: str
    """Why: ``narrow enough``, ``budget spent`` or ``too wide``."""
    level: float = DEFAULT_LEVEL
    """Nominal coverage (at any stopping time)."""

    def __str__(self) -> str:
        verdict = "stop" if self.stop else f"label {self.label_more} more"
        return (
            f"{verdict}: the {self.level:.0%} anytime interval [{self.low:.3f}, {self.high:.3f}] "
            f"is {self.width:.3f} wide (target {self.target_width:.3f})"
            + ("" if self.reason == "too wide" else f"; {self.reason}")
        )


def decide(
    result: RateEstimate,
    until_width: float,
    *,
    batch: int = 10,
    budget: int | None = None,
    planned_n: float | None = None,
    bounded: bool = True,
    labelled_so_far: int | None = None,
) -> LabelDecision:
    """The decision for an estimate already made (see :func:`next_labels`).

    ``labelled_so_far`` counts against ``budget`` (default: the estimate's labelled items;
    a difference of two systems counts only theirs)."""
    planned = default_planned_n(until_width, result.level) if planned_n is None else planned_n
    cs = anytime_interval(result, planned_n=planned, bounded=bounded)
    width = cs.high - cs.low
    n_labelled = result.n_labelled if labelled_so_far is None else labelled_so_far
    if width < until_width:
        stop, more, reason = True, 0, "narrow enough"
    elif budget is not None and n_labelled >= budget:
        stop, more, reason = True, 0, f"budget of {budget} labels spent"
    else:
        more = batch if budget is None else min(batch, budget - n_labelled)
        stop, reason = False, "too wide"
    return LabelDecision(
        stop=stop,
        label_more=more,
        width=width,
        target_width=until_width,
        n_labelled=n_labelled,
        estimate=cs.estimate,
        low=cs.low,
        high=cs.high,
        reason=reason,
        level=result.level,
    )


def next_labels(
    judgments: JudgmentSet,
    until_width: float,
    *,
    batch: int = 10,
    budget: int | None = None,
    planned_n: float | None = None,
    **estimate: Any,
) -> LabelDecision:
    """Label in batches of ``batch`` until the anytime interval is narrower than ``until_width``.

    Call it after every batch with the labels so far: it estimates the rate
    (:func:`~judgecal.estimate_rate` with ``**estimate``), widens the interval
    to the anytime-valid one (:func:`anytime_interval`) and says whether to stop.
    Stopping the first time it says so keeps the coverage at ``level``.

    Parameters
    ----------
    judgments : JudgmentSet
        All items, with the labels collected so far (a uniform random sample,
        or pass ``inclusion=`` for chosen labels).
    until_width : float
        Target full width of the interval.
    batch : int
        Labels per round.
    budget : int, optional
        Stop once this many items are labelled.
    planned_n : float, optional
        Labelled size the sequence is tuned for; default: what a human-only
        0/1 mean would need for ``until_width`` (:func:`default_planned_n`).
        Keep it fixed across calls.
    **estimate
        Passed to :func:`~judgecal.estimate_rate` (``calibrator``, ``strata``, ``level``, ...);
        with ``group``, ``first`` and ``second``, to :func:`~judgecal.estimate_difference`
        (the interval is then for the difference of the two systems' rates).

    Returns
    -------
    LabelDecision

    Examples
    --------
    >>> import judgecal
    >>> hidden = judgecal.keep_labels(judgecal.load_pandalm(with_texts=False), 60, seed=0)
    >>> decision = next_labels(hidden, 0.15, strata=None)
    >>> decision.stop, decision.label_more
    (False, 10)
    """
    where = "next_labels"
    check_float(until_width, "until_width", low=0.0, low_open=True, where=where)
    check_int(batch, "batch", low=1, where=where)
    if budget is not None:
        check_int(budget, "budget", low=1, where=where)
    if planned_n is not None:
        check_float(planned_n, "planned_n", low=1.0, where=where)
    difference = "group" in estimate
    result = (estimate_difference if difference else estimate_rate)(judgments, **estimate)
    return decide(
        result,
        until_width,
        batch=batch,
        budget=budget,
        planned_n=planned_n,
        bounded=not difference,
        labelled_so_far=sum(1 for j in judgments if j.n_ratings > 0),
    )


def label_until(
    judgments: JudgmentSet,
    ask: Callable[[np.ndarray], Sequence[Any]],
    until_width: float,
    *,
    batch: int = 10,
    budget: int | None = None,
    planned_n: float | None = None,
    label_kind: str = "binary",
    levels: int | None = None,
    seed: int | None = 0,
    **estimate: Any,
) -> tuple[JudgmentSet, list[LabelDecision]]:
    """The labelling loop: ask for ``batch`` random unlabelled items until the anytime
    interval is narrower than ``until_width`` (or ``budget`` items are labelled).

    Parameters
    ----------
    judgments : JudgmentSet
        All items (scored by the judge), with any labels collected so far.
    ask : callable
        ``ask(indices)`` gets the indices (into ``judgments``) of the items to
        label and returns one entry per index: a label value, or a sequence of
        :class:`~judgecal.Rating` (several raters).
    until_width, batch, budget, planned_n
        As in :func:`next_labels`.
    label_kind, levels
        Kind of the new labels (and ordinal levels).
    seed : int or None
        Seed of the random order in which items are asked for.
    **estimate
        Passed to :func:`~judgecal.estimate_rate` (or, with ``group=``,
        :func:`~judgecal.estimate_difference`).

    Returns
    -------
    (JudgmentSet, list of LabelDecision)
        The records with the new labels, and the decision after every batch.

    Examples
    --------
    >>> import judgecal
    >>> full = judgecal.load_pandalm(with_texts=False)
    >>> start = judgecal.keep_labels(full, 20, by=None, seed=0)
    >>> def ask(indices):
    ...     return [full[int(i)].ratings for i in indices]
    >>> labelled, decisions = label_until(start, ask, 0.2, label_kind="pairwise",
    ...                                   strata=None)
    >>> len(labelled.labelled()), len(decisions), decisions[-1].stop
    (40, 3, True)
    """
    where = "label_until"
    if not callable(ask):
        raise InputTypeError("ask", "a function of the item indices", ask, where=where)
    rng = make_rng(seed)
    current = judgments
    order = rng.permutation(len(judgments))
    history: list[LabelDecision] = []
    while True:
        decision = next_labels(
            current, until_width, batch=batch, budget=budget, planned_n=planned_n, **estimate
        )
        history.append(decision)
        unlabelled = [int(i) for i in order if current[int(i)].n_ratings == 0]
        if decision.stop or not unlabelled:
            return current, history
        chosen = np.asarray(unlabelled[: decision.label_more], dtype=np.int64)
        current = _with_labels(current, chosen, ask(chosen), label_kind, levels, where)


def _with_labels(
    js: JudgmentSet,
    chosen: np.ndarray,
    answers: Sequence[Any],
    label_kind: str,
    levels: int | None,
    where: str,
) -> JudgmentSet:
    """``js`` with the answers of ``ask`` as the ratings of the chosen items."""
    answers = list(answers)
    if len(answers) != chosen.size:
        raise InputError(
            "ask", f"one answer per asked item ({chosen.size})", len(answers), where=where
        )
    items: list[Judgment] = list(js)
    for index, answer in zip(chosen.tolist(), answers, strict=True):
        ratings = (
            tuple(answer)
            if isinstance(answer, Sequence) and not isinstance(answer, str)
            else (Rating(value=answer),)
        )
        record = items[index].model_dump()
        record.update(ratings=ratings, label_kind=label_kind, levels=levels or record["levels"])
        items[index] = Judgment.model_validate(record)
    return JudgmentSet(items, scale=js.scale)
