"""What runs on a worker: functions of one pandas partition and small JSON arguments.

Every function here takes a pandas ``DataFrame`` (one partition) and plain
values (column names, numbers, JSON text) and returns a pandas ``DataFrame``.
Dask ships them to workers by reference (``judgecal.scale.partitions.<name>``:
the worker imports judgecal) together with their arguments; the calibrator is
one of those arguments, as the JSON text :func:`judgecal.persist.dumps` writes,
and is rebuilt on the worker by :func:`judgecal.persist.loads` (which checks
its checksum). Spark's ``mapInPandas`` can call the same functions.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from judgecal import persist
from judgecal.estimate.sufficient import (
    CrossFitPlan,
    Moments,
    StratumTotals,
    plan_from_json,
    stratum_totals,
)

__all__ = [
    "AGREEMENT_COLUMNS",
    "TOTALS_COLUMNS",
    "HISTOGRAM_COLUMNS",
    "agreement_partition",
    "histogram_partition",
    "agreement_sums",
    "calibrate_partition",
    "loaded_calibrator",
    "synthetic_partition",
    "totals_from_frame",
    "totals_partition",
]

TOTALS_COLUMNS = (
    "stratum",
    "group",
    "items",
    "unscored",
    "judge_count",
    "judge_mean",
    "judge_m2",
    "unlabelled_count",
    "unlabelled_mean",
    "unlabelled_m2",
)
AGREEMENT_COLUMNS = ("stage", "statistic", "row", "column", "value")


@lru_cache(maxsize=16)
def loaded_calibrator(calibrator_json: str) -> Any:
    """The calibrator of a JSON document, loaded once per worker process."""
    return persist.loads(calibrator_json)


@lru_cache(maxsize=16)
def _loaded_plan(plan_json: str) -> CrossFitPlan | None:
    return plan_from_json(plan_json)


def calibrate_partition(
    frame: Any, calibrator_json: str, score: str, stage: str | None, column: str
) -> Any:
    """``frame`` with ``column``: P(a human agrees) for each row's score (NaN where no score).

    Examples
    --------
    >>> import pandas as pd
    >>> from judgecal import IsotonicCalibrator, persist
    >>> doc = persist.dumps(IsotonicCalibrator().fit([1, 2, 3, 4], [0, 0, 1, 1]))
    >>> out = calibrate_partition(pd.DataFrame({"score": [1.0, None, 4.0]}), doc, "score",
    ...                           None, "p_agree")
    >>> out["p_agree"].tolist()
    [0.166..., nan, 0.833...]
    """
    calibrator = loaded_calibrator(calibrator_json)
    scores = frame[score].to_numpy(dtype=np.float64, na_value=np.nan)
    scored = np.isfinite(scores)
    probability = np.full(scores.size, np.nan)
    if scored.any():
        stages = None if stage is None else frame[stage].to_numpy(dtype=str)[scored]
        probability[scored] = calibrator.predict_agreement(scores[scored], stages=stages)
    return frame.assign(**{column: probability})


def _strata_names(frame: Any, strata: str | None, group: str | None) -> np.ndarray:
    """Stratum name of each row (with a group: ``"<group> | <stratum>"``), as strings."""
    names = (
        np.full(len(frame), "all")
        if strata is None
        else np.asarray(frame[strata].to_numpy(dtype=str), dtype=str)
    )
    if group is None:
        return names
    systems = np.asarray(frame[group].to_numpy(dtype=str), dtype=str)
    return np.char.add(np.char.add(systems, " | "), names)


def _codes(frame: Any, column: str | None) -> tuple[np.ndarray, list[str]]:
    """Integer codes of a column and the names they index (no per-row strings)."""
    import pandas as pd

    if column is None:
        return np.zeros(len(frame), dtype=np.int64), ["all"]
    values = frame[column]
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(dtype=np.int64), [str(v) for v in values.cat.categories]
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return np.asarray(codes, dtype=np.int64), [str(v) for v in uniques]


def totals_from_frame(
    frame: Any,
    plan: CrossFitPlan | None,
    columns: dict[str, Any],
    low: float,
    high: float,
) -> dict[tuple[str, str], StratumTotals]:
    """Per (stratum, group) totals of one partition; ``columns`` names score, target, strata, group.

    With a ``group`` column, only the rows whose group is one of ``columns["keep"]``
    count, and a stratum is named ``"<group> | <stratum>"``.
    """
    frame, combined, labels, owner = _stratum_codes(frame, columns)
    score = frame[columns["score"]].to_numpy(dtype=np.float64, na_value=np.nan)
    labelled = frame[columns["target"]].notna().to_numpy()
    totals = stratum_totals(combined, labels, score, labelled, plan, low, high)
    return {(name, owner.get(name, "")): part for name, part in totals.items()}


def _stratum_codes(
    frame: Any, columns: dict[str, Any]
) -> tuple[Any, np.ndarray, list[str], dict[str, str]]:
    """(rows kept, stratum code per row, stratum names, group of each name)."""
    group = columns.get("group")
    if group is not None:
        frame = frame[frame[group].astype(str).isin([str(v) for v in columns["keep"]])]
    codes, names = _codes(frame, columns.get("strata"))
    group_codes, groups = _codes(frame, group)
    if group is None:
        groups = [""]
    combined = group_codes * len(names) + codes
    labels = [f"{g} | {n}" if group is not None else n for g in groups for n in names]
    owner = {label: g for g in groups for label in [f"{g} | {n}" for n in names]}
    return frame, combined, labels, owner


HISTOGRAM_COLUMNS = ("stratum", "group", "score", "target", "count")


def histogram_partition(frame: Any, columns: dict[str, Any], cap: int) -> Any:
    """One pass over a partition: its labelled rows (count 1, in order) and, per stratum, the
    unlabelled rows' distinct scores with their counts (target NaN).

    More than ``cap`` distinct (stratum, score) pairs: one row with count -1, and
    the caller falls back to two passes (:func:`totals_partition`).
    """
    import pandas as pd

    frame, codes, labels, owner = _stratum_codes(frame, columns)
    score = frame[columns["score"]].to_numpy(dtype=np.float64, na_value=np.nan)
    target = frame[columns["target"]].to_numpy(dtype=np.float64, na_value=np.nan)
    labelled = np.isfinite(target)
    names = np.asarray(labels, dtype=object)
    groups = np.asarray([owner.get(label, "") for label in labels], dtype=object)
    pairs = pd.DataFrame({"code": codes[~labelled], "score": score[~labelled]})
    counts = pairs.groupby(["code", "score"], dropna=False, sort=False).size()
    if counts.size > cap:
        return _histogram_frame(pd, [""], [""], np.zeros(1), np.full(1, np.nan), np.full(1, -1))
    code_of = counts.index.get_level_values(0).to_numpy(dtype=np.int64)
    return _histogram_frame(
        pd,
        np.concatenate([names[codes[labelled]], names[code_of]]),
        np.concatenate([groups[codes[labelled]], groups[code_of]]),
        np.concatenate([score[labelled], counts.index.get_level_values(1).to_numpy(float)]),
        np.concatenate([target[labelled], np.full(code_of.size, np.nan)]),
        np.concatenate([np.ones(int(labelled.sum()), np.int64), counts.to_numpy(np.int64)]),
    )


def _histogram_frame(pd: Any, *columns: Any) -> Any:
    frame = pd.DataFrame(dict(zip(HISTOGRAM_COLUMNS, columns, strict=True)))
    return frame.astype(
        {
            "stratum": object,
            "group": object,
            "score": np.float64,
            "target": np.float64,
            "count": np.int64,
        }
    )


def totals_partition(
    frame: Any, plan_json: str, columns: dict[str, Any], low: float, high: float
) -> Any:
    """:func:`totals_from_frame` as a small pandas frame (``TOTALS_COLUMNS``, a row per stratum)."""
    import pandas as pd

    totals = totals_from_frame(frame, _loaded_plan(plan_json), columns, low, high)
    rows = [
        (
            name,
            group,
            part.items,
            part.unscored,
            part.judge.count,
            part.judge.mean,
            part.judge.m2,
            part.unlabelled.count,
            part.unlabelled.mean,
            part.unlabelled.m2,
        )
        for (name, group), part in totals.items()
    ]
    return _totals_frame(pd, rows)


def _totals_frame(pd: Any, rows: list[tuple[Any, ...]]) -> Any:
    frame = pd.DataFrame(rows, columns=list(TOTALS_COLUMNS))
    return frame.astype(
        {
            "stratum": object,
            "group": object,
            "items": np.int64,
            "unscored": np.int64,
            "judge_count": np.int64,
            "judge_mean": np.float64,
            "judge_m2": np.float64,
            "unlabelled_count": np.int64,
            "unlabelled_mean": np.float64,
            "unlabelled_m2": np.float64,
        }
    )


def totals_of_rows(rows: Any) -> StratumTotals:
    """One row of a ``TOTALS_COLUMNS`` frame back as :class:`StratumTotals`."""
    return StratumTotals(
        items=int(rows.items),
        unscored=int(rows.unscored),
        judge=Moments(int(rows.judge_count), float(rows.judge_mean), float(rows.judge_m2)),
        unlabelled=Moments(
            int(rows.unlabelled_count), float(rows.unlabelled_mean), float(rows.unlabelled_m2)
        ),
    )


def agreement_sums(codes: np.ndarray, n_categories: int) -> dict[str, np.ndarray]:
    """Additive sums of a units x raters matrix of category codes (-1: no rating).

    ``units`` (units with two ratings or more), ``pu_sum`` (sum of their shares
    of agreeing pairs), ``category_sum`` (their ratings per category) and
    ``coincidence`` (Krippendorff's coincidence matrix): all that exact
    agreement, Fleiss' kappa and Krippendorff's alpha need.
    """
    counts = np.zeros((codes.shape[0], n_categories))
    rows, raters = np.nonzero(codes >= 0)
    np.add.at(counts, (rows, codes[rows, raters]), 1.0)
    per_unit = counts.sum(1)
    kept = counts[per_unit >= 2]
    kept_total = per_unit[per_unit >= 2]
    pu = (kept * (kept - 1)).sum(1) / (kept_total * (kept_total - 1))
    scaled = kept / (kept_total - 1.0)[:, None]
    return {
        "units": np.array([[float(kept.shape[0])]]),
        "pu_sum": np.array([[float(pu.sum())]]),
        "category_sum": kept.sum(0)[None, :],
        "coincidence": scaled.T @ kept - np.diag(scaled.sum(0)),
    }


def agreement_partition(
    frame: Any, stage: str | None, ratings: list[str], offset: int, n_categories: int
) -> Any:
    """Per stage, the :func:`agreement_sums` of one partition, long (``AGREEMENT_COLUMNS``).

    Ratings are category codes plus ``offset`` (ordinal levels ``1..L``: offset 1); NaN: none.
    """
    import pandas as pd

    values = frame[ratings].to_numpy(dtype=np.float64, na_value=np.nan)
    codes = np.where(np.isfinite(values), values - offset, -1).astype(np.int64)
    stages = np.full(len(frame), "all") if stage is None else frame[stage].to_numpy(dtype=str)
    records = []
    for name in np.unique(stages):
        for statistic, matrix in agreement_sums(codes[stages == name], n_categories).items():
            for (row, column), value in np.ndenumerate(matrix):
                records.append((str(name), statistic, row, column, float(value)))
    out = pd.DataFrame(records, columns=list(AGREEMENT_COLUMNS))
    return out.astype(
        {
            "stage": object,
            "statistic": object,
            "row": np.int64,
            "column": np.int64,
            "value": np.float64,
        }
    )


def synthetic_partition(
    partition: int, rows: int, seed: int, labelled_share: float, stages: int = 2
) -> Any:
    """Synthetic judged items for benchmarks: stage, score on 1..5, human target (NaN: none).

    Made inside a worker from ``(seed, partition)`` alone, so no rows travel.

    Examples
    --------
    >>> frame = synthetic_partition(0, 1000, seed=1, labelled_share=0.01)
    >>> list(frame.columns), int(frame["target"].notna().sum()) > 0
    (['stage', 'score', 'target'], True)
    """
    import pandas as pd

    rng = np.random.default_rng([seed, partition])
    truth = rng.random(rows) < 0.3
    score = np.clip(np.rint(1 + 2.5 * truth + rng.normal(1.0, 1.0, rows)), 1, 5)
    target = np.where(rng.random(rows) < labelled_share, truth.astype(float), np.nan)
    stage = pd.Categorical.from_codes(
        rng.integers(0, stages, rows), categories=[f"stage{k}" for k in range(stages)]
    )
    return pd.DataFrame({"stage": stage, "score": score, "target": target})
