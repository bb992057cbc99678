"""scikit-learn's shared estimator checks, where they apply to a judgecal calibrator.

judgecal calibrators take the judge score and 0/1 or soft targets.
scikit-learn's generic checks feed multi-feature matrices and multiclass or
string targets. The isotonic and logistic calibrators take a judge panel (one
column per judge), so the checks that fit binary targets on several columns
apply to them (``PANEL_CHECKS``); the rest are skipped with a reason. The
contract the skipped checks would test (unfitted use raises, NaN rejection,
clone, pipelines, cross-validation and grid search) is tested directly in
``test_calibration.py`` and ``test_panel.py``.
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


#: Checks that fit binary targets on several columns: they apply to the panel calibrators.
#: (check_estimators_pickle passes too but is left out: judgecal never pickles.)
PANEL_CHECKS = {
    "check_all_zero_sample_weights_error",
    "check_classifiers_one_label",
    "check_classifiers_one_label_sample_weights",
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1sample",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
    "check_requires_y_none",
    "check_sample_weights_list",
}
PANEL_CALIBRATORS = (IsotonicCalibrator, LogisticCalibrator)


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
    applicable = APPLICABLE | (PANEL_CHECKS if isinstance(estimator, PANEL_CALIBRATORS) else set())
    if _name(check) not in applicable:
        pytest.skip("needs non-binary class labels, or several features this calibrator refuses")
    check(estimator)


def test_enough_checks_apply() -> None:
    assert len(APPLICABLE) >= 15
    assert len(APPLICABLE | PANEL_CHECKS) >= 38
