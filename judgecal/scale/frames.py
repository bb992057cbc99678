r"""Dask entry points: calibrate, estimate and measure agreement over a Dask DataFrame.

The table has one row per judged item: a ``score`` column (NaN where the judge
failed), a ``target`` column (the human target in [0, 1], NaN where no human
labelled the item), and stratum or group columns (``stage``, ``system``).
:func:`judgment_frame` makes one from a :class:`~judgecal.JudgmentSet`.

What travels to workers: a reference to a function of
:mod:`judgecal.scale.partitions` and its arguments (column names, numbers and
the calibrators' JSON). Labelled rows come back to the client (they are few);
of the other rows only per-stratum sums come back.

Needs ``pip install 'judgecal[dask]'``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from judgecal import persist
from judgecal._exceptions import InputError, InputTypeError, MissingDependencyError
from judgecal._validation import FloatArray, Verbatim, check_choice, check_float, check_int
from judgecal.estimate.results import RateEstimate
from judgecal.estimate.sufficient import (
    StratumTotals,
    estimate_from_totals,
    judgment_columns,
    labelled_data,
    plan_crossfit,
    plan_to_json,
    totals_from_histogram,
    totals_weights,
)
from judgecal.records.core import JudgmentSet, Scale
from judgecal.scale.partitions import (
    AGREEMENT_COLUMNS,
    HISTOGRAM_COLUMNS,
    TOTALS_COLUMNS,
    _strata_names,
    agreement_partition,
    calibrate_partition,
    histogram_partition,
    totals_of_rows,
    totals_partition,
)
from judgecal.vocabulary import DEFAULT_LEVEL

__all__ = [
    "CountAgreement",
    "agreement_counts",
    "apply_calibrator",
    "estimate_difference",
    "estimate_rate",
    "judgment_frame",
    "ratings_frame",
    "require_dask",
]

_INSTALL = "pip install 'judgecal[dask]'  (dask[dataframe] and distributed)"


def require_dask(where: str) -> Any:
    """``dask.dataframe``, or a :class:`~judgecal.MissingDependencyError` saying what to install."""
    try:
        import dask.dataframe as dd
    except ImportError as exc:
        raise MissingDependencyError(
            f"{where} needs Dask, which is not installed: {_INSTALL}"
        ) from exc
    return dd


def _check_frame(frame: Any, columns: Sequence[str | None], where: str) -> Any:
    dd = require_dask(where)
    if not isinstance(frame, dd.DataFrame):
        raise InputTypeError("frame", "a dask.dataframe.DataFrame", frame, where=where)
    missing = [name for name in columns if name is not None and name not in frame.columns]
    if missing:
        raise InputError(
            "frame",
            f"a column named {missing[0]!r}",
            Verbatim(f"columns {list(frame.columns)}"),
            where=where,
        )
    return dd


def _scale_bounds(scale: Any, where: str) -> tuple[float, float]:
    if isinstance(scale, Scale):
        return float(scale.low), float(scale.high)
    if isinstance(scale, tuple) and len(scale) == 2:
        low = check_float(scale[0], "scale", where=where)
        high = check_float(scale[1], "scale", where=where)
        if high > low:
            return low, high
    raise InputTypeError("scale", "a judgecal Scale or a (low, high) tuple", scale, where=where)


def judgment_frame(
    judgments: JudgmentSet, *, threshold: int | None = None, meta: Sequence[str] = ()
) -> Any:
    """A pandas frame of ``judgments``: item, stage, score, target, and the ``meta`` fields.

    Turn it into a Dask DataFrame with ``dask.dataframe.from_pandas``; the
    functions of this module then give the answers of their in-memory twins.

    Examples
    --------
    >>> import judgecal
    >>> frame = judgment_frame(judgecal.load_pandalm(with_texts=False))
    >>> list(frame.columns), len(frame)
    (['item', 'stage', 'score', 'target'], 999)
    """
    import pandas as pd

    columns: dict[str, Any] = judgment_columns(judgments, threshold=threshold)
    for name in meta:
        columns[name] = judgments.meta(name)
    return pd.DataFrame(columns)


def apply_calibrator(
    frame: Any,
    calibrator: Any,
    *,
    score: str = "score",
    stage: str | None = None,
    column: str = "p_agree",
) -> Any:
    """Add ``column``, P(a human agrees), to every partition of a Dask DataFrame (lazy).

    The calibrator is sent to the workers as its JSON document
    (:func:`judgecal.persist.dumps`); pass the JSON text itself if you have it.
    Rows without a score get NaN.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
    calibrator : fitted calibrator or str
        A fitted judgecal calibrator, or its JSON text.
    score : str
        The judge-score column.
    stage : str, optional
        The stage column, for calibrators fitted per stage.
    column : str
        Name of the new column.

    Returns
    -------
    dask.dataframe.DataFrame

    Examples
    --------
    >>> import dask.dataframe as dd, pandas as pd
    >>> from judgecal import IsotonicCalibrator
    >>> cal = IsotonicCalibrator().fit([1, 2, 3, 4], [0, 0, 1, 1])
    >>> frame = dd.from_pandas(pd.DataFrame({"score": [1.0, 4.0, 2.0]}), npartitions=2)
    >>> apply_calibrator(frame, cal).compute(scheduler="sync")["p_agree"].tolist()
    [0.166..., 0.833..., 0.166...]
    """
    where = "apply_calibrator"
    _check_frame(frame, (score, stage), where)
    document = calibrator if isinstance(calibrator, str) else persist.dumps(calibrator)
    persist.loads(document)  # refuse a bad document here, not on every worker
    meta = frame._meta.assign(**{column: np.float64(0.0)}).iloc[:0]
    return frame.map_partitions(calibrate_partition, document, score, stage, column, meta=meta)


def _collect_totals(
    frame: Any, plan_json: str, columns: dict[str, Any], bounds: tuple[float, float]
) -> dict[tuple[str, str], StratumTotals]:
    """Every partition's totals, merged on the client in partition order."""
    import pandas as pd

    meta = pd.DataFrame(
        {
            name: pd.Series(dtype=object if i < 2 else np.float64)
            for i, name in enumerate(TOTALS_COLUMNS)
        }
    )
    parts = frame.map_partitions(
        totals_partition, plan_json, columns, bounds[0], bounds[1], meta=meta
    ).compute()
    merged: dict[tuple[str, str], StratumTotals] = {}
    for row in parts.itertuples(index=False):
        key = (str(row.stratum), str(row.group))
        part = totals_of_rows(row)
        merged[key] = merged[key].merge(part) if key in merged else part
    return merged


def _labelled_rows(frame: Any, columns: dict[str, Any]) -> Any:
    keep = frame[columns["target"]].notnull()
    if columns.get("group") is not None:
        keep = keep & frame[columns["group"]].astype(str).isin([str(v) for v in columns["keep"]])
    wanted = [columns[k] for k in ("score", "target", "strata", "group") if columns.get(k)]
    return frame[keep][wanted].compute()


def _estimate(
    frame: Any,
    columns: dict[str, Any],
    bounds: tuple[float, float],
    method: str,
    calibrator: Any,
    settings: dict[str, Any],
) -> tuple[Any, Any, dict[tuple[str, str], StratumTotals]]:
    """Cross-fit on the collected labelled rows; sum the rest partition by partition.

    One pass when the scores take few values per partition (their histogram is
    sufficient); otherwise a second pass predicts every unlabelled row on the workers.
    """
    histogram = _collect_histogram(frame, columns)
    if histogram is None:
        rows = _labelled_rows(frame, columns)
        names = _strata_names(rows, columns.get("strata"), columns.get("group"))
        score = rows[columns["score"]].to_numpy(dtype=np.float64, na_value=np.nan)
        target = rows[columns["target"]].to_numpy(dtype=np.float64)
    else:
        rows = histogram[histogram["target"].notna()]
        names = rows["stratum"].to_numpy(dtype=str)
        score, target = rows["score"].to_numpy(float), rows["target"].to_numpy(float)
    labelled = labelled_data(score, target, names, bounds[0], bounds[1], settings["where"])
    if method == "human":
        predictions: FloatArray = np.zeros(labelled.target.size)
        plan = None
    else:
        predictions, plan = plan_crossfit(
            labelled,
            calibrator,
            folds=settings["folds"],
            seed=settings["seed"],
            stagewise=settings["stagewise"],
            where=settings["where"],
        )
    if histogram is None:
        return labelled, predictions, _collect_totals(frame, plan_to_json(plan), columns, bounds)
    return labelled, predictions, _histogram_totals(histogram, labelled, rows, plan, bounds)


def _collect_histogram(frame: Any, columns: dict[str, Any], cap: int = 4096) -> Any:
    """Every partition's labelled rows and unlabelled score histogram (None: too many scores)."""
    import pandas as pd

    meta = pd.DataFrame(
        {
            name: pd.Series(dtype=object if i < 2 else np.float64)
            for i, name in enumerate(HISTOGRAM_COLUMNS)
        }
    ).astype({"count": np.int64})
    parts = frame.map_partitions(histogram_partition, columns, cap, meta=meta).compute()
    if (parts["count"] < 0).any():
        return None
    return parts


def _histogram_totals(
    parts: Any, labelled: Any, rows: Any, plan: Any, bounds: tuple[float, float]
) -> dict[tuple[str, str], StratumTotals]:
    unlabelled = parts[parts["target"].isna()]
    merged = unlabelled.groupby(["stratum", "score"], dropna=False, sort=False)["count"].sum()
    per_stratum = {}
    for name, part in merged.groupby(level=0, sort=False):
        values = part.index.get_level_values(1).to_numpy(dtype=np.float64)
        per_stratum[str(name)] = (values, part.to_numpy(dtype=np.int64))
    totals = totals_from_histogram(labelled, per_stratum, plan, bounds[0], bounds[1])
    owner = dict(zip(parts["stratum"].astype(str), parts["group"].astype(str), strict=True))
    return {(name, owner.get(name, "")): part for name, part in totals.items()}


def _check_settings(
    method: Any, methods: tuple[str, ...], level: Any, folds: Any, interval: Any, where: str
) -> None:
    check_choice(method, "method", methods, where=where)
    check_float(level, "level", low=0.0, high=1.0, low_open=True, high_open=True, where=where)
    check_int(folds, "folds", low=2, where=where)
    check_choice(interval, "interval", ("t", "normal"), where=where)


def estimate_rate(
    frame: Any,
    *,
    scale: Any,
    score: str = "score",
    target: str = "target",
    strata: str | None = "stage",
    method: Literal["ppi++", "ppi", "human"] = "ppi++",
    calibrator: Any = "isotonic",
    level: float = DEFAULT_LEVEL,
    folds: int = 5,
    stagewise: bool = False,
    interval: Literal["t", "normal"] = "t",
    seed: int | None = 0,
) -> RateEstimate:
    """:func:`judgecal.estimate_rate` over a Dask DataFrame, from per-partition sums.

    The labelled rows (``target`` not NaN) are collected and the calibrator is
    cross-fitted on them as in memory; the fold calibrators travel to the
    workers as JSON, and each partition returns, per stratum, the count, mean
    and squared deviations of its unlabelled predictions and of its unit
    scores (:mod:`judgecal.estimate.sufficient`). On the rows of
    :func:`judgment_frame` the result equals the in-memory one to 1e-12.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
        One row per item, in the order of the in-memory records.
    scale : Scale or (low, high)
        The judge's scale (for the raw-judge baseline and ``calibrator="none"``).
    score, target, strata : str
        Columns: judge score (NaN: judge failed), human target in [0, 1] (NaN:
        unlabelled), stratum (None: one stratum).
    method : {"ppi++", "ppi", "human"}
    calibrator, level, folds, stagewise, interval, seed
        As in :func:`judgecal.estimate_rate`.

    Returns
    -------
    RateEstimate

    Examples
    --------
    >>> import dask.dataframe as dd, judgecal
    >>> js = judgecal.keep_labels(judgecal.load_pandalm(with_texts=False), 150, seed=0)
    >>> frame = dd.from_pandas(judgment_frame(js), npartitions=3)
    >>> r = estimate_rate(frame, scale=js.scale, strata=None)
    >>> abs(r.estimate - judgecal.estimate_rate(js, strata=None).estimate) < 1e-12
    True
    """
    where = "estimate_rate"
    _check_settings(method, ("ppi++", "ppi", "human"), level, folds, interval, where)
    check_choice(stagewise, "stagewise", (True, False), where=where)
    _check_frame(frame, (score, target, strata), where)
    bounds = _scale_bounds(scale, where)
    columns = {"score": score, "target": target, "strata": strata}
    settings = {
        "level": level,
        "interval": interval,
        "folds": folds,
        "bounded": True,
        "estimand": "P(human says yes)",
        "where": where,
        "seed": seed,
        "stagewise": stagewise,
    }
    labelled, predictions, totals = _estimate(frame, columns, bounds, method, calibrator, settings)
    by_name = {name: part for (name, _), part in totals.items()}
    return estimate_from_totals(
        labelled,
        predictions,
        by_name,
        totals_weights(by_name),
        method=method,
        calibrator=calibrator,
        settings=settings,
    )


def estimate_difference(
    frame: Any,
    *,
    group: str,
    first: str,
    second: str,
    scale: Any,
    score: str = "score",
    target: str = "target",
    strata: str | None = "stage",
    method: Literal["ppi++", "ppi", "human"] = "ppi++",
    calibrator: Any = "isotonic",
    level: float = DEFAULT_LEVEL,
    folds: int = 5,
    interval: Literal["t", "normal"] = "t",
    seed: int | None = 0,
) -> RateEstimate:
    """:func:`judgecal.estimate_difference` over a Dask DataFrame: ``rate(first) - rate(second)``.

    ``group`` names the system column; the rest is as in :func:`estimate_rate`.
    The strata are ``"<system> | <stratum>"``, with signed weights, as in memory.

    Examples
    --------
    >>> import dask.dataframe as dd, pandas as pd, numpy as np
    >>> rng = np.random.default_rng(0)
    >>> rows = pd.DataFrame({"system": np.repeat(["a", "b"], 500),
    ...     "score": rng.integers(1, 6, 1000).astype(float), "target": np.nan})
    >>> rows.loc[::5, "target"] = (rows["score"][::5] > 3).astype(float)
    >>> r = estimate_difference(dd.from_pandas(rows, npartitions=2), group="system",
    ...     first="a", second="b", scale=(1, 5), strata=None)
    >>> -1 <= r.low <= r.estimate <= r.high <= 1
    True
    """
    where = "estimate_difference"
    _check_settings(method, ("ppi++", "ppi", "human"), level, folds, interval, where)
    _check_frame(frame, (score, target, strata, group), where)
    if str(first) == str(second):
        raise InputError(
            "second", f"a value of {group!r} other than first={first!r}", second, where=where
        )
    bounds = _scale_bounds(scale, where)
    columns = {
        "score": score,
        "target": target,
        "strata": strata,
        "group": group,
        "keep": [str(first), str(second)],
    }
    settings = {
        "level": level,
        "interval": interval,
        "folds": folds,
        "bounded": False,
        "estimand": f"P(human says yes): {first} - {second}",
        "where": where,
        "seed": seed,
        "stagewise": False,
    }
    labelled, predictions, totals = _estimate(frame, columns, bounds, method, calibrator, settings)
    by_name = {name: part for (name, _), part in totals.items()}
    groups = {name: system for (name, system) in totals}
    for value, side in ((str(first), "first"), (str(second), "second")):
        if value not in groups.values():
            raise InputError(side, f"a value of column {group!r}", value, where=where)
    weights = {
        **totals_weights(by_name, [n for n, g in groups.items() if g == str(first)], 1.0),
        **totals_weights(by_name, [n for n, g in groups.items() if g == str(second)], -1.0),
    }
    result = estimate_from_totals(
        labelled,
        predictions,
        by_name,
        weights,
        method=method,
        calibrator=calibrator,
        settings=settings,
    )
    return result.model_copy(update={"low": max(result.low, -1.0), "high": min(result.high, 1.0)})


@dataclass(frozen=True)
class CountAgreement:
    """Agreement among the ratings of one stage, from counts alone (None: nothing pairable)."""

    n_items: int
    """Items with at least two ratings."""
    exact: float | None
    fleiss_kappa: float | None
    alpha_nominal: float | None
    alpha_ordinal: float | None


def ratings_frame(judgments: JudgmentSet) -> Any:
    """A pandas frame of the human ratings: stage, then ``rating_1 .. rating_m`` (NaN: none).

    Values as :meth:`~judgecal.JudgmentSet.ratings_long` codes them (binary 0/1,
    ordinal levels, pairwise second=0/tie=1/first=2).

    Examples
    --------
    >>> import judgecal
    >>> list(ratings_frame(judgecal.load_pandalm(with_texts=False)).columns)
    ['stage', 'rating_1', 'rating_2', 'rating_3']
    """
    import pandas as pd

    item, value, _ = judgments.ratings_long()
    n_items = len(judgments)
    first = np.searchsorted(item, item, side="left") if item.size else item
    slot = np.arange(item.size) - first
    n_slots = int(slot.max()) + 1 if slot.size else 1
    wide = np.full((n_items, n_slots), np.nan)
    wide[item, slot] = value
    columns: dict[str, Any] = {"stage": judgments.stages()}
    for k in range(n_slots):
        columns[f"rating_{k + 1}"] = wide[:, k]
    return pd.DataFrame(columns)


def _categories(label_kind: str, levels: int | None, where: str) -> tuple[int, int]:
    """(number of categories, offset of the codes) of a label kind."""
    check_choice(label_kind, "label_kind", ("binary", "ordinal", "pairwise"), where=where)
    if label_kind == "binary":
        return 2, 0
    if label_kind == "pairwise":
        return 3, 0
    if levels is None:
        raise InputError("levels", "the number of levels for ordinal labels", None, where=where)
    return check_int(levels, "levels", low=2, where=where), 1


def agreement_counts(
    frame: Any,
    *,
    ratings: Sequence[str],
    label_kind: Literal["binary", "ordinal", "pairwise"],
    levels: int | None = None,
    stage: str | None = "stage",
) -> dict[str, CountAgreement]:
    """Human-human agreement per stage over a Dask DataFrame of ratings (one row per item).

    Exact agreement, Fleiss' kappa and Krippendorff's alpha (nominal and
    ordinal) depend on the ratings only through per-item counts, so each
    partition returns sums (units, shares of agreeing pairs, category totals,
    the coincidence matrix) and the client finishes the formulas of
    :mod:`judgecal.agreement`. Cohen's kappa per rater pair and the bootstrap
    intervals need the items themselves: use :func:`judgecal.agreement_report`
    on a sample for those.

    Examples
    --------
    >>> import dask.dataframe as dd, judgecal
    >>> js = judgecal.load_pandalm(with_texts=False)
    >>> frame = dd.from_pandas(ratings_frame(js), npartitions=2)
    >>> out = agreement_counts(frame, ratings=["rating_1", "rating_2", "rating_3"],
    ...                        label_kind="pairwise")
    >>> mine = out["bloom-7b_opt-7b"].fleiss_kappa
    >>> report = judgecal.agreement_report(js, n_resamples=0)
    >>> theirs = report.stages["bloom-7b_opt-7b"].comparisons[0].fleiss_kappa.value
    >>> abs(mine - theirs) < 1e-12
    True
    """
    where = "agreement_counts"
    _check_frame(frame, (stage, *ratings), where)
    n_categories, offset = _categories(label_kind, levels, where)
    import pandas as pd

    meta = pd.DataFrame(
        {
            name: pd.Series(
                dtype=np.int64
                if name in ("row", "column")
                else np.float64
                if name == "value"
                else object
            )
            for name in AGREEMENT_COLUMNS
        }
    )
    parts = frame.map_partitions(
        agreement_partition, stage, list(ratings), offset, n_categories, meta=meta
    ).compute()
    out = {}
    for name, rows in parts.groupby("stage", sort=False):
        sums = {}
        for statistic, cells in rows.groupby("statistic", sort=False):
            width = n_categories if statistic in ("category_sum", "coincidence") else 1
            height = n_categories if statistic == "coincidence" else 1
            matrix = np.zeros((height, width))
            np.add.at(
                matrix,
                (cells["row"].to_numpy(), cells["column"].to_numpy()),
                cells["value"].to_numpy(),
            )
            sums[statistic] = matrix
        out[str(name)] = _finish_agreement(sums)
    return out


def _finish_agreement(sums: dict[str, FloatArray]) -> CountAgreement:
    """The coefficients from merged sums (formulas of :mod:`judgecal.agreement`, weights 1)."""
    from judgecal.agreement import alpha_from_coincidences

    units = int(sums["units"][0, 0])
    if units == 0:
        return CountAgreement(0, None, None, None, None)
    exact = float(sums["pu_sum"][0, 0]) / units
    category = sums["category_sum"][0]
    chance = float(((category / category.sum()) ** 2).sum())
    fleiss = 1.0 if 1.0 - chance <= 1e-12 else float(np.round((exact - chance) / (1 - chance), 12))
    return CountAgreement(
        n_items=units,
        exact=exact,
        fleiss_kappa=fleiss,
        alpha_nominal=alpha_from_coincidences(sums["coincidence"], "nominal"),
        alpha_ordinal=alpha_from_coincidences(sums["coincidence"], "ordinal"),
    )
