"""scikit-learn's shared estimator checks, where they apply to a one-feature calibrator.

judgecal calibrators take exactly one feature, the judge score, and 0/1 or soft
targets. scikit-learn's generic checks feed multi-feature matrices and
multiclass or string targets; those are skipped with a reason. The contract
they would check (fit returns self, unfitted use raises, idempotent fit, order
invariance, NaN rejection, clone, pipelines, cross-validation and grid search)
is tested directly on one-feature data in ``test_calibration.py``.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from judgecal import (
    BayesianCalibrator,
    FeatureAdjustedCalibrator,
    IsotonicCalibrator,
    LogisticCalibrator,
)

APPLICABLE = {
    "check_decision_proba_consistency",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_estimator_sparse_array",
    "check_estimator_sparse_matrix",
    "check_estimator_sparse_tag",
    "check_estimator_tags_renamed",
    "check_estimators_partial_fit_n_features",
    "check_get_params_invariance",
    "check_mixin_order",
    "check_no_attributes_set_in_init",
    "check_non_transformer_estimators_n_iter",
    "check_parameters_default_constructible",
    "check_set_params",
    "check_supervised_y_no_nan",
    "check_valid_tag_types",
}


def _name(check: Any) -> str:
    f = check.func if isinstance(check, functools.partial) else check
    return str(f.__name__)


ESTIMATORS = [
    IsotonicCalibrator(),
    LogisticCalibrator(),
    # one score column and no surface feature: its one-column case
    FeatureAdjustedCalibrator(features=()),
    # small and seeded so the checks stay fast
    BayesianCalibrator(draws=50, random_state=0),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_estimator_checks(estimator: Any, check: Any) -> None:
    if _name(check) not in APPLICABLE:
        pytest.skip(
            "needs multi-feature X or non-binary class labels; judgecal calibrators take one score"
        )
    check(estimator)


def test_enough_checks_apply() -> None:
    assert len(APPLICABLE) >= 15
