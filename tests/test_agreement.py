"""Tests for judgecal.agreement: textbook values, cross-checks with references, edge cases."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import judgecal
from judgecal import InputError
from judgecal.agreement import (
    AgreementReport,
    _mean_kappa,
    _pair_codes,
    agreement_report,
    fleiss_kappa,
    krippendorff_alpha,
)
from judgecal.records.core import Judgment, JudgmentSet, Rating, Scale

NAN = float("nan")
KRIPP_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]
FLEISS_WIKI = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def _alpha_bruteforce(data: list[list[float]], delta: str) -> float:
    """Krippendorff's alpha from its definition: pairable values, all ordered pairs within units."""
    units = [[v for v in col if not math.isnan(v)] for col in zip(*data, strict=True)]
    units = [u for u in units if len(u) >= 2]
    values = sorted({v for u in units for v in u})
    counts = {v: sum(u.count(v) for u in units) for v in values}
    n = sum(counts.values())

    def d(a: float, b: float) -> float:
        if delta == "nominal":
            return float(a != b)
        lo, hi = sorted((values.index(a), values.index(b)))
        between = sum(counts[values[g]] for g in range(lo, hi + 1))
        return (between - (counts[a] + counts[b]) / 2) ** 2

    do = (
        sum(sum(d(a, b) for a, b in itertools.permutations(u, 2)) / (len(u) - 1) for u in units) / n
    )
    de = sum(counts[a] * counts[b] * d(a, b) for a in values for b in values) / (n * (n - 1))
    return 1 - do / de


def test_krippendorff_published_example() -> None:
    assert krippendorff_alpha(KRIPP_2011) == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(KRIPP_2011, level="interval") == pytest.approx(0.849, abs=5e-4)
    assert krippendorff_alpha(KRIPP_2011, level="ordinal") == pytest.approx(
        _alpha_bruteforce(KRIPP_2011, "ordinal")
    )
    assert krippendorff_alpha(KRIPP_2011) == pytest.approx(_alpha_bruteforce(KRIPP_2011, "nominal"))


def test_fleiss_textbook_and_statsmodels() -> None:
    assert fleiss_kappa(FLEISS_WIKI) == pytest.approx(0.2099, abs=5e-4)
    inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")
    rng = np.random.default_rng(0)
    for _ in range(20):
        table = rng.multinomial(6, rng.dirichlet(np.ones(4)), size=30)
        assert fleiss_kappa(table) == pytest.approx(
            inter_rater.fleiss_kappa(table, method="fleiss"), abs=1e-10
        )


@given(st.lists(st.lists(st.integers(0, 2), min_size=2, max_size=2), min_size=2, max_size=30))
@settings(max_examples=60, deadline=None)
def test_alpha_binary_ordinal_equals_nominal_and_never_nan(rows: list[list[int]]) -> None:
    data = np.array(rows, dtype=float).T.tolist()
    a_nom = krippendorff_alpha(data)
    a_ord = krippendorff_alpha(data, level="ordinal")
    assert a_nom is not None and a_ord is not None and math.isfinite(a_nom) and math.isfinite(a_ord)
    if len({v for r in rows for v in r}) <= 2:
        assert a_ord == pytest.approx(a_nom)


def _binary_set(
    ratings: list[list[int]],
    scores: list[float],
    stage: str = "selection",
    raters: bool = True,
    scale: Scale | None = None,
) -> JudgmentSet:
    items = []
    for i, (rs, s) in enumerate(zip(ratings, scores, strict=True)):
        items.append(
            Judgment(
                item_id=str(i),
                stage=stage,
                score=s,
                label_kind="binary",
                ratings=tuple(
                    Rating(value=v, rater=f"r{k}" if raters else None) for k, v in enumerate(rs)
                ),
            )
        )
    return JudgmentSet(items, scale=scale or Scale.verdict("no", "yes"))


def test_cohen_matches_sklearn_for_named_raters() -> None:
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    n = 120
    truth = rng.random(n) < 0.4
    r = np.column_stack([np.where(rng.random(n) < 0.8, truth, ~truth) for _ in range(3)]).astype(
        int
    )
    j = np.where(rng.random(n) < 0.7, truth, ~truth).astype(float)
    rep = agreement_report(_binary_set(r.tolist(), j.tolist()), n_resamples=0)
    stg = rep.stages["selection"]
    hh, jh = stg.get("human-human"), stg.get("judge-human")
    assert hh is not None and jh is not None
    want = np.mean(
        [skm.cohen_kappa_score(r[:, a], r[:, b]) for a, b in itertools.combinations(range(3), 2)]
    )
    assert hh.cohen_kappa.value == pytest.approx(want)
    assert hh.weighted_kappa.value == pytest.approx(want)  # binary: weights change nothing
    assert hh.n_rater_pairs == 3 and hh.note == ""
    want_j = np.mean([skm.cohen_kappa_score(j.astype(int), r[:, a]) for a in range(3)])
    assert jh.cohen_kappa.value == pytest.approx(want_j)
    # exact agreement = Fleiss' P-bar
    agree = np.mean([(r[:, a] == r[:, b]).mean() for a, b in itertools.combinations(range(3), 2)])
    assert hh.exact.value == pytest.approx(agree)
    # base rates
    assert stg.base_rates["humans"][1] == pytest.approx(r.mean())
    assert stg.base_rates["judge"][1] == pytest.approx(j.mean())


def test_weighted_kappa_matches_sklearn_on_ordinal() -> None:
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(2)
    n = 150
    latent = rng.integers(1, 6, n)
    a = np.clip(latent + rng.integers(-1, 2, n), 1, 5)
    b = np.clip(latent + rng.integers(-1, 2, n), 1, 5)
    items = [
        Judgment(
            item_id=str(i),
            score=float(latent[i]),
            label_kind="ordinal",
            levels=5,
            ratings=(Rating(value=int(a[i]), rater="A"), Rating(value=int(b[i]), rater="B")),
        )
        for i in range(n)
    ]
    rep = agreement_report(JudgmentSet(items, scale=Scale.likert(5)), n_resamples=0)
    hh = rep.stages["default"].get("human-human")
    assert hh is not None
    assert hh.weighted_kappa.value == pytest.approx(
        skm.cohen_kappa_score(a, b, weights="quadratic")
    )
    assert hh.cohen_kappa.value == pytest.approx(skm.cohen_kappa_score(a, b))
    assert hh.alpha_ordinal.value == pytest.approx(
        _alpha_bruteforce([a.tolist(), b.tolist()], "ordinal")
    )


def test_bootstrap_table_path_matches_cohen_kappa() -> None:
    rng = np.random.default_rng(3)
    wide = rng.integers(-1, 4, size=(80, 3))
    pairs = [(0, 1), (0, 2), (1, 2)]
    codes = _pair_codes(wide, pairs, 4)
    ones = np.ones(80)
    for weights in (None, "quadratic"):
        direct = _mean_kappa(wide, pairs, codes, ones, 4, weights)
        doubled = _mean_kappa(wide, pairs, codes, 2 * ones, 4, weights)  # same data, table path
        assert doubled == pytest.approx(direct)


def test_edge_cases_perfect_one_class_one_rater() -> None:
    perfect = agreement_report(_binary_set([[1, 1], [0, 0], [1, 1]], [1, 0, 1]), n_resamples=20)
    for c in perfect.stages["selection"].comparisons:
        for name in (
            "exact",
            "cohen_kappa",
            "weighted_kappa",
            "fleiss_kappa",
            "alpha_nominal",
            "alpha_ordinal",
        ):
            assert getattr(c, name).value == 1.0, (c.comparison, name)
    one_class = agreement_report(_binary_set([[1, 1], [1, 1]], [1, 1]), n_resamples=20)
    for c in one_class.stages["selection"].comparisons:
        assert (
            c.cohen_kappa.value == 1.0
            and c.alpha_nominal.value == 1.0
            and c.fleiss_kappa.value == 1.0
        )
    one_rater = agreement_report(_binary_set([[1], [0], [1]], [1, 0, 0]), n_resamples=20)
    hh = one_rater.stages["selection"].get("human-human")
    assert hh is not None and hh.cohen_kappa.value is None and hh.alpha_nominal.value is None
    assert "one rating per item" in hh.note
    assert "n/a" in one_rater.to_markdown()
    jh = one_rater.stages["selection"].get("judge-human")
    assert jh is not None and jh.exact.value == pytest.approx(2 / 3)


@given(
    st.lists(st.lists(st.integers(0, 1), min_size=1, max_size=3), min_size=1, max_size=12),
    st.lists(st.integers(0, 1), min_size=12, max_size=12),
)
@settings(max_examples=25, deadline=None)
def test_report_never_nan(ratings: list[list[int]], judge: list[int]) -> None:
    rep = agreement_report(
        _binary_set(ratings, [float(v) for v in judge[: len(ratings)]]), n_resamples=10
    )
    for stg in rep.stages.values():
        for c in stg.comparisons:
            for s in (
                c.exact,
                c.cohen_kappa,
                c.weighted_kappa,
                c.fleiss_kappa,
                c.alpha_nominal,
                c.alpha_ordinal,
            ):
                for v in (s.value, s.low, s.high):
                    assert v is None or (math.isfinite(v) and -1.0 - 1e-9 <= v <= 1.0 + 1e-9)
    assert "nan" not in rep.to_markdown().lower()


def test_selection_extras_by_hand() -> None:
    ratings = [[1, 1, 0], [0, 0, 0], [0, 1, 0], [1, 1, 1], [0, 0, 1], [0, 0, 0]]
    judge = [1, 1, 1, 1, 0, 0]
    sel = agreement_report(_binary_set(ratings, judge), n_resamples=0).stages["selection"].selection
    assert sel is not None
    # human majority positive: items 0, 3; judge positive: 0, 1, 2, 3
    assert (sel.human_positive, sel.judge_positive, sel.n_items) == (2, 4, 6)
    assert sel.ratio == 2.0 and sel.jaccard == 0.5 and sel.f1 == pytest.approx(2 * 2 / 6)
    rep = agreement_report(_binary_set(ratings, judge), n_resamples=0)
    assert any("2.0x" in w for w in rep.warnings())
    none = (
        agreement_report(_binary_set([[0], [0]], [0, 0]), n_resamples=0)
        .stages["selection"]
        .selection
    )
    assert none is not None and none.ratio is None and none.jaccard == 1.0 and none.f1 == 1.0


def test_numeric_judge_with_cut_and_anonymous_raters() -> None:
    js = _binary_set(
        [[1, 0], [0, 0], [1, 1]], [0.9, 0.2, 0.6], raters=False, scale=Scale.numeric(0, 1)
    )
    rep = agreement_report(js, judge_cut=0.7, n_resamples=0)
    stg = rep.stages["selection"]
    assert stg.base_rates["judge"] == [pytest.approx(2 / 3), pytest.approx(1 / 3)]
    hh = stg.get("human-human")
    assert hh is not None and "anonymous" in hh.note


def test_pandalm_judges_and_judge_judge() -> None:
    skm = pytest.importorskip("sklearn.metrics")
    gpt, panda = (
        judgecal.load_pandalm(with_texts=False),
        judgecal.load_pandalm("pandalm7b", with_texts=False),
    )
    name = "llama-7b_opt-7b"
    rep = agreement_report(
        gpt.stage(name), judges={"pandalm7b": panda}, judge_name="gpt35", n_resamples=30
    )
    assert rep.judges == ["gpt35", "pandalm7b"] and list(rep.stages) == [name]
    stg = rep.stages[name]
    assert stg.categories == ["second", "tie", "first"]
    jj = stg.get("judge-judge")
    assert jj is not None and jj.n_rater_pairs == 1
    sub_g, sub_p = gpt.stage(name), panda.stage(name)
    code = {"second": 0, "tie": 1, "first": 2}
    ok = [i for i in range(len(sub_g)) if sub_g[i].score is not None and sub_p[i].score is not None]
    a = [int(sub_g[i].score) for i in ok]  # type: ignore[arg-type]
    b = [int(sub_p[i].score) for i in ok]  # type: ignore[arg-type]
    assert jj.cohen_kappa.value == pytest.approx(skm.cohen_kappa_score(a, b))
    jh = stg.get("judge-human (gpt35)")
    assert jh is not None
    ann = [[code[str(r.value)] for r in sub_g[i].ratings] for i in ok]
    want = np.mean([skm.cohen_kappa_score(a, [x[k] for x in ann]) for k in range(3)])
    assert jh.cohen_kappa.value == pytest.approx(want)
    for c in stg.comparisons:
        s = c.alpha_ordinal
        assert s.low is not None and s.high is not None and s.low <= s.value <= s.high  # type: ignore[operator]


def test_hanna_humans_agree_poorly_and_rendering() -> None:
    rep = agreement_report(
        judgecal.load_hanna(criteria=("Coherence", "Complexity")), n_resamples=20
    )
    assert isinstance(rep, AgreementReport)
    for stg in rep.stages.values():
        hh = stg.get("human-human")
        assert (
            hh is not None and hh.alpha_ordinal.value is not None and hh.alpha_ordinal.value < 0.4
        )
        assert hh.n_rater_pairs == 3
    assert sum("humans agree poorly" in w for w in rep.warnings()) == 2
    md, page = rep.to_markdown(), rep.to_html()
    assert md.count("| human-human |") == 2 and "<table>" in page and page.count("<tr>") == 2 * 3
    again = AgreementReport.model_validate_json(rep.model_dump_json())
    assert again == rep


def test_html_escapes_stage_names() -> None:
    rep = agreement_report(_binary_set([[1, 0], [0, 0]], [1, 0], stage="<b>x</b>"), n_resamples=0)
    assert "<b>x</b>" not in rep.to_html() and "&lt;b&gt;" in rep.to_html()


def test_bad_input() -> None:
    js = _binary_set([[1, 0], [0, 0]], [1, 0])
    with pytest.raises(InputError, match="'n_resamples'"):
        agreement_report(js, n_resamples=5)
    with pytest.raises(InputError, match="'level'"):
        agreement_report(js, level=1.5)
    with pytest.raises(judgecal.InputTypeError):
        agreement_report([1, 2])  # type: ignore[arg-type]
    with pytest.raises(InputError, match="judges"):
        agreement_report(js, judges={"other": _binary_set([[1]], [1])})
    with pytest.raises(InputError, match="'level'"):
        krippendorff_alpha([[1, 2]], level="ratio")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="'counts'"):
        fleiss_kappa([[0.5, 1]])
    unl = JudgmentSet([Judgment(item_id="a", score=1.0)], scale=Scale.verdict("no", "yes"))
    with pytest.raises(InputError, match="no item has a rating"):
        agreement_report(unl)


def test_cli_agree_and_estimate(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    from judgecal.cli.app import main

    assert main(["agree", "--n-boot", "0"]) == 0
    out = capsys.readouterr().out
    assert out.count("| human-human |") == 6 and "humans agree poorly" in out
    page = Path(str(tmp_path)) / "r.html"
    assert (
        main(
            [
                "agree",
                "--dataset",
                "pandalm",
                "--also",
                "pandalm7b",
                "--n-boot",
                "0",
                "--format",
                "html",
                "--out",
                str(page),
            ]
        )
        == 0
    )
    assert "judge-judge" in page.read_text()
    assert main(["estimate", "--ties", "separate", "--format", "json"]) == 0
    res = judgecal.RateEstimate.model_validate_json(capsys.readouterr().out)
    assert res.n_labelled == 100 and res.tie_rate is not None
    assert main(["agree", "missing.csv"]) == 2
    assert "missing.csv" in capsys.readouterr().err


def test_n_boot_is_now_n_resamples() -> None:
    """Issue 10: the resample count is ``n_resamples`` everywhere; 0.1's ``n_boot`` still works."""
    js = _binary_set([[1, 0], [0, 0], [1, 1]], [1, 0, 1])
    with pytest.warns(DeprecationWarning, match="n_resamples"):
        old = agreement_report(js, n_boot=20)
    new = agreement_report(js, n_resamples=20)
    assert old == new and new.n_resamples == 20
    with pytest.warns(DeprecationWarning, match="n_resamples"):
        assert new.n_boot == 20
    with pytest.warns(DeprecationWarning), pytest.raises(InputError, match="'n_boot'"):
        agreement_report(js, n_boot=5)
    # a report saved by 0.1 (field n_boot) still loads
    saved = new.model_dump(mode="json")
    saved["n_boot"] = saved.pop("n_resamples")
    assert AgreementReport.model_validate(saved) == new


def test_missing_markers_are_not_categories() -> None:
    """Issue 16: ``pd.NA`` became a Krippendorff category; every missing marker is now missing."""
    pd = pytest.importorskip("pandas")
    with_na = np.array([[1, 2, pd.NA], [1, 2, 2]], dtype=object)
    assert krippendorff_alpha(with_na) == krippendorff_alpha([[1, 2, None], [1, 2, 2]]) == 1.0
    with pytest.raises(InputError, match="inf"):
        krippendorff_alpha([[1.0, float("inf")], [1.0, 2.0]])
    with pytest.raises(InputError, match="only missing"):
        krippendorff_alpha([[pd.NA, None], [float("nan"), pd.NaT]])


def test_every_judge_gets_its_selection_line_and_warning() -> None:
    """0.1 printed "judge marks N positive" for the first judge only."""
    ratings = [[0, 0], [0, 1], [0, 0], [1, 1], [0, 0], [0, 0]]
    main = _binary_set(ratings, [0.0, 1.0, 0.0, 1.0, 0.0, 0.0])
    eager = _binary_set(ratings, [1.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    rep = agreement_report(main, judges={"eager": eager}, judge_name="calm", n_resamples=0)
    st = rep.stages["selection"]
    assert st.selections["eager"].judge_positive == 5 and st.selections["calm"].judge_positive == 2
    assert st.yes_rates["eager"] == pytest.approx(5 / 6) and st.yes_rates[
        "human r1"
    ] == pytest.approx(1 / 3)
    text = rep.to_markdown()
    assert "Selection: eager marks 5 of 6 positive, human majority 1 (5.00x)" in text
    assert "Selection: calm marks 2 of 6 positive" in text
    assert any(w.startswith("selection: eager marks 5.0x") for w in rep.warnings())
    assert "eager" in rep.to_html() and "Says yes:" in rep.to_html()
