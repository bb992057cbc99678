"""The properties :func:`~judgecal.testing.check_calibrator` searches, one small function each.

Every example is a known-truth dataset from
:func:`judgecal.testing.strategies.calibration_datasets`; a property fits a
fresh calibrator on it and checks its predictions on a grid of scores (or, for
``calibrated``, on fresh items from the same truth). See
:func:`judgecal.testing.check_calibrator` for what each property means.

Examples
--------
>>> from judgecal import IsotonicCalibrator
>>> from judgecal.testing.engine import RunSettings
>>> options = CalibratorOptions(stages=None, min_size=100, max_size=200)
>>> report = calibrator_report(IsotonicCalibrator, options, RunSettings(max_examples=2))
>>> report["stage_renaming"].status
'skipped'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from judgecal._validation import FloatArray, StrArray
from judgecal.records.core import Scale
from judgecal.testing.assertions import (
    assert_calibrated,
    assert_monotone,
    assert_probabilities,
    renamed_stages,
    values_close,
)
from judgecal.testing.engine import Check, Example, RunSettings, run_property
from judgecal.testing.report import (
    PropertyReport,
    PropertyResult,
    PropertyViolationError,
    fail,
    invalid_argument,
)
from judgecal.testing.simulate import CalibrationDataset
from judgecal.testing.strategies import calibration_datasets

__all__ = ["CALIBRATOR_PROPERTIES", "CalibratorOptions", "calibrator_report"]

#: The properties of a calibrator battery, in the order they run.
CALIBRATOR_PROPERTIES: tuple[str, ...] = (
    "probabilities",
    "monotone",
    "permutation",
    "stage_renaming",
    "calibrated",
    "round_trip",
)
_HELD_OUT = 2000  # fresh items per example for the calibrated property


@dataclass(frozen=True)
class CalibratorOptions:
    """What a calibrator battery draws and checks (see ``check_calibrator``)."""

    scale: Scale | None = None
    stages: tuple[str, ...] | None = ("extraction", "selection")
    raters: int = 1
    min_size: int = 300
    max_size: int = 1000
    monotone: bool = True
    calibrated: bool = True
    z: float = 4.0
    atol: float = 0.06
    round_trip: bool = True

    def datasets(self) -> SearchStrategy[Example]:
        """Examples ``{"dataset": CalibrationDataset}`` (bad sizes raise ``InvalidArgument``)."""
        return calibration_datasets(
            scale=self.scale,
            stages=self.stages or ("default",),
            min_size=self.min_size,
            max_size=self.max_size,
            raters=self.raters,
        ).map(lambda ds: {"dataset": ds})


@dataclass(frozen=True)
class _Calibrator:
    """Fits and queries the calibrator under test, with or without stages."""

    make: Callable[[], Any]
    staged: bool

    def fit(self, ds: CalibrationDataset, perm: Any = None, stages: Any = None) -> Any:
        x, y, w = ds.scores, ds.labels, ds.weights
        st_arr = (ds.stages if stages is None else stages) if self.staged else None
        if perm is not None:
            x, y, w = x[perm], y[perm], w[perm]
            st_arr = None if st_arr is None else np.asarray(st_arr)[perm]
        cal = self.make()
        cal.fit(x, y, w, **({} if st_arr is None else {"stages": st_arr}))
        return cal

    def predict(self, cal: Any, x: FloatArray, stages: Any) -> FloatArray:
        kw = {"stages": stages} if self.staged else {}
        out = np.asarray(cal.predict_proba(x, **kw), dtype=np.float64)
        if out.ndim == 2:
            assert_probabilities(out, name="predict_proba(X)")
            return np.asarray(out[:, 1], dtype=np.float64)
        return out


def _grid(ds: CalibrationDataset) -> tuple[FloatArray, StrArray]:
    """Every level of the scale (41 points of a numeric one) in every stage."""
    sc = ds.scale
    pts = (
        np.linspace(sc.low, sc.high, 41)
        if sc.kind == "numeric"
        else np.arange(sc.low, sc.high + 1.0)
    )
    names = sorted(set(ds.stages.tolist())) or ["default"]
    return np.tile(pts, len(names)), np.repeat(np.asarray(names, dtype=str), pts.size)


def _same_predictions(p0: FloatArray, p1: FloatArray, x: FloatArray, what: str) -> None:
    if not values_close(p0, p1, 1e-9, 1e-12):
        i = int(np.argmax(np.abs(p0 - p1)))
        fail(
            f"predictions changed when {what}: at score {float(x[i])!r} "
            f"{float(p0[i])!r} became {float(p1[i])!r}"
        )


def _probabilities(cal: _Calibrator, data: SearchStrategy[Example]) -> tuple[Any, Check]:
    def check(ex: Example) -> None:
        x, s = _grid(ex["dataset"])
        assert_probabilities(cal.predict(cal.fit(ex["dataset"]), x, s), name="predictions")

    return data, check


def _monotone(cal: _Calibrator, data: SearchStrategy[Example]) -> tuple[Any, Check]:
    def check(ex: Example) -> None:
        x, s = _grid(ex["dataset"])
        p = cal.predict(cal.fit(ex["dataset"]), x, s)
        assert_monotone(x, p, stages=s if cal.staged else None)

    return data, check


def _permutation(cal: _Calibrator, data: SearchStrategy[Example]) -> tuple[Any, Check]:
    def check(ex: Example) -> None:
        ds = ex["dataset"]
        perm = np.random.default_rng(ex["permutation_seed"]).permutation(len(ds))
        x, s = _grid(ds)
        p0, p1 = cal.predict(cal.fit(ds), x, s), cal.predict(cal.fit(ds, perm), x, s)
        _same_predictions(p0, p1, x, "the training rows were permuted")

    seeds = st.integers(0, 2**32 - 1)
    return data.flatmap(lambda ex: seeds.map(lambda seed: {**ex, "permutation_seed": seed})), check


def _stage_renaming(cal: _Calibrator, data: SearchStrategy[Example]) -> tuple[Any, Check]:
    def check(ex: Example) -> None:
        ds = ex["dataset"]
        x, s = _grid(ds)
        new, table = renamed_stages(np.asarray(ds.stages, dtype=str))
        p0 = cal.predict(cal.fit(ds), x, s)
        p1 = cal.predict(cal.fit(ds, stages=new), x, np.asarray([table[v] for v in s.tolist()]))
        _same_predictions(p0, p1, x, f"stages were renamed {table}")

    return data, check


def _calibrated(
    cal: _Calibrator, data: SearchStrategy[Example], options: CalibratorOptions
) -> tuple[Any, Check]:
    def check(ex: Example) -> None:
        ds = ex["dataset"]
        fitted = cal.fit(ds)
        test = ds.resample(n=_HELD_OUT, seed=1)
        for name in sorted(set(test.stages.tolist())):
            m = test.stages == name
            n_train = int((ds.stages == name).sum())
            p = cal.predict(fitted, test.scores[m], test.stages[m])
            truth = ds.agreement_given_score(test.scores[m], test.stages[m])
            try:
                assert_calibrated(p, truth=truth, n=n_train, z=options.z, atol=options.atol)
            except PropertyViolationError as exc:
                raise PropertyViolationError(
                    f"stage {name!r} ({n_train} training items): {exc}"
                ) from None

    return data, check


def _round_trip(cal: _Calibrator, data: SearchStrategy[Example]) -> tuple[Any, Check]:
    def check(ex: Example) -> None:
        from judgecal import persist

        fitted = cal.fit(ex["dataset"])
        again = persist.loads(persist.dumps(fitted))
        x, s = _grid(ex["dataset"])
        p0, p1 = cal.predict(fitted, x, s), cal.predict(again, x, s)
        if not np.array_equal(p0, p1):
            i = int(np.argmax(np.abs(p0 - p1)))
            fail(
                f"save/load changed a prediction: at score {float(x[i])!r} "
                f"{float(p0[i])!r} became {float(p1[i])!r}"
            )

    return data, check


def _is_registered(probe: Any) -> bool:
    from judgecal.persist import registered_class

    cls = type(probe)
    return registered_class(cls.__name__) is cls and hasattr(probe, "_get_state")


def _skip_reason(name: str, options: CalibratorOptions, probe: Any) -> str:
    if name == "monotone" and not options.monotone:
        return "monotone=False"
    if name == "stage_renaming" and options.stages is None:
        return "stages=None"
    if name == "calibrated" and not options.calibrated:
        return "calibrated=False"
    if name == "round_trip" and not options.round_trip:
        return "round_trip=False"
    if name == "round_trip" and not _is_registered(probe):
        return "class not registered with judgecal.persist.register"
    return ""


def calibrator_report(
    make: Callable[[], Any], options: CalibratorOptions, run: RunSettings
) -> PropertyReport:
    """Run every property of the calibrator battery on calibrators made by ``make()``."""
    if not callable(make):
        raise invalid_argument(f"make={make!r} must be a callable returning an unfitted calibrator")
    data = options.datasets()
    probe = make()
    cal = _Calibrator(make, staged=options.stages is not None)
    builders: dict[str, Callable[[], tuple[Any, Check]]] = {
        "probabilities": lambda: _probabilities(cal, data),
        "monotone": lambda: _monotone(cal, data),
        "permutation": lambda: _permutation(cal, data),
        "stage_renaming": lambda: _stage_renaming(cal, data),
        "calibrated": lambda: _calibrated(cal, data, options),
        "round_trip": lambda: _round_trip(cal, data),
    }
    # a simulated dataset shrinks slowly (every step refits) and rarely gets clearer
    unshrunk = RunSettings(run.max_examples, run.derandomize, shrink=False)
    results = []
    for name in CALIBRATOR_PROPERTIES:
        reason = _skip_reason(name, options, probe)
        if reason:
            results.append(PropertyResult(name, "skipped", reason))
            continue
        strategy, check = builders[name]()
        results.append(run_property(name, strategy, check, unshrunk))
    return PropertyReport(f"calibrator {type(probe).__name__}", tuple(results))
