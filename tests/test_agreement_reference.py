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


# -- a judge panel: several judges against each other and against humans -------------------------
def _panel_sets(seed: int) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """Three yes/no judges and three named raters (some ratings missing) on 80 items."""
    from judgecal import Judgment, JudgmentSet, Rating, Scale

    rng = np.random.default_rng(seed)
    n_items = 80
    truth = rng.random(n_items) < 0.3
    humans = np.where(rng.random((3, n_items)) < 0.8, truth, ~truth).astype(float)
    humans[rng.random((3, n_items)) < 0.2] = np.nan
    humans[0, np.isnan(humans).all(0)] = 1.0  # every item keeps a rating
    bias = (0.55, 0.2, 0.0)  # how often each judge says yes regardless
    judges = np.array([np.where(rng.random(n_items) < b, True, truth) for b in bias], dtype=float)
    sets = {}
    for name, verdicts in zip(("A", "B", "C"), judges, strict=True):
        items = [
            Judgment(
                item_id=str(i),
                stage="selection",
                score=float(verdicts[i]),
                label_kind="binary",
                ratings=tuple(
                    Rating(value=int(humans[r, i]), rater=f"r{r}")
                    for r in range(3)
                    if not np.isnan(humans[r, i])
                ),
            )
            for i in range(n_items)
        ]
        sets[name] = JudgmentSet(items, scale=Scale.verdict("no", "yes"))
    return sets, judges, humans


@pytest.mark.parametrize("seed", range(5))
def test_panel_agreement_matches_krippendorff_and_sklearn(seed: int) -> None:
    from judgecal.agreement import agreement_report

    sets, judges, humans = _panel_sets(seed)
    main = sets.pop("A")
    st = agreement_report(main, judges=sets, judge_name="A", n_resamples=0).stages["selection"]

    def alpha(table: np.ndarray) -> float:
        return float(krippendorff.alpha(reliability_data=table, level_of_measurement="nominal"))

    hh = st.get("human-human")
    assert hh is not None and abs(hh.alpha_nominal.value - alpha(humans)) < TOL
    jj = st.get("judge-judge")
    assert jj is not None and abs(jj.alpha_nominal.value - alpha(judges)) < TOL
    for (a, b), (x, y) in zip(
        [("A", "B"), ("A", "C"), ("B", "C")],
        [(judges[0], judges[1]), (judges[0], judges[2]), (judges[1], judges[2])],
        strict=True,
    ):
        pair = st.get(f"judge-judge ({a}, {b})")
        assert pair is not None
        assert abs(pair.alpha_nominal.value - alpha(np.vstack([x, y]))) < TOL
        assert abs(pair.cohen_kappa.value - skm.cohen_kappa_score(x, y)) < TOL
    for k, name in enumerate("ABC"):
        jh = st.get(f"judge-human ({name})")
        kappas = [skm.cohen_kappa_score(judges[k][~np.isnan(h)], h[~np.isnan(h)]) for h in humans]
        assert jh is not None and abs(jh.cohen_kappa.value - np.mean(kappas)) < TOL
        assert st.yes_rates[name] == pytest.approx(judges[k].mean(), abs=TOL)
        majority = np.nansum(humans, 0) > (~np.isnan(humans)).sum(0) / 2
        assert st.selections[name].judge_positive == int(judges[k].sum())
        assert st.selections[name].human_positive == int(majority.sum())
    for r in range(3):
        assert st.yes_rates[f"human r{r}"] == pytest.approx(np.nanmean(humans[r]), abs=TOL)
    assert st.yes_rates["humans"] == pytest.approx(np.nanmean(humans), abs=TOL)
