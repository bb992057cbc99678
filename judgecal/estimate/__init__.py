"""Human rates and differences from many judge outputs plus a few human labels.

Prediction-powered inference (PPI++), stratified and Bayesian estimates,
label planning. ``from judgecal.estimate import estimate_rate`` keeps working.
"""

from judgecal.estimate.core import (
    Baseline,
    LabelPlan,
    RateEstimate,
    StratumEstimate,
    estimate_difference,
    estimate_rate,
    keep_labels,
    plan_labels,
    ppi_mean,
    rogan_gladen,
)

__all__ = [
    "Baseline",
    "LabelPlan",
    "RateEstimate",
    "StratumEstimate",
    "estimate_difference",
    "estimate_rate",
    "keep_labels",
    "plan_labels",
    "ppi_mean",
    "rogan_gladen",
]
