"""Property-based testing for metrics, calibrators and judges.

``judgecal.testing`` holds the assertions and the property batteries;
``judgecal.testing.strategies`` (also ``judgecal.strategies``) the hypothesis
strategies; ``judgecal.testing.simulate`` the known-truth simulator. hypothesis
is imported only when a battery or strategy is used.
"""

from judgecal.testing.batteries import (
    PropertyReport,
    PropertyResult,
    PropertyViolationError,
    assert_calibrated,
    assert_monotone,
    assert_permutation_invariant,
    assert_probabilities,
    assert_stage_renaming_invariant,
    check_calibrator,
    check_judge,
    check_metric,
)

__all__ = [
    "PropertyReport",
    "PropertyResult",
    "PropertyViolationError",
    "assert_calibrated",
    "assert_monotone",
    "assert_permutation_invariant",
    "assert_probabilities",
    "assert_stage_renaming_invariant",
    "check_calibrator",
    "check_judge",
    "check_metric",
]
