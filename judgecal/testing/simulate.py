r"""The known-truth simulator: judge scores and human labels drawn from a truth you can query.

A calibrator is best checked against the truth, not against another estimate.
This module draws items with a latent quality :math:`q \sim U(0, 1)`. A human
agrees with (accepts) an item with probability

.. math:: p(q) = \sigma(a + b (q - 1/2)),\quad b > 0,

one :class:`AgreementCurve` per stage. The judge sees the same item through a
:class:`Distortion`: on the unit scale its score is

.. math:: u = \mathrm{clip}(1/2 + c (q - 1/2) + \text{shift} + \beta m + \sigma \varepsilon, 0, 1),

with compression :math:`c`, a bonus :math:`\beta` when the text mentions a user
attribute (:math:`m = 1`, which humans ignore) and Gaussian noise; ``u`` is then
put on the judge's :class:`~judgecal.Scale` (rounded to a level on Likert and
verdict scales). :meth:`CalibrationDataset.agreement_given_score` integrates
over :math:`q` and :math:`m` to give the exact target of calibration,
:math:`P(\text{human agrees} \mid \text{score})`.

The module also holds the texts' surface feature the simulator knows about:
:data:`ATTRIBUTES` a response may mention, and :func:`insert_mention` /
:func:`mentions_attribute` to add and detect such a mention.

Only numpy is needed (scipy's normal CDF when the truth is computed);
hypothesis strategies that draw from this simulator live in
:mod:`judgecal.testing.strategies`.

Examples
--------
>>> from judgecal import Scale
>>> from judgecal.testing.simulate import AgreementCurve, CalibrationDataset, Distortion
>>> ds = CalibrationDataset.simulate(Scale.likert(5), n=200, seed=0,
...                                  curves={"selection": AgreementCurve(-1.0, 6.0)},
...                                  distortion=Distortion(compression=0.5, shift=0.2))
>>> truth = ds.agreement_given_score([2, 3, 4])
>>> bool(truth[0] < truth[1] < truth[2])
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from judgecal._exceptions import InputError
from judgecal._validation import FloatArray, StrArray
from judgecal.records.core import Judgment, JudgmentSet, Rating, Scale

__all__ = [
    "ATTRIBUTES",
    "MENTION_TEMPLATES",
    "AgreementCurve",
    "CalibrationDataset",
    "Distortion",
    "insert_mention",
    "mentions_attribute",
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

#: Sentences that mention an attribute (``{a}``); humans ignore them, some judges do not.
MENTION_TEMPLATES: tuple[str, ...] = (
    "As a {a}, you will like this.",
    "Since you are a {a}, this fits you.",
    "Given that you're a {a}, keep this in mind.",
    "(You mentioned being a {a}.)",
)


def mentions_attribute(text: str, attributes: Sequence[str] = ATTRIBUTES) -> bool:
    """Whether ``text`` mentions any of ``attributes`` (case-insensitive).

    Examples
    --------
    >>> mentions_attribute("As a Nurse, rest well.", ["nurse"])
    True
    """
    low = text.lower()
    return any(a.lower() in low for a in attributes)


def insert_mention(text: str, attribute: str, template: str, position: int) -> str:
    """Insert the sentence ``template.format(a=attribute)`` before sentence ``position``.

    A position past the last sentence appends the mention at the end.

    Examples
    --------
    >>> insert_mention("Rice is quick. Add salt.", "student", MENTION_TEMPLATES[0], 1)
    'Rice is quick. As a student, you will like this. Add salt.'
    """
    parts = text.split(". ")
    k = min(position, len(parts))
    sentence = template.format(a=attribute)
    if k == len(parts):
        return text + " " + sentence
    parts.insert(k, sentence.rstrip("."))
    return ". ".join(parts)


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


_GRID = (np.arange(4000) + 0.5) / 4000.0  # item qualities the truth is integrated over
_MIN_SMOOTH = 2e-3
_WHERE = "CalibrationDataset.agreement_given_score"


def _on_scale(unit: FloatArray, scale: Scale) -> FloatArray:
    """Unit-interval scores put on ``scale`` (rounded to a level unless it is numeric)."""
    raw = scale.low + unit * (scale.high - scale.low)
    if scale.kind != "numeric":
        raw = np.clip(np.round(raw), scale.low, scale.high)
    return np.asarray(raw, dtype=np.float64)


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
        sc, d = self.scale, self.distortion
        curves = ", ".join(
            f"{k}: a={c.intercept:.3g} b={c.slope:.3g}" for k, c in self.curves.items()
        )
        raters = int(self.weights[0]) if self.weights.size else 0
        distortion = (
            f"compression={d.compression:.3g}, shift={d.shift:.3g}, noise={d.noise:.3g}, "
            f"mention_bonus={d.mention_bonus:.3g}"
        )
        return (
            f"CalibrationDataset(n={len(self)}, scale={sc.kind}[{sc.low:g}, {sc.high:g}], "
            f"raters={raters}, curves={{{curves}}}, distortion=({distortion}), "
            f"mention_rate={self.mention_rate:g})"
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
        sigma = max(self.distortion.noise, _MIN_SMOOTH)
        p_q = curve(_GRID)  # (G,)
        num = np.zeros(s.size)
        den = np.zeros(s.size)
        if mention is None:  # integrate the mention out at its rate
            for value, weight in ((0.0, 1.0 - self.mention_rate), (1.0, self.mention_rate)):
                if weight > 0:
                    part_num, part_den = self._num_den(s, value, sigma, p_q)
                    num += weight * part_num
                    den += weight * part_den
        else:
            given = np.broadcast_to(np.asarray(mention, dtype=np.float64), s.shape)
            if not np.isin(given, (0.0, 1.0)).all():
                raise InputError("mention", "0 or 1 for each score", mention, where=_WHERE)
            for value in (0.0, 1.0):
                sel = given == value
                if sel.any():
                    num[sel], den[sel] = self._num_den(s[sel], value, sigma, p_q)
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
        quality = rng.random(n)
        mentions = (rng.random(n) < mention_rate).astype(np.float64)
        truth = np.empty(n)
        for k, name in enumerate(names):
            truth[stage_idx == k] = curves[name](quality[stage_idx == k])
        unit = d.mean_unit_score(quality, mentions) + d.noise * rng.standard_normal(n)
        agree = rng.random((n, raters)) < truth[:, None]
        return cls(
            scale=scale,
            scores=_on_scale(np.clip(unit, 0.0, 1.0), scale),
            labels=agree.mean(axis=1),
            weights=np.full(n, float(raters)),
            stages=np.asarray(names, dtype=str)[stage_idx],
            mentions=mentions,
            quality=quality,
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
        """The data as a :class:`~judgecal.JudgmentSet`: binary ratings, a ``mention`` feature.

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
