"""Hypothesis strategies for judge scores, human labels, records and known-truth data.

Property-based tests of evaluation code need inputs that look like evaluation
data: judge scores on a declared scale, human labels of each kind, several
raters per item, whole :class:`~judgecal.JudgmentSet` s, and calibration data
whose *true* human-agreement curve is known (drawn from
:mod:`judgecal.testing.simulate`), so a calibrator can be checked against the
truth rather than against another estimate.

Every function here returns a hypothesis strategy, is named by what it draws
(a plural noun), takes keyword-only arguments and raises
:class:`hypothesis.errors.InvalidArgument` on a bad combination of arguments,
following hypothesis's own API style. This module imports hypothesis;
``import judgecal`` does not (``judgecal.strategies`` loads it on first use).
Pairwise labels and judge statuses use the words of :mod:`judgecal.vocabulary`.

The ``hypothesis`` entry point registers strategies for judgecal's types, so
``st.from_type(Judgment)`` works in any test.

Examples
--------
>>> from hypothesis import given
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


import dataclasses  # noqa: E402
import math  # noqa: E402
import string  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from judgecal._exceptions import MissingDependencyError  # noqa: E402

try:
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument
    from hypothesis.strategies import SearchStrategy
except ImportError as exc:  # pragma: no cover - hypothesis is a dependency
    raise MissingDependencyError(
        "judgecal.testing.strategies needs hypothesis: pip install hypothesis"
    ) from exc

from judgecal.records.core import Judgment, JudgmentSet, Rating, Scale  # noqa: E402
from judgecal.testing.simulate import (  # noqa: E402
    ATTRIBUTES,
    MENTION_TEMPLATES,
    AgreementCurve,
    CalibrationDataset,
    Distortion,
    insert_mention,
    mentions_attribute,
)
from judgecal.vocabulary import FAILED_STATUSES, PAIRWISE_OUTCOMES  # noqa: E402

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

_LABEL_KINDS = ("binary", "ordinal", "pairwise")
_SCALE_KINDS = ("numeric", "likert", "verdict")
_VERDICT_TEXT = "no yes bad fair good great reject accept maybe unsure"
_VERDICT_WORDS = tuple(_VERDICT_TEXT.split())
_WORD_TEXT = (
    "the answer explains how to cook rice quickly with a small pot and water then adds salt "
    "before serving it covers training plans for the week lists three options clear steps "
    "good budget simple example code shows loop this response gives advice on sleep and "
    "recovery after long days is short but useful detailed tips are given"
    # sentences of texts() are drawn from these words (duplicates weigh a word more)
)
_WORDS = tuple(_WORD_TEXT.split())


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
    plain = plain.filter(lambda t: not mentions_attribute(t, attrs))
    if mention is False:
        return plain
    with_mention = st.builds(
        insert_mention,
        plain,
        st.sampled_from(attrs),
        st.sampled_from(MENTION_TEMPLATES),
        st.integers(0, 8),
    )
    if mention is True:
        return with_mention
    return plain | with_mention


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
    spec = _RecordSpec(
        scale=_check_scale(scale),
        label_kind=_check_label_kind(label_kind),
        levels=levels,
        stages=_check_stages(stages),
        min_raters=min_raters,
        max_raters=max_raters,
        judge_failures=bool(judge_failures),
        with_texts=bool(with_texts),
    )
    spec.check()
    _check(label_kind is not None or min_raters == 0, "min_raters > 0 needs a label_kind")
    ids = st.text(_ID_ALPHABET, min_size=1, max_size=8) if item_ids is None else item_ids
    return _judgments(spec, ids)


@dataclass(frozen=True)
class _RecordSpec:
    """What :func:`judgments` and :func:`judgment_sets` draw (``scale=None``: draw a scale too)."""

    scale: Scale | None
    label_kind: str | None
    levels: int
    stages: tuple[str, ...]
    min_raters: int
    max_raters: int
    judge_failures: bool
    with_texts: bool

    def check(self) -> None:
        _check_int(self.levels, "levels", 2)
        _check_size(self.min_raters, self.max_raters)


def _check_label_kind(label_kind: Any) -> str | None:
    _check(
        label_kind is None or label_kind in _LABEL_KINDS,
        f"label_kind={label_kind!r} must be one of {_LABEL_KINDS} or None",
    )
    return label_kind  # type: ignore[no-any-return]


@st.composite
def _judge_outputs(draw: st.DrawFn, scale: Scale, failures: bool) -> tuple[float | None, str, str]:
    """A judge's ``(score, status, output)``; a failed judge has no score."""
    if failures and draw(st.booleans()):
        status = draw(st.sampled_from(FAILED_STATUSES))
        output = draw(st.sampled_from(["", "I cannot rate this.", "Score: ?", "n/a"]))
        return None, status, output
    score = draw(judge_scores(scale=scale))
    output = scale.verdicts[int(score)] if scale.kind == "verdict" else f"Score: {score:g}"
    return score, "ok", output


@st.composite
def _judgments(draw: st.DrawFn, spec: _RecordSpec, ids: SearchStrategy[str]) -> Judgment:
    scale = Scale.likert(5) if spec.scale is None else spec.scale
    item_id = draw(ids)
    stage = draw(st.sampled_from(spec.stages))
    score, status, output = draw(_judge_outputs(scale, spec.judge_failures))
    kind = spec.label_kind
    rs: tuple[Rating, ...] = ()
    if kind is not None:
        rs = draw(
            ratings(
                kind=kind,
                levels=spec.levels,
                min_raters=spec.min_raters,
                max_raters=spec.max_raters,
            )
        )
    features: dict[str, float] = {}
    txt: dict[str, str] = {}
    if spec.with_texts:
        txt["response"] = draw(texts())
        features["mention"] = float(mentions_attribute(txt["response"], ATTRIBUTES))
        features["length"] = float(len(txt["response"]))
    return Judgment(
        item_id=item_id,
        stage=stage,
        score=score,
        judge_status=status,  # type: ignore[arg-type]
        judge_output=output,
        label_kind=kind,  # type: ignore[arg-type]
        levels=spec.levels if kind == "ordinal" else None,
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
    spec = _RecordSpec(
        scale=scale,
        label_kind=_check_label_kind(label_kind),
        levels=levels,
        stages=_check_stages(stages),
        min_raters=min_raters,
        max_raters=max_raters,
        judge_failures=bool(judge_failures),
        with_texts=bool(with_texts),
    )
    spec.check()
    return _judgment_sets(spec, min_size, max_size)


@st.composite
def _judgment_sets(draw: st.DrawFn, spec: _RecordSpec, min_size: int, max_size: int) -> JudgmentSet:
    scale = draw(scales()) if spec.scale is None else spec.scale
    kind = draw(st.sampled_from(_LABEL_KINDS)) if spec.label_kind is None else spec.label_kind
    n = draw(st.integers(min_size, max_size))
    item_spec = dataclasses.replace(spec, scale=scale, label_kind=kind)
    items = [draw(_judgments(item_spec, st.just(f"item-{i}"))) for i in range(n)]
    return JudgmentSet(items, scale=scale)


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
