"""judgecal.scale on a real dask.distributed LocalCluster: 2 worker processes, nothing mocked.

The cluster is started once per test session (module-level session fixture) and
shut down at its end. Every estimate over a Dask DataFrame is compared with the
in-memory function on the same rows, to 1e-12.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import judgecal
from judgecal import IsotonicCalibrator, MissingDependencyError, persist
from judgecal.estimate.sufficient import Moments, merge_totals, stratum_totals

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

from judgecal import scale  # noqa: E402
from judgecal.scale import frames  # noqa: E402
from judgecal.scale.partitions import calibrate_partition  # noqa: E402

TOL = 1e-12


@pytest.fixture(scope="session")
def client() -> Iterator[Any]:
    """A real LocalCluster: scheduler plus 2 worker processes with one thread each."""
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        memory_limit="1GiB",
    )
    with distributed.Client(cluster) as dask_client:
        yield dask_client
    cluster.close()


@pytest.fixture(scope="module")
def pandalm() -> judgecal.JudgmentSet:
    return judgecal.keep_labels(judgecal.load_pandalm(with_texts=False), 240, seed=3)


@pytest.fixture(scope="module")
def hanna() -> judgecal.JudgmentSet:
    return judgecal.load_hanna(criteria=("Coherence",))


def _hidden_hanna(js: judgecal.JudgmentSet) -> judgecal.JudgmentSet:
    keep = set(range(0, len(js), 4))
    return judgecal.JudgmentSet(
        [j if i in keep else j.model_copy(update={"ratings": ()}) for i, j in enumerate(js)],
        scale=js.scale,
    )


def _assert_same(memory: Any, dask_result: Any) -> None:
    """Every number of two RateEstimates agrees to TOL; counts and texts exactly."""
    for name in ("estimate", "low", "high", "effective_labels"):
        assert getattr(dask_result, name) == pytest.approx(getattr(memory, name), abs=TOL), name
    assert dask_result.lam == pytest.approx(memory.lam, abs=TOL)
    for name in ("n_labelled", "n_unlabelled", "n_unscored", "method", "level"):
        assert getattr(dask_result, name) == getattr(memory, name), name
    for baseline in ("human_only", "judge_only"):
        ours, theirs = getattr(dask_result, baseline), getattr(memory, baseline)
        for end in ("estimate", "low", "high"):
            assert getattr(ours, end) == pytest.approx(getattr(theirs, end), abs=TOL), baseline
    assert sorted(dask_result.strata) == sorted(memory.strata)
    for name, stratum in memory.strata.items():
        other = dask_result.strata[name]
        for field in ("estimate", "low", "high", "weight", "lam"):
            assert getattr(other, field) == pytest.approx(getattr(stratum, field), abs=TOL)
        assert other.n_unlabelled == stratum.n_unlabelled


def test_import_judgecal_and_scale_does_not_import_dask() -> None:
    code = "import sys, judgecal, judgecal.scale; print('dask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dask.dataframe", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'judgecal\[dask\]'"):
        scale.estimate_rate(object(), scale=(1, 5))


def test_moments_merge_equals_whole_column() -> None:
    values = np.random.default_rng(0).random(10_001) * 1e-3 + 1e6  # large offset, small spread
    merged = Moments(0, 0.0, 0.0)
    for part in np.array_split(values, 7):
        merged = merged.merge(Moments.of(part))
    assert merged.count == values.size
    assert merged.mean == pytest.approx(values.mean(), rel=1e-15)
    assert merged.variance(ddof=1) == pytest.approx(values.var(ddof=1), rel=1e-9)


def test_partition_totals_merge_to_the_whole_table() -> None:
    rng = np.random.default_rng(1)
    names = ["a", "b", "c"]
    codes = rng.integers(0, 3, 5000)
    score = np.where(rng.random(5000) < 0.05, np.nan, rng.integers(1, 6, 5000).astype(float))
    labelled = rng.random(5000) < 0.1
    whole = stratum_totals(codes, names, score, labelled, None, 1.0, 5.0)
    parts = [
        stratum_totals(codes[rows], names, score[rows], labelled[rows], None, 1.0, 5.0)
        for rows in np.array_split(np.arange(5000), 9)
    ]
    merged = merge_totals(parts)
    unit = np.clip((score - 1.0) / 4.0, 0, 1)
    for code, name in enumerate(names):
        rows = (codes == code) & np.isfinite(score)
        assert merged[name].items == whole[name].items == int((codes == code).sum())
        assert (
            merged[name].unscored
            == whole[name].unscored
            == int(((codes == code) & ~np.isfinite(score)).sum())
        )
        assert merged[name].judge.mean == pytest.approx(unit[rows].mean(), abs=TOL)
        assert merged[name].judge.variance(ddof=1) == pytest.approx(unit[rows].var(ddof=1), abs=TOL)
        assert merged[name].unlabelled.count == int(((codes == code) & ~labelled).sum())


@pytest.mark.parametrize(
    ("method", "calibrator", "strata"),
    [
        ("ppi++", "isotonic", "stage"),
        ("ppi++", "logistic", None),
        ("ppi", "none", "stage"),
        ("human", "isotonic", "stage"),
    ],
)
def test_estimate_rate_on_the_cluster_equals_in_memory(
    client: Any, pandalm: judgecal.JudgmentSet, method: str, calibrator: str, strata: Any
) -> None:
    memory = judgecal.estimate_rate(
        pandalm, method=method, calibrator=calibrator, strata=strata, seed=7
    )
    frame = dd.from_pandas(scale.judgment_frame(pandalm), npartitions=5)
    on_cluster = scale.estimate_rate(
        frame, scale=pandalm.scale, method=method, calibrator=calibrator, strata=strata, seed=7
    )
    assert memory.n_unscored > 0  # judge failures are part of the population
    _assert_same(memory, on_cluster)


@pytest.fixture(params=["one pass", "two passes"])
def passes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both client paths: the score histogram, or (as with many distinct scores) two passes."""
    if request.param == "two passes":
        monkeypatch.setattr(frames, "_collect_histogram", lambda frame, columns: None)
    return str(request.param)


def test_two_pass_estimate_equals_in_memory(client: Any, pandalm: Any, passes: str) -> None:
    memory = judgecal.estimate_rate(pandalm, calibrator="logistic", seed=2)
    frame = dd.from_pandas(scale.judgment_frame(pandalm), npartitions=4)
    _assert_same(
        memory, scale.estimate_rate(frame, scale=pandalm.scale, calibrator="logistic", seed=2)
    )


def test_continuous_scores_take_two_passes(client: Any) -> None:
    import pandas as pd

    rng = np.random.default_rng(5)
    rows = pd.DataFrame({"score": rng.uniform(1, 5, 20_000), "target": np.nan})
    rows.loc[::50, "target"] = (rng.random(400) < rows["score"][::50] / 5).astype(float)
    frame = dd.from_pandas(rows, npartitions=2)
    assert frames._collect_histogram(frame, {"score": "score", "target": "target"}) is None
    result = scale.estimate_rate(frame, scale=(1, 5), strata=None)
    assert result.n_labelled == 400 and result.n_unlabelled == 19_600
    assert result.width < result.human_only.width


def test_estimate_difference_on_the_cluster_equals_in_memory(
    client: Any, hanna: judgecal.JudgmentSet, passes: str
) -> None:
    part = _hidden_hanna(hanna)
    memory = judgecal.estimate_difference(
        part, group="system", first="Human", second="GPT-2", threshold=4, strata=None
    )
    frame = scale.judgment_frame(part, threshold=4, meta=("system",))
    on_cluster = scale.estimate_difference(
        dd.from_pandas(frame, npartitions=4),
        group="system",
        first="Human",
        second="GPT-2",
        scale=part.scale,
        strata=None,
    )
    _assert_same(memory, on_cluster)
    assert on_cluster.estimate > 0


def test_estimate_rate_stagewise_on_the_cluster(client: Any, pandalm: Any) -> None:
    memory = judgecal.estimate_rate(pandalm, stagewise=True)
    frame = dd.from_pandas(scale.judgment_frame(pandalm), npartitions=3)
    _assert_same(memory, scale.estimate_rate(frame, scale=pandalm.scale, stagewise=True))


def test_apply_calibrator_sends_json_and_matches_in_memory(client: Any) -> None:
    rng = np.random.default_rng(2)
    calibrator = IsotonicCalibrator().fit(rng.integers(1, 6, 300), rng.random(300) < 0.4)
    scores = np.where(rng.random(20_000) < 0.01, np.nan, rng.uniform(0, 6, 20_000))
    import pandas as pd

    frame = dd.from_pandas(pd.DataFrame({"score": scores}), npartitions=4)
    lazy = scale.apply_calibrator(frame, calibrator)
    operands = lazy.expr.operands  # what the task sends: a judgecal function and JSON text
    assert any(operand is calibrate_partition for operand in operands)
    assert any(
        isinstance(operand, str) and operand == persist.dumps(calibrator) for operand in operands
    )
    assert not any(isinstance(operand, IsotonicCalibrator) for operand in operands)
    out = lazy.compute()["p_agree"].to_numpy()
    scored = np.isfinite(scores)
    np.testing.assert_array_equal(out[scored], calibrator.predict_agreement(scores[scored]))
    assert np.isnan(out[~scored]).all()


def test_apply_calibrator_refuses_a_bad_document(client: Any) -> None:
    import pandas as pd

    frame = dd.from_pandas(pd.DataFrame({"score": [1.0]}), npartitions=1)
    with pytest.raises(judgecal.PersistenceError):
        scale.apply_calibrator(frame, '{"format": "not a calibrator"}')


@pytest.mark.parametrize("dataset", ["pandalm", "hanna"])
def test_agreement_counts_equal_agreement_report(
    client: Any, dataset: str, pandalm: Any, hanna: Any
) -> None:
    js = judgecal.load_pandalm(with_texts=False) if dataset == "pandalm" else hanna
    frame = scale.ratings_frame(js)
    ratings = [c for c in frame.columns if c.startswith("rating_")]
    out = scale.agreement_counts(
        dd.from_pandas(frame, npartitions=3),
        ratings=ratings,
        label_kind=js.label_kind,
        levels=js.levels,
    )
    report = judgecal.agreement_report(js, n_resamples=0)
    for stage, stats in out.items():
        human = report.stages[stage].comparisons[0]
        assert human.comparison == "human-human"
        assert stats.n_items == human.n_items
        for name in ("exact", "fleiss_kappa", "alpha_nominal", "alpha_ordinal"):
            assert getattr(stats, name) == pytest.approx(getattr(human, name).value, abs=1e-11), (
                stage,
                name,
            )


def test_estimate_rate_refuses_targets_outside_unit_interval(client: Any) -> None:
    import pandas as pd

    frame = pd.DataFrame({"stage": "a", "score": [1.0, 2.0, 3.0], "target": [0.0, 2.0, np.nan]})
    with pytest.raises(judgecal.InputError, match="target"):
        scale.estimate_rate(dd.from_pandas(frame, npartitions=1), scale=(1, 5))


def test_estimate_rate_names_a_missing_column(client: Any) -> None:
    import pandas as pd

    frame = dd.from_pandas(pd.DataFrame({"score": [1.0]}), npartitions=1)
    with pytest.raises(judgecal.InputError, match="'target'"):
        scale.estimate_rate(frame, scale=(1, 5))


def test_apply_calibrator_routes_stages(client: Any) -> None:
    import pandas as pd

    rng = np.random.default_rng(8)
    stages = np.repeat(["easy", "hard"], 200)
    scores = rng.uniform(1, 5, 400)
    labels = np.where(stages == "easy", scores > 2, scores > 4)
    calibrator = IsotonicCalibrator().fit(scores, labels, stages=stages)
    rows = pd.DataFrame({"stage": stages, "score": scores})
    out = scale.apply_calibrator(dd.from_pandas(rows, npartitions=3), calibrator, stage="stage")
    expected = calibrator.predict_agreement(scores, stages=stages)
    np.testing.assert_array_equal(out.compute()["p_agree"].to_numpy(), expected)


def test_agreement_counts_needs_levels_for_ordinal(client: Any) -> None:
    import pandas as pd

    frame = dd.from_pandas(pd.DataFrame({"stage": ["a"], "rating_1": [1.0]}), npartitions=1)
    with pytest.raises(judgecal.InputError, match="levels"):
        scale.agreement_counts(frame, ratings=["rating_1"], label_kind="ordinal")
