"""Loaders: no label is lost without a reported problem (CSV and JSONL shapes)."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

from judgecal import InputError, RecordError, Scale
from judgecal.records import io

WIDE: dict[str, Any] = dict(scale=Scale.likert(5), label_kind="binary", label_cols=["r1", "r2"])


def _csv(tmp_path: Path, text: str, *, encoding: str = "utf-8") -> Path:
    path = tmp_path / "d.csv"
    path.write_bytes(text.encode(encoding))
    return path


# --- silent loss in CSV files -------------------------------------------------------


def test_duplicate_header_is_a_problem_naming_the_column(tmp_path: Path) -> None:
    path = _csv(tmp_path, "item_id,score,r1,r1\na,4,1,0\nb,2,0,0\n")
    with pytest.raises(RecordError, match=r"Row 0: field 'r1'.*columns 3 and 4") as info:
        io.read_csv(path, scale=Scale.likert(5), label_kind="binary", label_cols=["r1"])
    assert info.value.row == 0 and info.value.field == "r1"
    js = io.read_csv(
        path, scale=Scale.likert(5), label_kind="binary", label_cols=["r1"], on_error="report"
    )
    assert [(p.row, p.field) for p in js.problems] == [(0, "r1")]
    assert len(js) == 0  # no row is read with one of its two 'r1' cells thrown away


def test_duplicate_unused_column_is_harmless(tmp_path: Path) -> None:
    path = _csv(tmp_path, "item_id,score,r1,r2,note,note\na,4,1,0,x,y\n")
    js = io.read_csv(path, **WIDE)
    assert len(js) == 1 and js.problems == ()


def test_short_row_is_a_problem_not_unrated(tmp_path: Path) -> None:
    path = _csv(tmp_path, "item_id,score,r1,r2\na,4,1,0\nb,2,1\nc,3,0,1\n")
    with pytest.raises(
        RecordError,
        match=r"Row 2: field 'r2' must be present \(the header has 4 columns\)\. Got a row of 3",
    ) as info:
        io.read_csv(path, **WIDE)
    assert (info.value.row, info.value.field) == (2, "r2")
    js = io.read_csv(path, on_error="report", **WIDE)
    assert [j.item_id for j in js] == ["a", "c"]
    assert [(p.row, p.field) for p in js.problems] == [(2, "r2")]


def test_extra_cells_are_a_problem(tmp_path: Path) -> None:
    path = _csv(tmp_path, "item_id,score,r1,r2\na,4,1,0,1\nb,2,1,0\n")
    with pytest.raises(RecordError, match=r"Row 1: .*a row of at most 4 cells.*5 cells"):
        io.read_csv(path, **WIDE)
    js = io.read_csv(path, on_error="report", **WIDE)
    assert [j.item_id for j in js] == ["b"]
    assert [p.row for p in js.problems] == [1]


def test_trailing_empty_cells_lose_nothing(tmp_path: Path) -> None:
    path = _csv(tmp_path, "item_id,score,r1,r2\na,4,1,0,,\n")
    assert io.read_csv(path, **WIDE)[0].n_ratings == 2


def test_every_problem_reported_in_one_pass(tmp_path: Path) -> None:
    path = _csv(tmp_path, "item_id,score,r1,r2\na,4,1\nb,9,1,0\nc,2,1,0,1\nd,3,1,1\n")
    js = io.read_csv(path, on_error="report", **WIDE)
    assert [p.row for p in js.problems] == [1, 2, 3]
    assert [j.item_id for j in js] == ["d"]


def test_missing_column_reported_once_with_the_header(tmp_path: Path) -> None:
    path = _csv(tmp_path, "id,score,r1,r2\na,4,1,0\nb,3,1,0\n")
    with pytest.raises(RecordError, match=r"Row 0: field 'item_id'.*columns: id, score"):
        io.read_csv(path, **WIDE)
    js = io.read_csv(path, on_error="report", **WIDE)
    assert [(p.row, p.field) for p in js.problems] == [(0, "item_id")]


def test_bom_is_stripped(tmp_path: Path) -> None:
    path = _csv(tmp_path, "\ufeffitem_id,score,r1,r2\na,4,1,0\n")
    js = io.read_csv(path, **WIDE)
    assert js.item_ids().tolist() == ["a"]


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_delimiter_detected_from_the_header(tmp_path: Path, sep: str) -> None:
    path = _csv(tmp_path, sep.join(["item_id", "score", "r1", "r2"]) + "\n" + sep.join("a410"))
    js = io.read_csv(path, **WIDE)
    assert js.scores().tolist() == [4.0] and js[0].n_ratings == 2


def test_explicit_delimiter_and_a_hint_when_it_looks_wrong(tmp_path: Path) -> None:
    path = _csv(tmp_path, "item_id;score;r1;r2\na;4;1;0\n")
    assert len(io.read_csv(path, delimiter=";", **WIDE)) == 1
    with pytest.raises(RecordError, match=r"looks ';'-delimited.*delimiter=';'"):
        io.read_csv(path, delimiter=",", **WIDE)
    with pytest.raises(InputError, match="delimiter"):
        io.read_csv(path, delimiter=";;", **WIDE)


def test_decimal_commas_do_not_fool_detection(tmp_path: Path) -> None:
    path = _csv(tmp_path, 'item_id,score,r1,r2\na,"4,0",1,0\n')
    with pytest.raises(RecordError, match="Row 1: field 'score'"):
        io.read_csv(path, **WIDE)


def test_fit_command_fails_on_a_short_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from judgecal.cli.app import main

    rows = "".join(f"c{k},{1 + k % 5},{k % 2}\n" for k in range(20))
    path = _csv(tmp_path, "item_id,score,r1\na,4,1\nb,2\n" + rows)
    code = main(["fit", str(path), "--score-col", "score", "--label-col", "r1",
                 "--out", str(tmp_path / "c.json")])  # fmt: skip
    assert code != 0 and not (tmp_path / "c.json").exists()
    assert "row 2" in capsys.readouterr().err.lower()


# --- JSONL -----------------------------------------------------------------------------


def _jsonl(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_line_that_is_not_an_object(tmp_path: Path) -> None:
    path = _jsonl(tmp_path, ['{"item_id": "a", "score": 3}', "[1, 2]", '"x"'])
    with pytest.raises(RecordError, match=r"Row 2: .*a JSON object.*list"):
        io.read_jsonl(path, scale=Scale.likert(5))
    js = io.read_jsonl(path, scale=Scale.likert(5), on_error="report")
    assert len(js) == 1 and [p.row for p in js.problems] == [2, 3]


def test_jsonl_duplicate_keys(tmp_path: Path) -> None:
    path = _jsonl(tmp_path, ['{"item_id": "a", "score": 3, "r1": 1, "r1": 0}'])
    with pytest.raises(RecordError, match=r"Row 1: field 'r1'.*once.*twice") as info:
        io.read_jsonl(path, scale=Scale.likert(5), label_kind="binary", label_cols=["r1"])
    assert info.value.field == "r1"


def test_jsonl_rows_numbered_by_line_and_bad_json_reported(tmp_path: Path) -> None:
    path = _jsonl(tmp_path, ['{"item_id": "a", "score": 3}', "", "{oops", '{"item_id": "b"}'])
    js = io.read_jsonl(path, scale=Scale.likert(5), on_error="report")
    assert len(js) == 1
    assert [(p.row, p.field) for p in js.problems] == [(3, "<line>"), (4, "score")]


def test_jsonl_bom_is_stripped(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes('\ufeff{"item_id": "a", "score": 3}\n'.encode())
    assert len(io.read_jsonl(path, scale=Scale.likert(5))) == 1


# --- one rater, one rating per item ----------------------------------------------------


def test_long_format_rater_twice_is_a_problem() -> None:
    rows = [
        {"id": "x", "score": 3, "who": "r1", "lab": 1},
        {"id": "x", "score": 3, "who": "r2", "lab": 0},
        {"id": "x", "score": 3, "who": "r1", "lab": 0},
    ]
    kw: dict[str, Any] = dict(
        scale=Scale.likert(5), item_col="id", label_kind="binary", label_col="lab", rater_col="who"
    )
    with pytest.raises(RecordError, match=r"Row 3: field 'who'.*rater 'r1' rates item 'x' twice"):
        io.from_rows(rows, **kw)
    js = io.from_rows(rows, on_error="report", **kw)
    assert js[0].n_ratings == 2 and [p.row for p in js.problems] == [3]


def test_control_characters_in_ids_are_problems() -> None:
    rows = [{"item_id": "a", "score": 3}, {"item_id": "a\0", "score": 3}]
    with pytest.raises(RecordError, match=r"Row 2: field 'item_id'.*control"):
        io.from_rows(rows, scale=Scale.likert(5))
    rows = [{"item_id": "a", "score": 3, "stage": "s\x00"}]
    with pytest.raises(RecordError, match=r"Row 1: field 'stage'.*control"):
        io.from_rows(rows, scale=Scale.likert(5), stage_col="stage")


# --- the column mapping ----------------------------------------------------------------


def test_label_cols_accepts_one_name() -> None:
    rows = [{"item_id": "a", "score": 3, "h": 1}]
    js = io.from_rows(rows, scale=Scale.likert(5), label_kind="binary", label_cols="h")
    assert js[0].ratings[0].rater == "h"


def test_label_col_still_works_for_long_labels() -> None:
    rows = [{"item_id": "a", "score": 3, "h": 1}, {"item_id": "a", "score": 3, "h": 0}]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        js = io.from_rows(rows, scale=Scale.likert(5), label_kind="binary", label_col="h")
    assert js[0].n_ratings == 2


def test_long_format_loads_in_linear_time() -> None:
    """One item rated 30,000 times: merging must not copy the ratings on every row."""
    rows = [{"item_id": "x", "score": 3, "who": f"r{k}", "lab": k % 2} for k in range(30_000)]
    start = time.perf_counter()
    js = io.from_rows(
        rows, scale=Scale.likert(5), label_kind="binary", label_col="lab", rater_col="who"
    )
    assert js[0].n_ratings == 30_000
    assert time.perf_counter() - start < 5.0


def test_jsonl_with_numbers_as_ids(tmp_path: Path) -> None:
    path = _jsonl(tmp_path, [json.dumps({"item_id": 7, "score": 3})])
    assert io.read_jsonl(path, scale=Scale.likert(5)).item_ids().tolist() == ["7"]


def test_label_columns_without_label_kind_say_it_is_required(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("item_id,stage,gpt4,human\na,s,yes,no\n")
    with pytest.raises(InputError, match="required with label columns") as err:
        io.read_csv(path, score_col="gpt4", label_cols=["human"], scale=Scale.verdict("no", "yes"))
    assert err.value.parameter == "label_kind"
