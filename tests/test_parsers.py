"""Parsers: explicit outcomes, strictness (never guess), refusals, and property tests."""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from judgecal import CalibratedJudge, InputError, Scale
from judgecal import parsers as jp


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("7", 7.0),
        ("Score: 7", 7.0),
        ("7/10", 7.0),
        ("Rating: 3 out of 10", 3.0),
        (7, 7.0),
        ("**8**", 8.0),
        (1.5, 1.5),
    ],
)
def test_number_ok(text, score):
    assert jp.number(1, 10).parse(text) == jp.Parsed("ok", score)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  ",
        "11",
        "0",
        "7/5",
        "7 or 8",
        "Score: 7. Rating: 8",
        None,
        [7],
        float("nan"),
        "great!",
    ],
)
def test_number_unparseable(text):
    out = jp.number(1, 10).parse(text)
    assert out.status == "unparseable" and out.score is None and out.reason


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry, but I can't help with evaluating this.",
        "I cannot rate this content.",
        "As an AI, I do not have opinions.",
        "This request violates the content policy.",
        "I won\u2019t judge that.",
    ],
)
def test_refusals(text):
    out = jp.likert(5).parse(text)
    assert out.status == "refused" and out.score is None


def test_score_beats_refusal_words():
    # a valid score is never called a refusal, even next to refusal-like words
    assert jp.likert(5).parse("I cannot give it full marks. Score: 4").score == 4.0


def test_refusal_detection_can_be_off():
    p = jp.Parser(Scale.likert(5), lambda o, s: None, detect_refusal=False)
    assert p.parse("I'm sorry, I can't").status == "unparseable"


def test_likert_integer_and_labels():
    p = jp.likert(5)
    assert p.parse("4").score == 4.0
    assert p.parse("4.5").status == "unparseable"
    q = jp.likert(5, labels=["strongly disagree", "disagree", "neutral", "agree", "strongly agree"])
    assert q.parse("Strongly agree.").score == 5.0
    assert q.parse("I disagree").score == 2.0
    assert q.parse("strongly disagree").score == 1.0
    assert q.parse("agree or disagree").status == "unparseable"
    with pytest.raises(InputError, match="labels"):
        jp.likert(3, labels=["a", "b"])


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("YES", 1.0),
        ("no.", 0.0),
        ("Answer: yes", 1.0),
        ("true", 1.0),
        (False, 0.0),
        ("**No**", 0.0),
        ("Yes, it is supported", 1.0),
    ],
)
def test_yes_no(text, score):
    assert jp.yes_no().parse(text).score == score


@pytest.mark.parametrize("text", ["yes and no", "maybe", "", "Y E S"])
def test_yes_no_unparseable(text):
    assert jp.yes_no().parse(text).status == "unparseable"


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("first", 2.0),
        ("Second", 0.0),
        ("tie", 1.0),
        ("[[A]]", 2.0),
        ("[[B]]", 0.0),
        ("[[C]]", 1.0),
        ("After thinking: [[B]]", 0.0),
        ("Response 1", 2.0),
        ("B", 0.0),
        ("Verdict: second", 0.0),
        ("The winner is: Response 2", 0.0),
        ("Both are equally good, so it's a tie.", 1.0),
        ("equal", 1.0),
    ],
)
def test_pairwise(text, score):
    assert jp.pairwise().parse(text).score == score


@pytest.mark.parametrize(
    "text", ["[[A]] or [[B]]", "the first is fine, the second is better", "neither", "C D"]
)
def test_pairwise_unparseable(text):
    assert jp.pairwise().parse(text).status == "unparseable"


def test_json_field():
    p = jp.json_field("result.score", Scale.likert(5))
    assert p.parse('{"result": {"score": 3}}').score == 3.0
    assert p.parse({"result": {"score": "4"}}).score == 4.0
    assert p.parse('Here: ```json\n{"result": {"score": 5}}\n``` done').score == 5.0
    assert p.parse('prefix {"result": {"score": 2}} suffix').score == 2.0
    assert p.parse('{"result": {"score": 9}}').status == "unparseable"
    assert p.parse('{"result": 3}').reason == "no field 'result.score'"
    assert p.parse("{not json").reason == "no JSON object found"
    v = jp.json_field("verdict", jp.YES_NO_SCALE)
    assert v.parse('{"verdict": "Yes"}').score == 1.0
    with pytest.raises(InputError):
        jp.json_field("")


def test_regex_and_function():
    r = jp.regex(r"grade=(\d)", Scale.likert(5))
    assert r.parse("grade=3").score == 3.0
    assert r.parse("grade=3 grade=3").score == 3.0  # the same match twice is one answer
    assert r.parse("grade=3 grade=4").status == "unparseable"
    assert r.parse("nothing").status == "unparseable"
    assert r.parse("grade=9").status == "unparseable"
    with pytest.raises(InputError, match="pattern"):
        jp.regex("(", Scale.likert(5))
    f = jp.function(lambda s: 1 / 0, Scale.likert(5))
    out = f.parse("x")
    assert out.status == "unparseable" and "ZeroDivisionError" in out.reason
    g = jp.function(lambda s: float("nan"), Scale.numeric(0, 1))
    assert g.parse("x").status == "unparseable"


def test_parser_drop_in_for_calibrated_judge():
    cj = CalibratedJudge(lambda x: x, scale=Scale.likert(5), parser=jp.likert(5))
    assert cj("Score: 4").score == 4.0
    r = cj("I'm sorry, I cannot rate this.")
    assert r.status == "refused" and r.score is None
    assert jp.likert(5)("Score: 2", Scale.likert(5)) == 2.0


def test_as_parser_checks():
    with pytest.raises(InputError, match="scale"):
        jp.as_parser(None, None, where="x")
    with pytest.raises(InputError, match="scale"):
        jp.as_parser(jp.likert(5), Scale.likert(7), where="x")
    with pytest.raises(InputError, match="parser"):
        jp.as_parser(3, Scale.likert(5), where="x")
    assert jp.as_parser(None, jp.PAIRWISE_SCALE, where="x").name == "pairwise"
    legacy = jp.as_parser(lambda o, s: 3.0, Scale.likert(5), where="x")
    assert legacy.parse("anything").score == 3.0


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=40),
        st.integers(-100, 100),
        st.floats(allow_nan=True),
        st.none(),
        st.booleans(),
    )
)
def test_never_raises_and_ok_means_on_scale(output):
    for p in (
        jp.number(1, 10),
        jp.likert(5),
        jp.yes_no(),
        jp.pairwise(),
        jp.json_field("s", Scale.likert(5)),
    ):
        out = p.parse(output)
        assert out.status in ("ok", "unparseable", "refused")
        assert (out.score is not None) == (out.status == "ok")
        if out.ok:
            assert math.isfinite(out.score) and p.scale.low <= out.score <= p.scale.high


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10), st.sampled_from(["{}", "Score: {}", "{}/10", "Rating = {}", " **{}** "]))
def test_number_roundtrip(v, template):
    assert jp.number(1, 10).parse(template.format(v)).score == float(v)


def _adversarial_texts() -> dict[str, str]:
    size = 1_000_000
    return {
        "whitespace": "Score" + " " * size + "x",
        "unclosed bold": "**" * (size // 2),
        "score score": "Score " * (size // 6),
        "digits": "Score: " + "7" * size + " out of",
        "nul unicode": "\0 Score:\u2019 out of [[ " * (size // 20),
        "fences": "```json" + " " * size,
        "labels": "Verdict: is : = " * (size // 16),
        "mixed": ("Score: 7/10 ** " + "\t" * 50 + "Rating is ") * (size // 75),
    }


def test_every_parser_is_linear_on_adversarial_text():
    # backtracking regexes took 13 s on 1.5 kB; each 1 MB input now takes well under a second
    parsers = {
        "parse_score": lambda t: jp.parse_score(t, Scale.likert(5)),
        "parse_score verdict": lambda t: jp.parse_score(t, jp.YES_NO_SCALE),
        "number": jp.number(1, 10).parse,
        "likert labels": jp.likert(3, labels=["bad", "ok", "good"]).parse,
        "yes_no": jp.yes_no().parse,
        "pairwise": jp.pairwise().parse,
        "json_field": jp.json_field("score", Scale.likert(5)).parse,
        "is_refusal": jp.is_refusal,
    }
    worst: dict[str, float] = {}
    for text in _adversarial_texts().values():
        for name, parse in parsers.items():
            t0 = time.perf_counter()
            parse(text)
            worst[name] = max(worst.get(name, 0.0), time.perf_counter() - t0)
    print({k: round(v, 3) for k, v in worst.items()})
    assert all(v < 2.0 for v in worst.values()), worst
    # and the answers stay right
    assert jp.parse_score("Score" + " " * 5000 + "4", Scale.likert(5)) == 4.0
    assert jp.number(1, 10).parse("** " + " " * 5000 + "8 **").score == 8.0
