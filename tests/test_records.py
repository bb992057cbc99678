from __future__ import annotations

import json

import numpy as np
import pytest

from judgecal import (
    STAGES,
    InputError,
    Judgment,
    JudgmentSet,
    Rating,
    RecordError,
    Scale,
    from_dataframe,
    load_hanna,
    load_pandalm,
    read_csv,
    read_jsonl,
)


def test_stages_named() -> None:
    assert STAGES == ("extraction", "selection", "generation")


def test_scale_checks() -> None:
    s = Scale.numeric(0, 10)
    assert s.check(7) == 7.0
    for bad in (11, -1, float("nan"), "7", True):
        with pytest.raises(InputError):
            s.check(bad)
    v = Scale.verdict("second", "tie", "first")
    assert v.check("FIRST") == 2.0 and v.check(1) == 1.0
    with pytest.raises(InputError, match="verdicts"):
        v.check("both")
    with pytest.raises(RecordError, match="field 'high'"):
        Scale(kind="numeric", low=5, high=1)
    with pytest.raises(InputError, match="levels"):
        Scale.likert(1)


def test_judgment_validation() -> None:
    with pytest.raises(RecordError, match="binary rating"):
        Judgment(item_id="a", score=1, label_kind="binary", ratings=[Rating(value=3)])
    with pytest.raises(RecordError, match="ordinal"):
        Judgment(item_id="a", score=1, label_kind="ordinal", levels=5, ratings=[Rating(value=6)])
    with pytest.raises(RecordError, match="pairwise"):
        Judgment(item_id="a", score=1, label_kind="pairwise", ratings=[Rating(value="left")])
    with pytest.raises(RecordError, match="judge_status"):
        Judgment(item_id="a", score=None)
    with pytest.raises(RecordError, match="finite"):
        Judgment(item_id="a", score=float("nan"))
    with pytest.raises(RecordError, match="field 'colour' must be one of the fields"):
        Judgment(item_id="a", score=1.0, colour="red")  # type: ignore[call-arg]


def _set(kind: str, ratings: list[list[object]], **kw: object) -> JudgmentSet:
    items = [
        Judgment(
            item_id=str(i), score=3.0, label_kind=kind, ratings=[Rating(value=v) for v in r], **kw
        )  # type: ignore[arg-type]
        for i, r in enumerate(ratings)
    ]
    return JudgmentSet(items, scale=Scale.likert(5))


def test_targets_are_explicit() -> None:
    b = _set("binary", [[1, 1, 0], [0, 1], [1]])
    y, w = b.targets(how="soft")
    np.testing.assert_allclose(y, [2 / 3, 0.5, 1.0])
    np.testing.assert_allclose(w, [3, 2, 1])
    y, w = b.targets(how="majority")
    np.testing.assert_allclose(y, [1.0, 0.5, 1.0])
    np.testing.assert_allclose(w, [1, 1, 1])
    o = _set("ordinal", [[4, 5, 2], [1, 2, 3]], levels=5)
    with pytest.raises(InputError, match="threshold"):
        o.targets()
    y, _ = o.targets(threshold=4)
    np.testing.assert_allclose(y, [2 / 3, 0.0])
    y, _ = o.targets(how="mean", threshold=3)
    np.testing.assert_allclose(y, [1.0, 0.0])
    p = _set("pairwise", [["first", "tie", "second"], ["tie", "tie"]])
    y, w = p.targets(ties="half")
    np.testing.assert_allclose(y, [0.5, 0.5])
    np.testing.assert_allclose(w, [3, 2])
    y, w = p.targets(ties="drop")
    np.testing.assert_allclose(y, [0.5, 0.5])
    np.testing.assert_allclose(w, [2, 0])  # all-tie item kept with weight 0, not removed
    y, _ = p.targets(ties="loss")
    np.testing.assert_allclose(y, [1 / 3, 0.0])
    with pytest.warns(DeprecationWarning):
        y, _ = p.targets(ties="negative")  # type: ignore[arg-type]
    np.testing.assert_allclose(y, [1 / 3, 0.0])


def test_set_selection_and_errors() -> None:
    js = JudgmentSet(
        [
            Judgment(item_id="a", stage="s", score=2.0),
            Judgment(item_id="b", stage="t", score=None, judge_status="error"),
        ],
        scale=Scale.likert(5),
    )
    with pytest.raises(InputError, match=r"call \.scored"):
        js.scores()
    assert js.scored().scores().tolist() == [2.0]
    assert js.status_counts() == {"ok": 1, "error": 1}
    assert len(js.take([1])) == 1 and len(js.take(np.array([True, False]))) == 1
    with pytest.raises(InputError, match="labelled"):
        js.targets()
    with pytest.raises(InputError, match="scale"):
        JudgmentSet([Judgment(item_id="a", score=9.0)], scale=Scale.likert(5))


CSV = """item_id,stage,score,r1,r2
a,selection,4,1,0
b,generation,2,0,
c,selection,5,1,1
"""


def test_read_csv_wide(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "d.csv"
    p.write_text(CSV)
    js = read_csv(
        p, scale=Scale.likert(5), stage_col="stage", label_kind="binary", label_cols=["r1", "r2"]
    )
    assert len(js) == 3 and js.stage_names() == ["selection", "generation"]
    assert [j.n_ratings for j in js] == [2, 1, 2]
    assert js[0].ratings[1].rater == "r2"


def test_read_csv_bad_rows_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "d.csv"
    p.write_text(CSV + "d,selection,7,1,1\ne,unknown,3,1,1\nf,selection,3,2,1\n")
    kw = dict(
        scale=Scale.likert(5), stage_col="stage", label_kind="binary", label_cols=["r1", "r2"]
    )
    with pytest.raises(
        RecordError, match=r"Row 4: field 'score' must be a finite number in \[1, 5\]. Got '7'"
    ):
        read_csv(p, **kw)
    js = read_csv(p, on_error="report", allowed_stages=["selection", "generation"], **kw)
    assert len(js) == 3
    assert [(q.row, q.field) for q in js.problems] == [(4, "score"), (5, "stage"), (6, "r1")]


def test_read_jsonl_long_format_merges_raters(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows = [
        {"id": "x", "s": "first", "who": "ann", "lab": 1},
        {"id": "x", "s": "first", "who": "bob", "lab": 0},
        {"id": "y", "s": "tie", "who": "ann", "lab": 2},
    ]
    p = tmp_path / "d.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows))
    js = read_jsonl(
        p,
        scale=Scale.verdict("second", "tie", "first"),
        item_col="id",
        score_col="s",
        label_kind="pairwise",
        label_col="lab",
        rater_col="who",
        pairwise_codes={1: "first", 2: "second", 0: "tie"},
    )
    assert len(js) == 2
    assert [(r.value, r.rater) for r in js[0].ratings] == [("first", "ann"), ("tie", "bob")]
    assert js.scores().tolist() == [2.0, 1.0]
    p.write_text(json.dumps(rows[0]) + "\n" + json.dumps({**rows[1], "s": "tie"}))
    with pytest.raises(RecordError, match="Row 2: field 'score'"):
        read_jsonl(
            p,
            scale=Scale.verdict("second", "tie", "first"),
            item_col="id",
            score_col="s",
            label_kind="pairwise",
            label_col="lab",
            rater_col="who",
            pairwise_codes={1: "first", 2: "second", 0: "tie"},
        )
    p.write_text("{not json\n")
    with pytest.raises(RecordError, match="Row 1"):
        read_jsonl(p, scale=Scale.likert(5))


def test_from_dataframe_nan_score_is_a_missing_judge_output() -> None:
    # issue 11: a blank judge cell is data (status 'missing', counted), not a stop
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"item_id": ["a", "b"], "score": [3.0, np.nan], "h": [1, 0]})
    js = from_dataframe(df, scale=Scale.likert(5), label_kind="binary", label_cols=["h"])
    assert js.status_counts() == {"ok": 1, "missing": 1}
    assert js[1].score is None and js.scored().scores().tolist() == [3.0]
    df = pd.DataFrame({"item_id": ["a", "b"], "score": [3.0, np.inf], "h": [1, 0]})
    with pytest.raises(RecordError, match="Row 2: field 'score'"):  # a number off the scale
        from_dataframe(df, scale=Scale.likert(5), label_kind="binary", label_cols=["h"])
    with pytest.raises(InputError, match="DataFrame"):
        from_dataframe([1, 2], scale=Scale.likert(5))


def test_bundled_datasets() -> None:
    h = load_hanna()
    assert len(h) == 6336 and h.label_kind == "ordinal" and h.levels == 5
    assert all(j.n_ratings == 3 for j in h)
    assert h.status_counts()["unparseable"] == 3
    p = load_pandalm("pandalm7b")
    assert len(p) == 999 and p.label_kind == "pairwise" and p.status_counts() == {"ok": 999}
    assert set(p[0].texts) == {"instruction", "input", "response1", "response2"}
    # the published human-majority distribution: resp2 472, resp1 422, tie 105
    y, _ = p.targets(how="majority", ties="half")
    assert (
        int((y == 1).sum()) == 422 and int((y == 0).sum()) == 472 and int((y == 0.5).sum()) == 105
    )
    with pytest.raises(InputError, match="judge"):
        load_hanna("GPT-9")
