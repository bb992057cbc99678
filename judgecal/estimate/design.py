"""Planning the labels: how many to collect, and simulating a label budget."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from judgecal._exceptions import InputError, InputTypeError
from judgecal._validation import Verbatim, check_float, check_int, make_rng
from judgecal.estimate._prepared import crossfit, make_calibrator, prepare_records
from judgecal.estimate.ppi import critical_value
from judgecal.estimate.results import LabelPlan
from judgecal.records.core import JudgmentSet
from judgecal.vocabulary import DEFAULT_LEVEL

__all__ = ["keep_labels", "plan_labels"]


def _pilot_quality(
    pilot: Any, threshold: int | None, calibrator: Any, seed: Any, where: str
) -> tuple[float, float]:
    """(sd of the human target, correlation of the cross-fitted calibrated judge with it)."""
    data = prepare_records(pilot, None, threshold, "half", where)
    if data.labelled.sum() < 10:
        raise InputError(
            "pilot",
            "at least 10 labelled items",
            Verbatim(str(int(data.labelled.sum()))),
            where=where,
        )
    model = make_calibrator(calibrator, where)
    predictions = crossfit(data, data.target, model, 5, make_rng(seed), False)
    targets, predicted = data.target[data.labelled], predictions[data.labelled]
    constant = predicted.std() == 0 or targets.std() == 0
    correlation = 0.0 if constant else float(np.corrcoef(targets, predicted)[0, 1])
    return float(targets.std(ddof=1)), correlation


def plan_labels(
    half_width: float,
    *,
    correlation: float | None = None,
    sd: float = 0.5,
    pilot: JudgmentSet | None = None,
    threshold: int | None = None,
    n_total: int | None = None,
    level: float = DEFAULT_LEVEL,
    calibrator: str = "isotonic",
    seed: int | None = 0,
    batch: int = 10,
) -> LabelPlan:
    r"""How many human labels give a target interval half-width, with and without the judge.

    With the human target's standard deviation :math:`\sigma` and the
    correlation :math:`\rho` between the calibrated judge and the target, the
    PPI++ variance with ``n`` labels out of ``M`` items is
    :math:`\sigma^2 (1 - \rho^2 (M - n)/M) / n` (optimal power tuning), and the
    human-only variance :math:`\sigma^2 / n`. The plan is the smallest ``n``
    whose normal interval half-width is at most ``half_width``.

    Parameters
    ----------
    half_width : float
        Target half-width (e.g. 0.03 for +/- 3 points).
    correlation : float, optional
        Judge quality :math:`\rho`; measured from ``pilot`` when not given.
    sd : float
        Standard deviation of the human target (0.5 is the worst case for a rate);
        measured from ``pilot`` when given.
    pilot : JudgmentSet, optional
        A labelled pilot sample: :math:`\rho` is the correlation of the
        cross-fitted calibrated judge with the human targets.
    threshold : int, optional
        Ordinal labels of the pilot: lowest positive level.
    n_total : int, optional
        Items available (labelled + unlabelled); ``None`` means unlimited.
    level : float
        Nominal coverage.
    calibrator : {"isotonic", "logistic", "none"}
        Calibrator for the pilot.
    seed : int or None
        Seed of the pilot's fold split.
    batch : int
        Labels per round when labelling until the anytime-valid interval
        (:func:`~judgecal.estimate.sequential.next_labels`) is ``2 * half_width``
        wide: ``n_anytime`` is the predicted stopping size.

    Examples
    --------
    >>> p = plan_labels(0.03, correlation=0.7, n_total=20000)
    >>> p.n_human_only, p.n_ppi, round(p.saving, 2), p.n_anytime
    (752, 391, 0.48, 1160)
    """
    where = "plan_labels"
    check_float(half_width, "half_width", low=0.0, high=1.0, low_open=True, where=where)
    check_float(level, "level", low=0.0, high=1.0, low_open=True, high_open=True, where=where)
    if n_total is not None:
        check_int(n_total, "n_total", low=2, where=where)
    if pilot is not None:
        sd, measured = _pilot_quality(pilot, threshold, calibrator, seed, where)
        correlation = measured if correlation is None else correlation
    if correlation is None:
        raise InputError(
            "correlation", "a number in [-1, 1] (or a labelled pilot)", None, where=where
        )
    rho = check_float(correlation, "correlation", low=-1.0, high=1.0, where=where)
    sd = check_float(sd, "sd", low=0.0, high=1.0, low_open=True, where=where)
    z = critical_value(level, math.inf, "normal")
    n_human = max(2, math.ceil((z * sd / half_width) ** 2))

    def ppi_half_width(n_labels: int) -> float:
        unlabelled_share = 1.0 if n_total is None else max(n_total - n_labels, 0) / n_total
        return z * sd * math.sqrt(max(1.0 - rho**2 * unlabelled_share, 0.0) / n_labels)

    low, high = 1, n_human  # the smallest n whose half-width is small enough (bisection)
    while low < high:
        mid = (low + high) // 2
        if ppi_half_width(mid) <= half_width:
            high = mid
        else:
            low = mid + 1
    n_ppi = max(2, low)
    check_int(batch, "batch", low=1, where=where)
    n_anytime = _anytime_stop(half_width, level, sd, rho, n_total, batch)
    if n_total is not None:
        n_human, n_ppi = min(n_human, n_total), min(n_ppi, n_total)
    return LabelPlan(
        n_anytime=n_anytime,
        half_width=half_width,
        level=level,
        n_ppi=n_ppi,
        n_human_only=n_human,
        correlation=rho,
        sd=sd,
        n_total=n_total,
    )


def _anytime_stop(
    half_width: float, level: float, sd: float, rho: float, n_total: int | None, batch: int
) -> int:
    """The first multiple of ``batch`` where the anytime interval is ``2 * half_width`` wide."""
    from judgecal.estimate.sequential import cs_half_width, default_planned_n

    planned = default_planned_n(2 * half_width, level)
    limit = n_total if n_total is not None else 10**7
    n_labels = batch
    while n_labels < limit:
        share = 1.0 if n_total is None else max(n_total - n_labels, 0) / n_total
        sigma = sd * math.sqrt(max(1.0 - rho**2 * share, 0.0))
        if cs_half_width(sigma, n_labels, level=level, planned_n=planned) <= half_width:
            return n_labels
        n_labels += batch
    return min(n_labels, limit)


def keep_labels(
    judgments: JudgmentSet,
    n: int,
    *,
    by: str | None = "stage",
    seed: int | None = 0,
) -> JudgmentSet:
    """Keep the human ratings of ``n`` random items and drop the others (simulate a label budget).

    With ``by`` (``"stage"`` or a meta field) the ``n`` items are spread as
    evenly as possible over its values (at least 2 each, when they have that
    many labelled items), which is how one would plan the labelling; the
    estimators weight strata by their size, so this does not bias them.

    Parameters
    ----------
    judgments : JudgmentSet
        A fully (or partly) labelled set.
    n : int
        Items that keep their ratings (among those that have some).
    by : str or None
        Spread the budget over stages (``"stage"``), a meta field, or not at all (None).
    seed : int or None
        Seed of the draw.

    Examples
    --------
    >>> import judgecal
    >>> js = keep_labels(judgecal.load_pandalm(with_texts=False), 100, seed=1)
    >>> len(js.labelled()), len(js.labelled().stage_names())
    (100, 10)
    """
    where = "keep_labels"
    if not isinstance(judgments, JudgmentSet):
        raise InputTypeError("judgments", "a JudgmentSet", judgments, where=where)
    labelled = np.flatnonzero([j.n_ratings > 0 for j in judgments])
    check_int(n, "n", low=1, high=max(int(labelled.size), 1), where=where)
    rng = make_rng(seed)
    if by is not None and not isinstance(by, str):
        raise InputTypeError(
            "by", "None, 'stage' or the name of a meta field", by, where="keep_labels"
        )
    if by is None:
        chosen = rng.choice(labelled, n, replace=False)
    else:
        groups = judgments.stages() if by == "stage" else judgments.meta(by)
        chosen = _spread_evenly(labelled, np.asarray(groups)[labelled], n, rng)
    keep = np.zeros(len(judgments), dtype=bool)
    keep[chosen] = True
    return JudgmentSet(
        [
            j if keep[i] or not j.ratings else j.model_copy(update={"ratings": ()})
            for i, j in enumerate(judgments)
        ],
        scale=judgments.scale,
    )


def _spread_evenly(
    items: np.ndarray, groups: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` of ``items``, dealt round-robin over their groups (random within a group)."""
    names = list(dict.fromkeys(groups.tolist()))
    pools = {g: rng.permutation(items[groups == g]) for g in names}
    quota = dict.fromkeys(names, 0)
    left = n
    while left > 0:  # round-robin over groups that still have items
        progressed = False
        for g in names:
            if left and quota[g] < pools[g].size:
                quota[g] += 1
                left -= 1
                progressed = True
        if not progressed:  # pragma: no cover - n <= items.size
            break
    return np.concatenate([pools[g][: quota[g]] for g in names])
