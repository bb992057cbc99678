"""Records turned into the arrays every estimator works on, and cross-fitted predictions.

Internal to :mod:`judgecal.estimate`: names here are public to the package's
modules, not to users.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone

from judgecal._exceptions import InputError, InputTypeError, SmallSampleWarning
from judgecal._validation import FloatArray, check_choice, check_stages
from judgecal.calibration.base import StagewiseCalibrator
from judgecal.calibration.isotonic import IsotonicCalibrator
from judgecal.calibration.logistic import LogisticCalibrator
from judgecal.records.core import JudgmentSet
from judgecal.vocabulary import PAIRWISE_CODES


@dataclass(frozen=True)
class PreparedData:
    """One row per item: judge score, human target, and the item's stratum."""

    labelled: np.ndarray
    """bool: the item has usable human ratings."""
    scored: np.ndarray
    """bool: the judge gave a score."""
    score: FloatArray
    """Judge score (0 where unscored)."""
    unit_score: FloatArray
    """Judge score rescaled to [0, 1]."""
    target: FloatArray
    """Main human target (meaningful on labelled rows only)."""
    nontie_share: FloatArray | None
    """Share of ratings that are not ties: the ratio's denominator (``ties="drop"``)."""
    tie_share: FloatArray | None
    """Share of ratings that are ties (``ties="separate"``)."""
    judge_says_tie: FloatArray | None
    """1 where the judge's verdict is "tie" (verdict scales with a tie word)."""
    strata: np.ndarray
    """Stratum name of each item."""
    panel: FloatArray | None = None
    """A judge panel's scores, shape (n, k), one column per judge (0 where a judge
    failed; ``scored`` is then True only where every judge scored); None: one judge."""

    def sample_sizes(self) -> dict[str, int]:
        """``n_labelled``, ``n_unlabelled`` and ``n_unscored``, as every estimate reports them."""
        n_labelled = int(self.labelled.sum())
        return {
            "n_labelled": n_labelled,
            "n_unlabelled": int(self.labelled.size - n_labelled),
            "n_unscored": int((~self.scored).sum()),
        }

    @property
    def predictors(self) -> FloatArray:
        """What the calibrator sees: the panel's scores (n, k), or the judge score (n,)."""
        return self.score if self.panel is None else self.panel

    def subset(self, rows: np.ndarray, strata: np.ndarray) -> PreparedData:
        """The rows ``rows`` under new stratum names, without the tie columns."""
        return PreparedData(
            labelled=self.labelled[rows],
            scored=self.scored[rows],
            score=self.score[rows],
            unit_score=self.unit_score[rows],
            target=self.target[rows],
            nontie_share=None,
            tie_share=None,
            judge_says_tie=None,
            strata=strata,
            panel=None if self.panel is None else self.panel[rows],
        )


def item_targets(
    js: JudgmentSet, threshold: int | None, ties: str
) -> tuple[FloatArray, FloatArray, FloatArray, np.ndarray]:
    """Per item: (positive share, non-tie share, tie share, usable); 0 where unlabelled.

    Pairwise ratings are coded second=0, tie=1, first=2 (:mod:`judgecal.vocabulary`)
    by the records; ``ties="half"`` counts a tie as half a preference, every
    other policy counts only ``first`` as positive.
    """
    n_items = len(js)
    nontie, tie = np.ones(n_items), np.zeros(n_items)
    if js.label_kind is None:
        return np.zeros(n_items), nontie, tie, np.zeros(n_items, dtype=bool)
    item, value, _ = js.ratings_long(coding="vocabulary")
    count = np.bincount(item, minlength=n_items).astype(float)
    usable = count > 0
    per_item = np.where(usable, count, 1.0)

    def share(mask: np.ndarray) -> FloatArray:
        counted = np.bincount(item, weights=mask.astype(float), minlength=n_items)
        out: FloatArray = np.asarray(counted, dtype=np.float64) / per_item
        return out

    if js.label_kind == "pairwise":
        first = share(value == PAIRWISE_CODES["first"])
        tie_share = share(value == PAIRWISE_CODES["tie"])
        positive = first + 0.5 * tie_share if ties == "half" else first
        return positive, 1.0 - tie_share, tie_share, usable
    if js.label_kind == "ordinal":
        positive_rating = value >= (0 if threshold is None else threshold)
    else:
        positive_rating = value == 1
    return share(positive_rating), nontie, tie, usable


def _check_labels(js: Any, threshold: int | None, ties: str, where: str) -> None:
    if not isinstance(js, JudgmentSet):
        raise InputTypeError("judgments", "a JudgmentSet", js, where=where)
    if len(js) == 0:
        raise InputError("judgments", "a non-empty JudgmentSet", "an empty set", where=where)
    if js.label_kind is None:
        raise InputError(
            "judgments", "a set with some human ratings", "no ratings at all", where=where
        )
    if js.label_kind == "ordinal" and threshold is None:
        raise InputError(
            "threshold",
            f"the lowest level (2..{js.levels}) that counts as positive for ordinal labels",
            None,
            where=where,
        )
    if js.label_kind != "ordinal" and threshold is not None:
        raise InputError("threshold", "None unless labels are ordinal", threshold, where=where)
    if ties != "half" and js.label_kind != "pairwise":
        raise InputError(
            "ties", "'half' (the default) unless labels are pairwise", ties, where=where
        )


def _strata_of(js: JudgmentSet, strata: Any, where: str) -> np.ndarray:
    if strata is None:
        return np.full(len(js), "all")
    if isinstance(strata, str) and strata == "stage":
        return np.asarray(js.stages(), dtype=str)
    if isinstance(strata, str):
        return np.asarray(js.meta(strata), dtype=str)
    return np.asarray(check_stages(strata, len(js), "strata", where=where), dtype=str)


def _judge_says_tie(js: JudgmentSet, scored: np.ndarray, score: FloatArray) -> FloatArray | None:
    words = [v.lower() for v in js.scale.verdicts] if js.scale.kind == "verdict" else []
    if "tie" not in words:
        return None
    out: FloatArray = (scored & (score == words.index("tie"))).astype(float)
    return out


def prepare_records(
    js: Any,
    strata: Any,
    threshold: int | None,
    ties: str,
    where: str,
    judges: Any = None,
    *,
    panel_from_records: bool = False,
) -> PreparedData:
    """Check the records and turn them into arrays (targets under the tie policy ``ties``).

    ``judges`` picks a judge panel (see :func:`panel_scores`); with one, the
    calibrator sees every panel judge's score and ``scored`` means that all of
    them scored the item. ``judges=None`` is one judge, or with
    ``panel_from_records`` every judge the records name (when two or more).
    """
    _check_labels(js, threshold, ties, where)
    positive, nontie, tie, usable = item_targets(js, threshold, ties)
    scored = np.array([j.score is not None for j in js], dtype=bool)
    score = np.array([0.0 if j.score is None else float(j.score) for j in js])
    panel, panel_scored = (
        (None, None)
        if judges is None and not panel_from_records
        else panel_scores(js, judges, where)
    )
    return PreparedData(
        labelled=usable,
        scored=scored if panel_scored is None else panel_scored,
        score=score,
        unit_score=js.scale.to_unit(score),
        target=positive,
        nontie_share=nontie if ties == "drop" else None,
        tie_share=tie if ties == "separate" else None,
        judge_says_tie=_judge_says_tie(js, scored, score),
        strata=_strata_of(js, strata, where),
        panel=panel,
    )


def panel_scores(js: JudgmentSet, judges: Any, where: str) -> tuple[FloatArray | None, Any]:
    """The panel's scores (n, k) and where every judge scored; ``(None, None)``: one judge.

    ``judges`` is None (the records' own named judges when they carry two or
    more, else one judge), a sequence of the records' judge names, or a mapping
    of name to a :class:`~judgecal.JudgmentSet` of other judges' scores of the
    same items (matched by stage and item id); the records' own judge is then
    column 0.
    """
    if judges is None:
        names = _record_judges(js)
        return _named_panel(js, names, where) if len(names) >= 2 else (None, None)
    if isinstance(judges, Mapping):
        columns = [_judge_column(js, js, "", where)]
        columns += [_judge_column(js, other, str(name), where) for name, other in judges.items()]
    elif isinstance(judges, Sequence) and not isinstance(judges, str):
        return _named_panel(js, list(judges), where)
    else:
        raise InputTypeError(
            "judges",
            "None, a sequence of the records' judge names, or a mapping name -> JudgmentSet",
            judges,
            where=where,
        )
    return _stack(columns)


def _record_judges(js: JudgmentSet) -> list[str]:
    """Names of the judges the records carry (none when they carry one unnamed judge)."""
    names = getattr(js, "judges", None)
    names = names() if callable(names) else names
    return [str(n) for n in names] if isinstance(names, Sequence) else []


def _named_panel(js: JudgmentSet, names: list[str], where: str) -> tuple[FloatArray, Any]:
    known = _record_judges(js)
    if len(names) < 2 or len(set(names)) != len(names) or not set(names) <= set(known):
        raise InputError(
            "judges",
            f"two or more distinct names of the records' judges {known} "
            "(or a mapping name -> JudgmentSet of other judges' scores)",
            names,
            where=where,
        )
    matrix = np.asarray(js.panel_scores(), dtype=np.float64)  # NaN where a judge gave none
    columns = []
    for name in names:
        score = matrix[:, known.index(name)]
        columns.append((np.nan_to_num(score, nan=0.0), np.isfinite(score)))
    return _stack(columns)


def _judge_column(
    js: JudgmentSet, other: Any, name: str, where: str
) -> tuple[FloatArray, np.ndarray]:
    """``other``'s score of each item of ``js`` (0 where none) and whether it scored."""
    if not isinstance(other, JudgmentSet):
        raise InputTypeError(f"judges[{name!r}]", "a JudgmentSet", other, where=where)
    found = {(j.stage, j.item_id): j.score for j in other}
    score, ok = np.zeros(len(js)), np.zeros(len(js), dtype=bool)
    for row, j in enumerate(js):
        key = (j.stage, j.item_id)
        if key not in found:
            raise InputError(
                f"judges[{name!r}]",
                "a judgment for every item of judgments (same stage and item_id)",
                f"none for item {j.item_id!r} in stage {j.stage!r}",
                where=where,
            )
        value = found[key]
        if value is not None:
            score[row], ok[row] = float(value), True
    return score, ok


def _stack(columns: list[tuple[FloatArray, np.ndarray]]) -> tuple[FloatArray, Any]:
    panel = np.column_stack([c for c, _ in columns])
    every = np.logical_and.reduce([ok for _, ok in columns])
    return panel, every


def data_from_arrays(
    scores: FloatArray,
    scale_low: float,
    scale_high: float,
    y: FloatArray,
    labelled: np.ndarray,
    strata: np.ndarray | None = None,
    panel: FloatArray | None = None,
) -> PreparedData:
    """Fast path for simulations: every item scored, binary-style targets.

    ``panel`` (n, k): every judge's score, for a calibrator of a judge panel
    (``scores`` stays the one judge of the raw baseline).
    """
    n_items = scores.size
    return PreparedData(
        labelled=labelled.astype(bool),
        scored=np.ones(n_items, dtype=bool),
        score=scores.astype(float),
        unit_score=np.clip((scores - scale_low) / (scale_high - scale_low), 0.0, 1.0),
        target=y.astype(float),
        nontie_share=None,
        tie_share=None,
        judge_says_tie=None,
        strata=np.full(n_items, "all") if strata is None else np.asarray(strata, dtype=str),
        panel=None if panel is None else np.asarray(panel, dtype=np.float64),
    )


def stratum_weights(
    data: PreparedData, group_mask: np.ndarray | None = None, sign: float = 1.0
) -> dict[str, float]:
    """Each stratum's share of all items (of ``group_mask``), times ``sign``."""
    strata = data.strata if group_mask is None else data.strata[group_mask]
    names, counts = distinct_counts(strata)
    total = float(counts.sum())
    return {str(k): sign * float(c) / total for k, c in zip(names, counts, strict=True)}


def distinct_counts(values: np.ndarray, peel: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_counts=True)`` without sorting millions of strings.

    A column with few distinct values (strata) is peeled one value at a time
    (a comparison per pass); past ``peel`` values the rest is sorted.
    """
    names: list[Any] = []
    counts: list[int] = []
    remaining = values
    while remaining.size and len(names) < peel:
        same = remaining == remaining[0]
        names.append(remaining[0])
        counts.append(int(same.sum()))
        remaining = remaining[~same]
    if remaining.size:
        rest, rest_counts = np.unique(remaining, return_counts=True)
        names.extend(rest.tolist())
        counts.extend(rest_counts.tolist())
    order = np.argsort(np.asarray(names, dtype=values.dtype), kind="stable")
    return (
        np.asarray(names, dtype=values.dtype)[order],
        np.asarray(counts, dtype=np.int64)[order],
    )


def make_calibrator(calibrator: Any, where: str) -> Any:
    """``"isotonic"``, ``"logistic"``, ``"none"``/None, or a calibrator object (checked)."""
    if calibrator is None or (isinstance(calibrator, str) and calibrator == "none"):
        return None
    if isinstance(calibrator, str):
        check_choice(calibrator, "calibrator", ("isotonic", "logistic", "none"), where=where)
        return IsotonicCalibrator() if calibrator == "isotonic" else LogisticCalibrator()
    if isinstance(calibrator, StagewiseCalibrator) or all(
        callable(getattr(calibrator, m, None)) for m in ("fit", "predict_agreement", "get_params")
    ):
        return calibrator
    raise InputTypeError(
        "calibrator",
        "'isotonic', 'logistic', 'none' or an unfitted calibrator "
        "(fit, predict_agreement, get_params)",
        calibrator,
        where=where,
    )


@dataclass(frozen=True)
class CrossFitPlan:
    """The fold calibrators of a cross-fit: how every item outside the labelled sample is predicted.

    An unlabelled item gets the mean over the folds of each fold calibrator's
    prediction (the fold's training mean ``fill`` where the judge gave no
    score). Without a calibrator (``raw_fill`` set) the prediction is the unit
    score, ``raw_fill`` where unscored.
    """

    models: tuple[tuple[Any, float], ...]
    """(fitted calibrator or None, fill) per fold."""
    raw_fill: float | None
    stagewise: bool

    def predict(
        self, score: FloatArray, scored: np.ndarray, unit_score: FloatArray, strata: np.ndarray
    ) -> FloatArray:
        """Predictions for items outside the labelled sample (arrays of one length)."""
        if self.raw_fill is not None:
            raw: FloatArray = np.where(scored, unit_score, self.raw_fill)
            return raw
        total = np.zeros(score.shape[0])
        for model, fill in self.models:
            total += fill_predictions(model, score, scored, strata, fill, self.stagewise)
        out: FloatArray = total / len(self.models)
        return out


def fit_crossfit(
    data: PreparedData,
    target: FloatArray,
    calibrator: Any,
    folds: int,
    rng: np.random.Generator,
    stagewise: bool,
) -> tuple[FloatArray, CrossFitPlan]:
    """Out-of-fold predictions of the labelled items (in row order) and the fold calibrators."""
    labelled = np.flatnonzero(data.labelled)
    n_folds = int(min(folds, labelled.size // 2))
    pred = np.empty(data.score.size)
    if calibrator is None or n_folds < 2:
        fill = float(target[labelled].mean())
        pred[labelled] = np.where(data.scored[labelled], data.unit_score[labelled], fill)
        return pred[labelled], CrossFitPlan((), fill, stagewise)
    models = []
    for fold in np.array_split(rng.permutation(labelled), n_folds):
        train = np.setdiff1d(labelled, fold, assume_unique=True)
        model = _fit_fold(data, target, calibrator, train, stagewise)
        fill = float(target[train].mean())
        pred[fold] = predict_or_fill(data, model, fold, fill, stagewise)
        models.append((model, fill))
    return pred[labelled], CrossFitPlan(tuple(models), None, stagewise)


def crossfit(
    data: PreparedData,
    target: FloatArray,
    calibrator: Any,
    folds: int,
    rng: np.random.Generator,
    stagewise: bool,
) -> FloatArray:
    """Cross-fitted predictions of ``target`` for every item (labelled items: out-of-fold).

    Each labelled item gets the prediction of the calibrator fitted without its
    fold; each unlabelled item the mean over the fold calibrators. Items the
    judge failed on get the training folds' labelled mean.
    """
    labelled = np.flatnonzero(data.labelled)
    unlabelled = np.flatnonzero(~data.labelled)
    pred_labelled, plan = fit_crossfit(data, target, calibrator, folds, rng, stagewise)
    pred = np.empty(data.score.size)
    pred[labelled] = pred_labelled
    if unlabelled.size:
        pred[unlabelled] = plan.predict(
            data.predictors[unlabelled],
            data.scored[unlabelled],
            data.unit_score[unlabelled],
            data.strata[unlabelled] if stagewise else data.strata[:0],
        )
    return pred


def _fit_fold(
    data: PreparedData, target: FloatArray, calibrator: Any, train: np.ndarray, stagewise: bool
) -> Any:
    """A clone of ``calibrator`` fitted on the scored training rows (None: too few to fit)."""
    rows = train[data.scored[train]]
    x = data.predictors
    if rows.size < 2 or np.ptp(x[rows]) <= 0:
        return None
    model = clone(calibrator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        model.fit(x[rows], target[rows], stages=data.strata[rows] if stagewise else None)
    return model


def predict_or_fill(
    data: PreparedData, model: Any, rows: np.ndarray, fill: float, stagewise: bool
) -> FloatArray:
    """The model's prediction on the scored ``rows``; ``fill`` elsewhere (or without a model)."""
    return fill_predictions(
        model, data.predictors[rows], data.scored[rows], data.strata[rows], fill, stagewise
    )


def fill_predictions(
    model: Any,
    score: FloatArray,
    scored: np.ndarray,
    strata: np.ndarray,
    fill: float,
    stagewise: bool,
) -> FloatArray:
    """``model``'s prediction where ``scored``; ``fill`` elsewhere (or without a model).

    ``score`` is (n,) for one judge or (n, k) for a judge panel.
    """
    if model is not None and not stagewise and scored.all():
        every: FloatArray = np.asarray(model.predict_agreement(score), dtype=np.float64)
        return every
    out = np.full(score.shape[0], fill)
    if model is not None and scored.any():
        out[scored] = model.predict_agreement(
            score[scored], stages=strata[scored] if stagewise else None
        )
    return out
