r"""The judge's probabilities over score tokens, as a calibration signal.

A chat model asked for a score on a 1-5 scale writes one token for it, but it
puts a probability on every candidate: "4" with 0.55, "3" with 0.30, "5" with
0.15. The parsed answer keeps only the "4". With ``logprobs`` and
``top_logprobs`` the server returns those candidates, and this module turns
them into a distribution :math:`p_k` over the scale's levels :math:`v_k`:

- the **expected score** :math:`\sum_k p_k v_k`, a finer signal than the
  parsed level (on a verdict scale no/yes it is P(yes));
- the **exceedance probabilities** :math:`P(\text{score} \ge v_k)` for
  :math:`k = 2..K`, one column each: calibration features for a calibrator
  that takes several columns.

How the score token is found: among the generated tokens, the first whose
text (stripped, lower-cased) is a level of the scale, preferring the first one
equal to the parsed answer when there is one, so "1. Clarity ... Score: 4"
reads the "4". Its top alternatives that are levels are summed per level
(" 4" and "4" are one level) and renormalized; ``mass`` keeps how much of the
probability they covered before that. Levels must be single tokens (integer
levels such as 1-5 or 0-10, verdict words such as yes/no): a level the
tokenizer splits in two is never seen as one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from judgecal._exceptions import InputError, JudgeError
from judgecal._validation import FloatArray
from judgecal.records.core import Scale

__all__ = [
    "ScoreDistribution",
    "distribution_features",
    "feature_names",
    "level_tokens",
    "score_distribution",
]

MAX_LEVELS = 101
"""The most levels a scale read from logprobs may have (0-100)."""


def level_tokens(scale: Scale) -> dict[str, float]:
    """The token text of each level of ``scale`` (lower case), mapped to its score.

    Integer levels for Likert and numeric scales with integer bounds (at most
    101 of them); the words for verdict scales.

    Examples
    --------
    >>> level_tokens(Scale.likert(3))
    {'1': 1.0, '2': 2.0, '3': 3.0}
    >>> level_tokens(Scale.verdict("no", "yes"))
    {'no': 0.0, 'yes': 1.0}
    """
    if not isinstance(scale, Scale):
        raise InputError("scale", "a judgecal.Scale", type(scale).__name__, where="level_tokens")
    if scale.kind == "verdict":
        return {word.strip().lower(): float(i) for i, word in enumerate(scale.verdicts)}
    low, high = float(scale.low), float(scale.high)
    if not (low.is_integer() and high.is_integer() and high - low + 1 <= MAX_LEVELS):
        raise InputError(
            "scale",
            f"a verdict scale, or a scale with integer bounds and at most {MAX_LEVELS} levels "
            "(each level one token) to read scores from logprobs",
            scale,
            where="level_tokens",
        )
    return {str(v): float(v) for v in range(int(low), int(high) + 1)}


@dataclass(frozen=True)
class ScoreDistribution:
    """The judge's probabilities over the levels of a scale, read from one score token.

    Examples
    --------
    >>> d = ScoreDistribution((1.0, 2.0, 3.0), (0.2, 0.5, 0.3), mass=0.98, position=2)
    >>> round(d.expected, 3), round(d.at_least(2.0), 3)
    (2.1, 0.8)
    """

    values: tuple[float, ...]
    """The scale's levels, lowest first."""
    probs: tuple[float, ...]
    """Probability of each level (they sum to 1)."""
    mass: float
    """Probability the model put on score tokens at that position, before renormalizing."""
    position: int
    """Index of the score token among the generated tokens."""

    @property
    def expected(self) -> float:
        """The expected score :math:`\\sum_k p_k v_k`."""
        return float(np.dot(self.values, self.probs))

    def at_least(self, value: float) -> float:
        """P(score >= ``value``)."""
        return float(sum(p for v, p in zip(self.values, self.probs, strict=True) if v >= value))


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def _level_of(token: Any, levels: Mapping[str, float]) -> float | None:
    if not isinstance(token, str):
        return None
    return levels.get(token.strip().lower())


def _score_position(tokens: Sequence[Any], levels: Mapping[str, float], prefer: Any) -> int | None:
    first = None
    for index, entry in enumerate(tokens):
        level = _level_of(_field(entry, "token"), levels)
        if level is None:
            continue
        if prefer is None or level == prefer:
            return index
        if first is None:
            first = index
    return first


def _candidates(entry: Any) -> list[tuple[Any, Any]]:
    top = _field(entry, "top_logprobs") or []
    pairs = [(_field(t, "token"), _field(t, "logprob")) for t in top]
    if not pairs:  # no alternatives returned: the sampled token alone
        pairs = [(_field(entry, "token"), _field(entry, "logprob"))]
    return pairs


def score_distribution(
    tokens: Iterable[Any] | None, scale: Scale, *, prefer: float | None = None
) -> ScoreDistribution | None:
    """The distribution over ``scale``'s levels at the score token, or ``None``.

    Parameters
    ----------
    tokens : iterable or None
        The generated tokens with their logprobs, as the chat-completions API
        returns them in ``choices[0].logprobs.content``: objects or dicts with
        ``token``, ``logprob`` and ``top_logprobs`` (a list of ``token``,
        ``logprob``).
    scale : Scale
        The scale whose levels are the score tokens (see :func:`level_tokens`).
    prefer : float, optional
        The parsed score: the first token equal to it is the score token.

    Returns
    -------
    ScoreDistribution or None
        ``None`` when no generated token is a level, or its alternatives
        carry no finite logprob.

    Examples
    --------
    >>> import math
    >>> tokens = [
    ...     {"token": "Score", "logprob": 0.0, "top_logprobs": []},
    ...     {"token": ":", "logprob": 0.0, "top_logprobs": []},
    ...     {"token": " 4", "logprob": math.log(0.5), "top_logprobs": [
    ...         {"token": " 4", "logprob": math.log(0.5)},
    ...         {"token": " 3", "logprob": math.log(0.3)},
    ...         {"token": "3", "logprob": math.log(0.1)},
    ...         {"token": " The", "logprob": math.log(0.1)}]},
    ... ]
    >>> d = score_distribution(tokens, Scale.likert(5), prefer=4.0)
    >>> [round(p, 3) for p in d.probs], round(d.mass, 3), d.position, round(d.expected, 3)
    ([0.0, 0.0, 0.444, 0.556, 0.0], 0.9, 2, 3.556)
    """
    if tokens is None:
        return None
    levels = level_tokens(scale)
    entries = list(tokens)
    position = _score_position(entries, levels, prefer)
    if position is None:
        return None
    values = tuple(sorted(set(levels.values())))
    totals = dict.fromkeys(values, 0.0)
    for token, logprob in _candidates(entries[position]):
        level = _level_of(token, levels)
        if level is None or isinstance(logprob, bool) or not isinstance(logprob, int | float):
            continue
        if math.isfinite(logprob) and logprob <= 0.0:
            totals[level] += math.exp(logprob)
    mass = sum(totals.values())
    if mass <= 0.0:
        return None
    probs = tuple(totals[v] / mass for v in values)
    return ScoreDistribution(values, probs, min(mass, 1.0), position)


def feature_names(scale: Scale) -> list[str]:
    """Column names of :func:`distribution_features`: ``expected``, then ``p_ge_<level>``.

    Examples
    --------
    >>> feature_names(Scale.likert(3))
    ['expected', 'p_ge_2', 'p_ge_3']
    """
    values = sorted(set(level_tokens(scale).values()))
    return ["expected"] + [f"p_ge_{v:g}" for v in values[1:]]


def distribution_features(probs: Iterable[Sequence[float] | None], scale: Scale) -> FloatArray:
    """Calibration features from level probabilities: expected score and P(score >= v_k).

    Parameters
    ----------
    probs : iterable of sequences
        One row per item: the probability of each level of ``scale``, lowest
        first (``ScoreDistribution.probs``, or ``answer["probs"]`` of a client
        answer). A missing row (``None``) is an error that names the row:
        items without logprobs have no such features.
    scale : Scale
        The scale the levels belong to.

    Returns
    -------
    ndarray of shape (n, K)
        Column 0 the expected score; columns 1..K-1 P(score >= v_k) for
        k = 2..K (:func:`feature_names`). Column 0 alone suits the one-column
        calibrators; all columns suit a calibrator that takes several.

    Examples
    --------
    >>> distribution_features([[0.2, 0.5, 0.3], [0.0, 0.0, 1.0]], Scale.likert(3))
    array([[2.1, 0.8, 0.3],
           [3. , 1. , 1. ]])
    """
    values = np.asarray(sorted(set(level_tokens(scale).values())), dtype=np.float64)
    rows = []
    for index, row in enumerate(probs):
        array = None if row is None else np.asarray(row, dtype=np.float64)
        if (
            array is None
            or array.shape != values.shape
            or not np.all(np.isfinite(array))
            or np.any(array < 0)
            or abs(float(array.sum()) - 1.0) > 1e-6
        ):
            raise JudgeError(
                f"row {index} of probs must hold {values.size} probabilities summing to 1 "
                f"(one per level of the scale); got {row!r}. Items without logprobs have no "
                "distribution features: leave them out, or use the parsed score."
            )
        exceed = np.cumsum(array[::-1])[::-1][1:]
        rows.append(np.concatenate([[float(array @ values)], exceed]))
    if not rows:
        return np.empty((0, values.size), dtype=np.float64)
    return np.vstack(rows)
