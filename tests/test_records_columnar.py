"""Columnar records (issue 13) and the loading parts of issue 11.

The loaders' fast path (whole columns through pyarrow) and the row path must
build the same records; problems keep their row numbers; blank and unparseable
judge cells are statuses; human label words and averaged scores are declared
once; several named judges per item form a panel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import judgecal
from judgecal import Judgment, JudgmentSet, Rating, RecordError, Scale
from judgecal.records import _arrow, io

LIKERT = dict(scale=Scale.likert(5), stage_col="stage", label_kind="ordinal", levels=5)


def _write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _random_csv(tmp_path: Path, n: int = 300, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    lines = ["item_id,stage,score,r1,r2,r3,length,system,prompt"]
    for i in range(n):
        ratings = [str(v) if rng.random() > 0.2 else "" for v in rng.integers(1, 6, 3)]
        stage = ("extraction", "selection", "generation")[int(rng.integers(0, 3))]
        score = "" if rng.random() < 0.05 else f"{rng.uniform(1, 5):.3f}"
        system = f"sys{int(rng.integers(0, 4))}"
        lines.append(f"it{i},{stage},{score},{','.join(ratings)},{i % 17},{system},text {i}")
    return _write(tmp_path, "\n".join(lines) + "\n")


def _row_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(io, "pyarrow_or_none", lambda: None)


def _same(a: JudgmentSet, b: JudgmentSet) -> None:
    assert len(a) == len(b)
    assert list(a) == list(b)
    assert a.stage_names() == b.stage_names() and a.label_kind == b.label_kind
    assert a.levels == b.levels and a.judges == b.judges
    assert a.status_counts() == b.status_counts()
    assert a.item_ids().tolist() == b.item_ids().tolist()
    assert a.stages().tolist() == b.stages().tolist()
    for x, y in zip(a.ratings_long(), b.ratings_long(), strict=True):
        assert x.tolist() == y.tolist()


OPTIONS: dict[str, Any] = dict(
    **LIKERT,
    label_cols=["r1", "r2", "r3"],
    feature_cols=["length"],
    meta_cols=["system"],
    text_cols=["prompt"],
)


def test_fast_and_row_paths_build_the_same_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _random_csv(tmp_path)
    fast = judgecal.read_csv(path, **OPTIONS)
    assert not isinstance(fast._store.ids, np.ndarray)  # the arrow path was taken
    with monkeypatch.context() as patch:
        _row_path(patch)
        slow = judgecal.read_csv(path, **OPTIONS)
    _same(fast, slow)
    assert fast.status_counts()["missing"] > 0
    y_fast, w_fast = fast.scored().labelled().targets(threshold=4)
    y_slow, w_slow = slow.scored().labelled().targets(threshold=4)
    assert y_fast.tolist() == y_slow.tolist() and w_fast.tolist() == w_slow.tolist()


def test_a_clean_file_makes_no_judgment_objects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _random_csv(tmp_path, n=50)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a Judgment was built while loading")

    monkeypatch.setattr(Judgment, "__init__", refuse)
    js = judgecal.read_csv(path, **OPTIONS)
    assert len(js) == 50 and js.scored().scores().size == js.status_counts()["ok"]


def test_frames_and_parquet_equal_the_csv(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    path = _random_csv(tmp_path, n=120, seed=1)
    from_csv = judgecal.read_csv(path, **OPTIONS)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "d.parquet")
    for loaded in (
        judgecal.from_dataframe(frame, **OPTIONS),
        judgecal.from_dataframe(pl.from_pandas(frame), **OPTIONS),
        judgecal.read_parquet(tmp_path / "d.parquet", **OPTIONS),
    ):
        assert not isinstance(loaded._store.ids, np.ndarray)  # the arrow path was taken
        _same(from_csv, loaded)


def test_every_problem_keeps_its_row_number(tmp_path: Path) -> None:
    text = "item_id,stage,score,r1\na,s,4,5\nb,s,9,5\nc,s,3,7\na,s,2,1\n"
    path = _write(tmp_path, text)
    js = judgecal.read_csv(path, **LIKERT, label_cols=["r1"], on_error="report")
    assert [(p.row, p.field) for p in js.problems] == [(2, "score"), (3, "r1"), (4, "item_id")]
    with pytest.raises(RecordError, match=r"Row 2: field 'score' must be a finite number"):
        judgecal.read_csv(path, **LIKERT, label_cols=["r1"])


def test_a_blank_or_unparseable_verdict_is_a_status_not_a_stop(tmp_path: Path) -> None:
    # issue 11, point 3: 0.1 stopped with "Row 2: field 'gpt4' must be one of the verdicts"
    lines = ["id,gpt4,human"] + [f"i{k},{'yes' if k % 2 else 'no'},1" for k in range(40)]
    lines[2] = "i1,,1"
    lines[5] = "i4,maybe,0"
    path = _write(tmp_path, "\n".join(lines) + "\n")
    for loader in (judgecal.read_csv,):
        js = loader(
            path,
            scale=Scale.verdict("no", "yes"),
            item_col="id",
            score_col="gpt4",
            label_kind="binary",
            label_cols="human",
        )
        assert js.status_counts() == {"ok": 38, "missing": 1, "unparseable": 1}
        assert js[1].judge_status == "missing" and js[4].judge_output == "maybe"
        assert len(js.scored()) == 38


def test_a_blank_numeric_cell_is_missing_on_both_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, "item_id,score\na,4\nb,\nc, \nd,n/a\n")
    js = judgecal.read_csv(path, scale=Scale.likert(5))
    assert [j.judge_status for j in js] == ["ok", "missing", "missing", "unparseable"]
    _row_path(monkeypatch)
    assert list(judgecal.read_csv(path, scale=Scale.likert(5))) == list(js)


@pytest.mark.parametrize(
    ("kind", "labels", "cells", "expected"),
    [
        ("binary", {"yes": 1, "no": 0}, ["yes", "No", ""], [1.0, 0.0, None]),
        ("pairwise", {"A": "first", "B": "second", "tie": "tie"}, ["A", "B", "tie"],
         [1.0, 0.0, 0.5]),
        ("pairwise", None, ["first", "second", "tie"], [1.0, 0.0, 0.5]),
        ("ordinal", {"bad": 1, "ok": 3, "great": 5}, ["bad", "great", "4"], [0.0, 1.0, 1.0]),
    ],
)  # fmt: skip
def test_label_words_are_declared_once(
    tmp_path: Path, kind: str, labels: Any, cells: list[str], expected: list[Any]
) -> None:
    rows = "".join(f"i{k},0.5,{cell}\n" for k, cell in enumerate(cells))
    path = _write(tmp_path, "item_id,score,human\n" + rows)
    extra = {"levels": 5} if kind == "ordinal" else {}
    js = judgecal.read_csv(
        path, scale=Scale.numeric(0, 1), label_kind=kind, label_cols="human", labels=labels,
        **extra,
    )  # fmt: skip
    labelled = js.labelled()
    want = [e for e in expected if e is not None]
    threshold = 4 if kind == "ordinal" else None
    assert labelled.targets(threshold=threshold)[0].tolist() == want


def test_undeclared_words_are_problems_naming_the_declared_ones(tmp_path: Path) -> None:
    path = _write(tmp_path, "item_id,score,human\na,0.5,yes\nb,0.5,perhaps\n")
    with pytest.raises(RecordError, match="Row 2: field 'human'"):
        judgecal.read_csv(path, scale=Scale.numeric(0, 1), label_kind="binary",
                          label_cols="human", labels={"yes": 1, "no": 0})  # fmt: skip
    with pytest.raises(judgecal.InputError, match="labels"):
        judgecal.read_csv(path, scale=Scale.numeric(0, 1), label_kind="binary",
                          label_cols="human", labels={"yes": 2})  # fmt: skip


def test_averaged_human_scores_with_a_threshold(tmp_path: Path) -> None:
    path = _write(tmp_path, "item_id,score,human_mean\na,4,2.2\nb,5,3.67\nc,2,3.5\n")
    js = judgecal.read_csv(
        path, scale=Scale.likert(5), label_kind="binary", label_cols="human_mean",
        label_threshold=3.5,
    )  # fmt: skip
    assert js.targets()[0].tolist() == [0.0, 1.0, 1.0]
    with pytest.raises(judgecal.InputError, match="label_threshold"):
        judgecal.read_csv(path, scale=Scale.likert(5), label_kind="ordinal", levels=5,
                          label_cols="human_mean", label_threshold=3.5)  # fmt: skip


PANEL = "item_id,gpt4_col,claude_col,human\na,yes,no,1\nb,,yes,0\nc,no,maybe,0\nd,yes,yes,1\n"


@pytest.mark.parametrize("row_path", [False, True])
def test_a_panel_of_named_judges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, row_path: bool
) -> None:
    if row_path:
        _row_path(monkeypatch)
    path = _write(tmp_path, PANEL)
    js = judgecal.read_csv(
        path, scale=Scale.verdict("no", "yes"), label_kind="binary", label_cols="human",
        judges={"gpt4": "gpt4_col", "claude": "claude_col"},
    )  # fmt: skip
    assert js.judges == ("gpt4", "claude")
    assert js.status_counts() == {"ok": 3, "missing": 1}  # the main judge: gpt4
    assert js.status_counts(judge="claude") == {"ok": 3, "unparseable": 1}
    np.testing.assert_array_equal(js.panel_scores(), [[1, 0], [np.nan, 1], [0, np.nan], [1, 1]])
    assert js.scored(judge="claude").scores(judge="claude").tolist() == [0.0, 1.0, 1.0]
    assert js.take([3, 0]).panel_scores().tolist() == [[1.0, 1.0], [1.0, 0.0]]
    with pytest.raises(judgecal.InputError, match="judge"):
        js.scores(judge="gpt5")
    with pytest.raises(judgecal.InputError, match="scored"):
        js.scores(judge="claude")


def test_score_cols_name_the_judges_by_their_columns(tmp_path: Path) -> None:
    path = _write(tmp_path, "item_id,a,b\ni,1,2\nj,3,\n")
    js = judgecal.read_csv(path, scale=Scale.likert(5), score_cols=["a", "b"])
    assert js.judges == ("a", "b") and js.scores().tolist() == [1.0, 3.0]
    assert js.status_counts(judge="b") == {"ok": 1, "missing": 1}
    with pytest.raises(judgecal.InputError, match="panel_scores"):
        judgecal.read_csv(path, scale=Scale.likert(5), score_col="a").panel_scores()


def test_views_and_selections_of_a_columnar_set() -> None:
    items = [
        Judgment(item_id=f"i{k}", stage=("s1", "s2")[k % 2], score=float(k % 5 + 1),
                 label_kind="pairwise",
                 ratings=[Rating(value="first", rater="r1"), Rating(value="tie")][: k % 3],
                 features={"len": float(k)}, meta={"g": str(k % 3)})
        for k in range(9)
    ]  # fmt: skip
    js = JudgmentSet(items, scale=Scale.likert(5))
    assert list(js) == items and js[-1] == items[-1]
    picked = js.take([5, 1, 1, -1])
    assert list(picked) == [items[5], items[1], items[1], items[8]]
    assert picked.stage_names() == ["s2", "s1"]
    assert list(js[1::3]) == items[1::3] and list(js.stage("s1")) == items[0::2]
    assert js.labelled().unlabelled().label_kind is None
    with pytest.raises(IndexError):
        js[9]


BOTH_ORDERS = (
    "pair,shown,swapped,human\n"
    "p1,first,second,first\n"  # consistent: first both times
    "p2,first,first,second\n"  # inconsistent: the judge follows the position
    "p3,tie,tie,tie\n"
    "p4,,second,first\n"  # the shown order failed
)


@pytest.mark.parametrize("row_path", [False, True])
@pytest.mark.parametrize(
    ("policy", "statuses", "scores"),
    [
        ("tie", ["ok", "ok", "ok", "missing"], [2.0, 1.0, 1.0]),
        ("first", ["ok", "ok", "ok", "missing"], [2.0, 2.0, 1.0]),
        ("drop", ["ok", "unparseable", "ok", "missing"], [2.0, 1.0]),
    ],
)
def test_pairs_judged_in_both_orders_make_one_record(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    row_path: bool,
    policy: str,
    statuses: list[str],
    scores: list[float],
) -> None:
    if row_path:
        _row_path(monkeypatch)
    path = _write(tmp_path, BOTH_ORDERS)
    js = judgecal.read_csv(
        path, scale=Scale.verdict("second", "tie", "first"), item_col="pair",
        score_col="shown", swapped_col="swapped", order_policy=policy,
        label_kind="pairwise", label_cols="human",
    )  # fmt: skip
    assert [j.judge_status for j in js] == statuses
    assert js.scored().scores().tolist() == scores
    with pytest.raises(judgecal.InputError, match="order_policy"):
        judgecal.read_csv(
            path,
            scale=Scale.verdict("second", "tie", "first"),
            item_col="pair",
            score_col="shown",
            swapped_col="swapped",
            order_policy="flip",
        )


def test_repeated_item_ids_are_found_by_the_array_check() -> None:
    pa = pytest.importorskip("pyarrow")
    rng = np.random.default_rng(7)
    for _ in range(300):
        n, longest = int(rng.integers(1, 40)), int(rng.integers(1, 24))
        letters = list("abé\u4e00x")
        words = ["".join(rng.choice(letters, int(rng.integers(1, longest + 1)))) for _ in range(n)]
        array = pa.array(words).slice(int(rng.integers(0, 2)))
        words = array.to_pylist()
        assert _arrow._all_distinct(array) == (len(set(words)) == len(words)), words


def test_jsonl_fast_and_row_paths_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    rng = np.random.default_rng(3)
    lines = []
    for i in range(80):
        row: dict[str, Any] = {
            "item_id": i,
            "stage": f"s{i % 3}",
            "score": float(rng.integers(1, 6)),
        }
        row |= {"r1": int(rng.integers(1, 6)), "r2": str(int(rng.integers(1, 6))), "extra": [i]}
        lines.append(json.dumps(row))
    path = _write(tmp_path, "\n".join(lines) + "\n", "data.jsonl")
    options = dict(**LIKERT, label_cols=["r1", "r2"])
    # JSON lines are read line by line: pyarrow's JSON reader crashed the process
    # (a segmentation fault) on one of tests/test_fuzz.py's malformed files
    fast = judgecal.read_jsonl(path, **options)
    _row_path(monkeypatch)
    _same(fast, judgecal.read_jsonl(path, **options))
    gappy = _write(tmp_path, lines[0] + "\n" + '{"item_id": "x", "stage": "s1"}\n', "gap.jsonl")
    with pytest.raises(RecordError, match="Row 2: field 'score'"):  # absent, not blank
        judgecal.read_jsonl(gappy, **options)


@pytest.mark.parametrize(
    "cells",
    [
        ["3", "", "5"],  # integers and a blank: pyarrow reads them as int8
        ["3.0", "4", "2"],  # not an int8 cell: the column is read again as text
        [" 4", "+2", "03"],  # padded or signed: text, then the row path decides
        ["NA", "4", "2"],  # a word is no blank label
        ["200", "4", "2"],  # beyond int8, and beyond the levels
        ["null", "", "N/A"],
    ],
)
def test_integer_labels_mean_what_they_mean_on_the_row_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cells: list[str]
) -> None:
    rows = [f"it{i},extraction,{i % 5 + 1},{cell},{i % 5 + 1}" for i, cell in enumerate(cells)]
    path = _write(tmp_path, "item_id,stage,score,r1,r2\n" + "\n".join(rows) + "\n")
    options = dict(**LIKERT, label_cols=["r1", "r2"], on_error="report")
    fast = judgecal.read_csv(path, **options)
    with monkeypatch.context() as patch:
        _row_path(patch)
        slow = judgecal.read_csv(path, **options)
    _same(fast, slow)
    assert [str(p) for p in fast.problems] == [str(p) for p in slow.problems]


def test_integer_labels_are_read_as_numbers_by_pyarrow(tmp_path: Path) -> None:
    path = _random_csv(tmp_path)
    cols = io._resolve_columns({k: v for k, v in OPTIONS.items() if k != "scale"}, "test")
    pyarrow = pytest.importorskip("pyarrow")
    assert io._numeric_label_types(pyarrow, cols) == dict.fromkeys(
        ["r1", "r2", "r3"], pyarrow.int8()
    )
    likert = {k: v for k, v in LIKERT.items() if k != "scale"}
    declared = io._resolve_columns({**likert, "label_cols": ["r1"], "labels": {"good": 5}}, "test")
    assert io._numeric_label_types(pyarrow, declared) == {}
    assert not isinstance(judgecal.read_csv(path, **OPTIONS)._store.ids, np.ndarray)


def test_ids_checked_in_a_second_thread_give_the_same_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_arrow, "_THREADED_ROWS", 1)  # as for a large table
    path = _random_csv(tmp_path)
    fast = judgecal.read_csv(path, **OPTIONS)
    assert not isinstance(fast._store.ids, np.ndarray)  # the arrow path was taken
    with monkeypatch.context() as patch:
        _row_path(patch)
        _same(fast, judgecal.read_csv(path, **OPTIONS))
    text = path.read_text(encoding="utf-8").replace("it7,", "it3,")
    repeated = _write(tmp_path, text, "repeated.csv")
    with pytest.raises(RecordError, match=r"Row 8: field 'item_id'.*'it3'"):
        judgecal.read_csv(repeated, **OPTIONS)
