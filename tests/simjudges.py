"""Simulated judges with known truth, shared by the tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Curve = Callable[[np.ndarray], np.ndarray]


def sigmoid(t: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-t)))


# P(human agrees | judge score s) for judge scores on a 1..5 scale.
TRUTH: dict[str, Curve] = {
    # the judge uses a fraction of the human range: humans move much faster than (s-1)/4
    "compressed": lambda s: sigmoid(2.5 * (s - 3.0)),
    # the judge is too generous: humans agree far less than (s-1)/4 says
    "shifted": lambda s: sigmoid(1.5 * (s - 4.2)),
}


def simulate(
    kind: str, n: int, rng: np.random.Generator, *, discrete: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores, 0/1 human labels and the true P(agree) for a simulated judge."""
    s = rng.integers(1, 6, n).astype(float) if discrete else rng.uniform(1, 5, n)
    p = TRUTH[kind](s)
    y = (rng.random(n) < p).astype(float)
    return s, y, p
