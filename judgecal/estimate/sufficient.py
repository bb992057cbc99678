r"""PPI++ estimates from sufficient statistics: labelled rows in memory, the rest as sums.

Why this is exact
-----------------
PPI++ (:mod:`judgecal.estimate.ppi`) uses the labelled items row by row (they
are few: the calibrator is cross-fitted on them), but of the unlabelled items
it uses only, per stratum, the count, the mean and the sum of squared
deviations of their predictions (:class:`~judgecal.estimate.ppi.Moments`).
The raw-judge baseline likewise needs only the moments of the unit scores. So
a table too large for one machine is estimated in three steps:

1. collect the labelled rows (:func:`labelled_data`) and cross-fit the
   calibrator on them as in memory (:func:`plan_crossfit`); the fold
   calibrators travel as JSON (:func:`plan_to_json`);
2. every partition turns its rows into :class:`StratumTotals`
   (:func:`stratum_totals`), predicting its unlabelled rows with the fold
   calibrators;
3. the partitions' totals merge (:func:`merge_totals`) and
   :func:`estimate_from_totals` runs the same combiner as
   :func:`~judgecal.estimate_rate` in memory.

The result equals the in-memory one up to the order of summation (about
1e-16 relative).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from judgecal import persist
from judgecal._exceptions import InputError
from judgecal._validation import FloatArray, Verbatim, make_rng
from judgecal.estimate._prepared import (
    CrossFitPlan,
    PreparedData,
    fit_crossfit,
    make_calibrator,
    prepare_records,
)
from judgecal.estimate._strata import EstimateOptions, assemble, combine_strata, naive_baseline
from judgecal.estimate.ppi import Moments
from judgecal.estimate.rates import _ppi_label
from judgecal.estimate.results import RateEstimate
from judgecal.records.core import JudgmentSet

__all__ = [
    "CrossFitPlan",
    "Moments",
    "StratumTotals",
    "estimate_from_totals",
    "grouped_moments",
    "judgment_columns",
    "labelled_data",
    "merge_totals",
    "method_label",
    "plan_crossfit",
    "plan_from_json",
    "plan_to_json",
    "stratum_totals",
    "totals_from_histogram",
    "totals_weights",
    "weighted_moments",
    "unit_scores",
]


@dataclass(frozen=True)
class StratumTotals:
    """What one stratum contributes beyond its labelled rows."""

    items: int
    """Items of the stratum, labelled or not."""
    unscored: int
    """Items the judge gave no score."""
    judge: Moments
    """Unit scores of the scored items (the raw-judge baseline)."""
    unlabelled: Moments
    """Predictions of the unlabelled items."""

    def merge(self, other: StratumTotals) -> StratumTotals:
        """Both parts together."""
        return StratumTotals(
            self.items + other.items,
            self.unscored + other.unscored,
            self.judge.merge(other.judge),
            self.unlabelled.merge(other.unlabelled),
        )


def unit_scores(score: FloatArray, low: float, high: float) -> FloatArray:
    """Scores rescaled to [0, 1] as :meth:`judgecal.Scale.to_unit` does."""
    out: FloatArray = (score - low) / (high - low)
    np.clip(out, 0.0, 1.0, out=out)
    return out


def judgment_columns(
    judgments: JudgmentSet, *, threshold: int | None = None
) -> dict[str, np.ndarray]:
    """The columns a partitioned table needs: item, stage, score, target.

    ``score`` is NaN where the judge gave none; ``target`` is the item's human
    target (share of positive ratings; pairwise: ``first`` plus half the ties)
    and NaN where no human rated the item.

    Examples
    --------
    >>> import judgecal
    >>> cols = judgment_columns(judgecal.load_pandalm(with_texts=False))
    >>> sorted(cols), cols["target"][:3].tolist()
    (['item', 'score', 'stage', 'target'], [0.0, 1.0, 0.0])
    """
    data = prepare_records(judgments, "stage", threshold, "half", "judgment_columns")
    return {
        "item": judgments.item_ids(),
        "stage": data.strata,
        "score": np.where(data.scored, data.score, np.nan),
        "target": np.where(data.labelled, data.target, np.nan),
    }


def labelled_data(
    score: Any, target: Any, strata: Any, low: float, high: float, where: str
) -> PreparedData:
    """The labelled rows (score NaN: unscored) as prepared data, checked."""
    score_values = np.asarray(score, dtype=np.float64)
    target_values = np.asarray(target, dtype=np.float64)
    if target_values.size and (
        not np.isfinite(target_values).all() or target_values.min() < 0 or target_values.max() > 1
    ):
        raise InputError(
            "target",
            "human targets in [0, 1] on the labelled rows (NaN marks unlabelled rows)",
            Verbatim(f"min {np.nanmin(target_values):g}, max {np.nanmax(target_values):g}"),
            where=where,
        )
    scored = np.isfinite(score_values)
    filled = np.where(scored, score_values, 0.0)
    return PreparedData(
        labelled=np.ones(target_values.size, dtype=bool),
        scored=scored,
        score=filled,
        unit_score=unit_scores(filled, low, high),
        target=target_values,
        nontie_share=None,
        tie_share=None,
        judge_says_tie=None,
        strata=np.asarray(strata, dtype=str),
    )


def plan_crossfit(
    labelled: PreparedData,
    calibrator: Any,
    *,
    folds: int,
    seed: int | None,
    stagewise: bool,
    where: str,
) -> tuple[FloatArray, CrossFitPlan]:
    """Out-of-fold predictions of the labelled rows and the fold calibrators.

    With the same ``seed`` the folds are those :func:`~judgecal.estimate_rate`
    draws in memory (the labelled rows in the same order).
    """
    model = make_calibrator(calibrator, where)
    return fit_crossfit(labelled, labelled.target, model, folds, make_rng(seed), stagewise)


def plan_to_json(plan: CrossFitPlan | None) -> str:
    """The plan as JSON: each fold calibrator as :func:`judgecal.persist.dumps` writes it."""
    if plan is None:
        return json.dumps(None)
    folds = [
        {"calibrator": None if model is None else persist.dumps(model), "fill": fill}
        for model, fill in plan.models
    ]
    doc = {"raw_fill": plan.raw_fill, "stagewise": plan.stagewise, "folds": folds}
    return json.dumps(doc, allow_nan=False)


def plan_from_json(text: str) -> CrossFitPlan | None:
    """The plan back from :func:`plan_to_json` (None: the human-only estimate)."""
    doc = json.loads(text)
    if doc is None:
        return None
    models = tuple(
        (None if fold["calibrator"] is None else persist.loads(fold["calibrator"]), fold["fill"])
        for fold in doc["folds"]
    )
    return CrossFitPlan(models, doc["raw_fill"], bool(doc["stagewise"]))


def stratum_totals(
    codes: np.ndarray,
    names: Sequence[str],
    score: FloatArray,
    labelled: np.ndarray,
    plan: CrossFitPlan | None,
    low: float,
    high: float,
) -> dict[str, StratumTotals]:
    """One partition's totals per stratum.

    ``codes`` index ``names`` (the stratum of each row); ``score`` is NaN where
    the judge gave none; without a ``plan`` the predictions are 0 (human only).
    """
    scored = np.isfinite(score)
    filled = np.where(scored, score, 0.0)
    unit = unit_scores(filled, low, high)
    unlabelled = ~labelled
    unlabelled_codes = codes[unlabelled]
    if plan is None:
        predictions = np.zeros(unlabelled_codes.size)
    else:
        strata = np.asarray(names, dtype=str)[unlabelled_codes] if plan.stagewise else codes[:0]
        predictions = plan.predict(filled[unlabelled], scored[unlabelled], unit[unlabelled], strata)
    n_groups = len(names)
    items = np.bincount(codes, minlength=n_groups)
    if scored.all():  # the common case: no masked copies of the columns
        unscored = np.zeros(n_groups, dtype=np.int64)
        judge = grouped_moments(codes, unit, n_groups)
    else:
        unscored = np.bincount(codes[~scored], minlength=n_groups)
        judge = grouped_moments(codes[scored], unit[scored], n_groups)
    predicted = grouped_moments(unlabelled_codes, predictions, n_groups)
    return {
        str(names[code]): StratumTotals(
            int(items[code]), int(unscored[code]), judge[code], predicted[code]
        )
        for code in np.flatnonzero(items).tolist()
    }


def grouped_moments(codes: np.ndarray, values: FloatArray, n_groups: int) -> list[Moments]:
    """:class:`Moments` of ``values`` per group code ``0..n_groups-1`` (two passes of bincount)."""
    count = np.bincount(codes, minlength=n_groups)
    total = np.bincount(codes, weights=values, minlength=n_groups)
    mean = np.divide(total, count, out=np.zeros(n_groups), where=count > 0)
    deviation = values - mean[codes]
    m2 = np.bincount(codes, weights=deviation * deviation, minlength=n_groups)
    return [Moments(int(c), float(m), float(s)) for c, m, s in zip(count, mean, m2, strict=True)]


def weighted_moments(values: FloatArray, counts: np.ndarray) -> Moments:
    """:class:`Moments` of ``values`` each repeated ``counts`` times (a histogram)."""
    total = int(counts.sum())
    if total == 0:
        return Moments(0, 0.0, 0.0)
    weights = counts.astype(np.float64)
    mean = float(np.dot(weights, values) / total)
    deviation = values - mean
    return Moments(total, mean, float(np.dot(weights, deviation * deviation)))


def totals_from_histogram(
    labelled: PreparedData,
    histogram: Mapping[str, tuple[FloatArray, np.ndarray]],
    plan: CrossFitPlan | None,
    low: float,
    high: float,
) -> dict[str, StratumTotals]:
    """Totals per stratum from the labelled rows and the unlabelled rows' score histogram.

    ``histogram`` maps a stratum to its distinct unlabelled scores (NaN: no
    score) and their counts. Any calibrator is a function of the score, so the
    sums over the rows are sums over the distinct scores weighted by their
    counts: one pass over the data instead of two, when scores take few values.
    """
    totals = {}
    for name in sorted(set(histogram) | set(np.unique(labelled.strata).tolist())):
        values, counts = histogram.get(name, (np.zeros(0), np.zeros(0, dtype=np.int64)))
        scored = np.isfinite(values)
        filled = np.where(scored, values, 0.0)
        unit = unit_scores(filled, low, high)
        if plan is None:
            predictions = np.zeros(values.size)
        else:
            strata = np.full(values.size, name) if plan.stagewise else np.zeros(0, dtype=str)
            predictions = plan.predict(filled, scored, unit, strata)
        rows = labelled.strata == name
        labelled_scored = rows & labelled.scored
        judge = weighted_moments(unit[scored], counts[scored]).merge(
            Moments.of(labelled.unit_score[labelled_scored])
        )
        totals[name] = StratumTotals(
            items=int(counts.sum()) + int(rows.sum()),
            unscored=int(counts[~scored].sum()) + int((rows & ~labelled.scored).sum()),
            judge=judge,
            unlabelled=weighted_moments(predictions, counts),
        )
    return totals


def merge_totals(parts: Iterable[Mapping[str, StratumTotals]]) -> dict[str, StratumTotals]:
    """The totals of several partitions merged per stratum (in the order given)."""
    merged: dict[str, StratumTotals] = {}
    for part in parts:
        for name, totals in part.items():
            merged[name] = merged[name].merge(totals) if name in merged else totals
    return merged


def totals_weights(
    totals: Mapping[str, StratumTotals], names: Iterable[str] | None = None, sign: float = 1.0
) -> dict[str, float]:
    """Each stratum's share of the items (of the strata ``names``), times ``sign``, sorted."""
    chosen = sorted(totals if names is None else names)
    counts = np.array([totals[name].items for name in chosen], dtype=np.int64)
    total = float(counts.sum())
    return {name: sign * float(count) / total for name, count in zip(chosen, counts, strict=True)}


def estimate_from_totals(
    labelled: PreparedData,
    pred_labelled: FloatArray,
    totals: Mapping[str, StratumTotals],
    weights: Mapping[str, float],
    *,
    method: str,
    calibrator: Any,
    settings: Mapping[str, Any],
) -> RateEstimate:
    """PPI(++) or human-only from the labelled rows and the other rows' totals.

    ``settings``: ``level``, ``interval``, ``folds``, ``bounded``, ``estimand``
    and ``where``, as :func:`~judgecal.estimate_rate` takes them.
    """
    where = str(settings["where"])
    options = EstimateOptions(
        method=method,
        ties="half",
        level=float(settings["level"]),
        interval=str(settings["interval"]),
        bounded=bool(settings["bounded"]),
        where=where,
        estimand=str(settings["estimand"]),
        folds=int(settings["folds"]),
    )
    lam: float | None = {"ppi++": None, "ppi": 1.0, "human": 0.0}[method]
    samples = {}
    for name in weights:
        rows = labelled.strata == name
        if rows.sum() < 2:
            raise InputError(
                "judgments",
                f"at least 2 human-labelled items in every stratum (stratum {name!r})",
                Verbatim(str(int(rows.sum()))),
                where=where,
            )
        samples[name] = (labelled.target[rows], pred_labelled[rows], totals[name].unlabelled)
    combined = combine_strata(samples, weights, lam)
    level = options.level
    judge = naive_baseline([(totals[name].judge, w) for name, w in weights.items()], level)
    result = assemble(
        labelled,
        combined,
        options,
        method=method_label(method, calibrator, options.folds, where),
        judge=judge,
        judge_of=lambda name: naive_baseline([(totals[name].judge, 1.0)], level),
        human_estimate=combined.human_estimate,
        lam_reported=method != "human",
    )
    return result.model_copy(
        update={
            "n_unlabelled": sum(totals[name].unlabelled.count for name in weights),
            "n_unscored": sum(totals[name].unscored for name in weights),
        }
    )


def method_label(method: str, calibrator: Any, folds: int, where: str) -> str:
    """The ``method`` text of the result, as :func:`~judgecal.estimate_rate` writes it."""
    if method == "human":
        return "human (labelled items only)"
    return _ppi_label(method, make_calibrator(calibrator, where), folds)
