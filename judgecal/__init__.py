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
    # what a run raises: Ctrl-C with the results so far; results that could not be cached
    "RunInterrupted": "judgecal.judging.engine",
    "UncachedResultsError": "judgecal.judging.engine",
    "RecordValidationError": "judgecal.records.core",
    # records and loading
    "Judgment": "judgecal.records.core",
    "JudgmentSet": "judgecal.records.core",
    "Rating": "judgecal.records.core",
    "Scale": "judgecal.records.core",
    "STAGES": "judgecal.records.core",
    "from_dataframe": "judgecal.records.io",
    "read_csv": "judgecal.records.io",
    "read_jsonl": "judgecal.records.io",
    "read_parquet": "judgecal.records.io",
    "from_rows": "judgecal.records.io",
    "load_hanna": "judgecal.records.datasets",
    "load_pandalm": "judgecal.records.datasets",
    # calibration
    "IsotonicCalibrator": "judgecal.calibration.isotonic",
    "LogisticCalibrator": "judgecal.calibration.logistic",
    "BayesianCalibrator": "judgecal.calibration.bayes.calibrator",
    "prior_predictive": "judgecal.calibration.bayes.calibrator",
    "save": "judgecal.persist",
    "load": "judgecal.persist",
    # judge wrapper
    "CalibratedJudge": "judgecal.judging.judge",
    "JudgeResult": "judgecal.judging.judge",
    "parse_score": "judgecal.judging.judge",
    "JudgeRunner": "judgecal.judging.runner",
    "AsyncJudgeRunner": "judgecal.judging.runner",
    "RateLimit": "judgecal.judging.runner",
    "RunReport": "judgecal.judging.runner",
    "JudgeCache": "judgecal.judging.cache",
    # judge clients (the [openai] extra; openai is imported when a judge is made)
    "OpenAIJudge": "judgecal.clients.openai_compat",
    "AsyncOpenAIJudge": "judgecal.clients.openai_compat",
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
    "BiasReport": "judgecal.bias.report",
    "FeatureAdjustedCalibrator": "judgecal.calibration.feature_adjusted",
    "feature_regression": "judgecal.bias.observational",
    "find_mentions": "judgecal.bias.ablations",
    "human_judge_gap": "judgecal.bias.observational",
    "preference_gap": "judgecal.bias.observational",
    "probe_bias": "judgecal.bias.probes",
    # estimates and agreement
    "AgreementReport": "judgecal.agreement",
    "RateEstimate": "judgecal.estimate.results",
    "agreement_report": "judgecal.agreement",
    "estimate_difference": "judgecal.estimate.rates",
    "estimate_rate": "judgecal.estimate.rates",
    "fleiss_kappa": "judgecal.agreement",
    "keep_labels": "judgecal.estimate.design",
    "krippendorff_alpha": "judgecal.agreement",
    "plan_labels": "judgecal.estimate.design",
    "ppi_mean": "judgecal.estimate.ppi",
    "LabelChoice": "judgecal.estimate.active",
    "LabelDecision": "judgecal.estimate.sequential",
    "anytime_interval": "judgecal.estimate.sequential",
    "choose_labels": "judgecal.estimate.active",
    "next_labels": "judgecal.estimate.sequential",
    "label_until": "judgecal.estimate.sequential",
    "ShrinkageCalibrator": "judgecal.calibration.default",
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


# public submodules under their short names: ``from judgecal import parsers``
_SUBMODULES: dict[str, str] = {
    "ablations": "judgecal.bias.ablations",
    "parsers": "judgecal.judging.parsers",
    "strategies": "judgecal.testing.strategies",
    "testing": "judgecal.testing",
    "vocabulary": "judgecal.vocabulary",
}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        mod = importlib.import_module(_SUBMODULES[name])
        globals()[name] = mod
        return mod
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'judgecal' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from judgecal.agreement import (
        AgreementReport,
        agreement_report,
        fleiss_kappa,
        krippendorff_alpha,
    )
    from judgecal.bias.ablations import find_mentions
    from judgecal.bias.observational import feature_regression, human_judge_gap, preference_gap
    from judgecal.bias.probes import probe_bias
    from judgecal.bias.report import BiasReport
    from judgecal.calibration.bayes.calibrator import BayesianCalibrator, prior_predictive
    from judgecal.calibration.default import ShrinkageCalibrator
    from judgecal.calibration.feature_adjusted import FeatureAdjustedCalibrator
    from judgecal.calibration.isotonic import IsotonicCalibrator
    from judgecal.calibration.logistic import LogisticCalibrator
    from judgecal.clients.openai_compat import AsyncOpenAIJudge, OpenAIJudge
    from judgecal.estimate.active import LabelChoice, choose_labels
    from judgecal.estimate.design import keep_labels, plan_labels
    from judgecal.estimate.ppi import ppi_mean
    from judgecal.estimate.rates import estimate_difference, estimate_rate
    from judgecal.estimate.results import RateEstimate
    from judgecal.estimate.sequential import (
        LabelDecision,
        anytime_interval,
        label_until,
        next_labels,
    )
    from judgecal.judging.cache import JudgeCache
    from judgecal.judging.engine import RunInterrupted, UncachedResultsError
    from judgecal.judging.judge import CalibratedJudge, JudgeResult, parse_score
    from judgecal.judging.runner import AsyncJudgeRunner, JudgeRunner, RateLimit, RunReport
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
    from judgecal.records.core import (
        STAGES,
        Judgment,
        JudgmentSet,
        Rating,
        RecordValidationError,
        Scale,
    )
    from judgecal.records.datasets import load_hanna, load_pandalm
    from judgecal.records.io import (
        from_dataframe,
        from_rows,
        read_csv,
        read_jsonl,
        read_parquet,
    )
