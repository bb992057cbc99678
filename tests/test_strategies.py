from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from judgecal import Judgment, JudgmentSet, Rating, Scale
from judgecal import strategies as jst
from judgecal.testing.strategies import AgreementCurve, CalibrationDataset, Distortion

FAST = settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


@FAST
@given(jst.scales())
def test_scales_are_valid(scale: Scale) -> None:
    assert scale.low < scale.high
    assert scale.check(scale.low) == scale.low


@FAST
@given(st.data())
def test_judge_scores_lie_on_the_scale(data: st.DataObject) -> None:
    scale = data.draw(jst.scales())
    s = data.draw(jst.judge_scores(scale=scale))
    assert scale.check(s) == s
    if scale.kind != "numeric":
        assert float(s).is_integer()


@FAST
@given(jst.judge_scores(scale=Scale.likert(5), samples=3))
def test_averaged_likert_scores(s: float) -> None:
    assert 1 <= s <= 5 and round(s * 3) == pytest.approx(s * 3)


@FAST
@given(
    st.sampled_from(["binary", "ordinal", "pairwise"]).flatmap(
        lambda k: st.tuples(st.just(k), jst.ratings(kind=k, levels=4, min_raters=2, max_raters=4))
    )
)
def test_ratings_are_valid_for_their_kind(kind_and_ratings: tuple[str, tuple[Rating, ...]]) -> None:
    kind, rs = kind_and_ratings
    assert 2 <= len(rs) <= 4
    assert len({r.rater for r in rs}) == len(rs)
    j = Judgment(
        item_id="x", score=1.0, label_kind=kind, levels=4 if kind == "ordinal" else None, ratings=rs
    )  # type: ignore[arg-type]
    assert j.n_ratings == len(rs)


@FAST
@given(jst.judgments(label_kind="pairwise", judge_failures=True, with_texts=True))
def test_judgments(j: Judgment) -> None:
    assert (j.score is None) == (j.judge_status != "ok")
    assert j.features["mention"] in (0.0, 1.0)
    assert j.features["mention"] == float(
        any(a in j.texts["response"].lower() for a in jst.ATTRIBUTES)
    )


@FAST
@given(jst.judgment_sets(min_size=1, max_size=12, judge_failures=True, min_raters=1))
def test_judgment_sets_are_consistent(js: JudgmentSet) -> None:
    assert len(set(js.item_ids().tolist())) == len(js)
    labelled = js.scored().labelled()
    if len(labelled) and js.label_kind != "ordinal":
        y, w = labelled.targets()
        assert ((y >= 0) & (y <= 1)).all() and (w >= 0).all()
    scores = js.scored().scores()
    assert ((scores >= js.scale.low) & (scores <= js.scale.high)).all()


@FAST
@given(jst.texts(mention=False, attributes=["vegetarian", "nurse"]))
def test_texts_without_mention(t: str) -> None:
    assert "vegetarian" not in t.lower() and "nurse" not in t.lower()


@FAST
@given(jst.texts(mention=True, attributes=["vegetarian", "nurse"]))
def test_texts_with_mention(t: str) -> None:
    assert "vegetarian" in t.lower() or "nurse" in t.lower()


@FAST
@given(jst.calibration_datasets(stages=("a", "b"), raters=3, min_size=5, max_size=40))
def test_calibration_datasets_shapes(ds: CalibrationDataset) -> None:
    n = len(ds)
    for arr in (
        ds.scores,
        ds.labels,
        ds.weights,
        ds.stages,
        ds.mentions,
        ds.quality,
        ds.true_agreement,
    ):
        assert arr.shape == (n,)
    assert set(np.round(ds.labels * 3, 9).tolist()) <= {0.0, 1.0, 2.0, 3.0}
    assert ((ds.true_agreement > 0) & (ds.true_agreement < 1)).all()
    js = ds.to_judgments()
    np.testing.assert_allclose(js.targets()[0], ds.labels)


def test_agreement_given_score_matches_simulation_likert() -> None:
    """Known truth: the integrated P(agree | score) equals the empirical rate on a big sample."""
    d = Distortion(compression=0.5, shift=0.1, noise=0.1, mention_bonus=0.25)
    ds = CalibrationDataset.simulate(
        Scale.likert(5),
        n=200_000,
        seed=3,
        curves={"s": AgreementCurve(-0.5, 6.0)},
        distortion=d,
        mention_rate=0.4,
    )
    levels = np.unique(ds.scores)
    truth = ds.agreement_given_score(levels)
    for lv, t in zip(levels, truth, strict=True):
        m = ds.scores == lv
        se = np.sqrt(t * (1 - t) / m.sum())
        assert abs(ds.labels[m].mean() - t) < 4 * se + 1e-3, (lv, ds.labels[m].mean(), t)
    # conditioning on the mention: the same score means a worse item when the text mentions
    p0 = ds.agreement_given_score(levels, mention=0)
    p1 = ds.agreement_given_score(levels, mention=1)
    assert (p1 <= p0 + 1e-12).all() and (p1 < p0 - 0.01).any()
    for mval, pv in ((0.0, p0), (1.0, p1)):
        for lv, t in zip(levels, pv, strict=True):
            m = (ds.scores == lv) & (ds.mentions == mval)
            if m.sum() > 500:
                assert abs(ds.labels[m].mean() - t) < 4 * np.sqrt(t * (1 - t) / m.sum()) + 1e-3


def test_agreement_given_score_matches_simulation_numeric() -> None:
    d = Distortion(compression=0.8, shift=-0.1, noise=0.05)
    ds = CalibrationDataset.simulate(
        Scale.numeric(0, 10),
        n=200_000,
        seed=4,
        curves={"s": AgreementCurve(0.3, 8.0)},
        distortion=d,
    )
    truth = ds.agreement_given_score(ds.scores)
    edges = np.quantile(ds.scores, np.linspace(0, 1, 11))
    idx = np.clip(np.searchsorted(edges, ds.scores, side="right") - 1, 0, 9)
    for b in range(10):
        m = idx == b
        t = truth[m].mean()
        assert abs(ds.labels[m].mean() - t) < 4 * np.sqrt(t * (1 - t) / m.sum()) + 2e-3


def test_stagewise_truth_differs_by_stage() -> None:
    ds = CalibrationDataset.simulate(
        Scale.likert(5),
        n=10,
        seed=0,
        curves={"a": AgreementCurve(-1.0, 5.0), "b": AgreementCurve(1.0, 5.0)},
    )
    pa = ds.agreement_given_score([3.0], "a")
    pb = ds.agreement_given_score([3.0], "b")
    assert pa[0] < pb[0]
    again = ds.resample(n=20, seed=1)
    assert len(again) == 20 and again.curves == ds.curves


@pytest.mark.parametrize(
    "make",
    [
        lambda: jst.scales(kinds=[]),
        lambda: jst.scales(kinds=["weird"]),
        lambda: jst.judge_scores(scale="likert"),  # type: ignore[arg-type]
        lambda: jst.judge_scores(scale=Scale.numeric(0, 1), samples=3),
        lambda: jst.judge_scores(samples=0),
        lambda: jst.human_labels(kind="ternary"),
        lambda: jst.human_labels(kind="ordinal", levels=1),
        lambda: jst.ratings(min_raters=3, max_raters=2),
        lambda: jst.ratings(min_raters=-1),
        lambda: jst.texts(mention="yes"),  # type: ignore[arg-type]
        lambda: jst.texts(attributes=[]),
        lambda: jst.texts(attributes="vegetarian"),
        lambda: jst.texts(min_sentences=0),
        lambda: jst.judgments(label_kind="likert"),
        lambda: jst.judgments(stages=[]),
        lambda: jst.judgments(stages=["a", "a"]),
        lambda: jst.judgments(label_kind=None, min_raters=1),
        lambda: jst.judgment_sets(min_size=5, max_size=2),
        lambda: jst.judgment_sets(scale=5),  # type: ignore[arg-type]
        lambda: jst.agreement_curves(min_slope=5, max_slope=2),
        lambda: jst.agreement_curves(min_slope=float("nan")),
        lambda: jst.distortions(min_compression=0.0),
        lambda: jst.distortions(max_noise=-1),
        lambda: jst.calibration_datasets(min_size=0),
        lambda: jst.calibration_datasets(raters=0),
        lambda: jst.calibration_datasets(mention_rate=1.5),
        lambda: jst.calibration_datasets(curves=AgreementCurve(0, 1)),  # type: ignore[arg-type]
        lambda: jst.calibration_datasets(distortion="strong"),  # type: ignore[arg-type]
    ],
)
def test_bad_arguments_raise_invalid_argument(make: object) -> None:
    with pytest.raises(InvalidArgument):
        make()  # type: ignore[operator]


def test_from_type_after_setup_hook() -> None:
    jst._hypothesis_setup_hook()

    @settings(max_examples=10, deadline=None, derandomize=True)
    @given(
        st.from_type(Judgment), st.from_type(JudgmentSet), st.from_type(Scale), st.from_type(Rating)
    )
    def inner(j: Judgment, js: JudgmentSet, sc: Scale, r: Rating) -> None:
        assert isinstance(j, Judgment) and isinstance(js, JudgmentSet)
        assert isinstance(sc, Scale) and isinstance(r, Rating)

    inner()


def _run(code: str) -> None:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_import_order_and_laziness() -> None:
    """``import judgecal`` never imports hypothesis; hypothesis may call the entry-point hook
    while judgecal.testing.strategies is half-imported; both import orders register the types."""
    _run(
        "import sys, judgecal; judgecal.IsotonicCalibrator\n"
        "assert 'hypothesis' not in sys.modules\n"
        "import judgecal.testing.strategies, hypothesis.strategies as st\n"
        "from judgecal import Judgment; st.from_type(Judgment).validate()\n"
    )
    _run(
        "import hypothesis.strategies as st; import judgecal.testing.strategies\n"
        "from judgecal import Judgment; st.from_type(Judgment).validate()\n"
    )


def test_assertions_and_simulator_do_not_import_hypothesis() -> None:
    """The assertions, the report and the simulator work without hypothesis being imported;
    the batteries load it on first use."""
    _run(
        "import sys\n"
        "from judgecal.testing import assert_calibrated, PropertyReport\n"
        "from judgecal.testing.simulate import CalibrationDataset, AgreementCurve\n"
        "from judgecal import Scale\n"
        "ds = CalibrationDataset.simulate(Scale.likert(5), n=50, seed=0,\n"
        "                                 curves={'s': AgreementCurve(0.0, 5.0)})\n"
        "assert_calibrated(ds.true_agreement, truth=ds.true_agreement)\n"
        "assert 'hypothesis' not in sys.modules, 'hypothesis imported'\n"
        "from judgecal.testing import check_metric\n"
        "assert 'hypothesis' in sys.modules\n"
    )


def test_old_and_new_homes_are_the_same_objects() -> None:
    from judgecal import testing
    from judgecal.testing import batteries, simulate

    assert jst.CalibrationDataset is simulate.CalibrationDataset
    assert jst.ATTRIBUTES is simulate.ATTRIBUTES
    assert batteries.check_metric is testing.check_metric
    assert batteries.assert_calibrated is testing.assert_calibrated
    assert batteries.PropertyViolationError is testing.PropertyViolationError


def test_pairwise_labels_and_failed_statuses_use_the_vocabulary() -> None:
    from hypothesis import find

    from judgecal.vocabulary import FAILED_STATUSES, PAIRWISE_OUTCOMES

    labels = jst.human_labels(kind="pairwise")
    for outcome in PAIRWISE_OUTCOMES:
        assert find(labels, lambda v, o=outcome: v == o) == outcome  # type: ignore[misc]
    failed = jst.judgments(judge_failures=True).filter(lambda j: j.score is None)
    assert find(failed, lambda j: True).judge_status in FAILED_STATUSES


def test_agreement_given_score_refuses_a_mention_other_than_0_or_1() -> None:
    """Before: a mention of 0.5 silently gave P(agree | score) = 0 for every score."""
    from judgecal import InputError

    ds = CalibrationDataset.simulate(
        Scale.likert(5), n=10, seed=0, curves={"s": AgreementCurve(0.0, 5.0)}
    )
    with pytest.raises(InputError, match="mention"):
        ds.agreement_given_score([1.0, 3.0], mention=0.5)


def test_testing_uses_no_private_name_of_another_module() -> None:
    """``judgecal.testing`` imports only public names from other modules (0.1 used
    ``persist._lookup`` and ``strategies._insert_mention``)."""
    import ast
    from pathlib import Path

    import judgecal.testing

    for path in Path(judgecal.testing.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("judgecal"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports {private} from {node.module}"
