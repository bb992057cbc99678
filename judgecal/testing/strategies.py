"""Hypothesis strategies for judge scores, human labels, records and known-truth data.

Property-based tests of evaluation code need inputs that look like evaluation
data: judge scores on a declared scale, human labels of each kind, several
raters per item, whole :class:`~judgecal.JudgmentSet` s, and calibration data
whose *true* human-agreement curve is known, so a calibrator can be checked
against the truth rather than against another estimate.

Every function here returns a hypothesis strategy, takes keyword-only
arguments and raises :class:`hypothesis.errors.InvalidArgument` on a bad
combination of arguments, following hypothesis's own API style. This module
imports hypothesis; ``import judgecal`` does not.

Known-truth calibration data
----------------------------
:func:`calibration_datasets` draws items with a latent quality
:math:`q \\sim U(0, 1)`. A human agrees with (accepts) an item with probability

.. math:: p(q) = \\sigma(a + b (q - 1/2)),\\quad b > 0,

one :class:`AgreementCurve` per stage. The judge sees the same item through a
:class:`Distortion`: on the unit scale its score is

.. math:: u = \\mathrm{clip}(1/2 + c (q - 1/2) + \\text{shift} + \\beta m + \\sigma \\varepsilon, 0, 1),

with compression :math:`c`, a bonus :math:`\\beta` when the text mentions a user
attribute (:math:`m = 1`, which humans ignore) and Gaussian noise; ``u`` is then
put on the judge's :class:`~judgecal.Scale` (rounded to a level on Likert and
verdict scales). :meth:`CalibrationDataset.agreement_given_score` integrates
over :math:`q` and :math:`m` to give the exact target of calibration,
:math:`P(\\text{human agrees} \\mid \\text{score})`.

Examples
--------
>>> from hypothesis import given
>>> from hypothesis import find
>>> from judgecal import strategies as jst
>>> @given(jst.judgment_sets(label_kind="pairwise", min_size=1, max_size=5))
... def test_targets_in_unit_interval(js):
...     y, w = js.labelled().targets(ties="half") if len(js.labelled()) else ([], [])
...     assert all(0 <= v <= 1 for v in y)
>>> test_targets_in_unit_interval()
"""

from __future__ import annotations

_READY = False


def _hypothesis_setup_hook() -> None:
    """Register strategies for judgecal's record types (hypothesis's ``hypothesis`` entry point).

    After this runs, ``st.from_type(Judgment)`` and friends work. The hook is
    defined before hypothesis is imported: hypothesis calls it while importing
    itself, possibly while this module is still being imported; then it does
    nothing and the module registers the strategies when its import finishes.

    Examples
    --------
    >>> from hypothesis import find, strategies as st
    >>> from judgecal import Judgment
    >>> _hypothesis_setup_hook()
    >>> isinstance(find(st.from_type(Judgment), lambda v: True), Judgment)
    True
    """
    if not _READY:
        return
    st.register_type_strategy(Scale, scales())
    st.register_type_strategy(
        Rating,
        st.sampled_from(_LABEL_KINDS)
        .flatmap(lambda k: human_labels(kind=k))
        .map(lambda v: Rating(value=v)),
    )
    st.register_type_strategy(
        Judgment,
        st.sampled_from(_LABEL_KINDS).flatmap(
            lambda k: judgments(label_kind=k, judge_failures=True)
        ),
    )
    st.register_type_strategy(JudgmentSet, judgment_sets(max_size=10, judge_failures=True))
    st.register_type_strategy(AgreementCurve, agreement_curves())
    st.register_type_strategy(Distortion, distortions(max_mention_bonus=0.3))
    st.register_type_strategy(CalibrationDataset, calibration_datasets(max_size=100))


import math  # noqa: E402
import string  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.errors import InvalidArgument  # noqa: E402
from hypothesis.strategies import SearchStrategy  # noqa: E402

from judgecal._validation import FloatArray, StrArray  # noqa: E402
from judgecal.records.core import PAIRWISE_OUTCOMES, Judgment, JudgmentSet, Rating, Scale  # noqa: E402

__all__ = [
    "ATTRIBUTES",
    "AgreementCurve",
    "CalibrationDataset",
    "Distortion",
    "agreement_curves",
    "calibration_datasets",
    "distortions",
    "human_labels",
    "judge_scores",
    "judgment_sets",
    "judgments",
    "ratings",
    "scales",
    "texts",
]

#: Default user attributes that texts may mention (a personalization setting).
ATTRIBUTES: tuple[str, ...] = (
    "vegetarian",
    "marathon runner",
    "new parent",
    "nurse",
    "student",
    "beginner programmer",
)
_LABEL_KINDS = ("binary", "ordinal", "pairwise")
_SCALE_KINDS = ("numeric", "likert", "verdict")
_VERDICT_WORDS = (
    "no",
    "yes",
    "bad",
    "fair",
    "good",
    "great",
    "reject",
    "accept",
    "maybe",
    "unsure",
)
_STATUSES = ("unparseable", "refused", "error", "timeout")
_WORDS = (
    "the",
    "answer",
    "explains",
    "how",
    "to",
    "cook",
    "rice",
    "quickly",
    "with",
    "a",
    "small",
    "pot",
    "and",
    "water",
    "then",
    "adds",
    "salt",
    "before",
    "serving",
    "it",
    "covers",
    "training",
    "plans",
    "for",
    "the",
    "week",
    "lists",
    "three",
    "options",
    "clear",
    "steps",
    "good",
    "budget",
    "simple",
    "example",
    "code",
    "shows",
    "loop",
    "this",
    "response",
    "gives",
    "advice",
    "on",
    "sleep",
    "and",
    "recovery",
    "after",
    "long",
    "days",
    "is",
    "short",
    "but",
    "useful",
    "detailed",
    "tips",
    "are",
    "given",
)
_MENTION_TEMPLATES = (
    "As a {a}, you will like this.",
    "Since you are a {a}, this fits you.",
    "Given that you're a {a}, keep this in mind.",
    "(You mentioned being a {a}.)",
)


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise InvalidArgument(message)


def _check_int(value: Any, name: str, low: int) -> None:
    _check(
        isinstance(value, int) and not isinstance(value, bool) and value >= low,
        f"{name}={value!r} must be an integer >= {low}",
    )


def _check_size(min_size: Any, max_size: Any, low: int = 0) -> None:
    _check_int(min_size, "min_size", low)
    _check_int(max_size, "max_size", low)
    _check(min_size <= max_size, f"min_size={min_size} must be <= max_size={max_size}")


def _check_real(value: Any, name: str, low: float, high: float) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    _check(
        ok and low <= value <= high, f"{name}={value!r} must be a finite number in [{low}, {high}]"
    )
    return float(value)


def _check_scale(scale: Any) -> Scale:
    if scale is None:
        return Scale.likert(5)
    _check(isinstance(scale, Scale), f"scale={scale!r} must be a judgecal.Scale")
    return scale  # type: ignore[no-any-return]


def _check_stages(stages: Any) -> tuple[str, ...]:
    _check(
        isinstance(stages, Sequence)
        and not isinstance(stages, str)
        and len(stages) > 0
        and all(isinstance(s, str) and s for s in stages),
        f"stages={stages!r} must be a non-empty sequence of non-empty strings",
    )
    _check(len(set(stages)) == len(stages), f"stages={stages!r} must be distinct")
    return tuple(stages)


# ----------------------------------------------------------------------------------------
# Scales, scores and labels
# ----------------------------------------------------------------------------------------


def scales(*, kinds: Sequence[str] = _SCALE_KINDS) -> SearchStrategy[Scale]:
    """Judge output scales: numeric ranges, Likert scales and verdict words.

        Parameters
        ----------
        kinds : sequence of {"numeric", "likert", "verdict"}
            Which kinds of scale to draw.

        Examples
        --------
        >>> from hypothesis import find
    >>> from judgecal import strategies as jst
        >>> find(jst.scales(kinds=["likert"]), lambda v: True).kind
        'likert'
    """
    _check(
        isinstance(kinds, Sequence) and not isinstance(kinds, str) and len(kinds) > 0,
        f"kinds={kinds!r} must be a non-empty sequence",
    )
    for k in kinds:
        _check(k in _SCALE_KINDS, f"kinds contains {k!r}; expected some of {_SCALE_KINDS}")
    options: list[SearchStrategy[Scale]] = []
    if "likert" in kinds:
        options.append(
            st.builds(
                lambda lv, lo: Scale.likert(lv, low=lo), st.integers(2, 10), st.sampled_from([0, 1])
            )
        )
    if "numeric" in kinds:
        options.append(
            st.builds(
                lambda lo, width: Scale.numeric(lo, lo + width),
                st.sampled_from([0.0, 1.0, -1.0]) | st.integers(-100, 100).map(float),
                st.sampled_from([1.0, 10.0, 100.0]) | st.floats(0.5, 1000.0),
            )
        )
    if "verdict" in kinds:
        options.append(
            st.sampled_from([("no", "yes"), ("second", "tie", "first")]).map(
                lambda v: Scale.verdict(*v)
            )
            | st.lists(st.sampled_from(_VERDICT_WORDS), min_size=2, max_size=5, unique=True).map(
                lambda v: Scale.verdict(*v)
            )
        )
    return st.one_of(options)


def judge_scores(*, scale: Scale | None = None, samples: int = 1) -> SearchStrategy[float]:
    """Judge scores on ``scale`` (default: a 1-5 Likert scale).

        Numeric scales give any float in ``[low, high]`` (ends included); Likert
        and verdict scales give their integer levels (verdicts coded ``0..k-1``).
        With ``samples > 1`` a Likert score is the mean of that many sampled levels,
        as when a judge is asked several times.

        Examples
        --------
        >>> from hypothesis import find
    >>> from judgecal import Scale, strategies as jst
        >>> s = find(jst.judge_scores(scale=Scale.likert(5)), lambda v: True)
        >>> s in {1.0, 2.0, 3.0, 4.0, 5.0}
        True
    """
    sc = _check_scale(scale)
    _check_int(samples, "samples", 1)
    _check(samples == 1 or sc.kind == "likert", "samples > 1 needs a Likert scale")
    if sc.kind == "numeric":
        return st.floats(sc.low, sc.high, allow_nan=False, allow_infinity=False)
    levels = st.integers(int(sc.low), int(sc.high))
    if samples == 1:
        return levels.map(float)
    return st.lists(levels, min_size=samples, max_size=samples).map(lambda v: float(np.mean(v)))


def human_labels(*, kind: str = "binary", levels: int = 5) -> SearchStrategy[int | str]:
    """One human label: ``0/1`` (binary), ``1..levels`` (ordinal) or first/second/tie (pairwise).

        Examples
        --------
        >>> from hypothesis import find
    >>> from judgecal import strategies as jst
        >>> find(jst.human_labels(kind="pairwise"), lambda v: True) in {"first", "second", "tie"}
        True
    """
    _check(kind in _LABEL_KINDS, f"kind={kind!r} must be one of {_LABEL_KINDS}")
    _check_int(levels, "levels", 2)
    if kind == "binary":
        return st.sampled_from([0, 1])
    if kind == "ordinal":
        return st.integers(1, levels)
    return st.sampled_from(PAIRWISE_OUTCOMES)


def ratings(
    *,
    kind: str = "binary",
    levels: int = 5,
    min_raters: int = 1,
    max_raters: int = 3,
    known_raters: bool = True,
) -> SearchStrategy[tuple[Rating, ...]]:
    """The human ratings of one item: a tuple of :class:`~judgecal.Rating`, one per rater.

        Parameters
        ----------
        kind : {"binary", "ordinal", "pairwise"}
            Label kind.
        levels : int
            Ordinal levels (ordinal labels only).
        min_raters, max_raters : int
            How many raters rated the item.
        known_raters : bool
            Give raters distinct ids ``r1, r2, ...`` (otherwise ``rater=None``).

        Examples
        --------
        >>> from hypothesis import find
    >>> from judgecal import strategies as jst
        >>> rs = find(jst.ratings(kind="ordinal", levels=5, min_raters=3, max_raters=3), lambda v: True)
        >>> len(rs), sorted(r.rater for r in rs)
        (3, ['r1', 'r2', 'r3'])
    """
    _check_size(min_raters, max_raters)
    labels = human_labels(kind=kind, levels=levels)
    return st.lists(labels, min_size=min_raters, max_size=max_raters).map(
        lambda vals: tuple(
            Rating(value=v, rater=f"r{i + 1}" if known_raters else None) for i, v in enumerate(vals)
        )
    )


# ----------------------------------------------------------------------------------------
# Texts with and without attribute mentions
# ----------------------------------------------------------------------------------------


def _mentions(text: str, attributes: Sequence[str]) -> bool:
    low = text.lower()
    return any(a.lower() in low for a in attributes)


def _sentence() -> SearchStrategy[str]:
    return st.lists(st.sampled_from(_WORDS), min_size=3, max_size=8).map(
        lambda ws: " ".join(ws).capitalize() + "."
    )


def texts(
    *,
    mention: bool | None = None,
    attributes: Sequence[str] = ATTRIBUTES,
    min_sentences: int = 1,
    max_sentences: int = 4,
) -> SearchStrategy[str]:
    """Short response texts that do, or do not, mention a user attribute.

        Parameters
        ----------
        mention : bool or None
            ``True``: the text mentions one of ``attributes``; ``False``: it mentions
            none (case-insensitive); ``None``: either.
        attributes : sequence of str
            User attributes (for example ``"vegetarian"``).
        min_sentences, max_sentences : int
            Length of the text, in sentences.

        Examples
        --------
        >>> from hypothesis import find
    >>> from judgecal import strategies as jst
        >>> t = find(jst.texts(mention=True, attributes=["vegetarian"]), lambda v: True)
        >>> "vegetarian" in t.lower()
        True
    """
    _check(mention in (True, False, None), f"mention={mention!r} must be True, False or None")
    _check(
        isinstance(attributes, Sequence)
        and not isinstance(attributes, str)
        and len(attributes) > 0
        and all(isinstance(a, str) and a.strip() for a in attributes),
        f"attributes={attributes!r} must be a non-empty sequence of non-empty strings",
    )
    _check_size(min_sentences, max_sentences, low=1)
    attrs = tuple(attributes)
    plain = st.lists(_sentence(), min_size=min_sentences, max_size=max_sentences).map(" ".join)
    plain = plain.filter(lambda t: not _mentions(t, attrs))
    if mention is False:
        return plain
    with_mention = st.builds(
        _insert_mention,
        plain,
        st.sampled_from(attrs),
        st.sampled_from(_MENTION_TEMPLATES),
        st.integers(0, 8),
    )
    if mention is True:
        return with_mention
    return plain | with_mention


def _insert_mention(text: str, attribute: str, template: str, position: int) -> str:
    parts = text.split(". ")
    k = min(position, len(parts))
    sentence = template.format(a=attribute)
    if k == len(parts):
        return text + " " + sentence
    parts.insert(k, sentence.rstrip("."))
    return ". ".join(parts)


# ----------------------------------------------------------------------------------------
# Records
# ----------------------------------------------------------------------------------------

_ID_ALPHABET = string.ascii_lowercase + string.digits + "-_/"


def judgments(
    *,
    scale: Scale | None = None,
    label_kind: str | None = "binary",
    levels: int = 5,
    stages: Sequence[str] = ("extraction", "selection", "generation"),
    min_raters: int = 0,
    max_raters: int = 3,
    judge_failures: bool = False,
    with_texts: bool = False,
    item_ids: SearchStrategy[str] | None = None,
) -> SearchStrategy[Judgment]:
    """Single :class:`~judgecal.Judgment` records.

        Parameters
        ----------
        scale : Scale, optional
            The judge scale (default: Likert 1-5).
        label_kind : {"binary", "ordinal", "pairwise"} or None
            Kind of the human ratings; ``None`` gives unlabelled judgments.
        levels : int
            Ordinal levels.
        stages : sequence of str
            Stages to draw from.
        min_raters, max_raters : int
            Ratings per item.
        judge_failures : bool
            Also draw judgments whose judge failed (no score; status
            ``unparseable``, ``refused``, ``error`` or ``timeout``).
        with_texts : bool
            Attach a ``response`` text (with or without an attribute mention) and a
            ``mention`` feature (1.0 when the text mentions an attribute).
        item_ids : strategy of str, optional
            Item identifiers (default: short lowercase ids).

        Examples
        --------
        >>> from hypothesis import find
    >>> from judgecal import strategies as jst
        >>> j = find(jst.judgments(label_kind="ordinal", min_raters=2), lambda v: True)
        >>> j.label_kind, j.n_ratings >= 2
        ('ordinal', True)
    """
    sc = _check_scale(scale)
    _check(
        label_kind is None or label_kind in _LABEL_KINDS,
        f"label_kind={label_kind!r} must be one of {_LABEL_KINDS} or None",
    )
    _check_int(levels, "levels", 2)
    stage_names = _check_stages(stages)
    _check_size(min_raters, max_raters)
    _check(label_kind is not None or min_raters == 0, "min_raters > 0 needs a label_kind")
    ids = st.text(_ID_ALPHABET, min_size=1, max_size=8) if item_ids is None else item_ids
    return _judgments(
        sc, label_kind, levels, stage_names, min_raters, max_raters, judge_failures, with_texts, ids
    )


@st.composite
def _judgments(
    draw: st.DrawFn,
    scale: Scale,
    label_kind: str | None,
    levels: int,
    stages: tuple[str, ...],
    min_raters: int,
    max_raters: int,
    judge_failures: bool,
    with_texts: bool,
    ids: SearchStrategy[str],
) -> Judgment:
    item_id = draw(ids)
    stage = draw(st.sampled_from(stages))
    failed = judge_failures and draw(st.booleans())
    if failed:
        score: float | None = None
        status = draw(st.sampled_from(_STATUSES))
        output: str | None = draw(st.sampled_from(["", "I cannot rate this.", "Score: ?", "n/a"]))
    else:
        score = draw(judge_scores(scale=scale))
        status = "ok"
        output = scale.verdicts[int(score)] if scale.kind == "verdict" else f"Score: {score:g}"
    rs: tuple[Rating, ...] = ()
    if label_kind is not None:
        rs = draw(
            ratings(kind=label_kind, levels=levels, min_raters=min_raters, max_raters=max_raters)
        )
    features: dict[str, float] = {}
    txt: dict[str, str] = {}
    if with_texts:
        t = draw(texts())
        txt["response"] = t
        features["mention"] = float(_mentions(t, ATTRIBUTES))
        features["length"] = float(len(t))
    return Judgment(
        item_id=item_id,
        stage=stage,
        score=score,
        judge_status=status,  # type: ignore[arg-type]
        judge_output=output,
        label_kind=label_kind if rs or label_kind is not None else None,  # type: ignore[arg-type]
        levels=levels if label_kind == "ordinal" else None,
        ratings=rs,
        features=features,
        texts=txt,
    )


def judgment_sets(
    *,
    scale: Scale | None = None,
    label_kind: str | None = None,
    levels: int = 5,
    stages: Sequence[str] = ("extraction", "selection", "generation"),
    min_size: int = 0,
    max_size: int = 20,
    min_raters: int = 0,
    max_raters: int = 3,
    judge_failures: bool = False,
    with_texts: bool = False,
) -> SearchStrategy[JudgmentSet]:
    """Whole :class:`~judgecal.JudgmentSet` s with unique item ids.

        ``scale=None`` draws a scale too (any kind); ``label_kind=None`` draws one
        label kind for the whole set. Other arguments are as in :func:`judgments`.

        Examples
        --------
        >>> from hypothesis import find
    >>> from judgecal import strategies as jst
        >>> js = find(jst.judgment_sets(min_size=2, max_size=4, min_raters=1), lambda v: True)
        >>> 2 <= len(js) <= 4 and len(set(js.item_ids())) == len(js)
        True
    """
    _check_size(min_size, max_size)
    _check(
        scale is None or isinstance(scale, Scale),
        f"scale={scale!r} must be a judgecal.Scale or None",
    )
    _check(
        label_kind is None or label_kind in _LABEL_KINDS,
        f"label_kind={label_kind!r} must be one of {_LABEL_KINDS} or None",
    )
    _check_int(levels, "levels", 2)
    stage_names = _check_stages(stages)
    _check_size(min_raters, max_raters)
    return _judgment_sets(
        scale,
        label_kind,
        levels,
        stage_names,
        min_size,
        max_size,
        min_raters,
        max_raters,
        judge_failures,
        with_texts,
    )


@st.composite
def _judgment_sets(
    draw: st.DrawFn,
    scale: Scale | None,
    label_kind: str | None,
    levels: int,
    stages: tuple[str, ...],
    min_size: int,
    max_size: int,
    min_raters: int,
    max_raters: int,
    judge_failures: bool,
    with_texts: bool,
) -> JudgmentSet:
    sc = draw(scales()) if scale is None else scale
    kind = draw(st.sampled_from(_LABEL_KINDS)) if label_kind is None else label_kind
    n = draw(st.integers(min_size, max_size))
    items = [
        draw(
            judgments(
                scale=sc,
                label_kind=kind,
                levels=levels,
                stages=stages,
                min_raters=min_raters,
                max_raters=max_raters,
                judge_failures=judge_failures,
                with_texts=with_texts,
                item_ids=st.just(f"item-{i}"),
            )
        )
        for i in range(n)
    ]
    return JudgmentSet(items, scale=sc)


# ----------------------------------------------------------------------------------------
# Known-truth calibration data
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgreementCurve:
    r"""A true human-agreement curve :math:`p(q) = \sigma(a + b (q - 1/2))` over item quality ``q``.

    Examples
    --------
    >>> AgreementCurve(intercept=0.0, slope=4.0)([0.0, 0.5, 1.0]).round(3).tolist()
    [0.119, 0.5, 0.881]
    """

    intercept: float
    """``a``: log-odds of agreement at median quality."""
    slope: float
    """``b > 0``: how fast agreement rises with quality."""

    def __call__(self, quality: Any) -> FloatArray:
        q = np.asarray(quality, dtype=np.float64)
        t = self.intercept + self.slope * (q - 0.5)
        return np.asarray(0.5 * (1.0 + np.tanh(0.5 * t)), dtype=np.float64)


@dataclass(frozen=True)
class Distortion:
    """How the judge distorts item quality into its score (on the unit scale).

    Examples
    --------
    >>> Distortion(compression=0.5, shift=0.1).mean_unit_score([0.0, 1.0]).tolist()
    [0.35, 0.85]
    """

    compression: float = 1.0
    """Slope of the judge's score in quality: below 1 the judge uses less of its range."""
    shift: float = 0.0
    """Constant offset: above 0 the judge is more lenient than humans."""
    noise: float = 0.0
    """Standard deviation of Gaussian noise on the unit scale."""
    mention_bonus: float = 0.0
    """Added when the text mentions a user attribute (humans ignore mentions)."""

    def mean_unit_score(self, quality: Any, mention: Any = 0.0) -> FloatArray:
        """Noise-free unit score before clipping."""
        q = np.asarray(quality, dtype=np.float64)
        m = np.asarray(mention, dtype=np.float64)
        return np.asarray(
            0.5 + self.compression * (q - 0.5) + self.shift + self.mention_bonus * m,
            dtype=np.float64,
        )


_GRID = (np.arange(4000) + 0.5) / 4000.0
_MIN_SMOOTH = 2e-3


@dataclass(frozen=True, repr=False)
class CalibrationDataset:
    """Judge scores and human labels drawn from a known truth (see the module docstring).

    Arrays are aligned by item. ``labels`` is the share of the item's raters who
    agreed (0/1 with one rater) and ``weights`` the number of raters, which is
    how calibrators take several raters per item.
    """

    scale: Scale
    """The judge's scale."""
    scores: FloatArray
    """Judge scores on ``scale``."""
    labels: FloatArray
    """Share of raters who agreed, in [0, 1]."""
    weights: FloatArray
    """Number of raters per item."""
    stages: StrArray
    """Stage of each item."""
    mentions: FloatArray
    """1.0 when the item's text mentions a user attribute, else 0.0."""
    quality: FloatArray
    """Latent item quality in (0, 1)."""
    true_agreement: FloatArray
    """P(a human agrees | item) = the stage's curve at the item's quality."""
    curves: dict[str, AgreementCurve] = field(repr=False)
    """True agreement curve of each stage."""
    distortion: Distortion = field(repr=False, default_factory=Distortion)
    """The judge's distortion."""
    mention_rate: float = 0.0
    """Share of items whose text mentions an attribute."""

    def __len__(self) -> int:
        return int(self.scores.size)

    def __repr__(self) -> str:
        sc = self.scale
        curves = ", ".join(
            f"{k}: a={c.intercept:.3g} b={c.slope:.3g}" for k, c in self.curves.items()
        )
        d = self.distortion
        return (
            f"CalibrationDataset(n={len(self)}, scale={sc.kind}[{sc.low:g}, {sc.high:g}], "
            f"raters={int(self.weights[0]) if self.weights.size else 0}, curves={{{curves}}}, "
            f"distortion=(compression={d.compression:.3g}, shift={d.shift:.3g}, noise={d.noise:.3g}, "
            f"mention_bonus={d.mention_bonus:.3g}), mention_rate={self.mention_rate:g})"
        )

    def agreement_given_score(
        self, scores: Any, stages: Any = None, *, mention: Any = None
    ) -> FloatArray:
        """True P(a human agrees | judge score [, mention]): the target a calibrator should hit.

        Integrates the agreement curve over the item qualities that lead to each
        score. Noise below 0.002 is treated as 0.002 (a negligible smoothing).

        Parameters
        ----------
        scores : array-like
            Judge scores on ``scale``.
        stages : str or array-like, optional
            Stage of each score (default: the first stage).
        mention : array-like of 0/1, optional
            Condition on the mention too; by default it is integrated out at
            ``mention_rate``.

        Examples
        --------
        >>> from judgecal import Scale
        >>> ds = CalibrationDataset.simulate(Scale.likert(5), n=10, seed=0,
        ...                                  curves={"s": AgreementCurve(0.0, 6.0)})
        >>> p = ds.agreement_given_score([1, 3, 5])
        >>> bool(p[0] < p[1] < p[2])
        True
        """
        s = np.atleast_1d(np.asarray(scores, dtype=np.float64))
        names = list(self.curves)
        if stages is None:
            st_arr = np.full(s.size, names[0])
        elif isinstance(stages, str):
            st_arr = np.full(s.size, stages)
        else:
            st_arr = np.asarray(stages, dtype=str)
        out = np.empty(s.size)
        for name in np.unique(st_arr).tolist():
            m = st_arr == name
            if mention is None:  # evaluate each distinct score once
                uniq, inv = np.unique(s[m], return_inverse=True)
                out[m] = self._given_unique(uniq, self.curves[name])[inv]
            else:
                out[m] = self._given_score(s[m], self.curves[name], mention)
        return out

    def _given_unique(self, s: FloatArray, curve: AgreementCurve) -> FloatArray:
        sc = self.scale
        if sc.kind != "numeric" or s.size <= 512:
            return self._given_score(s, curve, None)
        # many distinct continuous scores: exact at the ends, interpolated inside
        # (the curve is smooth in the score; 1025 knots keep the error below 1e-4)
        knots = np.linspace(sc.low, sc.high, 1025)
        at_knots = self._given_score(knots[1:-1], curve, None)
        out = np.interp(s, knots[1:-1], at_knots)
        ends = (s <= sc.low) | (s >= sc.high)
        if ends.any():
            out[ends] = self._given_score(s[ends], curve, None)
        return np.asarray(out, dtype=np.float64)

    def _given_score(self, s: FloatArray, curve: AgreementCurve, mention: Any) -> FloatArray:
        d = self.distortion
        sigma = max(d.noise, _MIN_SMOOTH)
        p_q = curve(_GRID)  # (G,)
        if mention is None:
            ms = [(0.0, 1.0 - self.mention_rate), (1.0, self.mention_rate)]
        else:
            mv = np.broadcast_to(np.asarray(mention, dtype=np.float64), s.shape)
            num = np.zeros(s.size)
            den = np.zeros(s.size)
            for val in (0.0, 1.0):
                sel = mv == val
                if sel.any():
                    n_, d_ = self._num_den(s[sel], val, sigma, p_q)
                    num[sel], den[sel] = n_, d_
            return np.asarray(num / np.maximum(den, 1e-300), dtype=np.float64)
        num = np.zeros(s.size)
        den = np.zeros(s.size)
        for val, weight in ms:
            if weight <= 0:
                continue
            n_, d_ = self._num_den(s, val, sigma, p_q)
            num += weight * n_
            den += weight * d_
        return np.asarray(num / np.maximum(den, 1e-300), dtype=np.float64)

    def _num_den(
        self, s: FloatArray, mention: float, sigma: float, p_q: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        from scipy.special import ndtr  # the normal CDF; scipy loads only when truth is computed

        sc = self.scale
        width = sc.high - sc.low
        mu = self.distortion.mean_unit_score(_GRID, mention)[None, :]  # (1, G)
        if sc.kind == "numeric":
            u = ((s - sc.low) / width)[:, None]
            pdf = np.exp(-0.5 * ((u - mu) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
            lik = np.where(
                u <= 0.0,
                ndtr((0.0 - mu) / sigma),
                np.where(u >= 1.0, ndtr((mu - 1.0) / sigma), pdf),
            )
        else:
            lo = np.where(s <= sc.low, -np.inf, (s - 0.5 - sc.low) / width)[:, None]
            hi = np.where(s >= sc.high, np.inf, (s + 0.5 - sc.low) / width)[:, None]
            lik = ndtr((hi - mu) / sigma) - ndtr((lo - mu) / sigma)
        return lik @ p_q, lik.sum(axis=1)

    @classmethod
    def simulate(
        cls,
        scale: Scale,
        *,
        n: int,
        seed: int,
        curves: dict[str, AgreementCurve],
        distortion: Distortion | None = None,
        raters: int = 1,
        mention_rate: float = 0.0,
    ) -> CalibrationDataset:
        """Draw ``n`` items from the truth (stages assigned uniformly at random).

        Examples
        --------
        >>> from judgecal import Scale
        >>> ds = CalibrationDataset.simulate(Scale.likert(5), n=100, seed=1,
        ...                                  curves={"a": AgreementCurve(0.0, 5.0)},
        ...                                  distortion=Distortion(compression=0.5))
        >>> len(ds), sorted(set(ds.scores.tolist())) == [2.0, 3.0, 4.0]
        (100, True)
        """
        d = distortion or Distortion()
        rng = np.random.default_rng(seed)
        names = list(curves)
        stage_idx = rng.integers(0, len(names), n)
        stages = np.asarray(names, dtype=str)[stage_idx]
        q = rng.random(n)
        mentions = (rng.random(n) < mention_rate).astype(np.float64)
        truth = np.empty(n)
        for k, name in enumerate(names):
            m = stage_idx == k
            truth[m] = curves[name](q[m])
        u = np.clip(d.mean_unit_score(q, mentions) + d.noise * rng.standard_normal(n), 0.0, 1.0)
        raw = scale.low + u * (scale.high - scale.low)
        scores = raw if scale.kind == "numeric" else np.clip(np.round(raw), scale.low, scale.high)
        agree = rng.random((n, raters)) < truth[:, None]
        return cls(
            scale=scale,
            scores=np.asarray(scores, dtype=np.float64),
            labels=agree.mean(axis=1),
            weights=np.full(n, float(raters)),
            stages=stages,
            mentions=mentions,
            quality=q,
            true_agreement=truth,
            curves=dict(curves),
            distortion=d,
            mention_rate=float(mention_rate),
        )

    def resample(self, *, n: int, seed: int) -> CalibrationDataset:
        """A fresh draw of ``n`` items from the same truth (for held-out checks)."""
        raters = int(self.weights[0]) if self.weights.size else 1
        return CalibrationDataset.simulate(
            self.scale,
            n=n,
            seed=seed,
            curves=self.curves,
            distortion=self.distortion,
            raters=raters,
            mention_rate=self.mention_rate,
        )

    def to_judgments(self) -> JudgmentSet:
        """The data as a :class:`~judgecal.JudgmentSet` with binary ratings and a ``mention`` feature.

        Examples
        --------
        >>> from judgecal import Scale
        >>> ds = CalibrationDataset.simulate(Scale.likert(5), n=5, seed=0, raters=2,
        ...                                  curves={"s": AgreementCurve(0.0, 5.0)})
        >>> js = ds.to_judgments()
        >>> bool((js.targets()[0] == ds.labels).all())
        True
        """
        raters = int(self.weights[0]) if self.weights.size else 1
        out = []
        for i in range(len(self)):
            k = round(float(self.labels[i]) * raters)
            values = [1] * k + [0] * (raters - k)
            out.append(
                Judgment(
                    item_id=f"item-{i}",
                    stage=str(self.stages[i]),
                    score=float(self.scores[i]),
                    label_kind="binary",
                    ratings=tuple(Rating(value=v, rater=f"r{j + 1}") for j, v in enumerate(values)),
                    features={"mention": float(self.mentions[i])},
                )
            )
        return JudgmentSet(out, scale=self.scale)


def agreement_curves(
    *,
    min_slope: float = 2.0,
    max_slope: float = 12.0,
    max_abs_intercept: float = 2.0,
) -> SearchStrategy[AgreementCurve]:
    """True human-agreement curves, increasing in item quality.

        Examples
        --------
        >>> from hypothesis import find
    >>> from judgecal import strategies as jst
        >>> c = find(jst.agreement_curves(), lambda v: True)
        >>> bool(c(0.9) > c(0.1))
        True
    """
    lo = _check_real(min_slope, "min_slope", 1e-3, 100.0)
    hi = _check_real(max_slope, "max_slope", 1e-3, 100.0)
    _check(lo <= hi, f"min_slope={min_slope} must be <= max_slope={max_slope}")
    a = _check_real(max_abs_intercept, "max_abs_intercept", 0.0, 20.0)
    return st.builds(
        AgreementCurve,
        intercept=st.floats(-a, a, allow_nan=False),
        slope=st.floats(lo, hi, allow_nan=False),
    )


def distortions(
    *,
    min_compression: float = 0.3,
    max_compression: float = 1.0,
    max_abs_shift: float = 0.25,
    max_noise: float = 0.15,
    max_mention_bonus: float = 0.0,
) -> SearchStrategy[Distortion]:
    """Judge distortions: compression, shift, noise and a bonus for mentions.

        Examples
        --------
        >>> from hypothesis import find
    >>> from judgecal import strategies as jst
        >>> d = find(jst.distortions(max_mention_bonus=0.3), lambda v: True)
        >>> 0.3 <= d.compression <= 1.0 and 0.0 <= d.mention_bonus <= 0.3
        True
    """
    c_lo = _check_real(min_compression, "min_compression", 0.01, 1.0)
    c_hi = _check_real(max_compression, "max_compression", 0.01, 1.0)
    _check(
        c_lo <= c_hi,
        f"min_compression={min_compression} must be <= max_compression={max_compression}",
    )
    sh = _check_real(max_abs_shift, "max_abs_shift", 0.0, 0.5)
    nz = _check_real(max_noise, "max_noise", 0.0, 1.0)
    mb = _check_real(max_mention_bonus, "max_mention_bonus", 0.0, 1.0)
    return st.builds(
        Distortion,
        compression=st.floats(c_lo, c_hi),
        shift=st.floats(-sh, sh),
        noise=st.floats(0.0, nz),
        mention_bonus=st.floats(0.0, mb),
    )


def calibration_datasets(
    *,
    scale: Scale | None = None,
    stages: Sequence[str] = ("default",),
    min_size: int = 50,
    max_size: int = 300,
    raters: int = 1,
    curves: SearchStrategy[AgreementCurve] | None = None,
    distortion: SearchStrategy[Distortion] | Distortion | None = None,
    mention_rate: float = 0.0,
) -> SearchStrategy[CalibrationDataset]:
    """Calibration data with known truth: judge scores, human labels and the true curve.

        Each draw picks a true :class:`AgreementCurve` per stage, a judge
        :class:`Distortion`, a size and a seed, then simulates the items with numpy
        (so hypothesis shrinks towards small sizes and simple seeds).

        Parameters
        ----------
        scale : Scale, optional
            The judge scale (default: Likert 1-5).
        stages : sequence of str
            Stage names; each gets its own true curve.
        min_size, max_size : int
            Number of items.
        raters : int
            Raters per item (labels are shares, weights the rater count).
        curves : strategy of AgreementCurve, optional
            Default :func:`agreement_curves`.
        distortion : strategy of Distortion or a Distortion, optional
            Default :func:`distortions` (no mention bonus).
        mention_rate : float
            Share of items that mention a user attribute.

        Examples
        --------
        >>> from hypothesis import find
    >>> from judgecal import strategies as jst
        >>> ds = find(jst.calibration_datasets(min_size=20, max_size=30), lambda v: True)
        >>> bool(20 <= len(ds) <= 30 and ((ds.labels == 0) | (ds.labels == 1)).all())
        True
    """
    sc = _check_scale(scale)
    names = _check_stages(stages)
    _check_size(min_size, max_size, low=1)
    _check_int(raters, "raters", 1)
    rate = _check_real(mention_rate, "mention_rate", 0.0, 1.0)
    curve_st = agreement_curves() if curves is None else curves
    _check(isinstance(curve_st, SearchStrategy), f"curves={curves!r} must be a strategy")
    if distortion is None:
        dist_st: SearchStrategy[Distortion] = distortions()
    elif isinstance(distortion, Distortion):
        dist_st = st.just(distortion)
    else:
        _check(
            isinstance(distortion, SearchStrategy),
            f"distortion={distortion!r} must be a Distortion or a strategy",
        )
        dist_st = distortion
    return st.builds(
        lambda cs, d, n, seed: CalibrationDataset.simulate(
            sc,
            n=n,
            seed=seed,
            curves=dict(zip(names, cs, strict=True)),
            distortion=d,
            raters=raters,
            mention_rate=rate,
        ),
        st.lists(curve_st, min_size=len(names), max_size=len(names)),
        dist_st,
        st.integers(min_size, max_size),
        st.integers(0, 2**32 - 1),
    )


# Register now (hypothesis may have called the hook before this module was complete).
_READY = True
_hypothesis_setup_hook()
