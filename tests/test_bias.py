"""Tests of judgecal.bias: probes, human gaps, regressions, reports, feature-adjusted calibration.

Statistical claims are checked on simulated judges with a known bias, over
many seeded runs.
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from functools import partial
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from judgecal import (
    BiasReport,
    CalibratedJudge,
    FeatureAdjustedCalibrator,
    InputError,
    InputTypeError,
    IsotonicCalibrator,
    LogisticCalibrator,
    NotFittedError,
    Scale,
    SmallSampleWarning,
    feature_regression,
    human_judge_gap,
    load_pandalm,
    preference_gap,
    probe_bias,
)
from judgecal.bias.ablations import (
    AblationRecord,
    insert_mention,
    remove_mentions,
    shorten,
    swap_answers,
)
from judgecal.bias.probes import paired_change
from judgecal.bias.report import BiasEffect
from judgecal.persist import dumps, loads
from judgecal.records.core import Judgment, JudgmentSet, Rating

SCALE = Scale.numeric(-100, 100)
_Q = re.compile(r"q=(-?\d+\.\d+)")


def make_judge(
    delta: float, rng: np.random.Generator, *, noise: float = 1.0, fail: float = 0.0
) -> Any:
    """A stochastic judge: quality written in the text + delta when 'vegan' is mentioned + noise.

    A share ``fail`` of calls raises or answers with no score.
    """

    def judge(text: str) -> str:
        u = rng.random()
        if u < fail / 2:
            raise RuntimeError("judge API down")
        if u < fail:
            return "I cannot rate this."
        m = _Q.search(text)
        assert m is not None
        q = float(m.group(1))
        bonus = delta if "vegan" in text.lower() else 0.0
        return f"Score: {q + bonus + rng.normal(0, noise):.4f}"

    return judge


def make_texts(rng: np.random.Generator, n: int, *, mention: bool = False) -> list[str]:
    q = rng.normal(5, 1, n)
    extra = " As a vegan, you will like it." if mention else ""
    return [f"Answer {i} q={qi:.4f}. It has tips.{extra}" for i, qi in enumerate(q)]


# -- the probe recovers a known bias ---------------------------------------------------


@pytest.mark.parametrize(
    ("ablation", "delta", "sign", "runs"),
    [(insert_mention, 0.7, 1.0, 200), (remove_mentions, 0.7, -1.0, 100)],
)
def test_probe_interval_covers_known_mention_bonus(
    ablation: Any, delta: float, sign: float, runs: int
) -> None:
    covered, flagged, failed = 0, 0, 0
    for r in range(runs):
        rng = np.random.default_rng(r)
        texts = make_texts(rng, 60, mention=sign < 0)
        rep = probe_bias(
            make_judge(delta, rng, fail=0.06),
            texts,
            ablation,
            attributes="vegan",
            scale=SCALE,
            n_resamples=1000,
            n_permutations=999,
            seed=r,
        )
        e = rep.effects[0]
        assert e.n + e.n_failed == 60 and e.n_unchanged == 0
        assert e.low is not None and e.high is not None
        covered += e.low <= sign * delta <= e.high
        flagged += e.flagged(0.05)
        failed += e.n_failed
    # nominal 90% (the default level): the expanded percentile bootstrap holds it over 60 pairs
    # (90.1% of 900 runs; the plain percentile interval gave 87.8%)
    assert covered / runs >= 0.87
    assert flagged / runs >= 0.85  # power at n=60, delta = 0.7 noise sd
    assert failed > 0  # failures happened, were counted and left out


def test_probe_false_positive_rate_of_unbiased_judge() -> None:
    runs, alpha, flagged = 300, 0.05, 0
    for r in range(runs):
        rng = np.random.default_rng(10_000 + r)
        rep = probe_bias(
            make_judge(0.0, rng, fail=0.05),
            make_texts(rng, 40),
            insert_mention,
            attributes="vegan",
            scale=SCALE,
            alpha=alpha,
            n_resamples=200,
            n_permutations=999,
            seed=r,
        )
        flagged += rep.effects[0].flagged(alpha)
    assert flagged / runs <= alpha + 0.03


def test_failures_are_counted_never_scored() -> None:
    texts = [f"Answer {i} q=5.0000. Fine." for i in range(20)]

    def judge(text: str) -> Any:
        if "vegan" in text and text.startswith("Taking") and "Answer 1 " in text:
            raise ValueError("boom")  # variant of item 1 errors
        if "Answer 2 " in text and "vegan" not in text:
            return "no idea"  # original of item 2 unparseable
        return 7.0 if "vegan" in text else 5.0

    rep = probe_bias(judge, texts, insert_mention, attributes="vegan", scale=Scale.numeric(0, 12))
    e = rep.effects[0]  # midpoint 6: 5 -> 7 flips the verdict
    assert (e.n, e.n_failed, e.estimate, e.flip_share) == (18, 2, 2.0, 1.0)
    assert rep.status_counts["original"] == {"ok": 19, "unparseable": 1}
    assert rep.status_counts["variant"] == {"ok": 19, "error": 1}
    assert "failed" in rep.to_markdown()


def test_probe_per_attribute_per_stage_and_unchanged() -> None:
    rng = np.random.default_rng(0)
    texts = [
        "You are vegan. You own a dog. q=1.0000 here.",
        "Your dog will love it. q=2.0000 ok.",
        "A vegan meal. q=3.0000 ok.",
        "Nothing personal. q=4.0000 ok.",
    ] * 10

    def judge(text: str) -> float:
        q = float(_Q.search(text).group(1))  # type: ignore[union-attr]
        return q + 1.0 * ("vegan" in text) + 0.2 * ("dog" in text) + rng.normal(0, 0.01)

    rep = probe_bias(
        judge,
        texts,
        remove_mentions,
        attributes=["vegan", "dog"],
        stages=["s1", "s2"] * 20,
        scale=Scale.numeric(-10, 10),
    )
    rows = {(e.attribute, e.stage): e for e in rep.effects}
    assert set(rows) == {(a, s) for a in (None, "vegan", "dog") for s in ("all", "s1", "s2")}
    assert rows[("vegan", "all")].estimate == pytest.approx(-1.0, abs=0.02)
    assert rows[("dog", "all")].estimate == pytest.approx(-0.2, abs=0.02)
    assert rows[("vegan", "all")].n == 20 and rows[("vegan", "all")].n_unchanged == 20
    assert rows[(None, "s1")].n + rows[(None, "s2")].n == rows[(None, "all")].n == 30
    # a single attribute per item, given per item
    rep2 = probe_bias(
        judge,
        texts[:4],
        remove_mentions,
        attributes=[["vegan"], ["dog"], ["vegan"], ["dog"]],
        scale=Scale.numeric(-10, 10),
    )
    assert [e.attribute for e in rep2.effects] == [None, "vegan", "dog"]


def test_swap_probe_measures_position_bias() -> None:
    verdicts = Scale.verdict("second", "tie", "first")
    rng = np.random.default_rng(3)
    quality = {f"ans{i}": rng.normal() for i in range(200)}
    pairs = [(f"ans{2 * i}", f"ans{2 * i + 1}") for i in range(100)]

    def judge(pair: tuple[str, str]) -> str:
        d = quality[pair[0]] - quality[pair[1]] + 0.8  # favours the first shown
        return "first" if d > 0.5 else "second" if d < -0.5 else "tie"

    e = probe_bias(judge, pairs, swap_answers, scale=verdicts).effects[0]
    assert e.estimate is not None and e.estimate < -0.3 and e.flagged()
    assert e.flip_share is not None and e.flip_share > 0.3

    def fair(pair: tuple[str, str]) -> str:
        d = quality[pair[0]] - quality[pair[1]]
        return "first" if d > 0.5 else "second" if d < -0.5 else "tie"

    e0 = probe_bias(fair, pairs, swap_answers, scale=verdicts).effects[0]
    assert e0.estimate == 0.0 and e0.p_value == 1.0 and e0.flip_share == 0.0


def test_probe_on_probabilities_and_build_item() -> None:
    cal = LogisticCalibrator().fit(
        np.r_[np.zeros(50), np.ones(50) * 10], np.r_[np.zeros(50), np.ones(50)]
    )
    cj = CalibratedJudge(
        lambda item: item["bonus"] + len(item["text"]) % 3, cal, scale=Scale.numeric(0, 20)
    )
    texts = [f"text {i}" for i in range(30)]
    rep = probe_bias(
        cj,
        texts,
        insert_mention,
        attributes="vegan",
        on="probability",
        build_item=lambda t, i: {"text": t, "bonus": 8 if "vegan" in t else 2},
    )
    e = rep.effects[0]
    assert e.unit == "probability" and e.estimate is not None and 0 < e.estimate < 1


def test_user_defined_ablation_and_errors() -> None:
    def shout(text: str, attributes: Any = ()) -> tuple[str, AblationRecord]:
        return text.upper(), AblationRecord("shout", text.upper() != text)

    def judge(t: str) -> float:
        return float(sum(c.isupper() for c in t))

    rep = probe_bias(judge, ["ab", "cd", "EF"], shout, scale=Scale.numeric(0, 10))
    e = rep.effects[0]
    assert (e.name, e.n, e.n_unchanged, e.estimate) == ("shout", 2, 1, 2.0)
    with pytest.raises(InputError, match="scale"):
        probe_bias(judge, ["a"], shout)
    with pytest.raises(InputTypeError, match="texts"):
        probe_bias(judge, "abc", shout, scale=SCALE)
    with pytest.raises(InputError, match="texts"):
        probe_bias(judge, [], shout, scale=SCALE)
    with pytest.raises(InputTypeError, match="ablation"):
        probe_bias(judge, ["a"], lambda t, a: t, scale=SCALE)
    with pytest.raises(InputError, match="on"):
        probe_bias(judge, ["a"], shout, scale=SCALE, on="probability")
    with pytest.raises(InputError, match="level"):
        probe_bias(judge, ["a"], shout, scale=SCALE, level=1.5)
    # nothing changed at all: a row with no estimate, never a NaN
    none = probe_bias(judge, ["AB"], shout, scale=SCALE).effects[0]
    assert none.estimate is None and none.n_unchanged == 1 and not none.flagged()
    assert "n/a" in probe_bias(judge, ["AB"], shout, scale=SCALE).to_markdown()
    # shorten through partial
    rep2 = probe_bias(
        lambda t: float(len(t)),
        ["One. Two. Three."] * 3,
        partial(shorten, target=5),
        scale=Scale.numeric(0, 100),
    )
    assert rep2.effects[0].estimate == -12.0


def test_paired_change_validation_and_single_pair() -> None:
    one = paired_change([1.0], [2.0])
    assert one == {"estimate": 1.0, "low": 1.0, "high": 1.0, "p_value": 1.0, "n": 1.0}
    with pytest.raises(InputError, match="variant"):
        paired_change([1, 2], [1])


# -- human gap -------------------------------------------------------------------------


def test_human_gap_paired_coverage() -> None:
    runs, covered, flagged0 = 200, 0, 0
    for r in range(runs):
        rng = np.random.default_rng(r)
        q = rng.normal(3, 0.7, 80)
        h_wo = q + rng.normal(0, 0.6, 80)
        h_w = q + 0.03 + rng.normal(0, 0.6, 80)
        j_wo = q + rng.normal(0, 0.4, 80)
        j_w = q + 0.4 + rng.normal(0, 0.4, 80)
        e = human_judge_gap(j_w, j_wo, h_w, h_wo, n_resamples=500, n_permutations=499, seed=r)
        assert e.low is not None and e.high is not None
        covered += e.low <= 0.37 <= e.high
        null = human_judge_gap(
            j_wo + 0.03 + rng.normal(0, 0.4, 80),
            j_wo,
            h_w,
            h_wo,
            n_resamples=100,
            n_permutations=499,
            seed=r,
        )
        flagged0 += null.flagged(0.05)
    assert covered / runs >= 0.90
    assert flagged0 / runs <= 0.08


def test_human_gap_unpaired_and_scales() -> None:
    rng = np.random.default_rng(1)
    covered = 0
    for r in range(100):
        rng = np.random.default_rng(r)
        hw, ho = rng.normal(3.1, 1, 120), rng.normal(3.0, 1, 100)
        jw, jo = hw + 1.5 + rng.normal(0, 1, 120), ho + rng.normal(0, 1, 100)  # judge on 1-10
        e = human_judge_gap(
            np.clip(jw, 1, 10),
            np.clip(jo, 1, 10),
            np.clip(hw, 1, 5),
            np.clip(ho, 1, 5),
            paired=False,
            judge_scale=Scale.numeric(1, 10),
            human_scale=Scale.likert(5),
            n_resamples=300,
            n_permutations=199,
            seed=r,
        )
        covered += e.flagged(0.05)
        assert e.unit.endswith("(0-1 scale)")
    assert covered >= 80
    with pytest.raises(InputError, match=r"judge_with.*judge_scale"):
        human_judge_gap([11.0, 2.0], [1.0, 2.0], [1, 2], [1, 2], judge_scale=Scale.numeric(1, 10))
    with pytest.raises(InputError, match="human_with"):
        human_judge_gap([1.0, 2.0], [1.0, 2.0], [1], [1, 2])


# -- preference gap (pairwise) ---------------------------------------------------------------


def _pairwise_set(rng: np.random.Generator, n: int, p_judge: float, p_human: float) -> JudgmentSet:
    out = []
    for i in range(n):
        l1, l2 = rng.integers(10, 500, 2)
        longer_first = l1 > l2
        jl = rng.random() < p_judge
        judge_first = jl == longer_first
        ratings = []
        for k in range(3):
            hl = rng.random() < p_human
            ratings.append(Rating(value="first" if hl == longer_first else "second", rater=f"r{k}"))
        out.append(
            Judgment(
                item_id=str(i),
                score=2.0 if judge_first else 0.0,
                label_kind="pairwise",
                ratings=tuple(ratings),
                features={"len_response1": float(l1), "len_response2": float(l2)},
            )
        )
    return JudgmentSet(out, scale=Scale.verdict("second", "tie", "first"))


def test_preference_gap_covers_known_difference() -> None:
    runs, covered = 100, 0
    for r in range(runs):
        js = _pairwise_set(np.random.default_rng(r), 150, 0.8, 0.6)
        e = preference_gap(js, n_resamples=500, seed=r)
        assert e.low is not None and e.high is not None
        covered += e.low <= 0.2 <= e.high
    assert covered / runs >= 0.88


def test_preference_gap_on_pandalm() -> None:
    # Real data: how much more often each judge than the humans picks the longer response.
    for judge, lo, hi in (("gpt35", -0.08, 0.02), ("pandalm7b", -0.05, 0.05)):
        js = load_pandalm(judge)
        e = preference_gap(js, n_resamples=500)
        assert e.estimate is not None and lo < e.estimate < hi
        assert (0 < e.n_failed <= 25) if judge == "gpt35" else e.n_failed == 0
        d = preference_gap(js, ties="drop", n_resamples=200)
        assert d.judge_value is not None and d.judge_value > 0.55
        assert preference_gap(js, stage=js.stage_names()[0], n_resamples=50).n < e.n
    with pytest.raises(InputError, match="pairwise"):
        preference_gap(JudgmentSet([], scale=SCALE))
    with pytest.raises(InputError, match="stage"):
        preference_gap(load_pandalm(), stage="nope")


# -- observational regression ----------------------------------------------------------------


def test_feature_regression_coverage_and_false_positives() -> None:
    runs, covered, false_pos = 300, 0, 0
    for r in range(runs):
        rng = np.random.default_rng(r)
        n = 150
        h = rng.normal(3, 1, n)
        mentions = rng.poisson(0.5 + 0.3 * (h > 3), n)  # mentions correlate with quality
        length = rng.normal(300, 80, n)
        noise = rng.normal(0, 0.3 + 0.4 * mentions, n)  # heteroskedastic
        s = 1 + 0.8 * h + 0.4 * mentions + noise
        rep = feature_regression(s, h, {"mentions": mentions, "length": length}, level=0.95)
        m, ln = rep.effects
        assert m.low is not None and m.high is not None
        covered += m.low <= 0.4 <= m.high
        false_pos += ln.flagged(0.05)
    assert covered / runs >= 0.92
    assert false_pos / runs <= 0.08


def test_feature_regression_errors() -> None:
    h = np.arange(10.0)
    with pytest.raises(InputError, match="'const'"):
        feature_regression(h, h, {"const": np.ones(10)})
    with pytest.raises(InputError, match="'twice'"):
        feature_regression(h, h**0.5, {"x": h, "twice": 2 * h})
    with pytest.raises(InputTypeError, match="features"):
        feature_regression(h, h, {})
    with pytest.raises(InputError, match="rows"):
        feature_regression(h[:3], h[:3], {"x": h[:3] ** 2})
    with pytest.raises(InputError, match="cov"):
        feature_regression(h, h, {"x": h**2}, cov="HC9")
    rep = feature_regression(h + np.sin(h), h, {"x": np.cos(h)}, cov="HC1")
    assert "human coefficient" in rep.notes[0]


# -- feature-adjusted calibrator --------------------------------------------------------------


def _simulate(rng: np.random.Generator, n: int, delta: float) -> tuple[Any, Any, Any, Any]:
    q = rng.normal(0, 1, n)
    m = rng.integers(0, 2, n).astype(float)  # mention, independent of quality
    y = (rng.random(n) < 1 / (1 + np.exp(-1.5 * q))).astype(float)  # humans: quality only
    s = q + delta * m + rng.normal(0, 0.3, n)  # judge: quality + mention bonus
    return q, m, y, s


def test_adjusted_calibrator_stops_rewarding_mentions() -> None:
    raw_gaps, adj_gaps = [], []
    grid = np.linspace(-1.5, 1.5, 13)
    for r in range(20):
        q, m, y, s = _simulate(np.random.default_rng(r), 2000, 1.0)
        raw = LogisticCalibrator().fit(s, y)
        adj = FeatureAdjustedCalibrator(["mentions"]).fit(np.column_stack([s, m]), y)
        # the same quality, with and without a mention
        raw_gaps.append(np.mean(raw.predict_agreement(grid + 1.0) - raw.predict_agreement(grid)))
        with_m = adj.predict_agreement(np.column_stack([grid + 1.0, np.ones_like(grid)]))
        without = adj.predict_agreement(np.column_stack([grid, np.zeros_like(grid)]))
        adj_gaps.append(np.mean(with_m - without))
        assert adj.feature_bonus_["mentions"] == pytest.approx(1.0, abs=0.35)
    assert min(raw_gaps) > 0.15  # the raw judge's calibrated probability rewards the mention
    assert abs(np.mean(adj_gaps)) < 0.02 and max(abs(g) for g in adj_gaps) < 0.06
    # no bias: the adjusted calibrator agrees with the raw one
    q, m, y, s = _simulate(np.random.default_rng(99), 3000, 0.0)
    adj0 = FeatureAdjustedCalibrator(["mentions"]).fit(np.column_stack([s, m]), y)
    raw0 = LogisticCalibrator().fit(s, y)
    X = np.column_stack([grid, np.zeros_like(grid)])
    assert np.abs(adj0.predict_agreement(X) - raw0.predict_agreement(grid)).max() < 0.04


def test_adjusted_score_and_reference() -> None:
    q, m, y, s = _simulate(np.random.default_rng(5), 3000, 1.0)
    cal = FeatureAdjustedCalibrator(["mentions"], reference={"mentions": 0.0}).fit(
        np.column_stack([s, m]), y
    )
    adj = cal.adjusted_score(np.column_stack([s, m]))
    assert np.corrcoef(adj, q)[0, 1] > np.corrcoef(s, q)[0, 1]
    assert abs(np.mean(adj[m == 1]) - np.mean(s[m == 0])) < 0.2  # moved to "no mention"
    cal_mean = FeatureAdjustedCalibrator(["mentions"]).fit(np.column_stack([s, m]), y)
    np.testing.assert_allclose(
        cal_mean.predict_proba(np.column_stack([s, m])), cal.predict_proba(np.column_stack([s, m]))
    )


def test_adjusted_calibrator_inputs_stages_and_persistence(tmp_path: Any) -> None:
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(2)
    q, m, y, s = _simulate(rng, 400, 1.0)
    length = rng.normal(100, 10, 400)
    df = pd.DataFrame({"score": s, "mentions": m, "length": length})
    stages = np.where(np.arange(400) % 2 == 0, "a", "b")
    cal = FeatureAdjustedCalibrator(("mentions", "length")).fit(df, y, stages=stages)
    X = np.column_stack([s, m, length])
    np.testing.assert_allclose(
        cal.predict_proba(df, stages=stages), cal.predict_proba(X, stages=stages)
    )
    assert cal.predict(X).shape == (400,) and set(cal.stage_states_) == {"a", "b"}
    assert cal.predict_agreement({"score": s, "mentions": m, "length": length}).shape == (400,)
    again = loads(dumps(cal))
    assert type(again) is FeatureAdjustedCalibrator
    np.testing.assert_array_equal(
        again.predict_proba(X, stages=stages), cal.predict_proba(X, stages=stages)
    )
    np.testing.assert_array_equal(again.adjusted_score(X), cal.adjusted_score(X))
    c2 = clone(cal)
    assert tuple(c2.get_params()["features"]) == ("mentions", "length") and not hasattr(
        c2, "pooled_"
    )
    with pytest.warns(SmallSampleWarning):
        FeatureAdjustedCalibrator(["mentions", "length"], min_stage_labels=300).fit(
            X, y, stages=stages
        )
    strict = FeatureAdjustedCalibrator(["mentions", "length"], unknown_stage="raise").fit(
        X, y, stages=stages
    )
    with pytest.raises(InputError, match="stages"):
        strict.predict_proba(X[:2], stages=["a", "zzz"])
    assert cal.predict_proba(np.empty((0, 3))).shape == (0, 2)


@pytest.mark.parametrize(
    ("kwargs", "X", "match"),
    [
        ({}, np.zeros((5, 3)), "shape"),
        ({"features": "mentions"}, np.zeros((5, 2)), "features"),
        ({"features": ["a", "a"]}, np.zeros((5, 3)), "features"),
        ({"reference": "median"}, np.zeros((5, 2)), "reference"),
        ({"reference": {"other": 1.0}}, np.zeros((5, 2)), "reference"),
        ({"prior_scale": -1.0}, np.zeros((5, 2)), "prior_scale"),
        ({}, np.full((5, 2), np.nan), "finite"),
        ({}, {"score": [1, 2, 3, 4, 5]}, "missing"),
    ],
)
def test_adjusted_calibrator_errors(kwargs: dict[str, Any], X: Any, match: str) -> None:
    with pytest.raises(InputError, match=match):
        FeatureAdjustedCalibrator(**kwargs).fit(X, np.zeros(5))


def test_adjusted_calibrator_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        FeatureAdjustedCalibrator().predict_proba(np.zeros((2, 2)))
    with pytest.raises(NotFittedError):
        FeatureAdjustedCalibrator().feature_bonus_  # noqa: B018


# -- report -------------------------------------------------------------------------------------


def test_report_markdown_add_and_plot(tmp_path: Any) -> None:
    a = BiasReport(
        title="A",
        effects=(
            BiasEffect(
                kind="ablation",
                name="x",
                estimate=0.1,
                low=-0.1,
                high=0.3,
                p_value=0.4,
                n=5,
                flip_share=0.2,
            ),
        ),
    )
    b = BiasReport(
        title="B",
        effects=(
            BiasEffect(
                kind="preference",
                name="y",
                estimate=-0.2,
                low=-0.3,
                high=-0.1,
                n=9,
                judge_value=0.5,
                human_value=0.7,
            ),
        ),
        notes=("note b",),
    )
    both = a + b
    assert len(both.effects) == 2 and both.notes == ("note b",)
    assert [e.name for e in both.flagged()] == ["y"]
    md = str(both)
    assert "| ablation | x |" in md and "20.0%" in md and "note b" in md and "0.700" in md
    path = tmp_path / "forest.png"
    ax = both.plot(path=path)
    assert path.stat().st_size > 1000 and len(ax.get_yticklabels()) == 2
    assert (a.__add__(3)) is NotImplemented  # type: ignore[operator]


def test_importing_bias_does_not_import_matplotlib() -> None:
    code = (
        "import judgecal.bias, judgecal.bias.probes, judgecal.bias.ablations, "
        "judgecal.bias.observational, judgecal.bias.report, judgecal.plotting, sys; "
        "print(any(m.startswith('matplotlib') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_isotonic_judge_on_probability_probe_is_finite() -> None:
    cal = IsotonicCalibrator().fit([0, 1, 2, 3, 4, 5], [0, 0, 0, 1, 1, 1])
    cj = CalibratedJudge(lambda t: 4 if "vegan" in t else 1, cal, scale=Scale.numeric(0, 5))
    e = probe_bias(
        cj, [f"t{i}" for i in range(10)], insert_mention, attributes="vegan", on="probability"
    ).effects[0]
    assert e.estimate is not None and np.isfinite([e.estimate, e.low, e.high]).all()


# -- CLI ---------------------------------------------------------------------------------------


def test_cli_bias_demo_on_pandalm(capsys: Any, tmp_path: Any) -> None:
    from judgecal.cli.app import main

    plot = tmp_path / "bias.png"
    assert main(["bias", "--judge", "gpt35", "--n-resamples", "200", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "gpt35: picks longer" in out and "log length ratio" in out and plot.exists()
    assert main(["bias", "--judge", "pandalm7b", "--format", "json", "--n-resamples", "100"]) == 0
    doc = BiasReport.model_validate_json(capsys.readouterr().out)
    assert len(doc.effects) == 4


def test_cli_bias_on_a_file(capsys: Any, tmp_path: Any) -> None:
    from judgecal.cli.app import main

    rng = np.random.default_rng(0)
    path = tmp_path / "rated.csv"
    lines = ["judge,h1,h2,extra,response"]
    for i in range(120):
        h = rng.integers(1, 6)
        vegan = i % 2 == 0
        text = (
            ("As a vegan, " if vegan else "")
            + "try this **dish**."
            + " more" * int(rng.integers(0, 20))
        )
        s = h + 1.0 * vegan + rng.normal(0, 0.3)
        lines.append(f'{s:.3f},{h},{h},{rng.normal():.3f},"{text}"')
    lines.append(",3,3,0.1,failed call")  # no judge score: counted, not used
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    argv = [
        "bias",
        str(path),
        "--score-col",
        "judge",
        "--human-col",
        "h1,h2",
        "--feature-col",
        "extra",
        "--text-col",
        "response",
        "--attributes",
        "vegan",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "| regression | mentions |" in out and "1 without a judge score" in out
    assert main([*argv, "--group-col", "h1"]) == 0
    assert "cluster-robust, 5 clusters" in capsys.readouterr().out
    assert main(["bias", str(path), "--score-col", "judge"]) == 2
    assert (
        main(
            [
                "bias",
                str(path),
                "--score-col",
                "nope",
                "--human-col",
                "h1",
                "--feature-col",
                "extra",
            ]
        )
        == 2
    )
    assert "--score-col: column 'nope' is not in rated.csv" in capsys.readouterr().err


def test_adjusted_calibrator_sklearn_contract_checks() -> None:
    # the checks that apply to a calibrator with a fixed column layout (score + named features)
    from sklearn.utils.estimator_checks import check_estimator

    applicable = {
        "check_decision_proba_consistency",
        "check_do_not_raise_errors_in_init_or_set_params",
        "check_estimator_cloneable",
        "check_estimator_repr",
        "check_estimator_tags_renamed",
        "check_fit_check_is_fitted",
        "check_fit_idempotent",
        "check_get_params_invariance",
        "check_mixin_order",
        "check_n_features_in",
        "check_no_attributes_set_in_init",
        "check_non_transformer_estimators_n_iter",
        "check_parameters_default_constructible",
        "check_set_params",
        "check_supervised_y_no_nan",
        "check_valid_tag_types",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(FeatureAdjustedCalibrator(), on_fail=None)
    status = {r["check_name"]: r["status"] for r in results if r["check_name"] in applicable}
    assert len(status) >= 12
    assert all(v == "passed" for v in status.values()), status


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-5, 5, allow_nan=False), min_size=2, max_size=30),
    st.lists(st.floats(-5, 5, allow_nan=False), min_size=30, max_size=30),
    st.floats(-3, 3),
)
def test_paired_change_symmetry_and_shift(a: list[float], noise: list[float], shift: float) -> None:
    x = np.asarray(a)
    y = x + np.asarray(noise[: x.size])
    fwd = paired_change(x, y, n_resamples=200, n_permutations=199, seed=1)
    back = paired_change(y, x, n_resamples=200, n_permutations=199, seed=1)
    assert back["estimate"] == pytest.approx(-fwd["estimate"], abs=1e-12)
    assert back["p_value"] == pytest.approx(fwd["p_value"])
    assert back["low"] == pytest.approx(-fwd["high"], abs=1e-9) and back["high"] == pytest.approx(
        -fwd["low"], abs=1e-9
    )
    moved = paired_change(x + shift, y + shift, n_resamples=200, n_permutations=199, seed=1)
    assert moved["estimate"] == pytest.approx(fwd["estimate"], abs=1e-9)
    assert fwd["low"] <= fwd["estimate"] <= fwd["high"] and 0 < fwd["p_value"] <= 1


def test_feature_regression_cluster_robust_intervals() -> None:
    # several rows per item (e.g. criteria of one story) share a feature and a residual:
    # row-level HC3 intervals under-cover; cluster-robust ones hold.
    runs, cov_cluster, cov_hc3 = 200, 0, 0
    for r in range(runs):
        rng = np.random.default_rng(r)
        G, k = 60, 6
        g = np.repeat(np.arange(G), k)
        length = np.repeat(rng.normal(0, 1, G), k)
        h = rng.normal(3, 1, G * k) + 0.3 * length
        s = (
            1
            + 0.5 * h
            + 0.3 * length
            + np.repeat(rng.normal(0, 0.8, G), k)
            + rng.normal(0, 0.5, G * k)
        )
        c = feature_regression(s, h, {"length": length}, groups=g, level=0.95).effects[0]
        plain = feature_regression(s, h, {"length": length}, level=0.95).effects[0]
        assert (
            c.low is not None
            and c.high is not None
            and plain.low is not None
            and plain.high is not None
        )
        cov_cluster += c.low <= 0.3 <= c.high
        cov_hc3 += plain.low <= 0.3 <= plain.high
    assert cov_cluster / runs >= 0.92
    assert cov_hc3 / runs < 0.8
    with pytest.raises(InputError, match="groups"):
        feature_regression(s, h, {"length": length}, groups=np.zeros(len(s)))
    with pytest.raises(InputError, match="groups"):
        feature_regression(s, h, {"length": length}, groups=[1, 2])


def test_human_gap_clustered_items() -> None:
    # 30 conversations x 8 items; the judge's extra gap varies by conversation.
    runs, cov_c, cov_iid, fp = 200, 0, 0, 0
    for r in range(runs):
        rng = np.random.default_rng(r)
        G, k = 30, 8
        g = np.repeat(np.arange(G), k)
        q = rng.normal(3, 0.7, G * k)
        conv = np.repeat(rng.normal(0, 0.5, G), k)
        h_wo, h_w = q + rng.normal(0, 0.3, G * k), q + rng.normal(0, 0.3, G * k)
        j_wo = q + rng.normal(0, 0.3, G * k)
        j_w = q + 0.3 + conv + rng.normal(0, 0.3, G * k)
        c = human_judge_gap(
            j_w, j_wo, h_w, h_wo, groups=g, n_resamples=400, n_permutations=199, seed=r
        )
        iid = human_judge_gap(j_w, j_wo, h_w, h_wo, n_resamples=400, n_permutations=199, seed=r)
        assert (
            c.low is not None
            and c.high is not None
            and iid.low is not None
            and iid.high is not None
        )
        cov_c += c.low <= 0.3 <= c.high
        cov_iid += iid.low <= 0.3 <= iid.high
        null = human_judge_gap(
            j_w - 0.3, j_wo, h_w, h_wo, groups=g, n_resamples=100, n_permutations=199, seed=r
        )
        fp += null.flagged(0.05)
    assert cov_c / runs >= 0.87  # 90% intervals, 30 clusters: expanded percentile bootstrap
    assert cov_iid / runs < 0.70
    assert fp / runs <= 0.08
    with pytest.raises(InputError, match="groups"):
        human_judge_gap([1.0, 2.0], [1.0, 2.0], [1, 2], [1, 2], groups=[0, 0])
    with pytest.raises(InputError, match="groups"):
        human_judge_gap([1.0, 2.0], [1.0, 2.0], [1, 2], [1, 2], paired=False, groups=[0, 1])


# -- one house: layout, public names, vocabulary, one engine ---------------------------------


def test_bias_parts_are_modules_and_names_import_from_the_package() -> None:
    import judgecal.bias as bias
    from judgecal.bias import observational, probes, report, resampling

    assert bias.probe_bias is probes.probe_bias is probe_bias
    assert bias.human_judge_gap is observational.human_judge_gap is human_judge_gap
    assert bias.BiasReport is report.BiasReport is BiasReport
    assert resampling.paired_summary is not None
    with pytest.raises(AttributeError):
        bias.nothing_here  # noqa: B018


def test_bias_modules_import_no_private_names_from_other_modules() -> None:
    import ast
    from pathlib import Path

    import judgecal.bias

    folder = Path(judgecal.bias.__file__).parent
    offenders = []
    for path in sorted([*folder.glob("*.py"), folder.parent / "plotting.py"]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("judgecal"):
                offenders += [
                    f"{path.name}: {node.module}.{alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_")
                ]
    assert offenders == []


def test_pyplot_says_what_to_install_when_matplotlib_is_missing(monkeypatch: Any) -> None:
    from judgecal import MissingDependencyError
    from judgecal.plotting import MATPLOTLIB_REQUIREMENT, pyplot

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(
        MissingDependencyError, match=re.escape(f"pip install '{MATPLOTLIB_REQUIREMENT}'")
    ):
        pyplot()


def test_normalize_attributes_is_public() -> None:
    from judgecal.bias.ablations import normalize_attributes

    assert normalize_attributes(["dog", "cat"]) == (("dog", ("dog",)), ("cat", ("cat",)))
    with pytest.raises(InputError, match="where_it_was"):
        normalize_attributes([""], "where_it_was")


def test_every_interval_in_bias_defaults_to_the_house_level() -> None:
    import inspect

    from judgecal.vocabulary import DEFAULT_LEVEL

    for fn in (probe_bias, paired_change, human_judge_gap, preference_gap, feature_regression):
        assert inspect.signature(fn).parameters["level"].default == DEFAULT_LEVEL == 0.9, fn
    assert BiasEffect(kind="regression", name="x", estimate=0.1).level == 0.9


def test_preference_gap_tie_policies_from_the_vocabulary() -> None:
    pandalm = load_pandalm("gpt35")
    half = preference_gap(pandalm, n_resamples=50)
    loss = preference_gap(pandalm, ties="loss", n_resamples=50)
    drop = preference_gap(pandalm, ties="drop", n_resamples=50)
    assert loss.judge_value is not None and half.judge_value is not None
    assert loss.human_value is not None and half.human_value is not None
    assert loss.judge_value < half.judge_value and loss.human_value < half.human_value
    assert "tie = not picked" in loss.unit and drop.n < half.n == loss.n
    with pytest.warns(DeprecationWarning, match="'loss'"):
        old = preference_gap(pandalm, ties="negative", n_resamples=50)
    assert old.estimate == loss.estimate
    with pytest.raises(InputError, match="ties"):
        preference_gap(pandalm, ties="separate")


def test_probe_passes_run_options_to_the_engine() -> None:
    import time

    def slow_on_variants(text: str) -> float:
        if "vegan" in text and "Answer 3 " in text:
            time.sleep(1.0)  # longer than the timeout: this pair fails and is counted
        return 7.0 if "vegan" in text else 5.0

    texts = [f"Answer {i} q=5.0000. Fine." for i in range(8)]
    start = time.perf_counter()
    rep = probe_bias(
        slow_on_variants,
        texts,
        insert_mention,
        attributes="vegan",
        scale=Scale.numeric(0, 12),
        run_options={"concurrency": 4, "timeout": 0.2},
    )
    assert time.perf_counter() - start < 1.0
    e = rep.effects[0]
    assert (e.n, e.n_failed, e.estimate) == (7, 1, 2.0)
    assert rep.status_counts["variant"] == {"ok": 7, "timeout": 1}
    bad: dict[str, Any]
    for bad in ({"stages": "x"}, {"items": []}):
        with pytest.raises(InputError, match="run_options"):
            probe_bias(slow_on_variants, texts, insert_mention, scale=SCALE, run_options=bad)
    with pytest.raises(InputTypeError, match="run_options"):
        probe_bias(
            slow_on_variants,
            texts,
            insert_mention,
            scale=SCALE,
            run_options=[1],  # type: ignore[arg-type]
        )


# -- issue 11: preference_gap compares the same items; flagged has a direction ----------------
def _tie_heavy_set() -> JudgmentSet:
    """40 pairs, first response longer. The judge ties on 20 of them, where humans pick second."""
    out = []
    for i in range(40):
        judge_tie = i < 20
        human = "second" if judge_tie else ("first" if i % 2 else "second")
        ratings = (Rating(value=human, rater="r0"), Rating(value=human, rater="r1"))
        out.append(
            Judgment(
                item_id=str(i),
                score=1.0 if judge_tie else 2.0,
                label_kind="pairwise",
                ratings=ratings,
                features={"len_response1": 200.0, "len_response2": 100.0},
            )
        )
    return JudgmentSet(out, scale=Scale.verdict("second", "tie", "first"))


def test_preference_gap_drop_compares_the_judges_decisive_items_only() -> None:
    drop = preference_gap(_tie_heavy_set(), ties="drop", n_resamples=50)
    # the judge is decisive on items 20..39 only: there humans pick the longer one half the time
    assert drop.n == 20
    assert drop.judge_value == pytest.approx(1.0) and drop.human_value == pytest.approx(0.5)
    half = preference_gap(_tie_heavy_set(), ties="half", n_resamples=50)
    assert half.n == 40 and half.human_value == pytest.approx(0.25)


def test_preference_gap_drop_leaves_out_items_without_a_decisive_rater() -> None:
    js = _tie_heavy_set()
    tied = [
        j.model_copy(update={"ratings": (Rating(value="tie", rater="r0"),)}) if k == 39 else j
        for k, j in enumerate(js)
    ]
    drop = preference_gap(JudgmentSet(tied, scale=js.scale), ties="drop", n_resamples=50)
    assert drop.n == 19


def test_flagged_effects_say_which_way() -> None:
    lower = BiasEffect(
        kind="preference",
        name="picks the longer response",
        estimate=-0.2,
        low=-0.3,
        high=-0.1,
        n=50,
        judge_value=0.4,
        human_value=0.6,
    )
    higher = lower.model_copy(update={"estimate": 0.328, "low": 0.246, "high": 0.41})
    flat = lower.model_copy(update={"estimate": 0.01, "low": -0.05, "high": 0.07})
    assert (lower.direction(), higher.direction(), flat.direction()) == ("lower", "higher", None)
    assert higher.summary("GPT-4") == (
        "GPT-4 picks the longer response more often than humans: +32.8 points [24.6, 41.0]"
    )
    assert "less often than humans" in lower.summary("GPT-3.5")
    assert "no clear difference" in flat.summary("J")
    table = BiasReport(effects=(lower, higher, flat)).to_markdown()
    assert "| yes (lower) |" in table and "| yes (higher) |" in table and "| no |" in table
