"""The metamorphic properties :func:`~judgecal.testing.check_judge` searches.

Each change draws a text and a version of it a human would judge the same
(one with a mention of a user attribute, one reformatted, or, for a pairwise
judge, the two answers swapped); the property fails when the judge's parsed
score moves by more than the tolerance. See :func:`judgecal.testing.check_judge`.

Examples
--------
>>> from judgecal.testing.engine import RunSettings
>>> def steady(text):
...     return 3
>>> judge_report(steady, ["formatting"], JudgeOptions(), RunSettings(max_examples=10)).ok
True
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from judgecal.judging.judge import parse_score
from judgecal.records.core import Scale
from judgecal.testing.engine import Check, Example, RunSettings, run_property
from judgecal.testing.report import PropertyReport, PropertyResult, fail, invalid_argument
from judgecal.testing.simulate import (
    ATTRIBUTES,
    MENTION_TEMPLATES,
    insert_mention,
    mentions_attribute,
)
from judgecal.testing.strategies import texts

__all__ = ["FORMAT_CHANGES", "Change", "JudgeOptions", "judge_report", "reformat"]

Change = str | Callable[[str], SearchStrategy[str]]
"""A change: ``"mention"``, ``"formatting"``, ``"order"`` or ``change(text) -> strategy``."""

#: The formatting changes of the ``"formatting"`` property (one to three per example).
FORMAT_CHANGES: tuple[str, ...] = (
    "double_spaces",
    "line_breaks",
    "bullets",
    "bold",
    "surrounding_whitespace",
    "trailing_period",
)


def _bold_word(text: str, word_index: int) -> str:
    words = text.split(" ")
    k = word_index % len(words)
    if words[k].strip():
        words[k] = f"**{words[k]}**"
    return " ".join(words)


def _bullets(text: str) -> str:
    lines = text.replace(". ", ".\n").splitlines()
    return "\n".join("- " + s.strip() for s in lines if s.strip())


_FORMATTERS: dict[str, Callable[[str, int], str]] = {
    "double_spaces": lambda t, k: t.replace(" ", "  "),
    "line_breaks": lambda t, k: t.replace(". ", ".\n"),
    "bullets": lambda t, k: _bullets(t),
    "bold": _bold_word,
    "surrounding_whitespace": lambda t, k: "\n  " + t + "  \n",
    "trailing_period": lambda t, k: t.rstrip("."),
}


def reformat(text: str, changes: Sequence[str], word_index: int = 0) -> str:
    """Apply formatting ``changes`` (names from :data:`FORMAT_CHANGES`) in order.

    Examples
    --------
    >>> reformat("Cook rice. Add salt.", ["bullets", "bold"], word_index=1)
    '- **Cook** rice.\\n- Add salt.'
    """
    out = text
    for change in changes:
        out = _FORMATTERS[change](out, word_index)
    return out


@dataclass(frozen=True)
class JudgeOptions:
    """What a judge battery draws and tolerates (see ``check_judge``)."""

    scale: Scale | None = None
    texts_strategy: SearchStrategy[str] | None = None
    attributes: tuple[str, ...] = ATTRIBUTES
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        if self.scale is not None and not isinstance(self.scale, Scale):
            raise invalid_argument(f"scale={self.scale!r} must be a judgecal.Scale")
        tol = self.tolerance
        if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol >= 0:
            raise invalid_argument(f"tolerance={tol!r} must be a number >= 0")
        strategy = self.texts_strategy
        if strategy is not None and not isinstance(strategy, SearchStrategy):
            raise invalid_argument(f"texts_strategy={strategy!r} must be a hypothesis strategy")

    def base_texts(self) -> SearchStrategy[str]:
        """Texts to judge: the caller's, or texts without attribute mentions."""
        if self.texts_strategy is not None:
            return self.texts_strategy
        return texts(mention=False, attributes=self.attributes)

    def differ(self, a: float | None, b: float | None) -> bool:
        """Whether two parsed scores differ by more than the tolerance (None: no score)."""
        if a is None or b is None:
            return (a is None) != (b is None)
        return abs(a - b) > self.tolerance


def _score(output: Any, scale: Scale | None) -> float | None:
    if scale is not None:
        return parse_score(output, scale)
    if isinstance(output, bool) or not isinstance(output, numbers.Real):
        fail(f"the judge returned {output!r}; pass scale= to parse non-numeric outputs")
    v = float(output)
    return v if math.isfinite(v) else None


def _formatting_variants(text: str) -> SearchStrategy[str]:
    return st.builds(
        lambda ops, k: reformat(text, ops, k),
        st.lists(st.sampled_from(FORMAT_CHANGES), min_size=1, max_size=3, unique=True),
        st.integers(0, 50),
    )


def _mention_variants(attributes: tuple[str, ...]) -> Callable[[str], SearchStrategy[str]]:
    def variants(text: str) -> SearchStrategy[str]:
        return st.builds(
            insert_mention,
            st.just(text),
            st.sampled_from(attributes),
            st.sampled_from(MENTION_TEMPLATES),
            st.integers(0, 8),
        )

    return variants


def _order(judge: Callable[..., Any], name: str, options: JudgeOptions) -> tuple[Any, Check]:
    """Swapping the answers of a pairwise judge must mirror its verdict."""
    sc = options.scale
    if sc is None:
        raise invalid_argument('the "order" change needs scale= (to mirror a verdict)')
    base = options.base_texts()

    def check(ex: Example) -> None:
        s0 = _score(judge(ex["first"], ex["second"]), sc)
        s1 = _score(judge(ex["second"], ex["first"]), sc)
        ex["score"], ex["swapped_score"] = s0, s1
        if options.differ(s0, None if s1 is None else sc.low + sc.high - s1):
            expected = None if s0 is None else sc.low + sc.high - s0
            fail(
                f"{name} changed its verdict when the answers were swapped: {s0!r} for "
                f"(first, second) but {s1!r} for (second, first); expected {expected!r}"
            )

    return st.tuples(base, base).map(lambda ab: {"first": ab[0], "second": ab[1]}), check


def _variants(change: Change, attributes: tuple[str, ...]) -> tuple[str, Any]:
    """The property's label and ``text -> strategy of changed texts``."""
    if change == "mention":
        return "mention", _mention_variants(attributes)
    if change == "formatting":
        return "formatting", _formatting_variants
    if callable(change):
        return getattr(change, "__name__", "custom"), change
    raise invalid_argument(
        f"unknown change {change!r}; use 'mention', 'formatting', 'order' or a callable"
    )


def _surface(
    judge: Callable[..., Any], name: str, change: Change, options: JudgeOptions
) -> tuple[str, Any, Check]:
    """A change a human would not notice must not move the judge's score."""
    label, variants = _variants(change, options.attributes)

    def check(ex: Example) -> None:
        if label == "mention" and mentions_attribute(ex["text"], options.attributes):
            return
        s0 = _score(judge(ex["text"]), options.scale)
        s1 = _score(judge(ex["changed"]), options.scale)
        ex["score"], ex["changed_score"] = s0, s1
        if options.differ(s0, s1):
            fail(f"{name} changed its verdict under a {label} change: {s0!r} became {s1!r}")

    pairs = options.base_texts().flatmap(
        lambda t: variants(t).map(lambda c: {"text": t, "changed": c})
    )
    return label, pairs, check


def check_changes(changes: Any) -> tuple[Change, ...]:
    """The changes as a tuple (``InvalidArgument`` unless a non-empty sequence)."""
    if isinstance(changes, str) or not isinstance(changes, Sequence) or not changes:
        raise invalid_argument(f"changes={changes!r} must be a non-empty sequence")
    for change in changes:
        if not (callable(change) or change in ("mention", "formatting", "order")):
            raise invalid_argument(
                f"unknown change {change!r}; use 'mention', 'formatting', 'order' or a callable"
            )
    return tuple(changes)


def judge_report(
    judge: Callable[..., Any], changes: Sequence[Change], options: JudgeOptions, run: RunSettings
) -> PropertyReport:
    """Run one metamorphic property per change on ``judge``."""
    if not callable(judge):
        raise invalid_argument(f"judge={judge!r} must be callable")
    name = getattr(judge, "__name__", type(judge).__name__)
    results: list[PropertyResult] = []
    for change in check_changes(changes):
        if change == "order":
            strategy, check = _order(judge, name, options)
            results.append(run_property("order", strategy, check, run))
        else:
            label, strategy, check = _surface(judge, name, change, options)
            results.append(run_property(label, strategy, check, run))
    return PropertyReport(f"judge {name}", tuple(results))
