"""The do-no-harm calibrator: as good as a calibrated raw judge, better than a miscalibrated one."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from judgecal import IsotonicCalibrator
from judgecal._exceptions import InputError
from judgecal.calibration.default import ShrinkageCalibrator

JUDGES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "calibrated": lambda p: p,
    "compressed": lambda p: 0.5 + 0.3 * (p - 0.5),
    "shifted": lambda p: np.clip(p + 0.2, 0, 1),
}


def _splits(judge: str, make: Callable[[], object], splits: int = 200) -> np.ndarray:
    """Held-out Brier of the fitted map minus the raw judge's, at 50 labels."""
    out = []
    for split in range(splits):
        rng = np.random.default_rng(split)
        prob = rng.random(1050)
        labels = (rng.random(1050) < prob).astype(float)
        score = JUDGES[judge](prob)
        fitted = make().fit(score[:50], labels[:50])  # type: ignore[attr-defined]
        pred = fitted.predict_agreement(score[50:])
        raw = np.clip(score[50:], 1e-3, 1 - 1e-3)
        out.append(np.mean((pred - labels[50:]) ** 2) - np.mean((raw - labels[50:]) ** 2))
    return np.asarray(out)


def test_calibrated_judge_is_left_alone_in_most_splits() -> None:
    """Isotonic (0.1's default) loses to a calibrated raw judge almost always; this must not."""
    shrunk = _splits("calibrated", lambda: ShrinkageCalibrator(score_range=(0, 1)))
    assert np.mean(shrunk <= 1e-12) >= 0.5
    isotonic = _splits("calibrated", IsotonicCalibrator, splits=40)
    assert np.mean(isotonic <= 1e-12) < 0.2


@pytest.mark.parametrize("judge", ["compressed", "shifted"])
def test_miscalibrated_judges_are_fixed(judge: str) -> None:
    shrunk = _splits(judge, lambda: ShrinkageCalibrator(score_range=(0, 1)))
    assert np.mean(shrunk < -1e-12) >= 0.95


def test_likert_scale_range_is_inferred_and_state_is_checked() -> None:
    rng = np.random.default_rng(0)
    score = rng.integers(1, 6, 80).astype(float)
    labels = (rng.random(80) < (score - 1) / 4).astype(float)
    cal = ShrinkageCalibrator().fit(score, labels)
    assert (cal.pooled_["low"], cal.pooled_["high"]) == (1.0, 5.0)
    pred = cal.predict_agreement([1, 3, 5])
    assert np.all(np.diff(pred) > 0) and np.all((pred > 0) & (pred < 1))
    bad = dict(cal.pooled_, low=9.0)
    with pytest.raises(ValueError, match="low < high"):
        cal._check_state(bad)


def test_bad_parameters_are_named() -> None:
    with pytest.raises(InputError, match="score_range"):
        ShrinkageCalibrator(score_range=(1, 1)).fit([0.1, 0.9], [0, 1])
    with pytest.raises(InputError, match="test_level"):
        ShrinkageCalibrator(test_level=2.0).fit([0.1, 0.9], [0, 1])
