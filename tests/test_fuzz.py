"""Fuzz every public function and CLI command with bad input.

The contract: bad input ends in one of judgecal's own exceptions (a JudgecalError
subclass) with a clear, short message, or in a valid result. Never a bare numpy,
pydantic, scipy or PyMC exception, never a NaN in a result.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from judgecal import (
    IsotonicCalibrator,
    JudgecalError,
    Judgment,
    JudgmentSet,
    LogisticCalibrator,
    Rating,
    Scale,
    metrics,
    persist,
)
from judgecal.judging.judge import CalibratedJudge, JudgeRun, parse_score
from judgecal.records import datasets, io

NAN = float("nan")
INF = float("inf")
Y = [0, 1, 1, 0, 1]
P = [0.1, 0.8, 0.6, 0.3, 0.9]
S = [1.0, 4.0, 3.0, 2.0, 5.0]
STG = ["a", "b", "a", "b", "a"]

#: Bad values tried in every argument position.
BAD: dict[str, Any] = {
    "nan": NAN,
    "inf": INF,
    "neg_inf": -INF,
    "none": None,
    "str": "abc",
    "bytes": b"\x00\xff",
    "empty": [],
    "nan_list": [1.0, NAN, 0.0, 1.0, 0.0],
    "inf_list": [1.0, INF, 0.0, 1.0, 0.0],
    "str_list": ["a", "b", "c", "d", "e"],
    "numeric_str_list": ["1", "0", "1", "0", "1"],
    "ragged": [[1, 2], [3]],
    "matrix": np.zeros((5, 3)),
    "complex": [1 + 2j] * 5,
    "dict": {"a": 1},
    "object": object(),
    "bool": True,
    "huge_int": 10**400,
    "huge": 1e308,
    "huge_list": [1e308, -1e308, 1e308, -1e308, 1e308],
    "tiny_list": [5e-324, 0.0, 5e-324, 0.0, 5e-324],
    "short": [1, 0, 1],
    "long": [1, 0, 1, 0, 1, 0, 1],
    "negative": -1,
    "zero": 0,
    "big_int": 2**63,
    "nested_none": [None] * 5,
    "mixed": [1, "a", None, 2.0, []],
}


def _no_nan(value: Any, where: str) -> None:
    """Recursively check a result for NaN (silent NaN is a bug)."""
    if isinstance(value, float | np.floating):
        assert not math.isnan(value), f"{where} returned NaN"
    elif isinstance(value, np.ndarray):
        if value.dtype.kind in "fc":
            assert not np.isnan(value).any(), f"{where} returned an array with NaN"
    elif isinstance(value, list | tuple):
        for v in value:
            _no_nan(v, where)
    elif isinstance(value, dict):
        for v in value.values():
            _no_nan(v, where)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            if f.name not in (
                "raw",
                "item",
                "items",
            ):  # a judge's raw output and the input item are kept as they came
                _no_nan(getattr(value, f.name), where)
    elif hasattr(value, "predict_proba") and hasattr(value, "pooled_"):
        probe = np.linspace(-10, 10, 21)
        width = getattr(value, "n_features_in_", 1)  # a judge panel takes one column per judge
        probe = probe if width == 1 else np.repeat(probe[:, None], width, axis=1)
        _no_nan(value.predict_proba(probe), f"{where} -> predict_proba")


def _contract(fn: Callable[[], Any], where: str) -> Any:
    """Call ``fn``: a JudgecalError with a clear message or a NaN-free result are fine."""
    try:
        out = fn()
    except JudgecalError as exc:
        msg = str(exc)
        assert msg.strip(), f"{where}: empty error message"
        assert len(msg) < 1000, f"{where}: message too long ({len(msg)} chars)"
        return exc
    except Exception as exc:  # a bare numpy / pydantic / scipy exception is the bug we hunt
        pytest.fail(f"{where} raised a bare {type(exc).__module__}.{type(exc).__name__}: {exc}")
    _no_nan(out, where)
    return out


def _fitted(cls: Any = IsotonicCalibrator) -> Any:
    return cls(min_stage_labels=2).fit(S, Y, stages=STG)


def _js() -> JudgmentSet:
    return JudgmentSet(
        [
            Judgment(
                item_id=str(i),
                stage=STG[i],
                score=S[i],
                label_kind="binary",
                ratings=(Rating(value=Y[i]),),
                features={"len": float(i)},
                meta={"m": "x"},
            )
            for i in range(5)
        ],
        scale=Scale.likert(5),
    )


# name -> (function, positional args, keyword args)
SPECS: dict[str, tuple[Callable[..., Any], list[Any], dict[str, Any]]] = {
    "brier_score": (metrics.brier_score, [Y, P], {"sample_weight": None}),
    "log_loss": (metrics.log_loss, [Y, P], {"sample_weight": None, "eps": 1e-15}),
    "expected_calibration_error": (
        metrics.expected_calibration_error,
        [Y, P],
        {"n_bins": 10, "strategy": "uniform", "sample_weight": None},
    ),
    "reliability_curve": (
        metrics.reliability_curve,
        [Y, P],
        {"n_bins": 10, "strategy": "quantile", "sample_weight": None},
    ),
    "spearman_rho": (metrics.spearman_rho, [S, P], {}),
    "kendall_tau": (metrics.kendall_tau, [S, P], {"variant": "b"}),
    "cohen_kappa": (metrics.cohen_kappa, [Y, [1, 1, 0, 0, 1]], {"weights": None, "labels": None}),
    "cohen_kappa_quadratic": (metrics.cohen_kappa, [S, [1, 4, 2, 2, 5]], {"weights": "quadratic"}),
    "bootstrap_ci": (
        metrics.bootstrap_ci,
        [metrics.brier_score, Y, P],
        {"n_resamples": 20, "level": 0.9, "seed": 0},
    ),
    "Isotonic.fit": (
        lambda *a, **k: IsotonicCalibrator().fit(*a, **k),
        [S, Y],
        {"sample_weight": None, "stages": STG},
    ),
    "Logistic.fit": (
        lambda *a, **k: LogisticCalibrator().fit(*a, **k),
        [S, Y],
        {"sample_weight": None, "stages": STG},
    ),
    "Isotonic(params).fit": (
        lambda m, u, inc: IsotonicCalibrator(
            min_stage_labels=m, unknown_stage=u, increasing=inc
        ).fit(S, Y),
        [30, "pooled", True],
        {},
    ),
    "Logistic(params).fit": (
        lambda ps, m: LogisticCalibrator(prior_scale=ps, min_stage_labels=m).fit(S, Y),
        [2.5, 30],
        {},
    ),
    "Isotonic.predict_proba": (
        lambda *a, **k: _fitted().predict_proba(*a, **k),
        [S],
        {"stages": STG},
    ),
    "Logistic.predict_proba": (
        lambda *a, **k: _fitted(LogisticCalibrator).predict_proba(*a, **k),
        [S],
        {"stages": STG},
    ),
    "Isotonic.predict": (lambda *a, **k: _fitted().predict(*a, **k), [S], {"stages": STG}),
    "persist.dumps": (persist.dumps, [_fitted()], {}),
    "persist.loads": (persist.loads, [persist.dumps(_fitted())], {}),
    "persist.save": (lambda est, path: persist.save(est, path), [_fitted(), "<tmp>/c.json"], {}),
    "persist.load": (persist.load, ["<tmp>/missing.json"], {}),
    "Scale.likert": (Scale.likert, [5], {"low": 1}),
    "Scale.check": (lambda v: Scale.likert(5).check(v), [3], {}),
    "Scale.check(verdict)": (lambda v: Scale.verdict("no", "yes").check(v), ["yes"], {}),
    "Scale.to_unit": (lambda v: Scale.numeric(0, 10).to_unit(v), [S], {}),
    "JudgmentSet": (
        lambda items, scale: JudgmentSet(items, scale=scale),
        [list(_js()), Scale.likert(5)],
        {},
    ),
    "JudgmentSet.take": (lambda idx: _js().take(idx), [[0, 2]], {}),
    "JudgmentSet.targets": (
        lambda **k: _js().targets(**k),
        [],
        {"how": "soft", "threshold": None, "ties": "half"},
    ),
    "JudgmentSet.feature": (lambda name: _js().feature(name), ["len"], {}),
    "JudgmentSet.meta": (lambda name: _js().meta(name), ["m"], {}),
    "JudgmentSet.stage": (lambda name: _js().stage(name), ["a"], {}),
    "from_rows": (
        io.from_rows,
        [[{"item_id": "a", "score": "4", "r1": "1"}, {"item_id": "b", "score": "2", "r1": "0"}]],
        {
            "scale": Scale.likert(5),
            "label_kind": "binary",
            "label_cols": ["r1"],
            "levels": None,
            "pairwise_codes": None,
            "feature_cols": (),
            "stage_col": None,
            "on_error": "raise",
        },
    ),
    "from_dataframe": (io.from_dataframe, [None], {}),
    "read_csv": (io.read_csv, ["<tmp>/missing.csv"], {"scale": Scale.likert(5)}),
    "read_jsonl": (io.read_jsonl, ["<tmp>/missing.jsonl"], {"scale": Scale.likert(5)}),
    "load_hanna": (datasets.load_hanna, ["ChatGPT_p1"], {"criteria": ("Relevance",)}),
    "load_pandalm": (datasets.load_pandalm, ["gpt35"], {"with_texts": False}),
    "parse_score": (parse_score, ["Score: 4", Scale.likert(5)], {}),
    "CalibratedJudge": (
        lambda j, c, **k: CalibratedJudge(j, c, **k),
        [lambda t: "3", None],
        {"scale": Scale.likert(5), "parser": None, "stage": "default"},
    ),
    "CalibratedJudge.judge_many": (
        lambda items, **k: CalibratedJudge(
            lambda t: "3", _fitted(), scale=Scale.likert(5)
        ).judge_many(items, **k),
        [["x", "y"]],
        {"stages": None, "item_ids": None},
    ),
    "CalibratedJudge.calibrate": (
        lambda s, **k: CalibratedJudge(lambda t: "3", _fitted(), scale=Scale.likert(5)).calibrate(
            s, **k
        ),
        [S],
        {"stages": None},
    ),
    "CalibratedJudge.fit": (
        lambda js, **k: CalibratedJudge(lambda t: "3", scale=Scale.likert(5)).fit(js, **k),
        [_js()],
        {},
    ),
    "JudgeRun.to_judgments": (lambda sc: JudgeRun().to_judgments(sc), [Scale.likert(5)], {}),
}

# Failures found in modules this suite may not edit: (spec, argument) -> (bad values, reason).
# Each is an xfail(strict=True) case below, so a fix makes it XPASS and the entry must go.
_NOT_ITERABLE = (
    "nan",
    "inf",
    "neg_inf",
    "none",
    "object",
    "bool",
    "huge_int",
    "huge",
    "negative",
    "zero",
    "big_int",
)
#: Every failure the fuzzer found here has been fixed; new ones go in as strict xfails.
KNOWN_FAILURES: dict[tuple[str, str], tuple[tuple[str, ...], str]] = {}


def _substitute(args: list[Any], tmp: Path) -> list[Any]:
    return [
        str(tmp / a.split("/", 1)[1]) if isinstance(a, str) and a.startswith("<tmp>/") else a
        for a in args
    ]


@pytest.mark.parametrize("name", sorted(SPECS))
def test_good_call_works(name: str, tmp_path: Path) -> None:
    """Sanity: the template call itself is valid (so failures below come from the bad value)."""
    fn, args, kwargs = SPECS[name]
    _contract(lambda: fn(*_substitute(args, tmp_path), **kwargs), name)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_bad_values_in_every_argument(name: str, tmp_path: Path) -> None:
    fn, args, kwargs = SPECS[name]
    args = _substitute(args, tmp_path)
    problems: list[str] = []
    slots = [("pos", i) for i in range(len(args))] + [("kw", k) for k in kwargs]
    for kind, key in slots:
        for bad_name, bad in BAD.items():
            a, kw = list(args), dict(kwargs)
            if kind == "pos":
                a[key] = bad  # type: ignore[index]
            else:
                kw[key] = bad  # type: ignore[index]
            where = f"{name}[{key}={bad_name}]"
            if bad_name in KNOWN_FAILURES.get((name, str(key)), ((), ""))[0]:
                continue
            try:
                _contract(lambda a=a, kw=kw: fn(*a, **kw), where)
            except pytest.fail.Exception as exc:
                problems.append(str(exc))
            except AssertionError as exc:
                problems.append(f"{where}: {exc}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        pytest.param(n, k, marks=pytest.mark.xfail(strict=True, reason=r))
        for (n, k), (_, r) in KNOWN_FAILURES.items()
    ],
)
def test_known_failures(name: str, key: str, tmp_path: Path) -> None:
    fn, args, kwargs = SPECS[name]
    args = _substitute(args, tmp_path)
    for bad_name in KNOWN_FAILURES[(name, key)][0]:
        a, kw = list(args), dict(kwargs)
        if key.isdigit():
            a[int(key)] = BAD[bad_name]
        else:
            kw[key] = BAD[bad_name]
        _contract(lambda a=a, kw=kw: fn(*a, **kw), f"{name}[{key}={bad_name}]")


# ----------------------------------------------------------------------------------------
# hypothesis-driven garbage
# ----------------------------------------------------------------------------------------

garbage = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=5)
    | st.binary(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)
numeric_lists = st.lists(st.floats() | st.integers(-(10**20), 10**20), min_size=0, max_size=8)


@pytest.mark.parametrize(
    "name",
    [
        "brier_score",
        "log_loss",
        "expected_calibration_error",
        "spearman_rho",
        "kendall_tau",
        "cohen_kappa",
        "cohen_kappa_quadratic",
        "Isotonic.fit",
        "Logistic.fit",
        "Isotonic.predict_proba",
        "Logistic.predict_proba",
    ],
)
def test_hypothesis_garbage(name: str) -> None:
    fn, args, kwargs = SPECS[name]

    @settings(
        max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(st.lists(garbage | numeric_lists, min_size=len(args), max_size=len(args)))
    def prop(values: list[Any]) -> None:
        _contract(lambda: fn(*values, **kwargs), f"{name}{tuple(values)!r}")

    prop()


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    garbage | st.text(max_size=30),
    st.sampled_from([Scale.likert(5), Scale.numeric(0, 1), Scale.verdict("no", "yes")]),
)
def test_parse_score_never_raises_or_leaves_the_scale(output: Any, scale: Scale) -> None:
    v = _contract(lambda: parse_score(output, scale), "parse_score")
    assert v is None or (isinstance(v, float) and scale.low <= v <= scale.high)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["item_id", "score", "r1", "stage", "f"]), garbage, max_size=5
        ),
        max_size=4,
    )
)
def test_from_rows_garbage_rows(rows: list[dict[str, Any]]) -> None:
    for on_error in ("raise", "report"):
        _contract(
            lambda on_error=on_error: io.from_rows(
                rows,
                scale=Scale.likert(5),
                label_kind="binary",
                label_cols=["r1"],
                stage_col="stage",
                feature_cols=["f"],
                on_error=on_error,
            ),
            "from_rows",
        )


# ----------------------------------------------------------------------------------------
# corrupted files
# ----------------------------------------------------------------------------------------


def _rehash(doc: dict[str, Any]) -> str:
    """A hand-edited file whose author also fixed the checksum: only validation can catch it."""
    doc = dict(doc)
    doc["sha256"] = persist._checksum(doc)
    return json.dumps(doc)


def _corruptions() -> dict[str, str | bytes]:
    good = persist.dumps(_fitted())
    doc = json.loads(good)
    out: dict[str, str | bytes] = {
        "truncated": good[: len(good) // 2],
        "empty": "",
        "binary": b"\x80\x81\xfe\xff" * 10,
        "list": "[1, 2, 3]",
        "null": "null",
        "wrong_format": json.dumps({**doc, "format": "pickle"}),
        "future_version": json.dumps({**doc, "schema_version": 99}),
        "edited_without_hash": good.replace('"pooled"', '"pooled"', 1).replace("0.", "0.9", 1),
        "missing_state": json.dumps({k: v for k, v in doc.items() if k != "state"}),
    }
    state = doc["state"]
    pooled = state["pooled"]
    edits = {
        "unknown_class": {**doc, "class": "os.system"},
        "params_wrong_type": {**doc, "params": {**doc["params"], "min_stage_labels": "many"}},
        "params_unknown": {**doc, "params": {**doc["params"], "evil": 1}},
        "params_not_dict": {**doc, "params": [1, 2]},
        "state_not_dict": {**doc, "state": "x"},
        "state_missing_pooled": {**doc, "state": {k: v for k, v in state.items() if k != "pooled"}},
        "x_y_length_mismatch": {
            **doc,
            "state": {**state, "pooled": {**pooled, "y": pooled["y"][:1]}},
        },
        "x_strings": {
            **doc,
            "state": {**state, "pooled": {**pooled, "x": ["a"] * len(pooled["x"])}},
        },
        "y_nan": {
            **doc,
            "state": {
                **state,
                "pooled": {**pooled, "y": [{"__float__": "nan"}] * len(pooled["y"])},
            },
        },
        "y_above_one": {
            **doc,
            "state": {**state, "pooled": {**pooled, "y": [7.0] * len(pooled["y"])}},
        },
        "x_unsorted": {**doc, "state": {**state, "pooled": {**pooled, "x": pooled["x"][::-1]}}},
        "x_empty": {**doc, "state": {**state, "pooled": {"x": [], "y": []}}},
        "stages_not_dict": {**doc, "state": {**state, "stages": [1]}},
        "stage_counts_bad": {**doc, "state": {**state, "stage_counts": {"a": "lots"}}},
        "pooled_null": {**doc, "state": {**state, "pooled": None}},
    }
    for key, d in edits.items():
        out[key] = _rehash(d)
    return out


CORRUPTIONS = _corruptions()
LOGISTIC_DOC = json.loads(persist.dumps(_fitted(LogisticCalibrator)))
LOGISTIC_CORRUPTIONS = {
    "spread_zero": _rehash(
        {
            **LOGISTIC_DOC,
            "state": {
                **LOGISTIC_DOC["state"],
                "pooled": {**LOGISTIC_DOC["state"]["pooled"], "spread": 0.0},
            },
        }
    ),
    "a_string": _rehash(
        {
            **LOGISTIC_DOC,
            "state": {
                **LOGISTIC_DOC["state"],
                "pooled": {**LOGISTIC_DOC["state"]["pooled"], "a": "x"},
            },
        }
    ),
    "b_inf": _rehash(
        {
            **LOGISTIC_DOC,
            "state": {
                **LOGISTIC_DOC["state"],
                "pooled": {**LOGISTIC_DOC["state"]["pooled"], "b": {"__float__": "inf"}},
            },
        }
    ),
    "missing_center": _rehash(
        {
            **LOGISTIC_DOC,
            "state": {
                **LOGISTIC_DOC["state"],
                "pooled": {
                    k: v for k, v in LOGISTIC_DOC["state"]["pooled"].items() if k != "center"
                },
            },
        }
    ),
}


@pytest.mark.parametrize(
    "name", sorted(CORRUPTIONS) + [f"logistic:{k}" for k in sorted(LOGISTIC_CORRUPTIONS)]
)
def test_corrupted_calibrator(name: str, tmp_path: Path) -> None:
    """A corrupted calibrator is refused at load or predicts valid probabilities."""
    text = (
        LOGISTIC_CORRUPTIONS[name.split(":", 1)[1]]
        if name.startswith("logistic:")
        else CORRUPTIONS[name]
    )
    p = tmp_path / "cal.json"
    p.write_bytes(text if isinstance(text, bytes) else text.encode())

    def load_and_predict() -> Any:
        cal = persist.load(p)
        return cal.predict_proba(
            np.array([-1e9, 1.0, 2.5, 5.0, 1e9]), stages=["a", "b", "zz", "a", "b"]
        )

    out = _contract(load_and_predict, f"load({name})")
    if isinstance(out, np.ndarray):
        assert ((out >= 0) & (out <= 1)).all(), f"{name}: probabilities outside [0, 1]: {out}"
    else:
        assert isinstance(out, (persist.PersistenceError, JudgecalError))


# ----------------------------------------------------------------------------------------
# files with bad content for the loaders
# ----------------------------------------------------------------------------------------

BAD_FILES: dict[str, bytes] = {
    "empty": b"",
    "header_only": b"item_id,score,r1\n",
    "binary": b"\x80\x81\xfe\xff\x00\x01" * 20,
    "latin1": "item_id,score,r1\ncaf\xe9,3,1\n".encode("latin-1"),
    "nan_score": b"item_id,score,r1\na,nan,1\n",
    "inf_score": b"item_id,score,r1\na,inf,1\n",
    "huge_score": b"item_id,score,r1\na,1e400,1\n",
    "text_score": b"item_id,score,r1\na,great,1\n",
    "label_text": b"item_id,score,r1\na,3,yes\n",
    "label_two": b"item_id,score,r1\na,3,2\n",
    "missing_column": b"item_id,r1\na,1\n",
    "ragged": b"item_id,score,r1\na,3,1,9,9\nb\n",
    "duplicate_ids": b"item_id,score,r1\na,3,1\na,4,0\n",
    "nul_bytes": b"item_id,score,r1\na,3\x00,1\n",
    "bom": b"\xef\xbb\xbfitem_id,score,r1\na,3,1\n",
}
BAD_JSONL: dict[str, bytes] = {
    "not_json": b"{not json}\n",
    "array_line": b"[1, 2, 3]\n",
    "null_line": b"null\n",
    "string_line": b'"text"\n',
    "nan_literal": b'{"item_id": "a", "score": NaN, "r1": 1}\n',
    "nested_score": b'{"item_id": "a", "score": {"v": 3}, "r1": 1}\n',
    "list_label": b'{"item_id": "a", "score": 3, "r1": [1]}\n',
    "bool_score": b'{"item_id": "a", "score": true, "r1": 1}\n',
    "huge_int": b'{"item_id": "a", "score": ' + b"9" * 500 + b', "r1": 1}\n',
    "binary": b"\x80\x81\xfe\xff\n",
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_read_csv_bad_files(name: str, tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    p.write_bytes(BAD_FILES[name])
    for on_error in ("raise", "report"):
        _contract(
            lambda on_error=on_error: io.read_csv(
                p, scale=Scale.likert(5), label_kind="binary", label_cols=["r1"], on_error=on_error
            ),
            f"read_csv({name}, {on_error})",
        )


@pytest.mark.parametrize("name", sorted(BAD_JSONL))
def test_read_jsonl_bad_files(name: str, tmp_path: Path) -> None:
    p = tmp_path / "d.jsonl"
    p.write_bytes(BAD_JSONL[name])
    for on_error in ("raise", "report"):
        _contract(
            lambda on_error=on_error: io.read_jsonl(
                p, scale=Scale.likert(5), label_kind="binary", label_cols=["r1"], on_error=on_error
            ),
            f"read_jsonl({name}, {on_error})",
        )


# ----------------------------------------------------------------------------------------
# judges that misbehave
# ----------------------------------------------------------------------------------------


class _Weird:
    def __float__(self) -> float:
        raise RuntimeError("no float for you")


JUDGE_OUTPUTS = [
    NAN,
    INF,
    -INF,
    None,
    b"4",
    [4],
    {"score": 4},
    _Weird(),
    10**400,
    "Score: 1e999",
    "4" * 5000,
    True,
    np.float32(3.0),
    np.nan,
]


def test_calibrated_judge_with_misbehaving_judges() -> None:
    for out in JUDGE_OUTPUTS:
        cj = CalibratedJudge(lambda t, out=out: out, _fitted(), scale=Scale.likert(5))
        run = _contract(
            lambda cj=cj: cj.judge_many(["a", "b"], stages="a"), f"judge returning {out!r:.40}"
        )
        assert isinstance(run, JudgeRun) and sum(run.status_counts().values()) == 2
        probs = run.probabilities()[run.ok_mask()]
        assert ((probs >= 0) & (probs <= 1)).all()

    def bad_parser(output: Any, scale: Scale) -> Any:
        return output  # returns whatever, e.g. NaN or a string

    for out in JUDGE_OUTPUTS:
        cj = CalibratedJudge(
            lambda t, out=out: out, _fitted(), scale=Scale.likert(5), parser=bad_parser
        )
        _contract(lambda cj=cj: cj("x"), f"parser returning {out!r:.40}")


# ----------------------------------------------------------------------------------------
# CLI: exit code 2 and one line on stderr, never a traceback
# ----------------------------------------------------------------------------------------

GOOD_CSV = (
    "item_id,stage,score,r1,r2\n"
    + "\n".join(
        f"i{i},{'s1' if i % 2 else 's2'},{1 + i % 5},{int(i % 5 >= 2)},{int(i % 3 > 0)}"
        for i in range(60)
    )
    + "\n"
)


def _cli_cases(tmp: Path) -> dict[str, list[str]]:
    from judgecal.cli.app import main

    good = tmp / "good.csv"
    good.write_text(GOOD_CSV)
    cal = tmp / "cal.json"
    assert (
        main(
            [
                "fit",
                str(good),
                "--score-col",
                "score",
                "--label-col",
                "r1,r2",
                "--stage-col",
                "stage",
                "--out",
                str(cal),
            ]
        )
        == 0
    )
    files = {}
    for name, content in BAD_FILES.items():
        f = tmp / f"{name}.csv"
        f.write_bytes(content)
        files[name] = str(f)
    for name, text in CORRUPTIONS.items():
        f = tmp / f"cal_{name}.json"
        f.write_bytes(text if isinstance(text, bytes) else text.encode())
        files[f"cal_{name}"] = str(f)
    d = tmp / "adir"
    d.mkdir()
    fit = [
        "fit",
        str(good),
        "--score-col",
        "score",
        "--label-col",
        "r1,r2",
        "--out",
        str(tmp / "o.json"),
    ]
    cases: dict[str, list[str]] = {
        "no_args": [],
        "unknown_command": ["frobnicate"],
        "fit_missing_file": [
            "fit",
            str(tmp / "nope.csv"),
            "--score-col",
            "s",
            "--label-col",
            "r",
            "--out",
            "x.json",
        ],
        "fit_directory": ["fit", str(d), "--score-col", "s", "--label-col", "r", "--out", "x.json"],
        "fit_bad_suffix": [
            "fit",
            str(cal),
            "--score-col",
            "s",
            "--label-col",
            "r",
            "--out",
            "x.json",
        ],
        "fit_levels_negative": [*fit, "--label-kind", "ordinal", "--levels", "-1"],
        "fit_levels_text": [*fit, "--levels", "many"],
        "fit_ordinal_no_levels": [*fit, "--label-kind", "ordinal"],
        "fit_ordinal_bad_threshold": [
            *fit,
            "--label-kind",
            "ordinal",
            "--levels",
            "5",
            "--threshold",
            "99",
        ],
        "fit_pairwise_numeric_labels": [*fit, "--label-kind", "pairwise"],
        "fit_pairwise_bad_codes": [*fit, "--label-kind", "pairwise", "--pairwise-codes", "garbage"],
        "fit_scale_reversed": [*fit, "--scale", "numeric:5:1"],
        "fit_scale_nan": [*fit, "--scale", "numeric:nan:1"],
        "fit_scale_verdict_one": [*fit, "--scale", "verdict:yes"],
        "fit_scale_likert_huge": [*fit, "--scale", "likert:99999999999999999999"],
        "fit_scale_empty": [*fit, "--scale", ""],
        "fit_min_stage_labels_zero": [*fit, "--min-stage-labels", "0"],
        "fit_how_mean_binary": [*fit, "--how", "mean"],
        "fit_out_in_missing_dir": [
            "fit",
            str(good),
            "--score-col",
            "score",
            "--label-col",
            "r1",
            "--out",
            str(tmp / "no" / "x.json"),
        ],
        "fit_out_is_directory": [
            "fit",
            str(good),
            "--score-col",
            "score",
            "--label-col",
            "r1",
            "--out",
            str(d),
        ],
        "fit_unknown_label_col": [
            "fit",
            str(good),
            "--score-col",
            "score",
            "--label-col",
            "zzz",
            "--out",
            str(tmp / "o.json"),
        ],
        "fit_stage_col_missing": [*fit, "--stage-col", "nope"],
        "apply_missing_calibrator": [
            "apply",
            str(tmp / "none.json"),
            str(good),
            "--score-col",
            "score",
        ],
        "apply_calibrator_is_csv": ["apply", str(good), str(good), "--score-col", "score"],
        "apply_bad_score_col": ["apply", str(cal), str(good), "--score-col", "nope"],
        "apply_out_in_missing_dir": [
            "apply",
            str(cal),
            str(good),
            "--score-col",
            "score",
            "--out",
            str(tmp / "no" / "p.csv"),
        ],
        "apply_unknown_stage_values": [
            "apply",
            str(cal),
            str(good),
            "--score-col",
            "score",
            "--stage-col",
            "item_id",
        ],
        "demo_bad_judge": ["demo", "--judge", "nobody", "--plot", str(tmp / "p.png")],
        "demo_bad_n": ["demo", "--n-labelled", "-5", "--plot", str(tmp / "p.png")],
        "demo_huge_n": ["demo", "--n-labelled", "100000000", "--plot", str(tmp / "p.png")],
    }
    for name, path in files.items():
        if name.startswith("cal_"):
            cases[f"apply_{name}"] = ["apply", path, str(good), "--score-col", "score"]
        else:
            cases[f"fit_file_{name}"] = [
                "fit",
                path,
                "--score-col",
                "score",
                "--label-col",
                "r1",
                "--out",
                str(tmp / "o.json"),
            ]
    return cases


def test_cli_bad_input_exit_2_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from judgecal.cli.app import main

    problems = []
    cases = _cli_cases(tmp_path)
    capsys.readouterr()
    for name, argv in cases.items():
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse --help/--version style exits are fine only with code 0
            code = exc.code if isinstance(exc.code, int) else 2
        except Exception as exc:
            problems.append(f"{name}: uncaught {type(exc).__name__}: {exc}")
            continue
        captured = capsys.readouterr()
        err = captured.err.strip()
        if code == 0:
            continue  # some inputs are valid after all (e.g. rows reported, not raised)
        lines = [ln for ln in err.splitlines() if not ln.startswith("warning:")]
        if code != 2:
            problems.append(f"{name}: exit code {code}")
        elif name != "no_args" and len(lines) != 1:
            problems.append(f"{name}: expected one line on stderr, got {len(lines)}: {err[:300]!r}")
        elif "Traceback" in err:
            problems.append(f"{name}: traceback on stderr")
    assert not problems, "\n".join(problems)


# ----------------------------------------------------------------------------------------
# Modules built in parallel with the spine (bias, ablations, estimate, agreement, runner,
# parsers, cache, bayes and their CLI commands). This suite does not edit them: what it
# finds there is recorded as xfail(strict=True) cases in OTHER_KNOWN_FAILURES.
# ----------------------------------------------------------------------------------------


def _sim_js(n: int = 60, unlabelled: int = 40) -> JudgmentSet:
    from judgecal.testing.strategies import AgreementCurve, CalibrationDataset

    ds = CalibrationDataset.simulate(
        Scale.likert(5),
        n=n,
        seed=0,
        curves={"a": AgreementCurve(0.0, 6.0), "b": AgreementCurve(0.5, 6.0)},
        raters=2,
    )
    js = ds.to_judgments()
    items = [
        j if i < n - unlabelled else j.model_copy(update={"ratings": (), "label_kind": None})
        for i, j in enumerate(js)
    ]
    return JudgmentSet(items, scale=js.scale)


def _ordinal_js() -> JudgmentSet:
    rng = np.random.default_rng(0)
    return JudgmentSet(
        [
            Judgment(
                item_id=str(i),
                stage="s",
                score=float(rng.integers(1, 6)),
                label_kind="ordinal",
                levels=5,
                ratings=tuple(
                    Rating(value=int(v), rater=f"r{k}") for k, v in enumerate(rng.integers(1, 6, 3))
                ),
            )
            for i in range(30)
        ],
        scale=Scale.likert(5),
    )


def _other_specs() -> dict[str, tuple[Callable[..., Any], list[Any], dict[str, Any]]]:
    from judgecal import (
        BayesianCalibrator,
        FeatureAdjustedCalibrator,
        JudgeCache,
        JudgeRunner,
        RateLimit,
        agreement_report,
        estimate_rate,
        feature_regression,
        find_mentions,
        fleiss_kappa,
        human_judge_gap,
        keep_labels,
        krippendorff_alpha,
        plan_labels,
        ppi_mean,
        prior_predictive,
        probe_bias,
    )
    from judgecal import parsers as prs
    from judgecal.bias.ablations import insert_mention

    rng = np.random.default_rng(0)
    q = rng.normal(3, 0.7, 30)
    feats = {"len": rng.normal(0, 1, 30).tolist()}
    bayes = BayesianCalibrator(score_range=(1, 5), random_state=0).fit(S, Y, stages=STG)
    return {
        "fleiss_kappa": (fleiss_kappa, [[[3, 0], [2, 1], [0, 3], [1, 2]]], {}),
        "krippendorff_alpha": (
            krippendorff_alpha,
            [[[1, 2, 3, 3, 2], [1, 2, 3, 3, 1]]],
            {"level": "nominal"},
        ),
        "ppi_mean": (ppi_mean, [Y, P, [0.2, 0.7, 0.6, 0.5, 0.9, 0.1]], {"level": 0.9, "lam": None}),
        "plan_labels": (
            plan_labels,
            [0.03],
            {"correlation": 0.7, "sd": 0.5, "n_total": 20000, "level": 0.9},
        ),
        "keep_labels": (keep_labels, [_sim_js(), 10], {"by": "stage", "seed": 0}),
        "estimate_rate": (
            estimate_rate,
            [_sim_js()],
            {"strata": "stage", "level": 0.9, "folds": 5, "seed": 0},
        ),
        "agreement_report": (
            agreement_report,
            [_ordinal_js()],
            {"n_boot": 10, "level": 0.9, "seed": 0},
        ),
        "feature_regression": (
            feature_regression,
            [q + rng.normal(0, 0.3, 30), q, feats],
            {"level": 0.95},
        ),
        "human_judge_gap": (
            lambda *a, **k: human_judge_gap(*a, n_resamples=50, n_permutations=99, **k),
            [q + 0.5, q, q + 0.03, q],
            {"level": 0.95, "seed": 0},
        ),
        "find_mentions": (
            find_mentions,
            ["As a vegan runner, I run daily.", {"vegan": [], "run": ["jog"]}],
            {},
        ),
        "probe_bias": (
            lambda j, t, **k: probe_bias(
                j, t, insert_mention, n_resamples=50, n_permutations=99, **k
            ),
            [lambda text: 3 + ("vegan" in text), [f"Recipe {i} uses beans." for i in range(12)]],
            {"attributes": "vegan", "level": 0.95},
        ),
        "FeatureAdjusted.fit": (
            lambda X, y, **k: FeatureAdjustedCalibrator(features=["len"], min_stage_labels=2).fit(
                X, y, **k
            ),
            [[{"score": s, "len": float(i)} for i, s in enumerate(S)], Y],
            {},
        ),
        "parsers.likert.parse": (lambda out: prs.likert(5).parse(out), ["Score: 4"], {}),
        "parsers.number": (lambda lo, hi: prs.number(lo, hi).parse("7"), [1, 10], {}),
        "parsers.json_field": (
            lambda f, out: prs.json_field(f, Scale.likert(5)).parse(out),
            ["score", '{"score": 4}'],
            {},
        ),
        "parsers.regex": (
            lambda pat, out: prs.regex(pat, Scale.likert(5)).parse(out),
            [r"(\d)", "3"],
            {},
        ),
        "parsers.pairwise.parse": (lambda out: prs.pairwise().parse(out), ["[[A]]"], {}),
        "RateLimit": (RateLimit, [60], {"period": 60.0}),
        "JudgeRunner": (
            lambda **k: JudgeRunner(lambda t: "Score: 3", **k).run(["a", "b"]),
            [],
            {
                "scale": Scale.likert(5),
                "concurrency": 2,
                "timeout": None,
                "retries": 0,
                "rate_limit": None,
            },
        ),
        "JudgeRunner.run": (
            lambda items, **k: JudgeRunner(lambda t: "Score: 3", scale=Scale.likert(5)).run(
                items, **k
            ),
            [["a", "b"]],
            {"ids": None, "stages": None, "repeats": 1},
        ),
        "JudgeCache": (
            lambda path, **k: JudgeCache(path, **k).stats(),
            ["<tmp>/c.sqlite"],
            {"timeout": 30.0},
        ),
        "BayesianCalibrator.fit": (
            lambda X, y, **k: BayesianCalibrator(score_range=(1, 5), random_state=0).fit(X, y, **k),
            [S, Y],
            {"stages": STG},
        ),
        "BayesianCalibrator(params)": (
            lambda **k: BayesianCalibrator(**k).fit(S, Y),
            [],
            {"kind": "binary", "score_range": (1, 5), "draws": 1000, "random_state": 0},
        ),
        "BayesianCalibrator.predict_proba": (
            lambda X, **k: bayes.predict_proba(X, **k),
            [S],
            {"stages": STG},
        ),
        "prior_predictive": (
            lambda s, **k: prior_predictive(bayes, s, **k),
            [S],
            {"n": 100, "random_state": 0},
        ),
    }


OTHER_SPECS = _other_specs()
#: Every failure the fuzzer found here has been fixed; new ones go in as strict xfails.
OTHER_KNOWN_FAILURES: dict[tuple[str, str], tuple[tuple[str, ...], str]] = {}


@pytest.mark.parametrize("name", sorted(OTHER_SPECS))
def test_other_modules_good_call(name: str, tmp_path: Path) -> None:
    fn, args, kwargs = OTHER_SPECS[name]
    _contract(lambda: fn(*_substitute(args, tmp_path), **kwargs), name)


@pytest.mark.parametrize("name", sorted(OTHER_SPECS))
def test_other_modules_bad_values(name: str, tmp_path: Path) -> None:
    fn, args, kwargs = OTHER_SPECS[name]
    args = _substitute(args, tmp_path)
    problems: list[str] = []
    slots = [("pos", i) for i in range(len(args))] + [("kw", k) for k in kwargs]
    for kind, key in slots:
        skip = OTHER_KNOWN_FAILURES.get((name, str(key)), ((), ""))[0]
        for bad_name, bad in BAD.items():
            if bad_name in skip:
                continue
            a, kw = list(args), dict(kwargs)
            if kind == "pos":
                a[key] = bad  # type: ignore[index]
            else:
                kw[key] = bad  # type: ignore[index]
            where = f"{name}[{key}={bad_name}]"
            try:
                _contract(lambda a=a, kw=kw: fn(*a, **kw), where)
            except pytest.fail.Exception as exc:
                problems.append(str(exc))
            except AssertionError as exc:
                problems.append(f"{where}: {exc}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        pytest.param(n, k, marks=pytest.mark.xfail(strict=True, reason=r))
        for (n, k), (_, r) in OTHER_KNOWN_FAILURES.items()
    ],
)
def test_other_modules_known_failures(name: str, key: str, tmp_path: Path) -> None:
    fn, args, kwargs = OTHER_SPECS[name]
    args = _substitute(args, tmp_path)
    for bad_name in OTHER_KNOWN_FAILURES[(name, key)][0]:
        a, kw = list(args), dict(kwargs)
        if key.isdigit():
            a[int(key)] = BAD[bad_name]
        else:
            kw[key] = BAD[bad_name]
        _contract(lambda a=a, kw=kw: fn(*a, **kw), f"{name}[{key}={bad_name}]")


def _subcommand_cases(tmp: Path) -> dict[str, list[str]]:
    good = tmp / "good.csv"
    good.write_text(GOOD_CSV)
    binary = tmp / "binary.csv"
    binary.write_bytes(BAD_FILES["binary"])
    latin = tmp / "latin1.csv"
    latin.write_bytes(BAD_FILES["latin1"])
    missing = str(tmp / "missing.csv")
    data = [str(good), "--score-col", "score"]
    return {
        "bias_missing_file": ["bias", missing, "--score-col", "score", "--human-col", "r1"],
        "bias_binary_file": ["bias", str(binary), "--score-col", "score", "--human-col", "r1"],
        "bias_latin1_file": ["bias", str(latin), "--score-col", "score", "--human-col", "r1"],
        "bias_no_score_col": ["bias", str(good)],
        "bias_unknown_column": ["bias", *data, "--human-col", "nope"],
        "bias_unknown_feature": ["bias", *data, "--human-col", "r1", "--feature-col", "nope"],
        "bias_level_2": ["bias", *data, "--human-col", "r1", "--level", "2"],
        "bias_level_nan": ["bias", *data, "--human-col", "r1", "--level", "nan"],
        "bias_n_resamples_negative": ["bias", *data, "--human-col", "r1", "--n-resamples", "-1"],
        "bias_bad_judge": ["bias", "--judge", "nobody"],
        "agree_missing_file": ["agree", missing, "--score-col", "score", "--label-col", "r1"],
        "agree_binary_file": ["agree", str(binary), "--score-col", "score", "--label-col", "r1"],
        "agree_bad_dataset": ["agree", "--dataset", "nope"],
        "agree_bad_judge": ["agree", "--judge", "nobody"],
        "agree_n_boot_zero": ["agree", *data, "--label-col", "r1,r2", "--n-boot", "0"],
        "agree_level_5": ["agree", *data, "--label-col", "r1,r2", "--level", "5"],
        "agree_scale_reversed": ["agree", *data, "--label-col", "r1,r2", "--scale", "numeric:5:1"],
        "agree_unknown_label": ["agree", *data, "--label-col", "nope"],
        "estimate_bad_method": ["estimate", "--method", "nope"],
        "estimate_binary_file": [
            "estimate",
            str(binary),
            "--score-col",
            "score",
            "--label-col",
            "r1",
        ],
        "estimate_n_labelled_negative": [
            "estimate",
            *data,
            "--label-col",
            "r1",
            "--n-labelled",
            "-3",
        ],
        "estimate_level_1_5": ["estimate", *data, "--label-col", "r1", "--level", "1.5"],
        "estimate_ordinal_bad_threshold": [
            "estimate",
            *data,
            "--label-col",
            "r1",
            "--label-kind",
            "ordinal",
            "--levels",
            "5",
            "--threshold",
            "99",
        ],
        "estimate_bad_judge": ["estimate", "--judge", "nobody"],
        "cache_no_action": ["cache"],
        "cache_stats_missing": ["cache", "stats", missing],
        "cache_stats_not_sqlite": ["cache", "stats", str(good)],
        "cache_stats_binary": ["cache", "stats", str(binary)],
        "cache_prune_missing": ["cache", "prune", missing],
    }


SUBCOMMAND_KNOWN_FAILURES: dict[str, str] = {}


def _subcommand_names() -> list[Any]:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        names = sorted(_subcommand_cases(Path(d)))
    return [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=SUBCOMMAND_KNOWN_FAILURES[n]))
        if n in SUBCOMMAND_KNOWN_FAILURES
        else n
        for n in names
    ]


@pytest.mark.parametrize("case", _subcommand_names())
def test_cli_subcommands_bad_input(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from judgecal.cli.app import main

    argv = _subcommand_cases(tmp_path)[case]
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    except Exception as exc:
        pytest.fail(f"{case}: uncaught {type(exc).__name__}: {exc}")
    err = capsys.readouterr().err.strip()
    lines = [ln for ln in err.splitlines() if not ln.startswith("warning:")]
    if code == 0:
        return  # accepted as valid input (e.g. --n-boot 0: no bootstrap intervals)
    assert code == 2, f"{case}: exit code {code}"
    if case != "cache_no_action":
        assert len(lines) == 1 and "Traceback" not in err, f"{case}: stderr {err[:300]!r}"
