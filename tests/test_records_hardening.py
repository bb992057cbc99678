"""Records built in code: judgecal errors only, numpy scalars welcome, no silent merges."""

from __future__ import annotations

import ast
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from judgecal import JudgecalError, Judgment, JudgmentSet, Rating, RecordError, Scale
from judgecal import vocabulary as vocab
from judgecal.records import core

OK = dict(item_id="a", score=3.0)

BAD_CONSTRUCTIONS: dict[str, Callable[[], Any]] = {
    "verdict_one_word": lambda: Scale.verdict("only"),
    "verdict_none": lambda: Scale.verdict(),
    "verdict_duplicate": lambda: Scale.verdict("yes", "YES"),
    "verdict_not_str": lambda: Scale.verdict(1, 2),  # type: ignore[arg-type]
    "scale_reversed": lambda: Scale(kind="numeric", low=5, high=1),
    "scale_nan": lambda: Scale(kind="numeric", low=float("nan"), high=1),
    "scale_kind": lambda: Scale(kind="stars", low=0, high=1),  # type: ignore[arg-type]
    "scale_verdicts_on_numeric": lambda: Scale(kind="numeric", low=0, high=1, verdicts=("a", "b")),
    "scale_missing": lambda: Scale(kind="numeric"),  # type: ignore[call-arg]
    "scale_extra": lambda: Scale(kind="numeric", low=0, high=1, colour=1),  # type: ignore[call-arg]
    "likert_levels": lambda: Scale.likert(1),
    "likert_float": lambda: Scale.likert(4.5),  # type: ignore[arg-type]
    "likert_npbool": lambda: Scale.likert(np.bool_(True)),  # type: ignore[arg-type]
    "numeric_reversed": lambda: Scale.numeric(2, 1),
    "judgment_empty_id": lambda: Judgment(item_id="", score=1.0),
    "judgment_id_int": lambda: Judgment(item_id=3, score=1.0),  # type: ignore[arg-type]
    "judgment_id_nul": lambda: Judgment(item_id="a\0", score=1.0),
    "judgment_stage_nul": lambda: Judgment(item_id="a", stage="s\0", score=1.0),
    "judgment_stage_empty": lambda: Judgment(item_id="a", stage="", score=1.0),
    "judgment_score_nan": lambda: Judgment(item_id="a", score=float("nan")),
    "judgment_score_str": lambda: Judgment(item_id="a", score="high"),  # type: ignore[arg-type]
    "judgment_no_score": lambda: Judgment(item_id="a", score=None),
    "judgment_status": lambda: Judgment(item_id="a", score=None, judge_status="lost"),  # type: ignore[arg-type]
    "judgment_extra": lambda: Judgment(item_id="a", score=1.0, colour="red"),  # type: ignore[call-arg]
    "judgment_missing": lambda: Judgment(item_id="a"),  # type: ignore[call-arg]
    "judgment_no_kind": lambda: Judgment(**OK, ratings=[Rating(value=1)]),
    "judgment_binary_3": lambda: Judgment(**OK, label_kind="binary", ratings=[Rating(value=3)]),
    "judgment_ordinal_6": lambda: Judgment(
        **OK, label_kind="ordinal", levels=5, ratings=[Rating(value=6)]
    ),
    "judgment_ordinal_no_levels": lambda: Judgment(**OK, label_kind="ordinal"),
    "judgment_levels_binary": lambda: Judgment(**OK, label_kind="binary", levels=3),
    "judgment_levels_1": lambda: Judgment(**OK, label_kind="ordinal", levels=1),
    "judgment_pairwise_left": lambda: Judgment(
        **OK, label_kind="pairwise", ratings=[Rating(value="left")]
    ),
    "judgment_feature_inf": lambda: Judgment(**OK, features={"len": float("inf")}),
    "judgment_feature_str": lambda: Judgment(**OK, features={"len": "long"}),  # type: ignore[dict-item]
    "judgment_meta_nul": lambda: Judgment(**OK, meta={"system": "x\0"}),
    "judgment_ratings_not_list": lambda: Judgment(**OK, label_kind="binary", ratings=5),  # type: ignore[arg-type]
    "judgment_rater_twice": lambda: Judgment(
        **OK,
        label_kind="binary",
        ratings=[Rating(value=1, rater="r1"), Rating(value=0, rater="r1")],
    ),
    "rating_fraction": lambda: Rating(value=1.5),  # type: ignore[arg-type]
    "rating_bool": lambda: Rating(value=True),
    "rating_npbool": lambda: Rating(value=np.bool_(False)),  # type: ignore[arg-type]
    "rating_none": lambda: Rating(value=None),  # type: ignore[arg-type]
    "rating_list": lambda: Rating(value=[1]),  # type: ignore[arg-type]
    "rating_empty_rater": lambda: Rating(value=1, rater=""),
    "rating_rater_nul": lambda: Rating(value=1, rater="r\0"),
    "rating_extra": lambda: Rating(value=1, weight=2),  # type: ignore[call-arg]
    "rating_validate": lambda: Rating.model_validate({"value": 2.5}),
    "rating_validate_json": lambda: Rating.model_validate_json('{"value": 2.5}'),
    "set_scale": lambda: JudgmentSet([], scale="likert"),  # type: ignore[arg-type]
    "set_items": lambda: JudgmentSet([{"item_id": "a"}], scale=Scale.likert(5)),  # type: ignore[list-item]
    "set_off_scale": lambda: JudgmentSet([Judgment(item_id="a", score=9.0)], scale=Scale.likert(5)),
    "set_string": lambda: JudgmentSet("abc", scale=Scale.likert(5)),  # type: ignore[arg-type]
    "problem_row": lambda: core.RecordProblem(row="x", field="f", expected="e", got="g"),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("name", sorted(BAD_CONSTRUCTIONS))
def test_bad_construction_is_a_judgecal_error(name: str) -> None:
    with pytest.raises(JudgecalError) as info:
        BAD_CONSTRUCTIONS[name]()
    message = str(info.value)
    assert "must be" in message and "Got" in message, message
    assert "pydantic" not in message and "errors.pydantic.dev" not in message, message
    assert isinstance(info.value, ValueError)


def test_construction_errors_name_field_expected_got() -> None:
    with pytest.raises(RecordError) as info:
        Rating(value=1.5)  # type: ignore[arg-type]
    err = info.value
    assert err.field == "value" and err.got == 1.5 and "integer" in err.expected
    assert str(err).startswith("Rating: field 'value' must be")
    with pytest.raises(RecordError, match=r"Judgment: field 'item_id' must be a non-empty"):
        Judgment(item_id="", score=1.0)
    with pytest.raises(RecordError, match=r"Scale: field 'verdicts' must be at least two"):
        Scale.verdict("only")
    with pytest.raises(RecordError, match=r"field 'ratings\[1\]\.value'"):
        Judgment(**OK, label_kind="binary", ratings=[Rating(value=1), Rating(value=2)])


def test_rater_rating_twice_named() -> None:
    with pytest.raises(RecordError, match=r"rater 'r1' rates item 'x' twice"):
        Judgment(
            item_id="x",
            score=1.0,
            label_kind="binary",
            ratings=[Rating(value=1, rater="r1"), Rating(value=1, rater="r1")],
        )
    # anonymous raters are distinct people
    j = Judgment(item_id="x", score=1.0, label_kind="binary", ratings=[Rating(value=1)] * 2)
    assert j.n_ratings == 2


def test_nul_and_plain_ids_never_merge() -> None:
    """numpy's str arrays drop trailing NULs: such ids are refused, not merged."""
    with pytest.raises(RecordError, match="control characters"):
        Judgment(item_id="a\0", score=1.0)
    with pytest.raises(RecordError, match="control characters"):
        Judgment(item_id="a", stage="a\x00", score=1.0)
    with pytest.raises(RecordError, match="control characters"):
        Rating(value=1, rater="r1\0")
    assert Judgment(item_id="ä b", stage="Stage 2", score=1.0).item_id == "ä b"


def test_good_values_of_numpy_types_are_accepted() -> None:
    assert Rating(value=np.int64(1)).value == 1
    assert Rating(value=np.float64(1.0)).value == 1
    assert Judgment(**OK, label_kind="ordinal", levels=np.int32(5)).levels == 5  # type: ignore[arg-type]
    assert Scale.likert(np.int64(5)).high == 5  # type: ignore[arg-type]
    assert Scale.likert(np.int32(7), low=np.int64(0)).high == 6  # type: ignore[arg-type]
    assert Scale.numeric(np.float32(0), np.int64(10)).high == 10.0  # type: ignore[arg-type]


def _ordinal() -> JudgmentSet:
    items = [
        Judgment(
            item_id=str(i),
            score=3.0,
            label_kind="ordinal",
            levels=5,
            ratings=[Rating(value=v) for v in r],
        )
        for i, r in enumerate([[4, 5, 2], [1, 2, 3]])
    ]
    return JudgmentSet(items, scale=Scale.likert(5))


@pytest.mark.parametrize("threshold", [np.int64(4), np.int32(4), np.uint8(4), np.float64(4.0), 4.0])
def test_numpy_threshold_accepted(threshold: Any) -> None:
    y, _ = _ordinal().targets(threshold=threshold)
    np.testing.assert_allclose(y, [2 / 3, 0.0])
    y, _ = _ordinal().targets(how="mean", threshold=threshold)
    np.testing.assert_allclose(y, [0.0, 0.0])


@pytest.mark.parametrize("threshold", [np.bool_(True), True, 4.5, np.float64(4.5), "4", 9])
def test_bad_threshold_rejected_clearly(threshold: Any) -> None:
    with pytest.raises(JudgecalError, match="threshold"):
        _ordinal().targets(threshold=threshold)


def _pairwise() -> JudgmentSet:
    items = [
        Judgment(
            item_id=str(i), score=1.0, label_kind="pairwise", ratings=[Rating(value=v) for v in r]
        )
        for i, r in enumerate([["first", "tie", "second"], ["tie", "tie"], ["tie", "first"]])
    ]
    return JudgmentSet(items, scale=Scale.verdict(*vocab.PAIRWISE_OUTCOMES))


def test_tie_policies_come_from_the_vocabulary() -> None:
    js = _pairwise()
    y, w = js.targets(ties="loss")
    np.testing.assert_allclose(y, [1 / 3, 0.0, 0.5])
    np.testing.assert_allclose(w, [3, 2, 2])
    with pytest.warns(DeprecationWarning, match="'loss'"):
        y_old, _ = js.targets(ties="negative")  # type: ignore[arg-type]
    np.testing.assert_allclose(y_old, y)
    with pytest.raises(JudgecalError, match="ties"):
        js.targets(ties="separate")  # type: ignore[arg-type]
    y, w = js.targets(how="majority", ties="loss")
    np.testing.assert_allclose(y, [0.5, 0.0, 0.5])
    np.testing.assert_allclose(w, [1, 1, 1])
    y, w = js.targets(how="majority", ties="drop")
    np.testing.assert_allclose(w, [1, 0, 1])


def test_records_speak_the_vocabulary() -> None:
    assert core.PAIRWISE_OUTCOMES == vocab.PAIRWISE_OUTCOMES
    assert core.JudgeStatus is vocab.JudgeStatus
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _pairwise().targets(ties="half")


def test_ratings_long_vocabulary_coding() -> None:
    js = _pairwise()
    _, codes, _ = js.ratings_long(coding="vocabulary")
    assert codes.tolist() == [2, 1, 0, 1, 1, 1, 2]
    _, default, _ = js.ratings_long()
    assert default.tolist() == codes.tolist()  # one coding: the default is the vocabulary's


def test_functions_in_records_are_short() -> None:
    root = Path(core.__file__).parent
    lengths = {}
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lengths[f"{path.name}:{node.name}"] = node.end_lineno - node.lineno + 1  # type: ignore[operator]
    longest = max(lengths, key=lengths.__getitem__)
    assert lengths[longest] <= 80, (longest, lengths[longest])
