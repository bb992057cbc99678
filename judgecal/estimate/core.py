"""The names that ``judgecal.estimate.core`` held before it was split (kept for imports).

``from judgecal.estimate import X`` is the place to import from; the parts live
in :mod:`~judgecal.estimate.ppi`, :mod:`~judgecal.estimate.rates`,
:mod:`~judgecal.estimate.bayes`, :mod:`~judgecal.estimate.design` and
:mod:`~judgecal.estimate.results`.
"""

from judgecal.estimate.design import keep_labels, plan_labels
from judgecal.estimate.ppi import ppi_mean, rogan_gladen
from judgecal.estimate.rates import estimate_difference, estimate_rate
from judgecal.estimate.results import Baseline, LabelPlan, RateEstimate, StratumEstimate

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
