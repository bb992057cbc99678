"""Calibrators saved by judgecal 0.1.0 still load and predict bit-identically."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import judgecal

FIXTURES = Path(__file__).parent / "fixtures" / "v0_1_0"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_saved_by_0_1_0_loads_and_predicts_identically(name: str) -> None:
    cal = judgecal.load(FIXTURES / f"{name}.json")
    case = EXPECTED[name]
    X = np.asarray(case["X"], dtype=float)
    p = cal.predict_proba(X, stages=case["stages"])
    np.testing.assert_array_equal(p, np.asarray(case["proba"]))
    if "interval" in case:
        iv = cal.predict_interval(X, stages=case["stages"], level=0.9)
        np.testing.assert_array_equal(iv, np.asarray(case["interval"]))
