"""Rater effects for ordinal labels: partially pooled offsets, typical rater and panel majority."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import judgecal.persist
from judgecal._exceptions import InputError
from judgecal.calibration.bayes.calibrator import BayesianCalibrator

CUT = np.array([-2.0, -0.5, 0.5, 2.0])  # level >= 4 <=> latent > 0.5
SPREAD = 1.0  # sd of the raters' offsets


def _sigmoid(t: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-t))


def _study(seed: int, n_items: int = 400, n_raters: int = 6) -> tuple[Any, ...]:
    """Items on a 1-5 judge scale, each rated by 3 of 6 raters (not all rate every item)."""
    rng = np.random.default_rng(seed)
    offset = np.linspace(-1.5, 1.5, n_raters) * SPREAD / np.std(np.linspace(-1.5, 1.5, n_raters))
    s = rng.integers(1, 6, n_items).astype(float)
    who = np.concatenate([rng.choice(n_raters, 3, replace=False) for _ in range(n_items)])
    score = np.repeat(s, 3)
    latent = 1.2 * (score - 3.0) + offset[who] + rng.logistic(size=score.size)
    y = 1 + np.sum(latent[:, None] > CUT, axis=1)
    return score, y, np.array([f"r{k}" for k in range(n_raters)])[who]


def _truth_panel(grid: Any, size: int) -> Any:
    rng = np.random.default_rng(99)
    r = SPREAD * rng.standard_normal((50_000, size))
    yes = _sigmoid(1.2 * (grid[:, None, None] - 3.0) + r[None] - CUT[2])  # (g, sims, size)
    count = np.zeros((grid.size, r.shape[0], size + 1))
    count[..., 0] = 1.0
    for k in range(size):
        p = yes[..., k]
        count[..., 1:] = count[..., 1:] * (1 - p[..., None]) + count[..., :-1] * p[..., None]
        count[..., 0] *= 1 - p
    return count[..., size // 2 + 1 :].sum(-1).mean(1)


def test_typical_rater_and_panel_majority_recover_the_truth() -> None:
    score, y, who = _study(0)
    cal = BayesianCalibrator(kind="ordinal", threshold=4, random_state=0).fit(score, y, raters=who)
    assert cal.diagnostics_["method"] == "laplace"
    assert cal.raters_ == [f"r{k}" for k in range(6)]
    tau_r = cal.draws_["default"]["tau_r"]
    assert np.quantile(tau_r, 0.05) < SPREAD < np.quantile(tau_r, 0.95)
    grid = np.arange(1.0, 6.0)
    typical = _sigmoid(1.2 * (grid - 3.0) - CUT[2])
    # the model's score link is the standardized score: linear in the score like the truth
    np.testing.assert_allclose(cal.predict_agreement(grid), typical, atol=0.06)
    panel = cal.predict_panel_agreement(grid, panel_size=3)
    np.testing.assert_allclose(panel, _truth_panel(grid, 3), atol=0.06)
    iv = cal.predict_panel_agreement(grid, panel_size=3, level=0.9)
    assert np.all((iv[:, 0] <= panel) & (panel <= iv[:, 1]))
    # a majority of raters is more decided than one typical rater
    assert panel[-1] > typical[-1] and panel[0] < typical[0]
    again = judgecal.persist.loads(judgecal.persist.dumps(cal))
    np.testing.assert_array_equal(again.predict_panel_agreement(grid), panel)


def test_ignoring_raters_pulls_a_typical_rater_toward_one_half() -> None:
    # Without rater offsets their spread is read as noise: one typical rater's P(agree)
    # at the top of the scale is pulled toward 1/2.
    score, y, who = _study(1)
    pooled = BayesianCalibrator(kind="ordinal", threshold=4, random_state=0).fit(score, y)
    rated = BayesianCalibrator(kind="ordinal", threshold=4, random_state=0).fit(
        score, y, raters=who
    )
    truth = _sigmoid(1.2 * 2.0 - CUT[2])
    assert abs(rated.predict_agreement([5.0])[0] - truth) < abs(
        pooled.predict_agreement([5.0])[0] - truth
    )


def test_raters_are_checked() -> None:
    with pytest.raises(InputError) as err:
        BayesianCalibrator(kind="binary").fit([1, 2, 3], [0, 1, 1], raters=["a", "b", "c"])
    assert err.value.parameter == "raters"
    with pytest.raises(InputError) as err:
        BayesianCalibrator(kind="ordinal").fit([1, 2, 3], [1, 2, 2], raters=["a", "b"])
    assert err.value.parameter == "raters"
    cal = BayesianCalibrator(kind="ordinal", threshold=2, random_state=0).fit(
        [1, 2, 3, 4], [1, 2, 2, 2]
    )
    with pytest.raises(InputError, match="raters="):
        cal.predict_panel_agreement([1.0])


def test_fit_judgments_passes_the_raters() -> None:
    from judgecal.records.core import Judgment, JudgmentSet, Rating, Scale

    score, y, who = _study(2, n_items=120)
    js = JudgmentSet(
        [
            Judgment(
                item_id=str(i),
                score=float(score[3 * i]),
                label_kind="ordinal",
                levels=5,
                ratings=[
                    Rating(value=int(y[k]), rater=str(who[k])) for k in range(3 * i, 3 * i + 3)
                ],
            )
            for i in range(120)
        ],
        scale=Scale.likert(5),
    )
    cal = BayesianCalibrator(kind="ordinal", threshold=4, random_state=0, draws=300)
    cal.fit_judgments(js, raters=True)
    assert cal.raters_ == [f"r{k}" for k in range(6)] and "tau_r" in cal.draws_["default"]
    p = cal.predict_panel_agreement([1.0, 5.0])
    assert p[1] > p[0]
