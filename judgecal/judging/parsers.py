"""Parsers with explicit outcomes: every judge output is ``ok``, ``unparseable`` or ``refused``.

A parser turns what a judge said into a score on a :class:`~judgecal.Scale`, or
says why it cannot. It never guesses: no number, an off-scale number, two
conflicting answers or a malformed JSON object are *unparseable*; a polite
refusal ("I'm sorry, but I can't evaluate this") is *refused*. Neither ever
becomes a score (in particular, never the scale's minimum).

Factories, one per common answer format:

=====================  =======================================================
:func:`number`         a number in ``[low, high]`` ("Score: 7", "7/10", ``7.0``)
:func:`likert`         an integer level, optionally named ("Strongly agree")
:func:`yes_no`         YES / NO (also true/false), coded no=0, yes=1
:func:`pairwise`       first / second / tie ("[[A]]", "Response 2", "tie"),
                       coded second=0, tie=1, first=2
:func:`json_field`     one field of a JSON object (fenced or embedded)
:func:`regex`          a user regular expression (one distinct match)
:func:`function`       a user function ``output -> number | str | None``
=====================  =======================================================

Each returns a :class:`Parser`; ``parser.parse(output)`` gives a
:class:`Parsed`. A :class:`Parser` is also a drop-in ``parser(output, scale)``
for :class:`~judgecal.CalibratedJudge`.

Every built-in parser runs in time linear in the length of the output, whatever
the text (long runs of whitespace, unclosed markup, digit runs): the patterns
use possessive quantifiers, so the regular-expression engine never backtracks
over a run it has already read. A :func:`regex` parser is as fast as the
pattern the user gives it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from judgecal._exceptions import InputError, InputTypeError
from judgecal._validation import check_int
from judgecal.records.core import Scale

__all__ = [
    "PAIRWISE_SCALE",
    "YES_NO_SCALE",
    "Parsed",
    "Parser",
    "function",
    "is_refusal",
    "json_field",
    "likert",
    "number",
    "pairwise",
    "parse_score",
    "regex",
    "yes_no",
]

ParseStatus = Literal["ok", "unparseable", "refused"]

#: The verdict scale of :func:`yes_no`.
YES_NO_SCALE = Scale.verdict("no", "yes")
#: The verdict scale of :func:`pairwise` (a higher score favours the first response).
PAIRWISE_SCALE = Scale.verdict("second", "tie", "first")

_REFUSAL = re.compile(
    r"(?:\bi\s*+(?:am|'m|\u2019m)\s++(?:sorry|afraid|unable|not able)\b"
    r"|\bi\s++(?:cannot|can't|can\u2019t|can\s++not|won't|won\u2019t|will\s++not"
    r"|must\s++decline|decline|refuse)\b"
    r"|\bas\s++an\s++ai\b"
    r"|\bi\s++(?:do\s++not|don't|don\u2019t)\s++feel\s++comfortable\b"
    r"|\bagainst\s++(?:my|the|our)\s++(?:guidelines|policy|policies|principles)\b"
    r"|\bviolates?\s++(?:my|the|our|openai's|content)\s++[a-z ]{0,20}polic(?:y|ies)\b)",
    re.IGNORECASE,
)


def is_refusal(output: Any) -> bool:
    """Whether a text reads as a refusal to answer.

    Used only for outputs that did not parse: an answer that contains a valid
    score is never called a refusal.

    Examples
    --------
    >>> is_refusal("I'm sorry, but I can't evaluate this content.")
    True
    >>> is_refusal("Score: 4")
    False
    """
    return isinstance(output, str) and _REFUSAL.search(output) is not None


@dataclass(frozen=True)
class Parsed:
    """The outcome of parsing one judge output."""

    status: ParseStatus
    """``ok``, ``unparseable`` or ``refused``."""
    score: float | None
    """The score on the parser's scale; ``None`` unless ``status == "ok"``."""
    reason: str = ""
    """Why the output was not parsed (empty when ``ok``)."""

    @property
    def ok(self) -> bool:
        """Whether a score was parsed."""
        return self.status == "ok"


Extract = Callable[[Any, Scale], Any]


class Parser:
    """Turn judge outputs into scores on ``scale``, with an explicit outcome.

    Parameters
    ----------
    scale : Scale
        The scale scores live on.
    extract : callable
        ``extract(output, scale) -> number | verdict word | None``; ``None`` (or an
        exception) means "cannot parse". The value is then checked against
        ``scale`` (off-scale values are unparseable).
    name : str
        Short description, shown in ``repr`` and in cache fingerprints.
    detect_refusal : bool
        When an output does not parse and reads as a refusal
        (:func:`is_refusal`), report ``refused`` instead of ``unparseable``.
    integer : bool
        Require an integer score (Likert levels).

    Examples
    --------
    >>> p = Parser(Scale.numeric(0, 1), lambda out, scale: out.get("p"), name="p-field")
    >>> p.parse({"p": 0.25})
    Parsed(status='ok', score=0.25, reason='')
    >>> p.parse({"p": 3}).status
    'unparseable'
    """

    def __init__(
        self,
        scale: Scale,
        extract: Extract,
        *,
        name: str = "custom",
        detect_refusal: bool = True,
        integer: bool = False,
    ) -> None:
        if not isinstance(scale, Scale):
            raise InputError("scale", "a judgecal.Scale", type(scale).__name__, where="Parser")
        if not callable(extract):
            raise InputError(
                "extract", "a callable extract(output, scale)", extract, where="Parser"
            )
        self.scale = scale
        self.extract = extract
        self.name = name
        self.detect_refusal = bool(detect_refusal)
        self.integer = bool(integer)

    def __repr__(self) -> str:
        s = self.scale
        rng = "/".join(s.verdicts) if s.kind == "verdict" else f"{s.low:g}..{s.high:g}"
        return f"Parser({self.name}, {s.kind}[{rng}])"

    def parse(self, output: Any) -> Parsed:
        """Parse one output; never raises."""
        try:
            value = self.extract(output, self.scale)
        except Exception as exc:  # a user extractor that raises means "cannot parse"
            return self._fail(output, f"parser raised {type(exc).__name__}: {exc}")
        if isinstance(value, Parsed):
            return value
        if value is None:
            return self._fail(output, "no score found")
        try:
            score = self.scale.check(value)
        except (InputError, TypeError, ValueError):
            return self._fail(output, f"{value!r} is not on the scale")
        if self.integer and not float(score).is_integer():
            return self._fail(output, f"{value!r} is not an integer level")
        return Parsed("ok", score)

    def _fail(self, output: Any, reason: str) -> Parsed:
        if self.detect_refusal and is_refusal(output):
            return Parsed("refused", None, "the judge refused to answer")
        return Parsed("unparseable", None, reason)

    def __call__(self, output: Any, scale: Scale | None = None) -> float | None:
        """``parser(output, scale) -> float | None``, the shape CalibratedJudge also accepts."""
        return self.parse(output).score

    @property
    def key(self) -> str:
        """A stable description used in fingerprints."""
        return f"{self.name}:{self.scale.model_dump_json()}"


# Every quantifier that sits next to another one over the same characters is possessive
# (``*+``, ``++``): the engine never gives back what it has read, so a failed match costs
# time linear in the text (``"Score" + " " * 10**6 + "x"`` is one scan, not a cubic search).
_NUM = r"[-+]?+(?:\d++(?:\.\d*+)?+|\.\d++)"
_LABELLED = re.compile(
    r"\b(?:score|rating|grade|rated|answer|verdict|overall)\s*+(?:(?:is|of|=|:)\s*+)?+\**+\s*+"
    rf"({_NUM})(?:\s*+(?:/|out\s++of)\s*+({_NUM}))?+",
    re.IGNORECASE,
)
_FRACTION = re.compile(rf"({_NUM})\s*+(?:/|out\s++of)\s*+({_NUM})\s*+\.?+\s*+", re.IGNORECASE)
_BARE = re.compile(rf"\**+\s*+({_NUM})\s*+\**+\s*+\.?+\s*+")
_VERDICT_LABEL = re.compile(
    r"\b(?:answer|verdict|decision|judgement|judgment|output)\s*+[:=]\s*+\**+\s*+([A-Za-z]++)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z]++")


def parse_score(output: Any, scale: Scale) -> float | None:
    """Parse a judge's output strictly onto ``scale``; ``None`` when it cannot.

    Accepted forms: a number (``7``, ``"7.5"``), a labelled number
    (``"Score: 7"``, ``"Rating: 4 out of 5"``), a fraction whose denominator is
    the scale's top (``"7/10"``), and for verdict scales a verdict word, alone
    or labelled (``"Answer: YES"``). Two different labelled scores, a number
    off the scale, a fraction on another scale, or several different verdict
    words are unparseable: the parser never guesses. Runs in time linear in the
    length of the text.

    Examples
    --------
    >>> ten = Scale.numeric(1, 10)
    >>> parse_score("Score: 7", ten), parse_score("7/10", ten), parse_score(" 8 ", ten)
    (7.0, 7.0, 8.0)
    >>> parse_score("7/5", ten) is None, parse_score("11", ten) is None
    (True, True)
    >>> parse_score("I'd say 7 or maybe 8", ten) is None
    True
    >>> parse_score("Answer: YES", Scale.verdict("no", "yes"))
    1.0
    """
    if not isinstance(scale, Scale):
        raise InputError("scale", "a judgecal.Scale", type(scale).__name__, where="parse_score")
    if isinstance(output, bool):
        if scale.kind == "verdict" and len(scale.verdicts) == 2:
            return float(output)
        return None
    if isinstance(output, int | float | np.integer | np.floating):
        try:
            return _on_scale(float(output), scale)
        except OverflowError:  # an integer too large for a float is off every scale
            return None
    if not isinstance(output, str):
        return None
    text = output.strip()
    if not text:
        return None
    if scale.kind == "verdict":
        return _parse_verdict(text, scale)
    return _parse_number_text(text, scale)


def _parse_number_text(text: str, scale: Scale) -> float | None:
    bare = _BARE.fullmatch(text)
    if bare:
        return _on_scale(float(bare.group(1)), scale)
    frac = _FRACTION.fullmatch(text)
    if frac:
        return _fraction(frac.group(1), frac.group(2), scale)
    found = {
        _fraction(num, den, scale) if den else _on_scale(float(num), scale)
        for num, den in _LABELLED.findall(text)
    }
    if len(found) == 1:
        return found.pop()
    return None


def _fraction(num: str, den: str, scale: Scale) -> float | None:
    if float(den) != scale.high:
        return None
    return _on_scale(float(num), scale)


def _on_scale(value: float, scale: Scale) -> float | None:
    if not math.isfinite(value) or value < scale.low or value > scale.high:
        return None
    if scale.kind == "verdict" and not value.is_integer():
        return None
    return value


def _parse_verdict(text: str, scale: Scale) -> float | None:
    words = [v.lower() for v in scale.verdicts]
    labelled = _VERDICT_LABEL.search(text)
    if labelled and labelled.group(1).lower() in words:
        return float(words.index(labelled.group(1).lower()))
    hits = {w for w in _WORD.findall(text.lower()) if w in words}
    if len(hits) == 1:
        return float(words.index(hits.pop()))
    return None


def _default_extract(output: Any, scale: Scale) -> float | None:
    return parse_score(output, scale)


def number(low: float = 1, high: float = 10) -> Parser:
    """A number in ``[low, high]``: ``7``, ``"7.5"``, ``"Score: 7"``, ``"7/10"``.

    Examples
    --------
    >>> p = number(1, 10)
    >>> p.parse("Rating: 8/10").score, p.parse("11").status, p.parse("7 or 8").status
    (8.0, 'unparseable', 'unparseable')
    """
    return Parser(Scale.numeric(low, high), _default_extract, name="number")


def likert(levels: int = 5, low: int = 1, *, labels: Sequence[str] | None = None) -> Parser:
    """An integer Likert level ``low..low+levels-1``, as a number or (with ``labels``) a name.

    Parameters
    ----------
    levels, low : int
        Number of levels and the lowest level.
    labels : sequence of str, optional
        Names of the levels, lowest first (``"strongly disagree"``, ...). An
        output naming exactly one level (longest names matched first) parses.

    Examples
    --------
    >>> p = likert(5)
    >>> p.parse("Score: 4").score, p.parse("3.5").status
    (4.0, 'unparseable')
    >>> q = likert(3, labels=["disagree", "neutral", "agree"])
    >>> q.parse("I disagree.").score, q.parse("agree").score
    (1.0, 3.0)
    """
    levels = check_int(levels, "levels", low=2, where="likert")
    low = check_int(low, "low", where="likert")
    scale = Scale.likert(levels, low)
    if labels is None:
        return Parser(scale, _default_extract, name="likert", integer=True)
    names = [str(x).strip().lower() for x in labels]
    if len(names) != levels or len(set(names)) != levels or not all(names):
        raise InputError(
            "labels", f"{levels} distinct non-empty level names", labels, where="likert"
        )
    index = {n: low + i for i, n in enumerate(names)}
    pattern = re.compile(
        r"(?<![A-Za-z])("
        + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        + r")(?![A-Za-z])",
        re.IGNORECASE,
    )

    def extract(output: Any, scale: Scale) -> float | None:
        got = parse_score(output, scale)
        if got is not None or not isinstance(output, str):
            return got
        hits = {index[m.lower()] for m in pattern.findall(output)}
        return float(hits.pop()) if len(hits) == 1 else None

    return Parser(scale, extract, name="likert-labels", integer=True)


_YES = {"yes", "y", "true"}
_NO = {"no", "n", "false"}


def _clean_word(text: str) -> str:
    return re.sub(r"[\s*_`'\".!:\[\]()]+", " ", text).strip().lower()


def yes_no() -> Parser:
    """YES / NO (also ``true`` / ``false`` or a bool); coded ``no=0``, ``yes=1``.

    Examples
    --------
    >>> p = yes_no()
    >>> p.parse("Yes.").score, p.parse("Answer: NO").score, p.parse(True).score
    (1.0, 0.0, 1.0)
    >>> p.parse("yes and no").status
    'unparseable'
    """

    def extract(output: Any, scale: Scale) -> float | None:
        if isinstance(output, str):
            word = _clean_word(output)
            if word in _YES:
                return 1.0
            if word in _NO:
                return 0.0
        return parse_score(output, scale)

    return Parser(YES_NO_SCALE, extract, name="yes_no")


_PAIR_WORDS = {
    "first": 2.0,
    "a": 2.0,
    "1": 2.0,
    "response 1": 2.0,
    "response a": 2.0,
    "output a": 2.0,
    "assistant a": 2.0,
    "answer 1": 2.0,
    "answer a": 2.0,
    "second": 0.0,
    "b": 0.0,
    "2": 0.0,
    "response 2": 0.0,
    "response b": 0.0,
    "output b": 0.0,
    "assistant b": 0.0,
    "answer 2": 0.0,
    "answer b": 0.0,
    "tie": 1.0,
    "c": 1.0,
    "equal": 1.0,
    "draw": 1.0,
    "both": 1.0,
    "same": 1.0,
}
_BRACKET = re.compile(r"\[\[\s*+([ABC])\s*+\]\]")
_PAIR_LABEL = re.compile(
    r"\b(?:verdict|answer|winner|preference|preferred|better|choice|decision|output)"
    r"(?:\s*+(?:is|:|=))++\s*+\**+\s*+"
    r"((?:response|output|assistant|answer)\s*+[12ab]\b|first\b|second\b|tie\b|equal\b|draw\b"
    r"|[ab12]\b)",
    re.IGNORECASE,
)


def pairwise() -> Parser:
    """Which of two responses is better: first / second / tie; coded ``second=0, tie=1, first=2``.

    Accepts a bare answer (``"first"``, ``"B"``, ``"Response 2"``, ``"tie"``), the
    MT-Bench form ``"[[A]]"`` / ``"[[B]]"`` / ``"[[C]]"`` (C is a tie), a labelled
    answer (``"Verdict: second"``), or a text naming exactly one of
    first/second/tie. Anything naming two outcomes is unparseable.

    Examples
    --------
    >>> p = pairwise()
    >>> [p.parse(x).score for x in ["[[A]]", "Response 2", "Verdict: tie"]]
    [2.0, 0.0, 1.0]
    >>> p.parse("The first is good but the second is better").status
    'unparseable'
    """

    def extract(output: Any, scale: Scale) -> float | None:
        if not isinstance(output, str):
            return parse_score(output, scale)
        found = {m.upper() for m in _BRACKET.findall(output)}
        if found:
            return {"A": 2.0, "B": 0.0, "C": 1.0}[found.pop()] if len(found) == 1 else None
        word = _clean_word(output)
        word = re.sub(r"\s+", " ", word)
        if word in _PAIR_WORDS:
            return _PAIR_WORDS[word]
        labelled = {
            _PAIR_WORDS.get(re.sub(r"\s+", " ", m.lower())) for m in _PAIR_LABEL.findall(output)
        }
        labelled.discard(None)
        if labelled:
            return labelled.pop() if len(labelled) == 1 else None
        hits = {w for w in re.findall(r"[a-z]+", output.lower()) if w in ("first", "second", "tie")}
        return _PAIR_WORDS[hits.pop()] if len(hits) == 1 else None

    return Parser(PAIRWISE_SCALE, extract, name="pairwise")


_FENCE = re.compile(r"```(?:json)?+\s*+(.*?)```", re.DOTALL | re.IGNORECASE)


def _json_object(output: Any) -> Any:
    if isinstance(output, Mapping):
        return output
    if not isinstance(output, str):
        return None
    candidates = [output.strip(), *(_FENCE.findall(output))]
    start, end = output.find("{"), output.rfind("}")
    if 0 <= start < end:
        candidates.append(output[start : end + 1])
    for text in candidates:
        try:
            return json.loads(text)
        except ValueError:
            continue
    return None


def json_field(field: str, scale: Scale | None = None) -> Parser:
    """One field of a JSON object in the output (bare, in a ```json fence, or embedded).

    ``field`` may be a dotted path (``"result.score"``). The value is parsed onto
    ``scale`` (default: numeric 1-10) like any other output.

    Examples
    --------
    >>> p = json_field("score", Scale.likert(5))
    >>> p.parse('Sure! ```json\\n{"score": 4, "why": "clear"}\\n```').score
    4.0
    >>> p.parse('{"score": 9}').status, p.parse('{"grade": 4}').reason
    ('unparseable', "no field 'score'")
    """
    if not isinstance(field, str) or not field:
        raise InputError(
            "field", "a non-empty field name or dotted path", field, where="json_field"
        )
    sc = Scale.numeric(1, 10) if scale is None else scale
    path = field.split(".")

    def extract(output: Any, scale: Scale) -> Any:
        obj = _json_object(output)
        if obj is None:
            return Parsed("unparseable", None, "no JSON object found")
        for part in path:
            if not isinstance(obj, Mapping) or part not in obj:
                return Parsed("unparseable", None, f"no field {field!r}")
            obj = obj[part]
        if isinstance(obj, str) and scale.kind == "verdict":
            return obj.strip().lower()
        return parse_score(obj, scale)

    return Parser(sc, extract, name=f"json:{field}")


def regex(
    pattern: str | re.Pattern[str],
    scale: Scale,
    *,
    group: int | str = 1,
    mapping: Mapping[str, Any] | None = None,
) -> Parser:
    """A user regular expression: exactly one distinct match, read from ``group``.

    The matched text is mapped through ``mapping`` (case-insensitive keys) when
    given, and then parsed onto ``scale``. No match or several different
    matches are unparseable.

    Examples
    --------
    >>> grades = {"low": 1, "mid": 2, "high": 3}
    >>> p = regex(r"<grade>(\\w+)</grade>", Scale.likert(3), mapping=grades)
    >>> two = "<grade>low</grade><grade>high</grade>"
    >>> p.parse("... <grade>HIGH</grade>").score, p.parse(two).status
    (3.0, 'unparseable')
    """
    if not isinstance(pattern, str | re.Pattern):
        raise InputTypeError(
            "pattern", "a regular expression (str or compiled)", pattern, where="regex"
        )
    try:
        rx = re.compile(pattern, re.IGNORECASE) if isinstance(pattern, str) else pattern
    except re.error as exc:
        raise InputError(
            "pattern", "a valid regular expression", f"{pattern!r} ({exc})", where="regex"
        ) from None
    table = None if mapping is None else {str(k).lower(): v for k, v in mapping.items()}

    def extract(output: Any, scale: Scale) -> Any:
        if not isinstance(output, str):
            output = json.dumps(output) if isinstance(output, Mapping) else str(output)
        found = {m.group(group).strip() for m in rx.finditer(output)}
        if len(found) != 1:
            return Parsed("unparseable", None, f"{len(found)} distinct matches of the pattern")
        text = found.pop()
        if table is not None:
            if text.lower() not in table:
                return Parsed("unparseable", None, f"{text!r} is not in the mapping")
            return table[text.lower()]
        if scale.kind == "verdict":
            return text.lower()
        return parse_score(text, scale)

    return Parser(scale, extract, name=f"regex:{rx.pattern}")


def function(fn: Callable[[Any], Any], scale: Scale, *, name: str | None = None) -> Parser:
    """A user function ``fn(output) -> number | verdict word | None`` (``None`` = cannot parse).

    Examples
    --------
    >>> p = function(lambda out: len(out.split()), Scale.numeric(0, 5))
    >>> p.parse("three short words").score, p.parse("far too many words in this answer").status
    (3.0, 'unparseable')
    """
    if not callable(fn):
        raise InputError("fn", "a callable fn(output)", fn, where="function")

    def extract(output: Any, scale: Scale) -> Any:
        value = fn(output)
        if isinstance(value, float | np.floating) and not math.isfinite(value):
            return None
        return value

    return Parser(scale, extract, name=name or f"function:{getattr(fn, '__name__', 'fn')}")


def as_parser(parser: Any, scale: Scale | None, *, where: str) -> Parser:
    """A Parser from what users pass as ``parser``: a Parser, ``parser(output, scale)``, None."""
    if isinstance(parser, Parser):
        if scale is not None and scale != parser.scale:
            raise InputError(
                "scale", f"the parser's scale {parser.scale!r} (or None)", scale, where=where
            )
        return parser
    if scale is None:
        raise InputError("scale", "a judgecal.Scale (or a Parser that has one)", None, where=where)
    if not isinstance(scale, Scale):
        raise InputError("scale", "a judgecal.Scale", type(scale).__name__, where=where)
    if parser is None:
        if scale == YES_NO_SCALE:
            return yes_no()
        if scale == PAIRWISE_SCALE:
            return pairwise()
        return Parser(scale, _default_extract, name="score")
    if callable(parser):
        return Parser(scale, parser, name=getattr(parser, "__name__", "custom"))
    raise InputError(
        "parser", "a judgecal Parser or a callable parser(output, scale)", parser, where=where
    )
