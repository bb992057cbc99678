"""Build the report: calibrate, measure agreement and bias, estimate the human rate.

The report is computed from one :class:`~judgecal.JudgmentSet` (a file the
user loaded, or a bundled dataset). When no fitted calibrator is given, a
label budget of ``n_labelled`` items keeps its human labels; an isotonic
calibrator is fitted on them and judged on the held-out items, and the rate
estimate uses the same budget, so every number is one an evaluator with that
budget would see. With a fitted calibrator, the diagrams and metrics use every
labelled item of the records (the calibrator was fitted elsewhere).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from judgecal._exceptions import InputError, InputTypeError
from judgecal._files import atomic_write_text
from judgecal._validation import check_choice, check_int
from judgecal.agreement import agreement_report
from judgecal.bias.observational import feature_regression, preference_gap
from judgecal.bias.report import BiasReport
from judgecal.calibration.isotonic import IsotonicCalibrator
from judgecal.estimate.design import keep_labels
from judgecal.estimate.rates import estimate_rate
from judgecal.estimate.results import RateEstimate
from judgecal.records.core import JudgmentSet
from judgecal.records.datasets import load_hanna, load_pandalm
from judgecal.report import sections
from judgecal.report.page import render_page
from judgecal.report.sections import CalibrationData, ReportSection
from judgecal.vocabulary import DEFAULT_LEVEL

__all__ = ["BUNDLED", "Report", "build_report", "write_report"]

#: Bundled datasets: name -> (default judge, second judge for judge-judge agreement).
BUNDLED = {"hanna": ("ChatGPT_p1", "Beluga-13B_p2"), "pandalm": ("gpt35", "pandalm7b")}
_WHERE = "build_report"


@dataclass(frozen=True)
class Report:
    """A built report: its sections, the rate estimate, and the HTML page.

    Examples
    --------
    >>> report = Report("T", "sub", (ReportSection("a", "A", "<p>x</p>"),), None)
    >>> report.to_html().count("<section")
    1
    """

    title: str
    """Page title."""
    subtitle: str
    """What data and judge the report covers."""
    sections: tuple[ReportSection, ...]
    """The sections, in page order."""
    estimate: RateEstimate | None
    """The human-rate estimate shown in the report."""

    def to_html(self) -> str:
        """The report as one self-contained HTML document."""
        return render_page(self.title, self.subtitle, self.sections)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the HTML atomically; returns the path."""
        return atomic_write_text(path, self.to_html(), where="Report.save")


def _bundled(dataset: str, judge: str | None) -> tuple[JudgmentSet, str, dict[str, Any]]:
    check_choice(dataset, "dataset", tuple(BUNDLED), where=_WHERE)
    default, other = BUNDLED[dataset]
    name = judge or default
    second = other if name != other else default
    if dataset == "hanna":
        return load_hanna(name), name, {second: load_hanna(second)}
    return load_pandalm(name), name, {second: load_pandalm(second, with_texts=False)}


def _default_threshold(records: JudgmentSet, threshold: int | None) -> int | None:
    if records.label_kind != "ordinal":
        return None
    if threshold is not None:
        return threshold
    levels = max((j.levels or 2) for j in records.labelled())
    return levels - 1 if levels > 2 else levels


def _budget(records: JudgmentSet, n_labelled: int, seed: int) -> JudgmentSet:
    """Records with human labels on ``n_labelled`` items only (unless some are unlabelled)."""
    if len(records.unlabelled()) > 0:
        return records
    stages = "stage" if len(records.stage_names()) > 1 else None
    return keep_labels(records, min(n_labelled, len(records)), by=stages, seed=seed)


def _held_out(records: JudgmentSet, kept: JudgmentSet) -> JudgmentSet:
    kept_ids = kept.labelled().item_ids()
    is_kept = np.isin(records.item_ids(), kept_ids)
    return records.take(np.flatnonzero(~is_kept)).labelled().scored()


def _calibration(
    records: JudgmentSet, kept: JudgmentSet, calibrator: Any, threshold: int | None
) -> CalibrationData:
    if calibrator is None:
        train = kept.labelled().scored()
        y, w = train.targets(threshold=threshold)
        calibrator = IsotonicCalibrator().fit(train.scores(), y, w, stages=train.stages())
        test = _held_out(records, kept)
        note = (
            f"Isotonic calibrator fitted on the {len(train)} labelled items; "
            f"the diagrams show the {len(test)} held-out items."
        )
    else:
        test = records.labelled().scored()
        note = f"The given calibrator on all {len(test)} labelled items of the records."
    y, w = test.targets(threshold=threshold)
    calibrated = calibrator.predict_proba(test.scores(), stages=test.stages())[:, 1]
    raw = records.scale.to_unit(test.scores())
    return CalibrationData(test.stages(), y, w, raw, calibrated, note)


def _human_means(labelled: JudgmentSet) -> np.ndarray:  # type: ignore[type-arg]
    index, values, _ = labelled.ratings_long()
    counts = np.bincount(index, minlength=len(labelled))
    return np.bincount(index, weights=values, minlength=len(labelled)) / np.maximum(counts, 1)


def _shared_features(judgments: JudgmentSet) -> list[str]:
    names: set[str] | None = None
    for judgment in judgments:
        names = set(judgment.features) if names is None else names & set(judgment.features)
    return sorted(names or ())


def _stage_regression(stage_set: JudgmentSet, features: list[str], level: float) -> BiasReport:
    """Judge score on the mean human rating plus each feature (in SDs), in one stage."""
    columns = {}
    for name in features:
        values = stage_set.feature(name)
        spread = float(np.std(values))
        if spread > 0:
            columns[f"{name} (per SD)"] = (values - values.mean()) / spread
    if not columns:
        return BiasReport()
    fitted = feature_regression(stage_set.scores(), _human_means(stage_set), columns, level=level)
    stage = str(stage_set.stages()[0])
    rows = tuple(e.model_copy(update={"stage": stage}) for e in fitted.effects if e.name in columns)
    return BiasReport(effects=rows)


def _bias(records: JudgmentSet, level: float, n_resamples: int, seed: int) -> BiasReport:
    usable = records.labelled().scored()
    features = _shared_features(usable)
    report = BiasReport(
        title="Surface-feature effects on the judge",
        alpha=1 - level,
        notes=(
            "Regression rows: the judge score regressed on the mean human rating plus the "
            "feature, per stage, with robust intervals; the estimate is in judge-score points "
            "per SD of the feature, beyond what the humans give it. Preference rows: how much "
            "more often the judge than the humans picks the longer response.",
        ),
    )
    if records.label_kind == "pairwise" and {"len_response1", "len_response2"} <= set(features):
        gap = preference_gap(usable, level=level, n_resamples=n_resamples, seed=seed)
        report = report + BiasReport(effects=(gap,))
    for stage in usable.stage_names():
        stage_set = usable.stage(stage)
        if len(stage_set) > len(features) + 3:
            report = report + _stage_regression(stage_set, features, level)
    return report


def _estimate(
    kept: JudgmentSet, calibrator: Any, threshold: int | None, level: float, seed: int
) -> RateEstimate:
    from sklearn.base import clone

    strata = "stage" if len(kept.stage_names()) > 1 else None
    return estimate_rate(
        kept,
        calibrator="isotonic" if calibrator is None else clone(calibrator),
        strata=strata,
        threshold=threshold,
        level=level,
        seed=seed,
    )


def _inputs(
    records: JudgmentSet | None, dataset: str, judge: str | None
) -> tuple[JudgmentSet, str, dict[str, Any], str]:
    if records is None:
        data, name, others = _bundled(dataset, judge)
        return data, name, others, f"bundled {dataset.upper()} data"
    if not isinstance(records, JudgmentSet):
        raise InputTypeError(
            "records", "a JudgmentSet (e.g. judgecal.read_csv(...)) or None", records, where=_WHERE
        )
    return records, judge or "judge", {}, "the given records"


def build_report(
    records: JudgmentSet | None = None,
    calibrator: Any = None,
    *,
    dataset: str = "hanna",
    judge: str | None = None,
    threshold: int | None = None,
    n_labelled: int = 200,
    level: float = DEFAULT_LEVEL,
    n_resamples: int = 100,
    seed: int = 0,
) -> Report:
    """Build the report: reliability diagrams, metrics, agreement, bias and the human rate.

    Parameters
    ----------
    records : JudgmentSet, optional
        Judge scores with human labels (some items may be unlabelled). Default:
        the bundled ``dataset``.
    calibrator : fitted calibrator, optional
        Used for the diagrams and metrics (on every labelled item), and cloned
        for the rate estimate. Default: an isotonic calibrator fitted on a
        budget of ``n_labelled`` items and judged on the others.
    dataset : {"hanna", "pandalm"}
        Bundled dataset when ``records`` is None.
    judge : str, optional
        The judge's name (bundled data: which judge column to load).
    threshold : int, optional
        Ordinal labels: the lowest positive level (default: the second highest).
    n_labelled : int
        The label budget when every item of ``records`` is labelled.
    level : float
        Interval level (default 0.9).
    n_resamples : int
        Bootstrap resamples for agreement and preference intervals.
    seed : int
        Seed of the label budget draw and the bootstrap.

    Returns
    -------
    Report
        Call :meth:`Report.save` or :meth:`Report.to_html`.

    Examples
    --------
    >>> import judgecal
    >>> hanna = judgecal.load_hanna(criteria=("Coherence",))
    >>> report = build_report(hanna, n_labelled=150, n_resamples=20)
    >>> [section.anchor for section in report.sections]
    ['estimate', 'reliability', 'metrics', 'bias', 'agreement']
    >>> report.estimate.n_labelled
    150
    """
    check_int(n_labelled, "n_labelled", low=10, where=_WHERE)
    check_int(n_resamples, "n_resamples", low=0, where=_WHERE)
    data, judge_name, others, source = _inputs(records, dataset, judge)
    if len(data.labelled().scored()) == 0:
        raise InputError(
            "records", "some items with a judge score and human labels", "none", where=_WHERE
        )
    threshold = _default_threshold(data, threshold)
    kept = _budget(data, n_labelled, seed)
    agreement = agreement_report(
        data, judges=others, judge_name=judge_name, level=level, n_resamples=n_resamples, seed=seed
    )
    estimate = _estimate(kept, calibrator, threshold, level, seed)
    diagrams, metrics = sections.calibration_section(
        _calibration(data, kept, calibrator, threshold)
    )
    parts = (
        sections.estimate_section(estimate),
        diagrams,
        metrics,
        sections.bias_section(_bias(data, level, n_resamples, seed)),
        sections.agreement_section(agreement.to_html()),
    )
    subtitle = f"Judge {judge_name} on {source}: {len(data)} items, {data.label_kind} labels"
    return Report(f"judgecal report: {judge_name}", subtitle, parts, estimate)


def write_report(
    path: str | os.PathLike[str],
    records: JudgmentSet | None = None,
    calibrator: Any = None,
    **options: Any,
) -> Path:
    """Build the report (see :func:`build_report`) and write it atomically to ``path``.

    Examples
    --------
    >>> import tempfile, judgecal
    >>> hanna = judgecal.load_hanna(criteria=("Coherence",))
    >>> folder = tempfile.mkdtemp()
    >>> write_report(folder + "/report.html", hanna, n_resamples=20).name
    'report.html'
    """
    return build_report(records, calibrator, **options).save(path)
