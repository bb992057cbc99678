r"""Human-preference rates from a few human labels and many judge outputs.

What people report at the end of an evaluation is a rate: how often humans
prefer system A, the share of extracted attributes a human accepts. The judge's
own rate is biased and its naive interval almost never covers the human value;
the human labels alone give a valid but wide interval. The estimators here use
both and keep the interval valid.

The parts
---------
:mod:`~judgecal.estimate.ppi`
    PPI++ and Rogan-Gladen on arrays (``ppi_mean``, ``rogan_gladen``).
:mod:`~judgecal.estimate.rates`
    the one-call API on records (``estimate_rate``, ``estimate_difference``).
:mod:`~judgecal.estimate.bayes`
    the finite-population posterior from a Bayesian calibrator's draws.
:mod:`~judgecal.estimate.design`
    planning labels (``plan_labels``) and simulating a budget (``keep_labels``).
:mod:`~judgecal.estimate.results`
    the result objects.

Ties in pairwise labels
-----------------------
Human pairwise labels are ``first``, ``second`` or ``tie``; the policy is always
explicit (``ties=``):

``"half"``
    a tie counts as half a preference for the first response; the estimand is
    :math:`P(\text{first}) + \tfrac12 P(\text{tie})`.
``"drop"``
    ties are left out; the estimand is :math:`P(\text{first}) /
    (P(\text{first}) + P(\text{second}))`, estimated as a ratio of two PPI means
    with a delta-method (linearised) interval.
``"loss"``
    a tie counts as *not* preferring the first response; the estimand is the
    strict win rate :math:`P(\text{first})`.
``"separate"``
    the estimate is the strict win rate :math:`P(\text{first})` (a tie is not a
    win) and the human tie rate :math:`P(\text{tie})` comes alongside as its own
    estimate (``result.tie_rate``).

Tie policies are the words of :mod:`judgecal.vocabulary`; intervals default to
``DEFAULT_LEVEL`` (0.9).
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
