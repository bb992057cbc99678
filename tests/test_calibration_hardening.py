"""Silent-loss bugs of the calibrators (issue 16) and validation of loaded states."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import judgecal
import judgecal.persist
from judgecal import (
    BayesianCalibrator,
    FeatureAdjustedCalibrator,
    InputError,
    IsotonicCalibrator,
    LogisticCalibrator,
    PersistenceError,
)


def _data(n: int = 300, seed: int = 0) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    s = rng.integers(1, 6, n).astype(float)
    y = (rng.random(n) < s / 6).astype(float)
    return s, y


def _fit_any(cls: type, X: Any, y: Any, **kw: Any) -> Any:
    if cls is FeatureAdjustedCalibrator:
        X = np.column_stack([X, np.arange(len(X)) % 2])
        return cls(features=["mentions"]).fit(X, y, **kw), X
    if cls is BayesianCalibrator:
        return cls(random_state=0, draws=200).fit(X, y, **kw), X
    return cls().fit(X, y, **kw), X


ALL = [IsotonicCalibrator, LogisticCalibrator, FeatureAdjustedCalibrator, BayesianCalibrator]


@pytest.mark.parametrize("cls", ALL)
def test_huge_weights_give_the_unit_weight_answer_not_nan(cls: type) -> None:
    s, y = _data()
    ref, X = _fit_any(cls, s, y, sample_weight=np.full(s.size, 1e250 / s.size))
    cal, _ = _fit_any(cls, s, y, sample_weight=np.full(s.size, 1e307))
    p = cal.predict_proba(X)[:, 1]
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p, ref.predict_proba(X)[:, 1], atol=1e-6)


@pytest.mark.parametrize("cls", [IsotonicCalibrator, LogisticCalibrator, FeatureAdjustedCalibrator])
def test_unknown_stage_raises_even_when_no_stage_had_enough_labels(cls: type) -> None:
    s, y = _data(60)
    X = s if cls is not FeatureAdjustedCalibrator else np.column_stack([s, np.arange(60) % 2])
    kw: dict[str, Any] = {"unknown_stage": "raise", "min_stage_labels": 1000}
    cal = cls(features=["mentions"], **kw) if cls is FeatureAdjustedCalibrator else cls(**kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", judgecal.SmallSampleWarning)
        cal.fit(X, y, stages=np.where(np.arange(60) < 30, "a", "b"))
    assert cal.predict_proba(X[:2], stages=["a", "b"]).shape == (2, 2)
    with pytest.raises(InputError, match="stages"):
        cal.predict_proba(X[:2], stages=["a", "never seen"])


def test_a_stage_called_like_the_internal_new_stage_is_its_own_stage(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    n = 400
    s = rng.integers(1, 6, n).astype(float)
    stage = np.where(np.arange(n) < 200, "__new_stage__", "other")
    # the stage "__new_stage__" has humans agreeing almost always
    p_true = np.where(stage == "__new_stage__", 0.95, s / 6)
    y = (rng.random(n) < p_true).astype(float)
    cal = BayesianCalibrator(random_state=0, draws=300).fit(s, y, stages=stage)
    own = cal.predict_agreement([1.0], stages="__new_stage__")
    unseen = cal.predict_agreement([1.0], stages="brand new")
    assert own[0] > 0.85
    assert abs(own[0] - unseen[0]) > 0.1
    path = judgecal.save(cal, tmp_path / "cal.json")
    back = judgecal.load(path)
    np.testing.assert_array_equal(back.predict_agreement([1.0], stages="__new_stage__"), own)
    np.testing.assert_array_equal(back.predict_agreement([1.0], stages="brand new"), unseen)


@pytest.mark.parametrize("cls", ALL)
def test_stage_names_differing_by_a_trailing_nul_never_merge(cls: type) -> None:
    s, y = _data(120)
    stages = np.array(["a\0", "a"] * 60, dtype=object).tolist()
    try:
        cal, X = _fit_any(cls, s, y, stages=stages)
    except InputError as exc:  # refused with a reason: fine, as long as nothing merges
        assert "stages" in str(exc)
        return
    counts = cal.stage_counts_
    assert len(counts) == 2, counts  # pragma: no cover - only if the names are kept apart


def test_bayesian_import_does_not_import_sklearn() -> None:
    code = (
        "import sys; import judgecal.calibration.bayes.calibrator; "
        "print(any(m == 'sklearn' or m.startswith('sklearn.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- loaded states
def _saved(cal: Any, tmp_path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(judgecal.persist.dumps(cal))
    return doc


def _load_edited(doc: dict[str, Any], edit: Any, tmp_path: Path) -> Any:
    state = doc["state"]
    edit(state)
    cls = judgecal.persist.registered_class(doc["class"])
    assert cls is not None
    est = cls(**doc["params"])
    return est._set_state(state)


def _iso_state(tmp_path: Path) -> dict[str, Any]:
    s, y = _data()
    return _saved(IsotonicCalibrator().fit(s, y), tmp_path)


ISOTONIC_EDITS = {
    "x_not_sorted": lambda st: st["pooled"].__setitem__("x", st["pooled"]["x"][::-1]),
    "y_above_one": lambda st: st["pooled"].__setitem__("y", [1.5] * len(st["pooled"]["y"])),
    "y_shorter": lambda st: st["pooled"].__setitem__("y", st["pooled"]["y"][:-1]),
    "y_not_monotone": lambda st: st["pooled"].__setitem__(
        "y", [0.2, 0.8, 0.1, 0.9, 0.5][: len(st["pooled"]["y"])]
    ),
    "count_negative": lambda st: st.__setitem__("stage_counts", {"a": -1}),
}


@pytest.mark.parametrize("name", sorted(ISOTONIC_EDITS))
def test_isotonic_state_is_validated(name: str, tmp_path: Path) -> None:
    with pytest.raises((ValueError, InputError)):
        _load_edited(_iso_state(tmp_path), ISOTONIC_EDITS[name], tmp_path)


def _logistic_state(tmp_path: Path) -> dict[str, Any]:
    s, y = _data()
    return _saved(LogisticCalibrator().fit(s, y), tmp_path)


LOGISTIC_EDITS = {
    "spread_zero": lambda st: st["pooled"].__setitem__("spread", 0.0),
    "a_string": lambda st: st["pooled"].__setitem__("a", "1"),
    "range_inverted": lambda st: st["pooled"].__setitem__("x_min", 1e9),
    "missing_b": lambda st: st["pooled"].pop("b"),
}


@pytest.mark.parametrize("name", sorted(LOGISTIC_EDITS))
def test_logistic_state_is_validated(name: str, tmp_path: Path) -> None:
    with pytest.raises((ValueError, InputError)):
        _load_edited(_logistic_state(tmp_path), LOGISTIC_EDITS[name], tmp_path)


def _bayes_state(tmp_path: Path) -> dict[str, Any]:
    s, y = _data()
    stages = np.where(np.arange(s.size) % 2, "x", "y")
    cal = BayesianCalibrator(random_state=0, draws=100, link="parametric")
    return _saved(cal.fit(s, y, stages=stages), tmp_path)


def _flexible_state(tmp_path: Path) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    s = rng.integers(1, 8, 200).astype(float)
    y = (rng.random(200) < s / 8).astype(float)
    cal = BayesianCalibrator(score_range=(1, 7), random_state=0, draws=100, link="flexible")
    return _saved(cal.fit(s, y), tmp_path)


FLEXIBLE_EDITS = {
    "theta_shorter": lambda st: _first_stage(st).__setitem__(
        "theta", _first_stage(st)["theta"][:50]
    ),
    "theta_infinite": lambda st: _first_stage(st).__setitem__("theta", [[1e400] * 7] * 100),
    "theta_one_level_short": lambda st: _first_stage(st).__setitem__(
        "theta", [row[:-1] for row in _first_stage(st)["theta"]]
    ),
    "score_levels_missing": lambda st: st.pop("score_levels"),
    "score_levels_not_increasing": lambda st: st.__setitem__("score_levels", [7, 6, 5, 4, 3, 2, 1]),
}


@pytest.mark.parametrize("name", sorted(FLEXIBLE_EDITS))
def test_flexible_link_state_is_validated(name: str, tmp_path: Path) -> None:
    with pytest.raises((ValueError, InputError, PersistenceError)):
        _load_edited(_flexible_state(tmp_path), FLEXIBLE_EDITS[name], tmp_path)


def _first_stage(st: dict[str, Any]) -> dict[str, Any]:
    return st["draws"][st["stages"][0]]  # type: ignore[no-any-return]


BAYES_EDITS = {
    "draws_truncated_everywhere": lambda st: st.__setitem__(
        "draws", {s: {k: v[:10] for k, v in d.items()} for s, d in st["draws"].items()}
    ),
    "one_stage_shorter": lambda st: _first_stage(st).__setitem__("a", _first_stage(st)["a"][:50]),
    "stage_missing_draws": lambda st: st["draws"].pop(st["stages"][0]),
    "draw_infinite": lambda st: _first_stage(st).__setitem__("b", [1e400] * 100),
    "unknown_feature": lambda st: st.__setitem__("feature", {"type": "cubic"}),
    "levels_wrong": lambda st: st.__setitem__("levels", 7),
}


@pytest.mark.parametrize("name", sorted(BAYES_EDITS))
def test_bayes_state_is_validated(name: str, tmp_path: Path) -> None:
    with pytest.raises((ValueError, InputError)):
        _load_edited(_bayes_state(tmp_path), BAYES_EDITS[name], tmp_path)


def test_edited_file_is_a_persistence_error(tmp_path: Path) -> None:
    doc = _iso_state(tmp_path)
    path = tmp_path / "cal.json"
    judgecal.save(IsotonicCalibrator().fit(*_data()), path)
    raw = json.loads(path.read_text())
    raw["state"]["pooled"]["y"] = [2.0] * len(raw["state"]["pooled"]["y"])
    path.write_text(json.dumps(raw))
    with pytest.raises(PersistenceError):
        judgecal.load(path)
    assert doc["class"] == "IsotonicCalibrator"
