from __future__ import annotations

import json

import numpy as np
import pytest

from judgecal import (
    InputError,
    IsotonicCalibrator,
    LogisticCalibrator,
    PersistenceError,
    load,
    save,
)
from judgecal.persist import dumps, loads


def _fitted(cls: type) -> object:
    rng = np.random.default_rng(0)
    s = rng.uniform(1, 5, 400)
    y = (rng.random(400) < 1 / (1 + np.exp(-(s - 3)))).astype(float)
    stages = np.where(rng.random(400) < 0.5, "selection", "generation")
    return cls().fit(s, y, stages=stages)


@pytest.mark.parametrize("cls", [IsotonicCalibrator, LogisticCalibrator])
def test_round_trip_is_bit_identical(cls: type, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cal = _fitted(cls)
    path = save(cal, tmp_path / "cal.json")
    again = load(path)
    x = np.random.default_rng(1).uniform(0, 6, 10_000)
    st = np.where(x > 3, "selection", "generation")
    a = cal.predict_proba(x, stages=st)  # type: ignore[attr-defined]
    b = again.predict_proba(x, stages=st)
    assert a.tobytes() == b.tobytes()
    assert again.get_params() == cal.get_params()  # type: ignore[attr-defined]
    doc = json.loads(path.read_text())
    assert doc["format"] == "judgecal.calibrator" and doc["schema_version"] == 1


def test_tampered_and_wrong_files_are_rejected(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = dumps(_fitted(LogisticCalibrator))
    doc = json.loads(text)
    doc["state"]["pooled"]["b"] *= 2
    with pytest.raises(PersistenceError, match="integrity"):
        loads(json.dumps(doc))
    doc = json.loads(text)
    doc["schema_version"] = 99
    with pytest.raises(PersistenceError, match="schema_version 99"):
        loads(json.dumps(doc))
    doc = json.loads(text)
    doc["format"] = "something"
    with pytest.raises(PersistenceError, match="format"):
        loads(json.dumps(doc))
    with pytest.raises(PersistenceError, match="valid JSON"):
        loads(text[: len(text) // 2])
    doc = json.loads(text)
    del doc["state"]
    with pytest.raises(PersistenceError, match="missing"):
        loads(json.dumps(doc))
    with pytest.raises(InputError, match="existing file"):
        load(tmp_path / "nope.json")


def test_unfitted_or_foreign_objects_cannot_be_saved(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from judgecal import NotFittedError

    with pytest.raises(NotFittedError):
        save(IsotonicCalibrator(), tmp_path / "x.json")
    with pytest.raises(InputError, match="calibrator"):
        save(object(), tmp_path / "x.json")
