"""Agreement statistics against reference implementations on 200 seeded random designs.

References (test-only dependencies): the ``krippendorff`` package for
Krippendorff's alpha, statsmodels for Fleiss' kappa, scikit-learn for Cohen's
kappa. Designs have gaps in the values used ({1, 2, 3, 5}, ...), missing
ratings, and sometimes a single category. Where a reference returns NaN or
raises (no variation, nothing pairable), judgecal's documented result is
checked instead: 1.0 when every pairable rating falls in one category, ``None``
when no unit has two ratings, never NaN.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from judgecal import InputError
from judgecal.agreement import fleiss_kappa, krippendorff_alpha
from judgecal.metrics import cohen_kappa

krippendorff = pytest.importorskip("krippendorff")
inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")
skm = pytest.importorskip("sklearn.metrics")

N_DESIGNS = 200
TOL = 1e-9
LEVELS = ("nominal", "ordinal", "interval")


def _designs(seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(values used, coders x units table with NaN for missing) for each random design."""
    rng = np.random.default_rng(seed)
    for _ in range(N_DESIGNS):
        n_values = int(rng.integers(1, 6))  # one category in about a fifth of the designs
        values = np.sort(rng.choice(np.arange(1, 10), n_values, replace=False)).astype(float)
        n_coders, n_units = int(rng.integers(2, 6)), int(rng.integers(3, 30))
        table = rng.choice(values, size=(n_coders, n_units))
        missing = rng.random(table.shape) < rng.uniform(0.0, 0.5)
        yield values, np.where(missing, np.nan, table)


def _pairable_values(table: np.ndarray) -> np.ndarray:
    pairable = (~np.isnan(table)).sum(0) >= 2
    cells = table[:, pairable]
    return np.unique(cells[~np.isnan(cells)])


def test_krippendorff_alpha_matches_the_krippendorff_package() -> None:
    worst = dict.fromkeys(LEVELS, 0.0)
    compared = documented = 0
    for _, table in _designs(0):
        if _pairable_values(table).size == 0:
            for level in LEVELS:
                assert krippendorff_alpha(table, level=level) is None
            documented += 1
            continue
        if _pairable_values(table).size == 1:
            for level in LEVELS:
                assert krippendorff_alpha(table, level=level) == 1.0
            documented += 1
            continue
        compared += 1
        for level in LEVELS:
            want = krippendorff.alpha(reliability_data=table, level_of_measurement=level)
            got = krippendorff_alpha(table, level=level)
            assert got is not None
            worst[level] = max(worst[level], abs(got - want))
    print(f"alpha max abs difference over {compared} designs: {worst}; documented: {documented}")
    assert compared > 100 and documented > 10
    assert max(worst.values()) < TOL


def test_krippendorff_interval_uses_the_values_not_their_ranks() -> None:
    """Values {1, 2, 3, 5}: the squared difference 5 - 3 is 4, not 1 (the issue's 0.65 vs 0.50)."""
    table = [[1, 2, 3, 5, 1, 2], [2, 2, 5, 3, 1, 3]]
    want = krippendorff.alpha(reliability_data=table, level_of_measurement="interval")
    assert krippendorff_alpha(table, level="interval") == pytest.approx(want, abs=TOL)
    # unchanged by a linear change of units; labels that are not numbers are refused
    shifted = [[1e6 * v + 3 for v in row] for row in table]
    assert krippendorff_alpha(shifted, level="interval") == pytest.approx(want, abs=TOL)
    with pytest.raises(InputError, match=r"'reliability_data'.*numbers"):
        krippendorff_alpha([["a", "b"], ["a", "a"]], level="interval")


def _counts(table: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.stack([(table == v).sum(0) for v in values], axis=1)


def test_fleiss_kappa_matches_statsmodels() -> None:
    worst = 0.0
    compared = documented = 0
    for values, table in _designs(1):
        complete = np.where(np.isnan(table), values[0], table)  # statsmodels needs equal raters
        counts = _counts(complete, values)
        if values.size == 1 or _one_column(counts):
            assert fleiss_kappa(counts) == 1.0
            documented += 1
            continue
        want = inter_rater.fleiss_kappa(counts, method="fleiss")
        got = fleiss_kappa(counts)
        assert got is not None
        worst = max(worst, abs(got - want))
        compared += 1
    print(f"Fleiss max abs difference over {compared} designs: {worst}; documented: {documented}")
    assert compared > 150
    assert worst < TOL


def _one_column(counts: np.ndarray) -> bool:
    return bool((counts.sum(0) > 0).sum() == 1)


def _kappa_pairs(seed: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    for values, table in _designs(seed):
        both = ~np.isnan(table[0]) & ~np.isnan(table[1])
        if both.sum() >= 2:
            yield values, table[0, both].astype(int), table[1, both].astype(int)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_kappa_matches_sklearn_with_value_distances(weights: Any) -> None:
    """judgecal weights by the distance between label *values*; sklearn by label positions.

    Giving scikit-learn every integer from the lowest to the highest label
    present makes its positions the values (minus a constant), so the two agree.
    """
    worst = 0.0
    compared = documented = 0
    for _, a, b in _kappa_pairs(2):
        got = cohen_kappa(a, b, weights=weights)
        if np.unique(np.concatenate([a, b])).size == 1:
            assert got == 1.0
            documented += 1
            continue
        labels = list(range(int(min(a.min(), b.min())), int(max(a.max(), b.max())) + 1))
        want = skm.cohen_kappa_score(a, b, weights=weights, labels=labels)
        if math.isnan(want):  # sklearn's 0/0: both raters constant on different labels
            continue
        worst = max(worst, abs(got - want))
        compared += 1
    print(f"Cohen ({weights}) max abs difference over {compared} pairs: {worst}")
    assert compared > 100 and documented > 10
    assert worst < TOL


def test_cohen_kappa_with_labels_uses_their_positions_as_sklearn() -> None:
    """``labels=`` gives the order; distances are then positions, exactly as scikit-learn's."""
    worst = 0.0
    for _, a, b in _kappa_pairs(3):
        labels = sorted(set(a.tolist()) | set(b.tolist()))
        if len(labels) < 2:
            continue
        for weights in ("linear", "quadratic"):
            got = cohen_kappa(a, b, weights=weights, labels=labels)
            want = skm.cohen_kappa_score(a, b, weights=weights)
            worst = max(worst, abs(got - want))
    assert worst < TOL


@pytest.mark.parametrize(
    "missing",
    [None, float("nan"), np.nan, np.float32("nan"), "pd.NA", "pd.NaT", "np.datetime64('NaT')"],
)
def test_every_missing_marker_is_missing_in_alpha(missing: Any) -> None:
    pd = pytest.importorskip("pandas")
    marker = (
        {"pd.NA": pd.NA, "pd.NaT": pd.NaT, "np.datetime64('NaT')": np.datetime64("NaT")}.get(
            missing, missing
        )
        if isinstance(missing, str)
        else missing
    )
    base = [[1, 2, 3, 1], [1, 2, 2, None], [2, 2, 3, 1]]
    with_marker = np.array(
        [[marker if v is None else v for v in row] for row in base], dtype=object
    )
    want = krippendorff_alpha(base)
    assert krippendorff_alpha(with_marker) == want
    frame = pd.DataFrame(base, dtype="Int64")  # pandas nullable integers hold pd.NA
    assert krippendorff_alpha(frame.to_numpy()) == want
