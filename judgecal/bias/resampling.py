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
    "expanded_level",
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


def expanded_level(level: float, n: int) -> float:
    r"""The level of the *expanded* percentile interval for a mean of ``n`` values.

    The plain percentile bootstrap runs short of its level in small samples: it
    uses the plug-in standard deviation (divisor ``n``) and normal rather than
    :math:`t` quantiles. The expanded percentile interval (Hesterberg, "What
    teachers should know about the bootstrap", *The American Statistician*,
    2015) takes the bootstrap quantiles at the level :math:`2\Phi(z) - 1` with
    :math:`z = \sqrt{n/(n-1)}\, t_{n-1, (1+\text{level})/2}`, which corrects both.

    Examples
    --------
    >>> round(expanded_level(0.9, 60), 4), round(expanded_level(0.9, 10**6), 4)
    (0.908, 0.9)
    """
    from scipy.stats import norm, t

    if n < 2:
        return level
    z = float(np.sqrt(n / (n - 1.0)) * t.ppf(0.5 + level / 2.0, n - 1))
    return float(min(2.0 * norm.cdf(z) - 1.0, 1.0 - 1e-9))


def percentile_interval(
    replicates: FloatArray, level: float, estimate: float, *, n: int | None = None
) -> tuple[float, float]:
    """The percentile interval of ``replicates``, widened to contain ``estimate``.

    With ``n`` (the number of independent units behind the estimate: items, or
    clusters), the expanded percentile interval of :func:`expanded_level`.
    """
    alpha = 1.0 - (level if n is None else expanded_level(level, n))
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
    low, high = percentile_interval(means, level, estimate, n=differences.size)
    p_value = sign_flip_p_value(differences, n_permutations, rng)
    return {
        "estimate": estimate,
        "low": low,
        "high": high,
        "p_value": p_value,
        "n": float(differences.size),
    }
