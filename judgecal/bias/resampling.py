"""Resampling for the bias measurements: bootstrap means, sign-flip and label permutations.

Every function takes a seeded :class:`numpy.random.Generator` and draws its
resamples in chunks of at most :data:`CHUNK_CELLS` numbers, so memory stays
bounded however many items or resamples are asked for.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from judgecal._validation import FloatArray

__all__ = [
    "CHUNK_CELLS",
    "bootstrap_means",
    "chunks",
    "cluster_bootstrap_means",
    "group_permutation_p_value",
    "paired_summary",
    "percentile_interval",
    "sign_flip_p_value",
]

CHUNK_CELLS = 1 << 21
"""Most random numbers drawn at once."""


def chunks(n_resamples: int, width: int) -> Iterator[tuple[int, int]]:
    """``(first, count)`` blocks of resamples, ``count * width`` near :data:`CHUNK_CELLS`.

    Examples
    --------
    >>> list(chunks(5, CHUNK_CELLS // 2))
    [(0, 2), (2, 2), (4, 1)]
    """
    rows = max(1, CHUNK_CELLS // max(width, 1))
    for first in range(0, n_resamples, rows):
        yield first, min(rows, n_resamples - first)


def bootstrap_means(values: FloatArray, n_resamples: int, rng: np.random.Generator) -> FloatArray:
    """Means of ``n_resamples`` bootstrap resamples of ``values``."""
    size = values.size
    means = np.empty(n_resamples)
    for first, count in chunks(n_resamples, size):
        means[first : first + count] = values[rng.integers(0, size, (count, size))].mean(axis=1)
    return means


def cluster_bootstrap_means(
    sums: FloatArray, sizes: FloatArray, n_resamples: int, rng: np.random.Generator
) -> FloatArray:
    """Item means of bootstrap resamples of whole clusters (given each cluster's sum and size)."""
    n_clusters = sums.size
    means = np.empty(n_resamples)
    for first, count in chunks(n_resamples, n_clusters):
        pick = rng.integers(0, n_clusters, (count, n_clusters))
        means[first : first + count] = sums[pick].sum(axis=1) / sizes[pick].sum(axis=1)
    return means


def sign_flip_p_value(
    differences: FloatArray, n_permutations: int, rng: np.random.Generator
) -> float:
    r"""Two-sided p-value of "symmetric about 0" by random sign flips.

    Counted as :math:`(1 + \#\{|\bar d^*| \ge |\bar d|\}) / (1 + B)`, so it is never 0.
    """
    size = differences.size
    observed = abs(float(differences.mean()))
    if not np.any(differences != 0):
        return 1.0
    tolerance = 1e-12 * max(1.0, float(np.abs(differences).max()))
    hits = 0
    for _, count in chunks(n_permutations, size):
        signs = rng.integers(0, 2, (count, size), dtype=np.int8) * 2 - 1
        flipped = np.abs(signs @ differences) / size
        hits += int(np.count_nonzero(flipped >= observed - tolerance))
    return (1.0 + hits) / (1.0 + n_permutations)


def group_permutation_p_value(
    first: FloatArray, second: FloatArray, n_permutations: int, rng: np.random.Generator
) -> float:
    """Two-sided p-value of "equal means" by permuting the group labels."""
    pooled = np.concatenate([first, second])
    observed = abs(float(first.mean() - second.mean()))
    hits = 0
    for _ in range(n_permutations):
        shuffled = rng.permutation(pooled)
        difference = shuffled[: first.size].mean() - shuffled[first.size :].mean()
        hits += bool(abs(difference) >= observed - 1e-12)
    return (1.0 + hits) / (1.0 + n_permutations)


def percentile_interval(
    replicates: FloatArray, level: float, estimate: float
) -> tuple[float, float]:
    """The percentile interval of ``replicates``, widened to contain ``estimate``."""
    alpha = 1.0 - level
    low, high = np.quantile(replicates, [alpha / 2, 1 - alpha / 2])
    return float(min(low, estimate)), float(max(high, estimate))


def paired_summary(
    differences: FloatArray,
    level: float,
    n_resamples: int,
    n_permutations: int,
    rng: np.random.Generator,
) -> dict[str, float]:
    """Mean of ``differences``, its bootstrap interval and its sign-flip p-value."""
    estimate = float(differences.mean())
    if differences.size == 1:
        return {"estimate": estimate, "low": estimate, "high": estimate, "p_value": 1.0, "n": 1.0}
    means = bootstrap_means(differences, n_resamples, rng)
    low, high = percentile_interval(means, level, estimate)
    p_value = sign_flip_p_value(differences, n_permutations, rng)
    return {
        "estimate": estimate,
        "low": low,
        "high": high,
        "p_value": p_value,
        "n": float(differences.size),
    }
