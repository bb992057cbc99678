"""Label until you know: anytime-valid intervals keep their coverage at the stopping time."""

from __future__ import annotations

import math

import numpy as np
import pytest

import judgecal
from judgecal._exceptions import InputError
from judgecal.estimate.ppi import critical_value, ppi_core
from judgecal.estimate.sequential import (
    anytime_interval,
    cs_half_width,
    decide,
    default_planned_n,
    label_until,
    next_labels,
)

LEVEL = 0.9
Z = critical_value(LEVEL, math.inf, "normal")


def _population(rng: np.random.Generator, size: int, rate: float) -> tuple[np.ndarray, ...]:
    """A moderate judge: score = noisy truth probability; 0/1 human labels."""
    shift = math.log(rate / (1 - rate))
    prob = 1 / (1 + np.exp(-(shift + rng.normal(0, 1.5, size))))
    labels = (rng.random(size) < prob).astype(float)
    score = np.clip(prob + rng.normal(0, 0.15, size), 0, 1)
    return labels, score


def _run(trial: int, rule: str, anytime: bool, width: float = 0.1) -> tuple[bool, int]:
    """Labels revealed 10 at a time (up to 1000); stop by ``rule``; (covered, stopping n)."""
    rng = np.random.default_rng(trial)
    labels, score = _population(rng, 3000, 0.5 if rule == "excludes" else 0.3)
    truth = float(labels.mean())
    order = rng.permutation(labels.size)
    planned = default_planned_n(width, LEVEL)
    for n in range(10, 1001, 10):
        lab, unl = order[:n], order[n:]
        core = ppi_core(labels[lab], score[lab], score[unl], None, floor=True)
        se = math.sqrt(core.variance)
        half = cs_half_width(se * math.sqrt(n), n, planned_n=planned) if anytime else Z * se
        covers = abs(core.estimate - truth) <= half
        stop = 2 * half < width if rule == "width" else not covers
        if stop or n == 1000:
            return covers, n
    raise AssertionError("unreachable")


def test_coverage_at_the_width_stopping_time() -> None:
    """Stop at the first look (every 10 labels, up to 1000) where the width is below w."""
    runs = [_run(trial, "width", anytime=True) for trial in range(300)]
    coverage = np.mean([covered for covered, _ in runs])
    assert coverage >= 0.89
    assert 100 < np.mean([n for _, n in runs]) < 1000


def test_peeking_breaks_fixed_n_intervals_but_not_the_sequence() -> None:
    """Stop as soon as the interval misses the truth: the fixed-n interval fails far more
    often than 10% (this test fails for a fixed-n interval); the sequence does not."""
    fixed = np.mean([not _run(trial, "excludes", anytime=False)[0] for trial in range(150)])
    sequence = np.mean([not _run(trial, "excludes", anytime=True)[0] for trial in range(150)])
    assert fixed > 0.25
    assert sequence <= 0.11


def test_sequence_is_wider_than_fixed_n_by_a_bounded_price() -> None:
    sigma, planned = 0.5, 300
    ratio = cs_half_width(sigma, planned, planned_n=planned) / (Z * sigma / math.sqrt(planned))
    assert 1.3 < ratio < 1.9


def test_anytime_interval_contains_fixed_interval() -> None:
    hidden = judgecal.keep_labels(judgecal.load_pandalm(with_texts=False), 120, seed=0)
    result = judgecal.estimate_rate(hidden, strata=None)
    cs = anytime_interval(result, planned_n=120)
    assert cs.low <= result.low and cs.high >= result.high
    assert cs.estimate == result.estimate


def test_decision_stops_when_narrow_or_budget_spent() -> None:
    hidden = judgecal.keep_labels(judgecal.load_pandalm(with_texts=False), 200, seed=0)
    assert next_labels(hidden, 0.9, strata=None).stop
    spent = next_labels(hidden, 0.01, budget=200, strata=None)
    assert spent.stop and "budget" in spent.reason
    more = next_labels(hidden, 0.01, batch=25, strata=None)
    assert not more.stop and more.label_more == 25
    assert "label 25 more" in str(more)


def test_bad_arguments_are_named() -> None:
    hidden = judgecal.keep_labels(judgecal.load_pandalm(with_texts=False), 50, seed=0)
    with pytest.raises(InputError, match="until_width"):
        next_labels(hidden, -1.0)
    with pytest.raises(InputError, match="batch"):
        next_labels(hidden, 0.1, batch=0)
    judge_only = judgecal.estimate_rate(hidden, method="judge", strata=None)
    with pytest.raises(InputError, match="std_error"):
        decide(judge_only, 0.1)


def test_plan_predicts_the_simulated_stopping_size() -> None:
    """plan_labels' n_anytime (from the population's sd and judge correlation) is within
    20% of the mean stopping size of the labelling loop."""
    width = 0.12
    rng = np.random.default_rng(99)
    labels, score = _population(rng, 3000, 0.3)
    plan = judgecal.plan_labels(
        width / 2,
        correlation=float(np.corrcoef(labels, score)[0, 1]),
        sd=float(labels.std()),
        n_total=3000,
        batch=10,
    )
    stops = [_run(trial, "width", anytime=True, width=width)[1] for trial in range(100)]
    assert plan.n_anytime is not None
    assert abs(float(np.mean(stops)) / plan.n_anytime - 1) < 0.2


def test_label_until_asks_in_batches_and_stops_at_the_width() -> None:
    full = judgecal.load_pandalm(with_texts=False)
    start = judgecal.keep_labels(full, 20, by=None, seed=0)
    asked: list[int] = []

    def ask(indices: np.ndarray) -> list[object]:
        asked.append(indices.size)
        return [full[int(i)].ratings for i in indices]

    labelled, decisions = label_until(start, ask, 0.2, batch=10, label_kind="pairwise", strata=None)
    assert asked and all(size == 10 for size in asked)
    assert [d.stop for d in decisions] == [False] * (len(decisions) - 1) + [True]
    assert decisions[-1].width < 0.2 <= decisions[-2].width
    assert len(labelled.labelled()) == 20 + sum(asked)


def test_label_until_respects_the_budget_and_a_difference() -> None:
    hanna = judgecal.load_hanna(criteria=("Coherence",)).scored()
    start = judgecal.keep_labels(hanna, 40, by=None, seed=0)

    def ask(indices: np.ndarray) -> list[object]:
        return [hanna[int(i)].ratings for i in indices]

    labelled, decisions = label_until(
        start,
        ask,
        0.01,
        batch=15,
        budget=70,
        label_kind="ordinal",
        levels=5,
        group="system",
        first="Human",
        second="GPT-2",
        threshold=4,
        strata=None,
    )
    assert decisions[-1].stop and "budget" in decisions[-1].reason
    assert len(labelled.labelled()) == 70
    assert decisions[-1].low >= -1.0
