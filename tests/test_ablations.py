"""Tests of judgecal.bias.ablations: mention detection and the pure text ablations."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from judgecal import InputError, InputTypeError
from judgecal.bias.ablations import (
    Ablation,
    AblationRecord,
    MentionDetector,
    find_mentions,
    insert_mention,
    markdown_count,
    per_item_attributes,
    remove_mentions,
    shorten,
    strip_markdown,
    surface_features,
    swap_answers,
)

# -- mention detector ------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("dog", "my dogs"),
        ("dog", "the dog's bowl"),
        ("dog", "the dogs' bowls"),
        ("dog", "DOG"),
        ("box", "two boxes"),
        ("city", "big cities"),
        ("study", "she studied"),
        ("hike", "hiking trips"),
        ("hike", "we hiked"),
        ("run", "running daily"),
        ("jump", "jumped, jumping"),
        ("vegan", "Vegan\u2019s choice"),
        ("new york", "New   York"),
        ("new york", "New-York"),
        ("gluten free", "gluten-free bread"),
    ],
)
def test_detector_matches_inflections(term: str, text: str) -> None:
    assert find_mentions(text, term).total >= 1


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("cat", "category"),
        ("cat", "concatenate"),
        ("cat", "bobcat"),
        ("run", "runner"),
        ("art", "smart party"),
        ("dog", "dogma"),
        ("vegan", "veganism"),
    ],
)
def test_detector_respects_word_boundaries(term: str, text: str) -> None:
    assert find_mentions(text, term).total == 0


def test_detector_positions_counts_and_synonyms() -> None:
    text = "I'm vegan. Plant-based food suits a VEGAN, says my dog."
    m = find_mentions(text, {"vegan": ["plant-based", "plant based"], "pet": ["dog"], "cat": []})
    assert dict(m.counts) == {"vegan": 3, "pet": 1, "cat": 0}
    assert [(s.attribute, text[s.start : s.end]) for s in m.spans] == [
        ("vegan", "vegan"),
        ("vegan", "Plant-based"),
        ("vegan", "VEGAN"),
        ("pet", "dog"),
    ]
    assert all(s.text == text[s.start : s.end] for s in m.spans)
    assert m.total == 4 and bool(m)


def test_longest_term_wins_and_matches_do_not_overlap() -> None:
    m = find_mentions("New York City is big", {"nyc": ["new york city"], "ny": ["new york"]})
    assert dict(m.counts) == {"nyc": 1, "ny": 0}


def test_detector_objects_and_errors() -> None:
    det = MentionDetector(["dog", "cat"])
    assert det.names == ("dog", "cat")
    assert find_mentions("a cat", det).counts["cat"] == 1
    assert det.count_many(["dogs and cats", "none"]).tolist() == [2, 0]
    assert MentionDetector([]).count("anything") == 0
    assert "dog" in repr(det)
    with pytest.raises(InputError, match="attributes"):
        MentionDetector([""])
    with pytest.raises(InputError, match="distinct"):
        MentionDetector(["a", "a"])
    with pytest.raises(InputTypeError):
        MentionDetector(3)
    with pytest.raises(InputError, match="synonyms"):
        MentionDetector({"a": [""]})
    with pytest.raises(InputTypeError, match="text"):
        find_mentions(None, "a")  # type: ignore[arg-type]


# -- remove / insert ---------------------------------------------------------------


def test_remove_mentions_sentences_and_clauses() -> None:
    text = (
        "As a vegan, you may like this. Tofu is cheap! Dogs love it, and vegans too."
        "\n\n## Next\nEat well."
    )
    new, rec = remove_mentions(text, "vegan")
    assert new == "Tofu is cheap!\n\n## Next\nEat well."
    assert rec.removed == ("As a vegan, you may like this.", "Dogs love it, and vegans too.")
    assert rec.changed and rec.length_before == len(text) and rec.length_after == len(new)
    clause, rec2 = remove_mentions(text, "vegan", unit="clause")
    assert clause.startswith("You may like this. Tofu is cheap! Dogs love it.")
    assert find_mentions(clause, "vegan").total == 0
    assert rec2.detail["removed"] == 2


def test_remove_mentions_unchanged_and_errors() -> None:
    new, rec = remove_mentions("No mention here.", "vegan")
    assert new == "No mention here." and not rec.changed and rec.removed == ()
    assert remove_mentions("I am vegan.", "vegan")[0] == ""
    with pytest.raises(InputError, match="unit"):
        remove_mentions("x", "a", unit="word")


def test_insert_mention() -> None:
    new, rec = insert_mention("Try lentils.", ["vegan", "runner"], position="end")
    assert new == "Try lentils. Taking into account that you mentioned vegan and runner."
    assert rec.inserted == ("Taking into account that you mentioned vegan and runner.",)
    three = insert_mention("x", ["a", "b", "c"], template="Note: {attribute}.")[0]
    assert three == "Note: a, b and c. x"
    partial_new, _ = insert_mention("A vegan dish.", ["vegan", "dog"])
    assert partial_new.startswith("Taking into account that you mentioned dog.")
    assert insert_mention("", "dog")[0] == "Taking into account that you mentioned dog."
    assert not insert_mention("the dog", "dog")[1].changed
    with pytest.raises(InputError, match="template"):
        insert_mention("x", "a", template="no placeholder")
    with pytest.raises(InputError, match="position"):
        insert_mention("x", "a", position="middle")
    with pytest.raises(InputError, match="at least one"):
        insert_mention("x", [])


words = st.lists(
    st.sampled_from(
        [
            "tofu",
            "is",
            "cheap",
            "dog",
            "dogs",
            "Vegan",
            "vegans",
            "eat",
            "well",
            "and",
            "run",
            "ran",
        ]
    ),
    min_size=1,
    max_size=8,
)
sentences = st.builds(
    lambda ws, p: " ".join(ws) + p, words, st.sampled_from([".", "!", "?", ",", ""])
)
texts = st.builds(
    lambda ss, seps: "".join(s + sep for s, sep in zip(ss, seps, strict=False)),
    st.lists(sentences, min_size=1, max_size=6),
    st.lists(st.sampled_from([" ", "\n", "\n\n", "  "]), min_size=6, max_size=6),
)


@settings(max_examples=150, deadline=None)
@given(
    texts,
    st.sampled_from(["vegan", "dog", ["dog", "vegan"], {"run": ["ran"]}]),
    st.sampled_from(["sentence", "clause"]),
)
def test_remove_then_no_mentions_insert_then_mentions(text: str, attrs: object, unit: str) -> None:
    removed, rec = remove_mentions(text, attrs, unit=unit)
    assert find_mentions(removed, attrs).total == 0
    assert rec.changed == (removed != text)
    assert rec.length_after == len(removed)
    inserted, rec2 = insert_mention(removed, attrs)
    counts = find_mentions(inserted, attrs).counts
    assert all(c >= 1 for c in counts.values())
    assert rec2.changed


# -- shorten -----------------------------------------------------------------------


def test_shorten() -> None:
    text = "First sentence here. Second one! Third?"
    assert shorten(text, target=25)[0] == "First sentence here."
    assert shorten(text, target=1.0)[1].changed is False
    cut, rec = shorten("averyveryverylongword and more", target=10)
    assert cut == "averyveryv" and rec.removed == ("erylongword and more",)
    assert shorten("Lines one.\nLine two.", target=15)[0] == "Lines one."
    with pytest.raises(InputError, match="target"):
        shorten("x", target=0)
    with pytest.raises(InputError, match="target"):
        shorten("x", target=1.5)
    with pytest.raises(InputTypeError, match="target"):
        shorten("x", target="10")  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(texts, st.integers(1, 80))
def test_shorten_never_exceeds_target_and_keeps_a_prefix_of_words(text: str, target: int) -> None:
    new, rec = shorten(text, target=target)
    assert rec.length_after == len(new) <= len(text)
    if len(text) <= target:
        assert new == text and not rec.changed
    else:
        assert len(new) <= target
        assert rec.changed
        assert " ".join(new.split()) == " ".join(text.split())[: len(" ".join(new.split()))]


# -- markdown --------------------------------------------------------------------


def test_strip_markdown_everything() -> None:
    md = (
        "# Title\n\n> quoted *note*\n\n1. one\n2) two\n* star item with __strong__\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n---\n```python\nprint(1)\n```\n"
        "Use `x`, ~~old~~, ![pic](u.png) and [link](http://e.com)."
    )
    new, rec = strip_markdown(md)
    for token in ("#", "> ", "**", "__", "```", "|---", "~~", "](", "`"):
        assert token not in new
    for word in (
        "Title",
        "quoted note",
        "one",
        "two",
        "star item with strong",
        "print(1)",
        "Use x, old, pic and link.",
    ):
        assert word in new
    assert rec.detail["list_items"] == 3 and rec.detail["headers"] == 1
    assert markdown_count(md) == sum(rec.detail.values()) > 10


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(categories=["Ll", "Lu", "Zs"]), max_size=60))
def test_plain_text_is_untouched(text: str) -> None:
    new, rec = strip_markdown(text)
    assert new == text and not rec.changed and markdown_count(text) == 0


def test_markdown_does_not_eat_arithmetic_or_snake_case() -> None:
    assert strip_markdown("2 * 3 * 4 and snake_case_name")[0] == "2 * 3 * 4 and snake_case_name"


# -- pairs, protocol, features -------------------------------------------------------


@given(st.text(max_size=10), st.text(max_size=10))
def test_swap_is_an_involution(a: str, b: str) -> None:
    once, rec = swap_answers((a, b))
    assert once == (b, a) and rec.mirrored and rec.changed == (a != b)
    assert swap_answers(once)[0] == (a, b)


def test_swap_errors() -> None:
    with pytest.raises(InputError, match="pair"):
        swap_answers("ab")


def test_every_builtin_is_an_ablation() -> None:
    for fn in (
        remove_mentions,
        insert_mention,
        shorten,
        strip_markdown,
        swap_answers,
        partial(shorten, target=5),
    ):
        assert isinstance(fn, Ablation)
    for fn, arg in (
        (remove_mentions, "a dog."),
        (insert_mention, "x"),
        (partial(shorten, target=2), "abc def"),
        (strip_markdown, "**x**"),
    ):
        out, rec = fn(arg, "dog")
        assert isinstance(out, str) and isinstance(rec, AblationRecord) and rec.changed


def test_surface_features_and_per_item_attributes() -> None:
    f = surface_features(
        ["a **dog**", "a cat", "dogs, cats"], [["dog"], ["cat"], {"dog": [], "cat": []}]
    )
    assert f["mentions"].tolist() == [1.0, 1.0, 2.0]
    assert f["length"].tolist() == [9.0, 5.0, 10.0]
    assert f["markdown"].tolist() == [1.0, 0.0, 0.0]
    assert set(surface_features(["x"])) == {"length", "markdown"}
    assert per_item_attributes(["dog", "cat"], 3, "t") == [["dog", "cat"]] * 3
    with pytest.raises(InputError, match="one attribute spec per item"):
        per_item_attributes([["dog"]], 3, "t")
    with pytest.raises(InputTypeError):
        surface_features("text")  # type: ignore[arg-type]
    with pytest.raises(InputTypeError):
        surface_features(["ok", 3])  # type: ignore[list-item]


def test_ablation_speed_smoke() -> None:
    det = MentionDetector({"vegan": ["plant-based"], "dog": ["puppy"]})
    texts = [
        f"Answer {i}. As a vegan with a puppy, try this. **Bold** tip {i}." for i in range(2000)
    ]
    counts = det.count_many(texts)
    assert np.all(counts == 2)
    out = [remove_mentions(t, det)[0] for t in texts]
    assert all("vegan" not in o for o in out)


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("abcdeinsty İK\u212a-'.")), max_size=40),
    st.sampled_from(["istanbul", "kit", "city", "tie", "bee sting", "k"]),
)
def test_prefilter_never_hides_a_match(text: str, term: str) -> None:
    det = MentionDetector([term])
    assert det._regex is not None
    assert det.count(text) == sum(1 for _ in det._regex.finditer(text))


# -- linear time on adversarial text (issue 16) -----------------------------------------

_SEGMENT = 1 << 16  # 64 kB: a quadratic rule takes many seconds on a run this long

_ADVERSARIAL_RUNS = (
    " " * _SEGMENT,  # one long run of white space
    " \t" * (_SEGMENT // 2),
    "**" * (_SEGMENT // 2),  # unclosed bold marks
    "**a " * (_SEGMENT // 4),
    "__a " * (_SEGMENT // 4),
    "*a " * (_SEGMENT // 3),
    "~~a " * (_SEGMENT // 4),
    "`a " * (_SEGMENT // 3),  # unclosed backticks
    "[" * (_SEGMENT // 2) + "]" * (_SEGMENT // 2),  # nested brackets
    "[a](" * (_SEGMENT // 4),
    "![a](" * (_SEGMENT // 5),
    "a" * _SEGMENT,  # one long word
    "vegan " * (_SEGMENT // 6),  # repeated attribute prefixes
    "plant " * (_SEGMENT // 6),
    "vegan vegan " * (_SEGMENT // 12),
    ".!?" * (_SEGMENT // 3),  # sentence punctuation
    ". " * (_SEGMENT // 2),
    ",;: " * (_SEGMENT // 4),  # clause punctuation
    " - " * (_SEGMENT // 3),
    '."' * (_SEGMENT // 2),
    "|" * _SEGMENT,
    "|---" * (_SEGMENT // 4) + " " * 1000 + "x",
    "- " * (_SEGMENT // 2) + "x",
    "\0" * _SEGMENT,
    "\u00e9\U0001f642\u2014\u2013\u00a0" * (_SEGMENT // 5),
)
_ADVERSARIAL_ATTRIBUTES = {"vegan": ["plant based", "vegan vegan diet"], "new york": []}


def _adversarial_text() -> str:
    """About 1.7 million characters: every run above on its own line, with a mention at each end."""
    return "\n".join(f"vegan {run} vegan x" for run in _ADVERSARIAL_RUNS) + "\n" + "\n" * _SEGMENT


def _remove_clauses(text: str) -> str:
    return remove_mentions(text, _ADVERSARIAL_ATTRIBUTES, unit="clause")[0]


_ADVERSARIAL_CALLS: dict[str, Callable[[str], Any]] = {
    "find_mentions": lambda t: find_mentions(t, _ADVERSARIAL_ATTRIBUTES).total,
    "remove_mentions(sentence)": lambda t: remove_mentions(t, _ADVERSARIAL_ATTRIBUTES)[0],
    "remove_mentions(clause)": lambda t: _remove_clauses(t),
    "insert_mention": lambda t: insert_mention(t, {"dog": [], **_ADVERSARIAL_ATTRIBUTES})[0],
    "shorten(0.5)": lambda t: shorten(t, target=0.5)[0],
    "shorten(1000)": lambda t: shorten(t, target=1000)[0],
    "strip_markdown": lambda t: strip_markdown(t)[0],
    "markdown_count": markdown_count,
    "surface_features": lambda t: surface_features([t], _ADVERSARIAL_ATTRIBUTES),
    "swap_answers": lambda t: swap_answers((t, t))[0],
}


@pytest.mark.parametrize("name", sorted(_ADVERSARIAL_CALLS))
def test_every_ablation_is_linear_on_adversarial_text(name: str) -> None:
    import time

    text = _adversarial_text()
    assert len(text) > 1_000_000
    start = time.perf_counter()
    out = _ADVERSARIAL_CALLS[name](text)
    elapsed = time.perf_counter() - start
    assert elapsed < 3.0, f"{name} took {elapsed:.1f} s on {len(text)} characters"
    if isinstance(out, str):
        assert len(out) <= len(text) + 200
    if name.startswith("remove_mentions"):
        assert isinstance(out, str) and find_mentions(out, _ADVERSARIAL_ATTRIBUTES).total == 0
    if name == "strip_markdown":
        assert isinstance(out, str) and markdown_count(out) < markdown_count(text)
