"""Property batteries: hypothesis searches a metric, a calibrator or a judge for broken properties.

:func:`check_metric` runs a battery on any metric ``f(labels, predictions)``,
:func:`check_calibrator` on any calibrator factory, :func:`check_judge`
metamorphic tests on a judge. Each property is searched separately, so the
returned :class:`~judgecal.testing.PropertyReport` names every property that
failed with the *shrunk* example hypothesis found. Call them from a plain test
function (not from inside ``@given``) and finish with
``report.raise_if_failed()``. The properties themselves live in
:mod:`~judgecal.testing.metric_battery`, :mod:`~judgecal.testing.calibrator_battery`
and :mod:`~judgecal.testing.judge_battery`.

Runs are derandomized by default (the same examples every run), so a report is
reproducible; pass ``derandomize=False`` to explore more.

The assertions (``assert_*``) and the report types are importable from here as
well, as in judgecal 0.1; their home is :mod:`judgecal.testing.assertions` and
:mod:`judgecal.testing.report`.

Examples
--------
>>> import numpy as np
>>> from judgecal.testing import check_metric
>>> def accuracy(a, b):
...     return float(np.mean(np.asarray(a) == np.asarray(b)))
>>> report = check_metric(accuracy, kind="nominal", bounds=(0, 1), perfect=1.0, max_examples=30)
>>> report.ok
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hypothesis.strategies import SearchStrategy

from judgecal.records.core import Scale
from judgecal.testing.assertions import (
    assert_calibrated,
    assert_monotone,
    assert_permutation_invariant,
    assert_probabilities,
    assert_stage_renaming_invariant,
)
from judgecal.testing.calibrator_battery import CalibratorOptions, calibrator_report
from judgecal.testing.engine import RunSettings
from judgecal.testing.judge_battery import Change, JudgeOptions, judge_report
from judgecal.testing.metric_battery import MetricKind, MetricOptions, metric_report
from judgecal.testing.report import (
    PropertyReport,
    PropertyResult,
    PropertyViolationError,
    invalid_argument,
)
from judgecal.testing.simulate import ATTRIBUTES

__all__ = [
    "PropertyReport",
    "PropertyResult",
    "PropertyViolationError",
    "assert_calibrated",
    "assert_monotone",
    "assert_permutation_invariant",
    "assert_probabilities",
    "assert_stage_renaming_invariant",
    "check_calibrator",
    "check_judge",
    "check_metric",
]


def check_metric(
    metric: Callable[[Any, Any], Any],
    *,
    kind: MetricKind = "probability",
    bounds: tuple[float, float] | None = None,
    symmetric: bool | None = None,
    perfect: float | None = None,
    soft_labels: bool = False,
    min_size: int = 1,
    max_size: int = 30,
    max_categories: int = 4,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    skip: Sequence[str] = (),
    max_examples: int = 100,
    derandomize: bool = True,
) -> PropertyReport:
    """Run a property battery on a metric ``metric(labels, predictions) -> float``.

    Properties (each searched separately with hypothesis):

    ``range``
        the value is a finite real number within ``bounds``.
    ``symmetry``
        ``metric(a, b) == metric(b, a)`` (agreement metrics; skipped when ``symmetric=False``).
    ``permutation``
        shuffling the rows (jointly) does not change the value.
    ``label_renaming``
        renaming the labels does not change the value: for ``probability``
        metrics, swapping the classes (``1 - y``, ``1 - p``); for ``nominal``
        labels, any one-to-one relabelling (to other integers); for ``ordinal``
        labels, an increasing affine map ``v -> c v + d``.
    ``degenerate``
        constant labels, constant predictions and both constant give a finite
        value within ``bounds`` (no NaN, no exception).
    ``perfect``
        predictions equal to the (hard, non-constant) labels give ``perfect``
        (skipped when ``perfect`` is None).

    Parameters
    ----------
    metric : callable
        Called with two numpy arrays.
    kind : {"probability", "nominal", "ordinal"}
        ``probability``: labels are 0/1 (or soft shares with ``soft_labels``),
        predictions are probabilities. ``nominal``: two raters' category
        labels ``0..k-1``. ``ordinal``: two raters' Likert levels ``1..k``.
    bounds : (low, high), optional
        Allowed values; default ``(0, inf)`` for probability metrics and
        ``(-1, 1)`` otherwise.
    symmetric : bool, optional
        Whether to test symmetry; default False for probability metrics, True otherwise.
    perfect : float, optional
        The value expected when predictions equal the labels.
    soft_labels : bool
        Probability metrics: draw soft labels in [0, 1] instead of 0/1.
    min_size, max_size : int
        Number of rows.
    max_categories : int
        Most categories (levels) for nominal and ordinal metrics.
    rtol, atol : float
        Tolerance for "unchanged".
    skip : sequence of str
        Properties not to run (reported as skipped), e.g. ``["label_renaming"]``
        for a binned metric whose bin edges are not symmetric under ``p -> 1 - p``.
    max_examples : int
        Hypothesis examples per property.
    derandomize : bool
        Use a fixed, reproducible sequence of examples.

    Returns
    -------
    PropertyReport

    Examples
    --------
    >>> import numpy as np
    >>> def signed_error(y, p):          # not a proper score: sign flips with the labels
    ...     return float(np.mean(p - y))
    >>> report = check_metric(signed_error, kind="probability", max_examples=30)
    >>> {"range", "label_renaming"} <= set(report.failed)
    True
    """
    if not callable(metric):
        raise invalid_argument(f"metric={metric!r} must be callable")
    if isinstance(skip, str):
        raise invalid_argument(f"skip={skip!r} must be a sequence of property names")
    options = MetricOptions(
        kind=kind,
        bounds=bounds,
        symmetric=symmetric,
        perfect=perfect,
        soft_labels=soft_labels,
        min_size=min_size,
        max_size=max_size,
        max_categories=max_categories,
        rtol=rtol,
        atol=atol,
        skip=tuple(skip),
    )
    return metric_report(metric, options, RunSettings(max_examples, derandomize))


def check_calibrator(
    make: Callable[[], Any],
    *,
    scale: Scale | None = None,
    stages: Sequence[str] | None = ("extraction", "selection"),
    raters: int = 1,
    min_size: int = 300,
    max_size: int = 1000,
    monotone: bool = True,
    calibrated: bool = True,
    z: float = 4.0,
    atol: float = 0.06,
    round_trip: bool = True,
    max_examples: int = 20,
    derandomize: bool = True,
) -> PropertyReport:
    """Run a property battery on a calibrator made by ``make()``.

    Each example draws a known-truth dataset from
    :func:`judgecal.testing.strategies.calibration_datasets`, fits a fresh calibrator
    (``fit(X, y, sample_weight, stages=...)``) and checks the properties below.
    A failing dataset is reported as drawn, not shrunk (every shrinking step
    would refit, and a smaller simulated dataset is rarely clearer).

    ``probabilities``
        predictions are finite and in [0, 1] (rows of ``predict_proba`` sum to 1).
    ``monotone``
        predictions never fall as the score rises, per stage (skipped with ``monotone=False``).
    ``permutation``
        fitting on shuffled rows gives the same predictions.
    ``stage_renaming``
        fitting and predicting with renamed stages gives the same predictions
        (skipped with ``stages=None``).
    ``calibrated``
        on fresh items from the same truth, predictions match the true
        P(human agrees | score) bin by bin within ``z`` standard errors (which
        shrink with the training size) plus ``atol`` (see :func:`assert_calibrated`).
    ``round_trip``
        ``judgecal.persist.loads(dumps(cal))`` predicts bit-identically (skipped
        for classes not registered with :func:`judgecal.persist.register`).

    Parameters
    ----------
    make : callable
        Returns a new, unfitted calibrator.
    scale : Scale, optional
        Judge scale of the simulated data (default Likert 1-5).
    stages : sequence of str or None
        Stage names; None fits without stages.
    raters : int
        Raters per item (soft labels weighted by the rater count when > 1).
    min_size, max_size : int
        Training items per example.
    monotone, calibrated, round_trip : bool
        Whether to run these properties.
    z, atol : float
        Tolerance of the ``calibrated`` property.
    max_examples, derandomize
        Hypothesis settings.

    Returns
    -------
    PropertyReport

    Examples
    --------
    >>> from judgecal import IsotonicCalibrator
    >>> report = check_calibrator(IsotonicCalibrator, max_examples=5)
    >>> report.ok
    True
    """
    options = CalibratorOptions(
        scale=scale,
        stages=None if stages is None else tuple(stages),
        raters=raters,
        min_size=min_size,
        max_size=max_size,
        monotone=monotone,
        calibrated=calibrated,
        z=z,
        atol=atol,
        round_trip=round_trip,
    )
    return calibrator_report(make, options, RunSettings(max_examples, derandomize))


def check_judge(
    judge: Callable[..., Any],
    *,
    changes: Sequence[Change] = ("mention", "formatting"),
    scale: Scale | None = None,
    texts_strategy: SearchStrategy[str] | None = None,
    attributes: Sequence[str] = ATTRIBUTES,
    tolerance: float = 0.0,
    max_examples: int = 50,
    derandomize: bool = True,
) -> PropertyReport:
    """Metamorphic tests: does the judge's verdict move when only a surface feature changes?

    For each change, hypothesis draws texts (without attribute mentions) and a
    changed version that a human would judge the same, calls the judge on both
    and compares the parsed scores. A difference above ``tolerance`` fails the
    property, and the report shows the shrunk pair of texts and both scores.

    Changes
    -------
    ``"mention"``
        insert a sentence that mentions a user attribute ("As a vegetarian, ...").
    ``"formatting"``
        double spaces, line breaks, bullets, bold, surrounding whitespace, a
        dropped final period.
    ``"order"``
        for a pairwise judge ``judge(first, second)``: swapping the two answers
        must mirror the verdict (score ``s`` becomes ``low + high - s``, so on
        the scale ``("second", "tie", "first")`` first and second swap and a tie stays).
    a callable
        ``change(text) -> strategy of changed texts``, for your own surface feature.

    Parameters
    ----------
    judge : callable
        ``judge(text)`` (or ``judge(first, second)`` for ``"order"``); returns a
        number, or a text that :func:`judgecal.parse_score` reads on ``scale``.
    changes : sequence
        Which changes to test (each is one property of the report).
    scale : Scale, optional
        The judge's scale; needed for text outputs and for ``"order"``.
    texts_strategy : strategy of str, optional
        Texts to judge (default :func:`judgecal.testing.strategies.texts` without mentions).
    attributes : sequence of str
        User attributes for the ``"mention"`` change.
    tolerance : float
        Largest score change still counted as "unchanged".
    max_examples, derandomize
        Hypothesis settings.

    Returns
    -------
    PropertyReport

    Examples
    --------
    >>> def flattered_judge(text):        # rewards mentioning the user
    ...     return 3 + ("vegetarian" in text.lower())
    >>> report = check_judge(flattered_judge, changes=["mention"], attributes=["vegetarian"],
    ...                      max_examples=20)
    >>> report.failed
    ['mention']
    >>> report["mention"].example["changed_score"]
    4.0
    """
    options = JudgeOptions(
        scale=scale,
        texts_strategy=texts_strategy,
        attributes=tuple(attributes),
        tolerance=tolerance,
    )
    return judge_report(judge, changes, options, RunSettings(max_examples, derandomize))
