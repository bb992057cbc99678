"""judgecal: calibrate LLM judges against a small human sample.

Wrap the judge you have, label 50-500 items by hand, and get back a judge whose
outputs are probabilities that a human would agree, per pipeline stage, with
honest uncertainty.

Public names are imported lazily, so ``import judgecal`` stays light: PyMC,
ArviZ and matplotlib load only when a name that needs them is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from judgecal._exceptions import (
    ConvergenceWarning,
    InputError,
    InputTypeError,
    JudgecalError,
    JudgecalWarning,
    JudgeError,
    MissingDependencyError,
    NotFittedError,
    PersistenceError,
    RecordError,
    SmallSampleWarning,
)
from judgecal._version import __version__

# public name -> module that defines it (imported on first access)
_LAZY: dict[str, str] = {
    # records and loading
    "Judgment": "judgecal.records",
    "JudgmentSet": "judgecal.records",
    "Rating": "judgecal.records",
    "Scale": "judgecal.records",
    "STAGES": "judgecal.records",
    "from_dataframe": "judgecal.io",
    "read_csv": "judgecal.io",
    "read_jsonl": "judgecal.io",
    "load_hanna": "judgecal.datasets",
    "load_pandalm": "judgecal.datasets",
    # calibration
    "IsotonicCalibrator": "judgecal.calibration",
    "LogisticCalibrator": "judgecal.calibration",
    "BayesianCalibrator": "judgecal.bayes",
    "prior_predictive": "judgecal.bayes",
    "save": "judgecal.persist",
    "load": "judgecal.persist",
    # judge wrapper
    "CalibratedJudge": "judgecal.judge",
    "JudgeResult": "judgecal.judge",
    "parse_score": "judgecal.judge",
    "JudgeRunner": "judgecal.runner",
    "AsyncJudgeRunner": "judgecal.runner",
    "RateLimit": "judgecal.runner",
    "RunReport": "judgecal.runner",
    "JudgeCache": "judgecal.cache",
    # metrics
    "brier_score": "judgecal.metrics",
    "bootstrap_ci": "judgecal.metrics",
    "cohen_kappa": "judgecal.metrics",
    "expected_calibration_error": "judgecal.metrics",
    "kendall_tau": "judgecal.metrics",
    "log_loss": "judgecal.metrics",
    "reliability_curve": "judgecal.metrics",
    "reliability_diagram": "judgecal.plotting",
    "spearman_rho": "judgecal.metrics",
    # surface-feature bias
    "BiasReport": "judgecal.bias",
    "FeatureAdjustedCalibrator": "judgecal.bias",
    "feature_regression": "judgecal.bias",
    "find_mentions": "judgecal.ablations",
    "human_judge_gap": "judgecal.bias",
    "preference_gap": "judgecal.bias",
    "probe_bias": "judgecal.bias",
    # estimates and agreement
    "AgreementReport": "judgecal.agreement",
    "RateEstimate": "judgecal.estimate",
    "agreement_report": "judgecal.agreement",
    "estimate_difference": "judgecal.estimate",
    "estimate_rate": "judgecal.estimate",
    "fleiss_kappa": "judgecal.agreement",
    "keep_labels": "judgecal.estimate",
    "krippendorff_alpha": "judgecal.agreement",
    "plan_labels": "judgecal.estimate",
    "ppi_mean": "judgecal.estimate",
}

__all__ = sorted(
    [
        "ConvergenceWarning",
        "InputError",
        "InputTypeError",
        "JudgeError",
        "JudgecalError",
        "JudgecalWarning",
        "MissingDependencyError",
        "NotFittedError",
        "PersistenceError",
        "RecordError",
        "SmallSampleWarning",
        "__version__",
        *_LAZY,
    ]
)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'judgecal' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from judgecal.ablations import find_mentions
    from judgecal.agreement import (
        AgreementReport,
        agreement_report,
        fleiss_kappa,
        krippendorff_alpha,
    )
    from judgecal.bayes import BayesianCalibrator, prior_predictive
    from judgecal.bias import (
        BiasReport,
        FeatureAdjustedCalibrator,
        feature_regression,
        human_judge_gap,
        preference_gap,
        probe_bias,
    )
    from judgecal.cache import JudgeCache
    from judgecal.calibration import IsotonicCalibrator, LogisticCalibrator
    from judgecal.datasets import load_hanna, load_pandalm
    from judgecal.estimate import (
        RateEstimate,
        estimate_difference,
        estimate_rate,
        keep_labels,
        plan_labels,
        ppi_mean,
    )
    from judgecal.io import from_dataframe, read_csv, read_jsonl
    from judgecal.judge import CalibratedJudge, JudgeResult, parse_score
    from judgecal.metrics import (
        bootstrap_ci,
        brier_score,
        cohen_kappa,
        expected_calibration_error,
        kendall_tau,
        log_loss,
        reliability_curve,
        spearman_rho,
    )
    from judgecal.persist import load, save
    from judgecal.plotting import reliability_diagram
    from judgecal.records import STAGES, Judgment, JudgmentSet, Rating, Scale
    from judgecal.runner import AsyncJudgeRunner, JudgeRunner, RateLimit, RunReport
