"""Text ablations and a mention detector, for probing what a judge rewards.

An *ablation* changes one surface feature of a response and says what it
changed. Every ablation here is a pure function with the same shape::

    ablation(text, attributes=()) -> (changed_text, AblationRecord)

so a probe (:func:`judgecal.bias.probes.probe_bias`) can run any of them, and a
user-defined ablation is any callable of that shape (see :class:`Ablation`).
Options are keyword-only; bind them with :func:`functools.partial`, e.g.
``partial(shorten, target=300)``.

======================  =====================================================
:func:`remove_mentions`  drop the sentences (or clauses) that mention an attribute
:func:`insert_mention`   add one neutral sentence stating the attribute(s)
:func:`shorten`          keep leading sentences up to a target length
:func:`strip_markdown`   remove headers, emphasis, lists, links, code fences, tables
:func:`swap_answers`     swap the two answers of a pairwise item (text is a pair)
======================  =====================================================

Attributes
----------
Wherever ``attributes`` is accepted it may be one attribute name (``"vegan"``),
a sequence of names, a mapping ``{name: [synonyms, ...]}`` or a compiled
:class:`MentionDetector`. Matching is case-insensitive, on word boundaries, and
accepts simple inflections of the last word of each term: plural ``-s``/``-es``
(``-ies`` for a final ``y``), possessive ``'s``, ``-ing`` and ``-ed`` (with a
dropped final ``e`` or a doubled final consonant).

Sentences are split after ``.``, ``!`` or ``?`` followed by white space, and at
line breaks; abbreviations such as "e.g." therefore end a sentence. That is
crude but predictable, and the record always lists exactly what was removed.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

import numpy as np

from judgecal._exceptions import InputError, InputTypeError
from judgecal._validation import IntArray, check_choice, check_float

__all__ = [
    "Ablation",
    "AblationRecord",
    "Mention",
    "MentionDetector",
    "Mentions",
    "find_mentions",
    "insert_mention",
    "markdown_count",
    "normalize_attributes",
    "per_item_attributes",
    "remove_mentions",
    "shorten",
    "strip_markdown",
    "surface_features",
    "swap_answers",
]


# ---------------------------------------------------------------------------
# records
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class AblationRecord:
    """What an ablation did to one text.

    Examples
    --------
    >>> text, rec = remove_mentions("I love dogs. The sky is blue.", "dog")
    >>> text, rec.changed, rec.removed
    ('The sky is blue.', True, ('I love dogs.',))
    """

    ablation: str
    """Name of the ablation (``"remove_mentions"``, ``"shorten"``, ...)."""
    changed: bool
    """Whether the text changed at all (a probe skips unchanged items and counts them)."""
    removed: tuple[str, ...] = ()
    """Pieces of text that were removed, in order."""
    inserted: tuple[str, ...] = ()
    """Pieces of text that were inserted."""
    length_before: int = 0
    """Characters before (for a pair: of both answers)."""
    length_after: int = 0
    """Characters after."""
    mirrored: bool = False
    """Whether the variant's verdict must be mirrored before it is compared (answer swaps)."""
    detail: Mapping[str, int] = field(default_factory=dict)
    """Counts of what changed, by kind (e.g. ``{"headers": 2, "bold": 3}``)."""


@runtime_checkable
class Ablation(Protocol):
    """The shape of an ablation: ``(text, attributes) -> (changed text, record)``.

    Any callable with this shape works with :func:`judgecal.bias.probes.probe_bias`.

    Examples
    --------
    >>> def shout(text, attributes=()):
    ...     new = text.upper()
    ...     return new, AblationRecord("shout", new != text, length_before=len(text),
    ...                                length_after=len(new))
    >>> isinstance(shout, Ablation)
    True
    >>> shout("hello")[0]
    'HELLO'
    """

    def __call__(self, text: Any, attributes: Any = ..., /) -> tuple[Any, AblationRecord]: ...


# ---------------------------------------------------------------------------
# mention detection
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Mention:
    """One mention of an attribute in a text."""

    attribute: str
    """The attribute's name."""
    term: str
    """The name or synonym that matched (as given)."""
    start: int
    """Start offset in the text."""
    end: int
    """End offset (exclusive)."""
    text: str
    """The matched text, as written."""


@dataclass(frozen=True)
class Mentions:
    """Where and how often each attribute is mentioned in one text."""

    spans: tuple[Mention, ...]
    """Every mention, in text order (matches never overlap)."""
    counts: Mapping[str, int]
    """Mentions per attribute (every attribute present, zero when not mentioned)."""

    @property
    def total(self) -> int:
        """Number of mentions of any attribute."""
        return len(self.spans)

    def __bool__(self) -> bool:
        return bool(self.spans)


_VOWELS = set("aeiou")


def _inflect(word: str) -> str:
    """Regex for one (last) word with simple inflections."""
    w = word.lower()
    esc = re.escape(word)
    alts = [esc + r"(?:'s|\u2019s|s'|s|es|ing|ed|d)?"]
    if len(w) > 2 and w.endswith("y") and w[-2] not in _VOWELS:
        alts.append(re.escape(word[:-1]) + r"(?:ies|ied)")
    if len(w) > 2 and w.endswith("e"):
        alts.append(re.escape(word[:-1]) + r"(?:ing|ed)")
    if (
        len(w) > 2
        and w[-1].isalpha()
        and w[-1] not in _VOWELS
        and w[-2] in _VOWELS
        and w[-1] not in "wxy"
    ):
        alts.append(esc + re.escape(word[-1]) + r"(?:ing|ed)")
    return "(?:" + "|".join(alts) + ")"


def _term_pattern(term: str) -> str:
    words = term.split()
    if not words:
        raise InputError("attributes", "non-empty attribute names and synonyms", term)
    parts = [re.escape(w) for w in words[:-1]]
    last = words[-1]
    parts.append(_inflect(last) if last[-1].isalpha() else re.escape(last))
    return r"[\s\-]+".join(parts) + r"(?!\w)"


AttributeSpec = tuple[tuple[str, tuple[str, ...]], ...]


def normalize_attributes(attributes: Any, where: str = "normalize_attributes") -> AttributeSpec:
    """An attribute spec as ``((name, (name, *synonyms)), ...)``, checked.

    Accepts everything ``attributes`` may be (see the module notes): one name,
    a sequence of names, a mapping of names to synonyms, or a
    :class:`MentionDetector`. ``where`` names the caller in error messages.

    Examples
    --------
    >>> normalize_attributes({"vegan": ["plant-based"], "dog": "puppy"})
    (('vegan', ('vegan', 'plant-based')), ('dog', ('dog', 'puppy')))
    >>> normalize_attributes("hiking")
    (('hiking', ('hiking',)),)
    """
    if isinstance(attributes, MentionDetector):
        return attributes.attributes
    if attributes is None:
        return ()
    if isinstance(attributes, str):
        attributes = [attributes]
    out: list[tuple[str, tuple[str, ...]]] = []
    if isinstance(attributes, Mapping):
        items = list(attributes.items())
    elif isinstance(attributes, Sequence):
        items = [(a, ()) for a in attributes]
    else:
        raise InputTypeError(
            "attributes",
            "an attribute name, a sequence of names, or a mapping name -> synonyms",
            attributes,
            where=where,
        )
    seen: set[str] = set()
    for name, syn in items:
        if not isinstance(name, str) or not name.strip():
            raise InputError("attributes", "non-empty attribute names (str)", name, where=where)
        if isinstance(syn, str):
            syn = (syn,)
        if not isinstance(syn, Sequence) or not all(isinstance(s, str) and s.strip() for s in syn):
            raise InputError(
                "attributes", f"a sequence of non-empty synonyms for {name!r}", syn, where=where
            )
        if name in seen:
            raise InputError("attributes", "distinct attribute names", name, where=where)
        seen.add(name)
        terms = tuple(dict.fromkeys([name.strip(), *(s.strip() for s in syn)]))
        out.append((name, terms))
    return tuple(out)


class MentionDetector:
    """Find mentions of user attributes (with synonyms) in texts.

    The patterns are compiled once; use one detector for many texts.

    Parameters
    ----------
    attributes : str, sequence of str, or mapping of str to sequence of str
        Attribute names, optionally with synonyms: ``{"vegan": ["plant-based"]}``.

    Examples
    --------
    >>> det = MentionDetector({"dog": ["puppy"], "hiking": []})
    >>> m = det.find("My dogs love hikes; the puppy's leash... I hiked.")
    >>> dict(m.counts), [s.text for s in m.spans]
    ({'dog': 2, 'hiking': 0}, ['dogs', "puppy's"])
    >>> det.count_many(["a dog", "no pets", "Dog, dog, DOG"]).tolist()
    [1, 0, 3]
    """

    def __init__(self, attributes: Any) -> None:
        self.attributes: AttributeSpec = normalize_attributes(attributes, "MentionDetector")
        terms = [(name, t) for name, ts in self.attributes for t in ts]
        terms.sort(key=lambda nt: -len(nt[1]))  # longest term wins at one position
        self._groups = terms
        # Every match starts with its term's first word (the last letter may change for a
        # one-word term: stud-ies, hik-ing), so a text holding none of these literals
        # (lower-cased) cannot match and skips the regex.
        stems = []
        for _, term in terms:
            words = term.lower().split()
            first = words[0]
            stems.append(first[: max(1, len(first) - 1)] if len(words) == 1 else first)
        self._stems = tuple(dict.fromkeys(stems))
        self._regex = (
            # one shared look-behind in front of the alternation is ~5x faster than one per term
            re.compile(
                r"(?<!\w)(?:" + "|".join(f"({_term_pattern(t)})" for _, t in terms) + ")",
                re.IGNORECASE,
            )
            if terms
            else None
        )

    def __repr__(self) -> str:
        return f"MentionDetector({dict(self.attributes)!r})"

    @property
    def names(self) -> tuple[str, ...]:
        """Attribute names, in the order given."""
        return tuple(n for n, _ in self.attributes)

    def find(self, text: str) -> Mentions:
        """All mentions in ``text``."""
        if not isinstance(text, str):
            raise InputTypeError("text", "a str", text, where="MentionDetector.find")
        counts = dict.fromkeys(self.names, 0)
        spans: list[Mention] = []
        if self._regex is not None and self._maybe(text):
            for m in self._regex.finditer(text):
                idx = m.lastindex
                assert idx is not None
                name, term = self._groups[idx - 1]
                counts[name] += 1
                spans.append(Mention(name, term, m.start(), m.end(), m.group(0)))
        return Mentions(spans=tuple(spans), counts=counts)

    def _maybe(self, text: str) -> bool:
        if not text.isascii():  # Unicode case folding differs from str.lower (e.g. U+0130)
            return True
        low = text.lower()
        return any(s in low for s in self._stems)

    def count(self, text: str) -> int:
        """Number of mentions of any attribute in ``text``."""
        if self._regex is None or not self._maybe(text):
            return 0
        return sum(1 for _ in self._regex.finditer(text))

    def count_many(self, texts: Sequence[str]) -> IntArray:
        """Mention counts for many texts, as an integer array."""
        return np.fromiter((self.count(t) for t in texts), dtype=np.int64, count=len(texts))


@lru_cache(maxsize=256)
def _detector(spec: AttributeSpec) -> MentionDetector:
    return MentionDetector(dict(spec))


def _as_detector(attributes: Any, where: str) -> MentionDetector:
    if isinstance(attributes, MentionDetector):
        return attributes
    return _detector(normalize_attributes(attributes, where))


def find_mentions(text: str, attributes: Any) -> Mentions:
    """Where and how often each attribute is mentioned in ``text``.

    Parameters
    ----------
    text : str
    attributes : str, sequence of str, mapping of str to synonyms, or MentionDetector

    Returns
    -------
    Mentions
        ``spans`` (attribute, term, start, end, text) and ``counts`` per attribute.

    Examples
    --------
    >>> text = "As a Vegan runner, I run daily. Running is fun."
    >>> m = find_mentions(text, {"vegan": [], "run": ["jog"]})
    >>> dict(m.counts), [(s.text, s.start) for s in m.spans]
    ({'vegan': 1, 'run': 2}, [('Vegan', 5), ('run', 21), ('Running', 32)])
    """
    return _as_detector(attributes, "find_mentions").find(_check_text(text, "find_mentions"))


def _check_text(text: Any, where: str) -> str:
    if not isinstance(text, str):
        raise InputTypeError("text", "a str", text, where=where)
    return text


# ---------------------------------------------------------------------------
# sentences and clauses
# ---------------------------------------------------------------------------
_CLOSERS = "\"'\u201d\u2019)]"
_SENT_SPLIT = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+")
# A clause ends at , ; : or an em dash, or at a hyphen or en dash with white space on both
# sides. No white space is matched here (the clauses are stripped instead): a pattern that
# starts with ``\s*`` retries every position of a long run of white space (quadratic time).
_CLAUSE_SPLIT = re.compile(r"[,;:\u2014]|(?<=\s)[\u2013-](?=\s)")


def _sentences(line: str) -> list[str]:
    out, start = [], 0
    for m in _SENT_SPLIT.finditer(line):
        out.append(line[start : m.end()].rstrip())
        start = m.end()
    if start < len(line):
        out.append(line[start:])
    return [s for s in out if s.strip()]


def _end_punct(sentence: str) -> str:
    """The closing run of ``.!?`` (and quotes or brackets after it), scanned from the end."""
    stop = len(sentence.rstrip(_CLOSERS))
    start = len(sentence[:stop].rstrip(".!?"))
    return sentence[start:] if start < stop else ""


def _drop_clauses(sentence: str, det: MentionDetector, removed: list[str]) -> str:
    end = _end_punct(sentence)
    body = sentence[: len(sentence) - len(end)] if end else sentence
    clauses = [c.strip() for c in _CLAUSE_SPLIT.split(body) if c.strip()]
    keep = []
    for c in clauses:
        if det.count(c):
            removed.append(c)
        else:
            keep.append(c)
    if not keep:
        return ""
    out = ", ".join(keep)
    lead = re.match(r"^\W*", out)
    k = lead.end() if lead else 0
    if k < len(out):
        out = out[:k] + out[k].upper() + out[k + 1 :]
    return out + (end or "")


def remove_mentions(
    text: str, attributes: Any = (), /, *, unit: str = "sentence"
) -> tuple[str, AblationRecord]:
    """Remove the sentences (or clauses) that mention any of ``attributes``.

    Parameters
    ----------
    text : str
        The response.
    attributes : str, sequence, mapping or MentionDetector
        The user's attributes (see the module notes).
    unit : {"sentence", "clause"}
        Remove whole sentences, or only the clauses (split at ``, ; :`` and
        dashes) that carry the mention. Lines left empty are dropped.

    Returns
    -------
    text : str
        The text without the mentions (possibly empty).
    record : AblationRecord
        ``removed`` lists the sentences or clauses taken out.

    Examples
    --------
    >>> t = "Since you are vegan, try tofu. It is cheap.\\n- Vegans love it."
    >>> remove_mentions(t, "vegan")[0]
    'It is cheap.'
    >>> remove_mentions(t, "vegan", unit="clause")[0]
    'Try tofu. It is cheap.'
    """
    where = "remove_mentions"
    _check_text(text, where)
    check_choice(unit, "unit", ("sentence", "clause"), where=where)
    det = _as_detector(attributes, where)
    if not det.count(text):
        return text, AblationRecord(where, False, length_before=len(text), length_after=len(text))
    removed: list[str] = []
    lines_out: list[str] = []
    for line in text.split("\n"):
        if not line.strip() or not det.count(line):
            lines_out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        kept: list[str] = []
        for s in _sentences(line.strip()):
            if not det.count(s):
                kept.append(s)
            elif unit == "clause":
                c = _drop_clauses(s, det, removed)
                if c:
                    kept.append(c)
            else:
                removed.append(s)
        if kept:
            lines_out.append(indent + " ".join(kept))
    new = "\n".join(lines_out).strip("\n")
    new = re.sub(r"\n{3,}", "\n\n", new)
    return new, AblationRecord(
        where,
        new != text,
        removed=tuple(removed),
        length_before=len(text),
        length_after=len(new),
        detail={"removed": len(removed)},
    )


DEFAULT_MENTION_TEMPLATE = "Taking into account that you mentioned {attribute}."


def insert_mention(
    text: str,
    attributes: Any = (),
    /,
    *,
    template: str = DEFAULT_MENTION_TEMPLATE,
    position: str = "start",
) -> tuple[str, AblationRecord]:
    """Insert one neutral sentence stating the attributes the text does not yet mention.

    Only attributes with no mention in ``text`` are inserted (joined with
    "and"); a text that mentions all of them is returned unchanged
    (``record.changed`` is False), so the probe measures the effect of a
    mention on responses that had none.

    Parameters
    ----------
    text : str
    attributes : str, sequence, mapping or MentionDetector
    template : str
        A sentence with an ``{attribute}`` placeholder.
    position : {"start", "end"}
        Where the sentence goes.

    Examples
    --------
    >>> insert_mention("Try the lentil soup.", "vegan")[0]
    'Taking into account that you mentioned vegan. Try the lentil soup.'
    >>> insert_mention("A vegan soup.", "vegan")[1].changed
    False
    """
    where = "insert_mention"
    _check_text(text, where)
    check_choice(position, "position", ("start", "end"), where=where)
    if not isinstance(template, str) or "{attribute}" not in template:
        raise InputError(
            "template", "a str with an '{attribute}' placeholder", template, where=where
        )
    det = _as_detector(attributes, where)
    if not det.names:
        raise InputError("attributes", "at least one attribute", attributes, where=where)
    counts = det.find(text).counts
    missing = [n for n in det.names if counts[n] == 0]
    if not missing:
        return text, AblationRecord(where, False, length_before=len(text), length_after=len(text))
    phrase = missing[0] if len(missing) == 1 else ", ".join(missing[:-1]) + " and " + missing[-1]
    sentence = template.format(attribute=phrase)
    if not text.strip():
        new = sentence
    elif position == "start":
        new = sentence + " " + text.lstrip()
    else:
        new = text.rstrip() + " " + sentence
    return new, AblationRecord(
        where,
        True,
        inserted=(sentence,),
        length_before=len(text),
        length_after=len(new),
        detail={"attributes": len(missing)},
    )


def shorten(
    text: str, attributes: Any = (), /, *, target: float = 0.5
) -> tuple[str, AblationRecord]:
    """Shorten ``text`` to at most ``target`` characters, keeping leading sentences.

    Whole sentences are kept from the start while they fit; when even the
    first sentence is too long it is cut at the last word boundary that fits.

    Parameters
    ----------
    text : str
    attributes : ignored
        Accepted so that every ablation has the same shape.
    target : int or float
        An ``int >= 1`` is a number of characters; a float in ``(0, 1]`` is a
        share of the original length.

    Examples
    --------
    >>> shorten("One two. Three four. Five six.", target=15)[0]
    'One two.'
    >>> new, rec = shorten("One two. Three four.", target=0.5)
    >>> new, rec.removed
    ('One two.', ('Three four.',))
    """
    where = "shorten"
    _check_text(text, where)
    if isinstance(target, bool) or not isinstance(target, int | float):
        raise InputTypeError(
            "target", "an int of characters or a float share in (0, 1]", target, where=where
        )
    if isinstance(target, int):
        if target < 1:
            raise InputError("target", "an int >= 1 (characters)", target, where=where)
        limit = target
    else:
        share = check_float(target, "target", low=0.0, high=1.0, low_open=True, where=where)
        limit = max(1, int(share * len(text)))
    if len(text) <= limit:
        return text, AblationRecord(where, False, length_before=len(text), length_after=len(text))
    units: list[tuple[str, str]] = []  # (sentence, separator before it)
    for line_number, line in enumerate(text.split("\n")):
        for position, sentence in enumerate(_sentences(line)):
            units.append((sentence, "\n" if line_number and position == 0 else " "))
    kept = _leading_units_that_fit(units, limit)
    out = "".join(
        sep + sentence if k else sentence for k, (sentence, sep) in enumerate(units[:kept])
    )
    removed = [sentence for sentence, _ in units[kept:]]
    if not out:
        head = text[:limit]
        cut = head.rfind(" ")
        out = head[:cut].rstrip() if cut > 0 else head
        removed = [text[len(out) :].strip()]
    return out, AblationRecord(
        where,
        out != text,
        removed=tuple(removed),
        length_before=len(text),
        length_after=len(out),
    )


def _leading_units_that_fit(units: list[tuple[str, str]], limit: int) -> int:
    """How many leading sentences, joined by their separators, fit in ``limit`` characters."""
    length = 0
    for count, (sentence, sep) in enumerate(units):
        length += len(sentence) + (len(sep) if count else 0)
        if length > limit:
            return count
    return len(units)


# ---------------------------------------------------------------------------
# markdown
# ---------------------------------------------------------------------------
# Every rule runs in time linear in the text: no two neighbouring quantifiers match the
# same characters (so no run is retried from each of its positions), link and image
# brackets stop at the next bracket, and emphasis is paired by :func:`_replace_pairs`
# rather than by a lazy ``.+?`` that rescans the rest of the line from every mark.
_CELL = r":?-{3,}:?[ \t]*"
_URL = r"[^()\[\]\n]*(?:\([^()\[\]\n]*\)[^()\[\]\n]*)*"
_MD_PATTERNS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("code_fences", re.compile(r"^[ \t]*(?:```|~~~)[^\n]*\n?", re.MULTILINE), ""),
    ("rules", re.compile(r"^[ \t]*([-*_])(?:[ \t]*\1){2,}[ \t]*$\n?", re.MULTILINE), ""),
    (
        "table_separators",
        re.compile(
            rf"^[ \t]*(?:\|[ \t]*)?{_CELL}(?:\|[ \t]*{_CELL})+(?:\|[ \t]*)?$\n?", re.MULTILINE
        ),
        "",
    ),
    ("headers", re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+", re.MULTILINE), ""),
    ("quotes", re.compile(r"^[ \t]*>[ \t]?", re.MULTILINE), ""),
    ("list_items", re.compile(r"^[ \t]*(?:[-*+]|\d{1,3}[.)])[ \t]+", re.MULTILINE), ""),
    ("images", re.compile(rf"!\[([^\[\]\n]*)\]\({_URL}\)"), r"\1"),
    ("links", re.compile(rf"\[([^\[\]\n]+)\]\({_URL}\)"), r"\1"),
)
_CODE_AND_TABLES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("inline_code", re.compile(r"`([^`\n]+)`"), r"\1"),
    ("table_rows", re.compile(r"^[ \t]*\|(.*)\|[ \t]*$", re.MULTILINE), r"\1"),
)


@dataclass(frozen=True)
class _Mark:
    """An emphasis mark: where one may open, where one may close, and its width."""

    opens: re.Pattern[str]
    """Zero-width pattern matching at every position where an opening mark starts."""
    closes: re.Pattern[str]
    """Zero-width pattern matching at every position where a closing mark starts."""
    literal: str
    """The mark itself (a text without it has no pair to replace)."""

    @property
    def width(self) -> int:
        return len(self.literal)


def _mark(opens: str, closes: str, literal: str) -> _Mark:
    return _Mark(re.compile(opens), re.compile(closes), literal)


# Pairs of marks around non-empty text on one line; the closing mark is the first one
# that fits (what a lazy ``(\*\*)(?=\S)(.+?)(?<=\S)\1`` would match).
_EMPHASIS: tuple[tuple[str, tuple[_Mark, ...]], ...] = (
    (
        "bold",
        (
            _mark(r"(?=\*\*\S)", r"(?<=\S)(?=\*\*)", "**"),
            _mark(r"(?=__\S)", r"(?<=\S)(?=__)", "__"),
        ),
    ),
    ("strikethrough", (_mark(r"(?=~~\S)", r"(?<=\S)(?=~~)", "~~"),)),
    (
        "italic",
        (
            _mark(r"(?<![\w*])(?=\*[^\s*])", r"(?<=[^\s*])(?=\*(?![\w*]))", "*"),
            _mark(r"(?<![\w_])(?=_[^\s_])", r"(?<=[^\s_])(?=_(?![\w_]))", "_"),
        ),
    ),
)


def _replace_pairs(text: str, marks: tuple[_Mark, ...]) -> tuple[str, int]:
    """Replace each ``<mark>text<mark>`` on one line by its text, scanning left to right.

    The candidate positions of every mark are found once; each opening mark then
    looks up its first closing mark by bisection, so the time is ``O(n log n)``.
    """
    marks = tuple(mark for mark in marks if mark.literal in text)
    closers = [[m.start() for m in mark.closes.finditer(text)] for mark in marks]
    if not any(closers):
        return text, 0
    openers = sorted(
        (m.start(), k) for k, mark in enumerate(marks) for m in mark.opens.finditer(text)
    )
    newlines = [m.start() for m in re.finditer("\n", text)]
    pieces: list[str] = []
    done = 0
    for start, k in openers:
        if start < done:
            continue
        width = marks[k].width
        found = bisect_left(closers[k], start + width + 1)
        if found == len(closers[k]):
            continue
        close = closers[k][found]
        line_end = bisect_left(newlines, start)
        if line_end < len(newlines) and newlines[line_end] < close:
            continue
        pieces += (text[done:start], text[start + width : close])
        done = close + width
    if not pieces:
        return text, 0
    pieces.append(text[done:])
    return "".join(pieces), (len(pieces) - 1) // 2


def strip_markdown(text: str, attributes: Any = (), /) -> tuple[str, AblationRecord]:
    """Remove markdown formatting, keeping the words.

    Removes code fences (keeping the code), horizontal rules, table separator
    lines and outer pipes, header marks, block quotes, list markers (bulleted
    and numbered), link and image syntax (keeping the visible text), bold,
    italic, strikethrough and inline-code marks. ``record.detail`` counts each
    kind; their sum is :func:`markdown_count`.

    Examples
    --------
    >>> new, rec = strip_markdown("## Tips\\n- **Eat** more *greens*\\n- See [docs](http://x)")
    >>> print(new)
    Tips
    Eat more greens
    See docs
    >>> dict(rec.detail)
    {'headers': 1, 'list_items': 2, 'links': 1, 'bold': 1, 'italic': 1}
    """
    where = "strip_markdown"
    _check_text(text, where)
    new, detail = _strip(text)
    return new, AblationRecord(
        where,
        new != text,
        length_before=len(text),
        length_after=len(new),
        detail=detail,
    )


def _strip(text: str) -> tuple[str, dict[str, int]]:
    detail: dict[str, int] = {}
    new = text
    for name, pattern, replacement in _MD_PATTERNS:
        new, detail[name] = pattern.subn(replacement, new)
    for name, marks in _EMPHASIS:
        new, detail[name] = _replace_pairs(new, marks)
    for name, pattern, replacement in _CODE_AND_TABLES:
        new, detail[name] = pattern.subn(replacement, new)
    return new, {name: count for name, count in detail.items() if count}


def markdown_count(text: str) -> int:
    """Number of markdown elements in ``text`` (what :func:`strip_markdown` would remove).

    Examples
    --------
    >>> markdown_count("# Title\\n**bold** and `code`"), markdown_count("plain text")
    (3, 0)
    """
    _check_text(text, "markdown_count")
    if not any(c in text for c in "#*_`[>|~-+0123456789"):
        return 0
    return sum(_strip(text)[1].values())


# ---------------------------------------------------------------------------
# pairs
# ---------------------------------------------------------------------------
def swap_answers(pair: Any, attributes: Any = (), /) -> tuple[tuple[Any, Any], AblationRecord]:
    """Swap the two answers of a pairwise item: ``(first, second) -> (second, first)``.

    The record has ``mirrored=True``: a verdict on the swapped pair must be
    mirrored (first <-> second) before it is compared with the original, which
    :func:`judgecal.bias.probes.probe_bias` does.

    Examples
    --------
    >>> swapped, rec = swap_answers(("answer A", "answer B"))
    >>> swapped, rec.mirrored
    (('answer B', 'answer A'), True)
    """
    if not isinstance(pair, tuple | list) or len(pair) != 2:
        raise InputError("pair", "a pair (first, second) of answers", pair, where="swap_answers")
    a, b = pair
    n = sum(len(x) for x in (a, b) if isinstance(x, str))
    return (b, a), AblationRecord(
        "swap_answers", a != b, length_before=n, length_after=n, mirrored=True
    )


# ---------------------------------------------------------------------------
# features for the observational route
# ---------------------------------------------------------------------------
def surface_features(
    texts: Sequence[str], attributes: Any = None
) -> dict[str, np.ndarray[Any, np.dtype[np.float64]]]:
    """Surface features of many texts: ``length`` (characters), ``markdown`` and ``mentions``.

    ``mentions`` is present only when ``attributes`` is given; it may be one
    spec for all texts or a sequence with one spec per text.

    Examples
    --------
    >>> f = surface_features(["**Vegan** tip: tofu.", "Plain answer."], "vegan")
    >>> {k: v.tolist() for k, v in f.items()}
    {'length': [20.0, 13.0], 'markdown': [1.0, 0.0], 'mentions': [1.0, 0.0]}
    """
    where = "surface_features"
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise InputTypeError("texts", "a sequence of str", texts, where=where)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise InputTypeError(
                "texts", "a sequence of str", f"{type(t).__name__} at index {i}", where=where
            )
    n = len(texts)
    out = {
        "length": np.fromiter((len(t) for t in texts), dtype=np.float64, count=n),
        "markdown": np.fromiter((markdown_count(t) for t in texts), dtype=np.float64, count=n),
    }
    if attributes is not None:
        per = per_item_attributes(attributes, n, where)
        out["mentions"] = np.fromiter(
            (_as_detector(a, where).count(t) for a, t in zip(per, texts, strict=True)),
            dtype=np.float64,
            count=n,
        )
    return out


def per_item_attributes(attributes: Any, n: int, where: str) -> list[Any]:
    """One attribute spec per item.

    A single spec (a name, a sequence of names, a mapping or a detector) is
    shared by all ``n`` items. Per-item specs are a sequence of ``n`` specs
    that are not all plain names, e.g. ``[["vegan"], ["dog", "cat"], []]``.
    """
    if isinstance(attributes, str | Mapping | MentionDetector):
        return [attributes] * n
    if isinstance(attributes, Sequence):
        if all(isinstance(a, str) for a in attributes):
            return [attributes] * n
        if len(attributes) != n:
            raise InputError(
                "attributes",
                f"one attribute spec per item ({n})",
                f"{len(attributes)} specs",
                where=where,
            )
        return list(attributes)
    raise InputTypeError(
        "attributes", "an attribute spec or one spec per item", attributes, where=where
    )
