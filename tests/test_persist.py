from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from judgecal import (
    InputError,
    IsotonicCalibrator,
    LogisticCalibrator,
    PersistenceError,
    load,
    persist,
    save,
)
from judgecal.persist import dumps, loads

FIXTURES = Path(__file__).parent / "fixtures" / "v0_1_0"


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
    assert doc["format"] == "judgecal.calibrator" and doc["schema_version"] == 2


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


# ----------------------------------------------------------------------------------------
# malformed JSON and documents: always a PersistenceError, never a bare exception
# ----------------------------------------------------------------------------------------
def _doc(cls: type = LogisticCalibrator) -> dict[str, Any]:
    return json.loads(dumps(_fitted(cls)))


def _rehashed(doc: dict[str, Any]) -> str:
    """An edited document whose editor also recomputed the checksum, as an attacker would."""
    return json.dumps({**doc, "sha256": persist._checksum(doc)})


MALFORMED: dict[str, str | bytes] = {
    "deep_lists": "[" * 100_000,
    "deep_objects": '{"a":' * 100_000,
    "huge_int": '{"format": "judgecal.calibrator", "schema_version": ' + "9" * 100_000 + "}",
    "huge_float": '{"format": "judgecal.calibrator", "x": 1e400}',
    "nan_literal": '{"format": "judgecal.calibrator", "x": NaN}',
    "infinity_literal": '{"format": "judgecal.calibrator", "x": -Infinity}',
    "not_utf8": b"\xff\xfe\x00\x00garbage",
    "top_level_list": "[1, 2]",
    "top_level_string": '"judgecal.calibrator"',
    "top_level_null": "null",
    "empty": "",
    "duplicate_key": '{"format": "judgecal.calibrator", "state": {}, "state": {}}',
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_json_is_a_persistence_error(name: str) -> None:
    with pytest.raises(PersistenceError, match="judgecal calibrator"):
        loads(MALFORMED[name])


def test_nan_inside_a_state_is_refused_even_with_a_good_checksum() -> None:
    doc = _doc()
    text = _rehashed(doc).replace('"b": ', '"b": NaN, "_b": ', 1)
    with pytest.raises(PersistenceError, match="NaN"):
        loads(text)


@pytest.mark.parametrize(
    "edit",
    [
        {"schema_version": "2"},
        {"schema_version": True},
        {"schema_version": 0},
        {"class": "os.system"},
        {"class": ["IsotonicCalibrator"]},
        {"params": [1, 2]},
        {"state": "x"},
        {"params": {"no_such_param": 1}},
        {"sha256": 12},
    ],
    ids=repr,
)
def test_wrong_fields_are_persistence_errors(edit: dict[str, Any]) -> None:
    doc = {**_doc(), **edit}
    text = _rehashed(doc) if "sha256" not in edit else json.dumps(doc)
    with pytest.raises(PersistenceError):
        loads(text)


@pytest.mark.parametrize("field", ["judgecal_version", "class", "params", "state", "sha256"])
def test_missing_field_named(field: str) -> None:
    doc = _doc()
    del doc[field]
    with pytest.raises(PersistenceError, match=f"missing field.*{field}"):
        loads(json.dumps(doc))


def test_checksum_covers_the_library_version_in_new_files() -> None:
    doc = _doc()
    assert doc["schema_version"] == 2
    doc["judgecal_version"] = "9.9.9"
    with pytest.raises(PersistenceError, match="integrity"):
        loads(json.dumps(doc))


def test_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("[" * 50_000)
    with pytest.raises(PersistenceError, match=r"broken\.json"):
        load(path)


# ----------------------------------------------------------------------------------------
# optional HMAC
# ----------------------------------------------------------------------------------------
def test_hmac_round_trip_and_refusals(tmp_path: Path) -> None:
    cal = _fitted(LogisticCalibrator)
    path = save(cal, tmp_path / "signed.json", key=b"s3cret")
    doc = json.loads(path.read_text())
    assert len(doc["hmac_sha256"]) == 64
    x = np.linspace(0, 6, 50)
    assert load(path, key=b"s3cret").predict_proba(x).tobytes() == cal.predict_proba(x).tobytes()
    assert load(path).predict_proba(x).shape == (50, 2)  # without a key the HMAC is ignored
    with pytest.raises(PersistenceError, match="HMAC"):
        load(path, key=b"other")
    doc["state"]["pooled"]["b"] *= 3  # an edit whose author recomputed the checksum ...
    edited = tmp_path / "edited.json"
    edited.write_text(_rehashed(doc))
    assert load(edited) is not None  # ... passes the checksum, as the docs warn
    with pytest.raises(PersistenceError, match="HMAC"):
        load(edited, key=b"s3cret")  # ... but not the HMAC
    plain = save(cal, tmp_path / "plain.json")
    with pytest.raises(PersistenceError, match="no HMAC"):
        load(plain, key=b"s3cret")
    doc = json.loads(path.read_text())
    doc["hmac_sha256"] = "\u00e9" * 64
    with pytest.raises(PersistenceError, match="HMAC"):
        loads(json.dumps(doc), key=b"s3cret")


@pytest.mark.parametrize("key", ["text", 123, b"", ["k"]], ids=repr)
def test_bad_key_type_is_input_error(key: Any, tmp_path: Path) -> None:
    cal = _fitted(IsotonicCalibrator)
    with pytest.raises(InputError, match="'key'"):
        save(cal, tmp_path / "x.json", key=key)
    with pytest.raises(InputError, match="'key'"):
        loads(dumps(cal), key=key)
    assert not (tmp_path / "x.json").exists()


def test_files_of_0_1_0_have_no_hmac_and_still_load() -> None:
    text = (FIXTURES / "isotonic.json").read_text()
    assert json.loads(text)["schema_version"] == 1
    assert loads(text).predict_proba([2.0]).shape == (1, 2)
    with pytest.raises(PersistenceError, match="no HMAC"):
        loads(text, key=b"k")


# ----------------------------------------------------------------------------------------
# every state validated on load: edited files (checksum recomputed) never predict NaN
# ----------------------------------------------------------------------------------------
def _edit(doc: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    node = doc["state"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value(node[path[-1]]) if callable(value) else value
    return doc


NAN = {"__float__": "nan"}
STAGEWISE_EDITS = {
    "isotonic_y_nan": (IsotonicCalibrator, ["pooled", "y"], lambda y: [NAN] * len(y)),
    "isotonic_x_inf": (
        IsotonicCalibrator,
        ["pooled", "x"],
        lambda x: [{"__float__": "inf"}] * len(x),
    ),
    "isotonic_length_mismatch": (IsotonicCalibrator, ["pooled", "y"], lambda y: y[:1]),
    "isotonic_y_above_one": (IsotonicCalibrator, ["pooled", "y"], lambda y: [7.0] * len(y)),
    "isotonic_x_unsorted": (IsotonicCalibrator, ["pooled", "x"], lambda x: x[::-1]),
    "isotonic_x_strings": (IsotonicCalibrator, ["pooled", "x"], lambda x: ["a"] * len(x)),
    "isotonic_stage_nan": (
        IsotonicCalibrator,
        ["stages", "selection", "y"],
        lambda y: [NAN] * len(y),
    ),
    "logistic_b_nan": (LogisticCalibrator, ["pooled", "b"], NAN),
    "logistic_a_inf": (LogisticCalibrator, ["pooled", "a"], {"__float__": "inf"}),
    "logistic_spread_zero": (LogisticCalibrator, ["pooled", "spread"], 0.0),
    "logistic_center_string": (LogisticCalibrator, ["pooled", "center"], "x"),
    "counts_not_ints": (LogisticCalibrator, ["stage_counts"], {"a": "lots"}),
}


@pytest.mark.parametrize("name", sorted(STAGEWISE_EDITS))
def test_edited_stagewise_state_is_refused(name: str, tmp_path: Path) -> None:
    cls, where, value = STAGEWISE_EDITS[name]
    path = tmp_path / "cal.json"
    path.write_text(_rehashed(_edit(_doc(cls), where, value)))
    with pytest.raises(PersistenceError, match=rf"cal\.json.*{cls.__name__} is invalid"):
        load(path)


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


FIXTURE_EDITS = {
    "bayes_draw_nan": ("bayes_binary", ["draws", "selection", "a"], lambda a: [NAN, *a[1:]]),
    "bayes_draws_mismatched": ("bayes_binary", ["draws", "selection", "a"], lambda a: a[:10]),
    "bayes_cut_nan": (
        "bayes_ordinal",
        ["draws", "selection", "cut"],
        lambda c: [[NAN] * len(c[0])] * len(c),
    ),
    "bayes_levels_string": ("bayes_ordinal", ["levels"], "five"),
    "bayes_theta_ragged": (
        "bayes_monotone",
        ["draws", "selection", "theta"],
        lambda t: [r[:2] for r in t],
    ),
    "feature_coef_nan": ("feature_adjusted", ["pooled", "coef"], lambda c: [NAN] * len(c)),
    "feature_coef_short": ("feature_adjusted", ["pooled", "coef"], lambda c: c[:1]),
    "feature_names_longer": ("feature_adjusted", ["feature_names"], ["mentions", "length", "x"]),
}


@pytest.mark.parametrize("name", sorted(FIXTURE_EDITS))
def test_edited_bayes_and_feature_state_is_refused(name: str, tmp_path: Path) -> None:
    fixture, where, value = FIXTURE_EDITS[name]
    path = tmp_path / "cal.json"
    path.write_text(_rehashed(_edit(_fixture(fixture), where, value)))
    with pytest.raises(PersistenceError, match=r"cal\.json.*is invalid"):
        load(path)


# A consistent but impossible state that still predicts valid numbers: only each class's own
# validation in _set_state (draws of the declared size, ordered thresholds) can refuse it.
NEEDS_CLASS_CHECKS = {
    "bayes_all_draws_truncated": (
        "bayes_binary",
        ["draws"],
        lambda d: {s: {k: v[:10] for k, v in p.items()} for s, p in d.items()},
    ),
    "bayes_cut_unordered": (
        "bayes_ordinal",
        ["draws", "selection", "cut"],
        lambda c: [row[::-1] for row in c],
    ),
    "feature_reference_longer": ("feature_adjusted", ["reference"], [0.0, 1.0, 2.0]),
}


@pytest.mark.parametrize("name", sorted(NEEDS_CLASS_CHECKS))
def test_impossible_but_finite_state_is_refused(name: str, tmp_path: Path) -> None:
    fixture, where, value = NEEDS_CLASS_CHECKS[name]
    path = tmp_path / "cal.json"
    path.write_text(_rehashed(_edit(_fixture(fixture), where, value)))
    with pytest.raises(PersistenceError, match=r"cal\.json.*is invalid"):
        load(path)
