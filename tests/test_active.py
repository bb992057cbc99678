"""Choosing labels where the judge is unsure: narrower where it pays, valid everywhere."""

from __future__ import annotations

import math

import numpy as np
import pytest

import judgecal
from judgecal._exceptions import InputError
from judgecal.estimate._prepared import crossfit, data_from_arrays, make_calibrator
from judgecal.estimate.active import (
    choose_from_data,
    choose_labels,
    ipw_core,
    poisson_probabilities,
)
from judgecal.estimate.ppi import critical_value, ppi_core

Z = critical_value(0.9, math.inf, "normal")
ISOTONIC = make_calibrator("isotonic", "test")


def _population(kind: str, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    if kind == "confident":  # calibrated, AUC about 0.98
        prob = rng.beta(0.1, 0.1, size)
        score = prob
    else:  # useless: the score says nothing
        prob = np.full(size, 0.3)
        score = rng.random(size)
    return (rng.random(size) < prob).astype(float), score


def _uniform_vs_chosen(
    trial: int, kind: str, budget: int, mix: float | None, trust_raw: bool = False
) -> tuple[float, ...]:
    """Widths and coverage of uniform cross-fitted PPI++ and of chosen labels (IPW)."""
    rng = np.random.default_rng(trial)
    size = 3000
    labels, score = _population(kind, rng, size)
    truth = float(labels.mean())
    uniform = np.zeros(size, dtype=bool)
    uniform[rng.choice(size, budget, replace=False)] = True
    data = data_from_arrays(score, 0, 1, labels, uniform)
    pred = crossfit(data, labels, ISOTONIC, 5, rng, False)
    core = ppi_core(labels[uniform], pred[uniform], pred[~uniform], None, floor=True)
    width_uniform = 2 * Z * math.sqrt(core.variance)
    none_yet = data_from_arrays(score, 0, 1, labels, np.zeros(size, dtype=bool))
    choice = choose_from_data(none_yet, budget, ISOTONIC, mix, 20, trial + 10_000, trust_raw)
    chosen = np.zeros(size, dtype=bool)
    chosen[choice.items] = True
    data = data_from_arrays(score, 0, 1, labels, chosen)
    pred = crossfit(data, labels, ISOTONIC, 5, rng, False)
    core = ipw_core(labels, pred, chosen, choice.inclusion, np.zeros(size, dtype=np.int64))
    half = critical_value(0.9, core.n_labelled - 1, "t") * math.sqrt(core.variance)
    return width_uniform, 2 * half, float(abs(core.estimate - truth) <= half)


def test_confident_judge_chosen_labels_are_25_percent_narrower_and_cover() -> None:
    runs = np.array([_uniform_vs_chosen(t, "confident", 100, 0.5) for t in range(150)])
    assert runs[:, 1].mean() <= 0.75 * runs[:, 0].mean()
    assert runs[:, 2].mean() >= 0.89


def test_trusted_confident_score_picks_the_mix_and_stays_25_percent_narrower_at_200() -> None:
    """A trusted first round chooses the mix by the variance the raw score predicts; a
    fixed mix of 0.5 was 0.78 of uniform at B = 200 (0.71 with the chosen mix)."""
    runs = np.array([_uniform_vs_chosen(t, "confident", 200, None, True) for t in range(60)])
    assert runs[:, 1].mean() <= 0.75 * runs[:, 0].mean()
    assert runs[:, 2].mean() >= 0.89


def test_useless_judge_default_design_costs_nothing() -> None:
    """Without labels the default first round is uniform: no wider than uniform PPI++."""
    runs = np.array([_uniform_vs_chosen(t, "useless", 100, None) for t in range(60)])
    assert runs[:, 1].mean() <= 1.03 * runs[:, 0].mean()


def test_probabilities_sum_to_budget_and_cap_at_one() -> None:
    weights = np.array([100.0, 1, 1, 1, 1, 1, 1, 1, 1, 1])
    prob = poisson_probabilities(weights, 5.0, 0.0)
    assert prob[0] == 1.0
    assert math.isclose(float(prob.sum()), 5.0)
    assert np.allclose(prob[1:], 4 / 9)


def test_records_round_trip_with_inclusion() -> None:
    """Round 1 uniform, round 2 chosen with a calibrator fitted on round 1; the IPW
    estimate reads both rounds and reports the method."""
    pandalm = judgecal.load_pandalm(with_texts=False)
    bare = judgecal.JudgmentSet(
        [j.model_copy(update={"ratings": ()}) for j in pandalm], scale=pandalm.scale
    )
    first = choose_labels(bare, 100, seed=1)
    assert first.mix == 1.0 and first.predictor == "raw score"
    keep = np.zeros(len(pandalm), dtype=bool)
    keep[first.items] = True
    partial = _reveal(pandalm, keep)
    second = choose_labels(partial, 100, seed=2)
    assert second.predictor == "IsotonicCalibrator"
    assert np.isnan(second.inclusion[keep]).all()
    inclusion = np.where(keep, first.inclusion, second.inclusion)
    rounds = np.where(keep, 0, 1)
    keep[second.items] = True
    result = judgecal.estimate_rate(
        _reveal(pandalm, keep), inclusion=inclusion, rounds=rounds, strata=None
    )
    assert "IPW" in result.method
    assert result.low < result.estimate < result.high
    assert result.n_labelled == int(keep.sum())


def _reveal(full: judgecal.JudgmentSet, keep: np.ndarray) -> judgecal.JudgmentSet:
    return judgecal.JudgmentSet(
        [j if keep[i] else j.model_copy(update={"ratings": ()}) for i, j in enumerate(full)],
        scale=full.scale,
    )


def test_bad_inclusion_is_named() -> None:
    hidden = judgecal.keep_labels(judgecal.load_pandalm(with_texts=False), 50, seed=0)
    with pytest.raises(InputError, match="inclusion"):
        judgecal.estimate_rate(hidden, inclusion=np.ones(3))
    zero = np.zeros(len(hidden))
    with pytest.raises(InputError, match="inclusion"):
        judgecal.estimate_rate(hidden, inclusion=zero)
    with pytest.raises(InputError, match="method"):
        judgecal.estimate_rate(hidden, inclusion=np.ones(len(hidden)), method="judge")
    with pytest.raises(InputError, match="budget"):
        choose_labels(hidden, 0)


def test_uniform_inclusion_matches_plain_ppi_closely() -> None:
    """Equal inclusion probabilities: the IPW estimate is the uniform one, near enough."""
    hidden = judgecal.keep_labels(judgecal.load_pandalm(with_texts=False), 200, by=None, seed=0)
    plain = judgecal.estimate_rate(hidden, strata=None)
    ipw = judgecal.estimate_rate(
        hidden, strata=None, inclusion=np.full(len(hidden), 200 / len(hidden))
    )
    assert abs(plain.estimate - ipw.estimate) < 0.02
    assert 0.9 < ipw.width / plain.width < 1.1


def test_difference_with_inclusion_covers_the_full_data_difference() -> None:
    """Two systems, labels chosen with known probabilities: the IPW difference is close to
    the difference with every label, and its interval is a sum of the two variances."""
    hanna = judgecal.load_hanna(criteria=("Coherence",)).scored()
    full = judgecal.estimate_difference(
        hanna,
        group="system",
        first="Human",
        second="GPT-2",
        threshold=4,
        strata=None,
        method="human",
    )
    rng = np.random.default_rng(3)
    inclusion = np.full(len(hanna), 0.4)
    keep = rng.random(len(hanna)) < inclusion
    part = _reveal(hanna, keep)
    chosen = judgecal.estimate_difference(
        part,
        group="system",
        first="Human",
        second="GPT-2",
        threshold=4,
        strata=None,
        inclusion=inclusion,
    )
    assert chosen.low < full.estimate < chosen.high
    assert chosen.std_error is not None and chosen.std_error > 0
    assert "IPW" in chosen.method


def test_judge_baseline_with_strata_and_inclusion_is_a_rate() -> None:
    """With several stages the judge-only baseline is their weighted mean (it summed to more
    than 1 when every stage had weight 1)."""
    pandalm = judgecal.load_pandalm(with_texts=False)
    hidden = judgecal.keep_labels(pandalm, 200, by=None, seed=0)
    result = judgecal.estimate_rate(hidden, inclusion=np.full(len(hidden), 200 / len(hidden)))
    plain = judgecal.estimate_rate(hidden, method="judge")
    assert abs(result.judge_only.estimate - plain.estimate) < 1e-9


def test_ordinal_labels_need_a_threshold() -> None:
    hanna = judgecal.keep_labels(judgecal.load_hanna(criteria=("Coherence",)), 40, seed=0)
    with pytest.raises(InputError, match="threshold"):
        choose_labels(hanna, 20)
    assert len(choose_labels(hanna, 20, threshold=4)) > 0
