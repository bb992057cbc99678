"""Score-token distributions, calibration features, prompt templates and the answer parser.

These need no server and no ``openai``: they are the pure parts of judgecal.clients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from judgecal import InputError, JudgeError, LogisticCalibrator, Scale, brier_score, parsers
from judgecal.clients import (
    PromptTemplate,
    ScoreDistribution,
    distribution_features,
    feature_names,
    level_tokens,
    score_distribution,
)
from judgecal.clients.openai_compat import answer_parser

LN = math.log


def token(text: str, prob: float, top: list[tuple[str, float]] | None = None) -> dict[str, Any]:
    return {
        "token": text,
        "logprob": LN(prob),
        "top_logprobs": [{"token": t, "logprob": LN(p)} for t, p in top or []],
    }


# -- score_distribution -----------------------------------------------------------------------
def test_levels_with_and_without_a_space_are_one_level() -> None:
    tokens = [token(" 2", 0.4, [(" 2", 0.4), ("2", 0.2), (" 3", 0.3), ("x", 0.1)])]
    found = score_distribution(tokens, Scale.likert(3))
    assert found is not None
    assert np.allclose(found.probs, [0.0, 0.6 / 0.9, 0.3 / 0.9])
    assert math.isclose(found.mass, 0.9)


def test_the_parsed_level_picks_the_score_token() -> None:
    tokens = [
        token("1", 0.9, [("1", 0.9), ("2", 0.1)]),  # "1." of a numbered list
        token(".", 1.0),
        token(" 3", 0.7, [(" 3", 0.7), (" 2", 0.3)]),
    ]
    assert score_distribution(tokens, Scale.likert(3), prefer=3.0).position == 2  # type: ignore[union-attr]
    assert score_distribution(tokens, Scale.likert(3)).position == 0  # type: ignore[union-attr]
    # a preferred level that no token shows: the first level token
    assert score_distribution(tokens, Scale.likert(3), prefer=2.0).position == 0  # type: ignore[union-attr]


def test_no_level_token_or_no_usable_logprob_is_none() -> None:
    assert score_distribution([token("Good", 1.0)], Scale.likert(5)) is None
    assert score_distribution(None, Scale.likert(5)) is None
    broken = [{"token": "4", "logprob": "high", "top_logprobs": [{"token": "4", "logprob": None}]}]
    assert score_distribution(broken, Scale.likert(5)) is None
    minus_inf = [{"token": "4", "logprob": -math.inf, "top_logprobs": []}]
    assert score_distribution(minus_inf, Scale.likert(5)) is None


def test_without_alternatives_the_sampled_token_is_certain() -> None:
    found = score_distribution([token("4", 0.8)], Scale.likert(5))
    assert found is not None and found.probs == (0.0, 0.0, 0.0, 1.0, 0.0)
    assert math.isclose(found.mass, 0.8)


def test_verdict_words_are_levels_case_insensitively() -> None:
    tokens = [token("Yes", 0.7, [("Yes", 0.7), ("No", 0.2), (" yes", 0.1)])]
    found = score_distribution(tokens, Scale.verdict("no", "yes"))
    assert found is not None and np.allclose(found.probs, [0.2, 0.8])
    assert math.isclose(found.expected, 0.8)


def test_objects_work_like_dicts() -> None:
    @dataclass
    class Top:
        token: str
        logprob: float

    @dataclass
    class Tok:
        token: str
        logprob: float
        top_logprobs: list[Top]

    found = score_distribution(
        [Tok("2", LN(0.5), [Top("2", LN(0.5)), Top("1", LN(0.5))])], Scale.likert(2)
    )
    assert found is not None and found.probs == (0.5, 0.5)


def test_level_tokens_need_integer_levels() -> None:
    assert list(level_tokens(Scale.numeric(0, 10))) == [str(k) for k in range(11)]
    with pytest.raises(InputError, match="'scale'"):
        level_tokens(Scale.numeric(0, 1.5))
    with pytest.raises(InputError, match="'scale'"):
        level_tokens(Scale.numeric(0, 1000))


# -- features ---------------------------------------------------------------------------------
def test_features_are_expected_and_exceedance() -> None:
    dist = ScoreDistribution((1.0, 2.0, 3.0, 4.0), (0.1, 0.2, 0.3, 0.4), 1.0, 0)
    features = distribution_features([dist.probs], Scale.likert(4))
    expected = [dist.expected, dist.at_least(2), dist.at_least(3), dist.at_least(4)]
    assert np.allclose(features[0], expected)
    assert feature_names(Scale.likert(4)) == ["expected", "p_ge_2", "p_ge_3", "p_ge_4"]
    assert distribution_features([], Scale.likert(4)).shape == (0, 4)


@pytest.mark.parametrize("row", [None, [0.5, 0.5], [0.5, 0.6, -0.1], [0.2, 0.2, 0.2]])
def test_a_bad_row_is_an_error_naming_it(row: Any) -> None:
    with pytest.raises(JudgeError, match="row 1 of probs"):
        distribution_features([[0.2, 0.3, 0.5], row], Scale.likert(3))


def test_expected_score_calibrates_better_than_the_mode_on_known_truth() -> None:
    """The claim of benchmarks/bench_logprobs.py, small: informative spread wins, noise loses."""
    rng = np.random.default_rng(5)
    n = 1500
    quality = rng.normal(size=n)
    labels = (rng.random(n) < 1 / (1 + np.exp(-(1.5 * quality - 0.5)))).astype(float)
    seen = quality + rng.normal(scale=0.7, size=n)
    below = 1 / (1 + np.exp(-(np.array([-1.5, -0.5, 0.5, 1.5])[None, :] - 2 * seen[:, None])))
    probs = np.diff(np.hstack([np.zeros((n, 1)), below, np.ones((n, 1))]), axis=1)
    mode = probs.argmax(axis=1) + 1.0
    weight = rng.uniform(0.3, 0.9, size=(n, 1))
    noise = weight * np.eye(5)[mode.astype(int) - 1] + (1 - weight) * rng.dirichlet(np.ones(5), n)
    wins = {"informative": 0, "noise": 0}
    for split in range(30):
        order = np.random.default_rng([5, split]).permutation(n)
        fit, test = order[:100], order[100:]
        parsed = LogisticCalibrator().fit(mode[fit], labels[fit]).predict_agreement(mode[test])
        base = brier_score(labels[test], parsed)
        for name, table in (("informative", probs), ("noise", noise)):
            x = distribution_features(table, Scale.likert(5))[:, 0]
            cal = LogisticCalibrator().fit(x[fit], labels[fit]).predict_agreement(x[test])
            wins[name] += brier_score(labels[test], cal) < base
    assert wins["informative"] >= 27  # >= 90% of splits
    assert wins["noise"] <= 6  # a spread that carries nothing does not help


# -- prompt templates -------------------------------------------------------------------------
def test_templates_fill_from_keys_attributes_and_the_item() -> None:
    @dataclass
    class Item:
        question: str
        meta: dict[str, str]

    template = PromptTemplate("{question} [{meta[lang]}] {item.question:>6}")
    assert template.render(Item("Why?", {"lang": "en"})) == "Why? [en]   Why?"
    assert PromptTemplate("{a}-{b:.1f}").render({"a": 1, "b": 2}) == "1-2.0"
    assert PromptTemplate("{item}").render({"item": "own key"}) == "own key"
    assert PromptTemplate("literal {{braces}} {x}").render({"x": 1}) == "literal {braces} 1"


@pytest.mark.parametrize("text", ["Rate {}", "Rate {0}", "Rate {x", "Rate }", "{x:{y}}"])
def test_bad_templates_fail_when_made(text: str) -> None:
    with pytest.raises(InputError):
        PromptTemplate(text)


def test_missing_fields_name_what_the_item_has() -> None:
    template = PromptTemplate("{question} {answer}", system="{rubric}")
    assert template.fields == ("rubric", "question", "answer")
    with pytest.raises(InputError, match=r"'rubric'.*dict with fields \['answer', 'question'\]"):
        template.messages({"question": "q", "answer": "a"})
    with pytest.raises(InputError, match="field paths"):
        PromptTemplate("{meta[lang]}").render({"meta": {}})
    with pytest.raises(InputError, match="'system'"):
        PromptTemplate.of(template, system="again")


# -- the answer parser ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("answer", "status", "why"),
    [
        ({"text": "Score: 3"}, "ok", ""),
        ("Score: 3", "ok", ""),  # an answer cached as bare text
        ({"text": "", "refusal": "declined"}, "refused", "declined"),
        ({"text": "", "finish_reason": "content_filter"}, "refused", "content filter"),
        ({"text": "I'm sorry, I can't rate this."}, "refused", "refused"),
        ({"text": "Let me think", "finish_reason": "length"}, "unparseable", "max_tokens"),
        ({"text": "Score: 9"}, "unparseable", "no score found"),
        (["Score: 3"], "unparseable", "not a chat answer"),
        ({"content": "Score: 3"}, "unparseable", "not a chat answer"),
    ],
)
def test_answer_parser_outcomes(answer: Any, status: str, why: str) -> None:
    parsed = answer_parser(parsers.likert(5)).parse(answer)
    assert parsed.status == status and why in parsed.reason


def test_expected_signal_refusal_wins_over_probabilities() -> None:
    parser = answer_parser(parsers.likert(3), "expected")
    refused = parser.parse({"text": "I cannot rate this.", "probs": [0.2, 0.3, 0.5]})
    assert refused.status == "refused"
    for bad in ([0.2, 0.3, "x"], [0.5, 0.7, -0.2], [0.0, 0.0, 0.0], [0.5, 0.5]):
        assert parser.parse({"text": "Score: 3", "probs": bad}).status == "unparseable"
    assert parser.scale == Scale.numeric(1, 3)
