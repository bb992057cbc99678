r"""Agreement between humans, between the judge and humans, and between judges, per stage.

Before trusting a judge, look at how much people agree with *each other*: a
judge cannot be expected to match humans better than humans match each other,
and chance-corrected coefficients often tell a different story from raw
agreement. :func:`agreement_report` computes, for every stage:

* **exact agreement**: the share of agreeing pairs of ratings on the same item;
* **Cohen's kappa** averaged over pairs of raters (Light's kappa; Cohen, 1960),
  and **weighted kappa** with quadratic weights for ordered labels (Cohen, 1968),
  both from :func:`judgecal.metrics.cohen_kappa`;
* **Fleiss' kappa** (Fleiss, 1971), allowing a varying number of ratings per item;
* **Krippendorff's alpha**, nominal and ordinal (Krippendorff, 2011), which uses
  every pairable rating, missing ones included;
* **base rates** of each label for humans and for each judge;
* percentile **bootstrap intervals** that resample *items*
  (:func:`judgecal.metrics.bootstrap_ci`).

Comparisons
-----------
``human-human``
    the human ratings of each item (raters are matched by id when ids repeat
    across items; otherwise by position, "slot 1, 2, ...", which is what Cohen's
    kappa can do with anonymous raters; Fleiss' kappa and alpha need no ids).
``judge-human``
    every (judge, human rating) pair of an item is a two-rating unit; Cohen's
    kappa is averaged over the judge paired with each human rater (or slot).
``judge-judge``
    when several judges rated the same items (``judges=``): all judges together
    and, with three or more, each pair (``judge-judge (A, B)``).

Who says yes
------------
For yes/no and pairwise stages, ``yes_rates`` gives how often each judge, all
human ratings together and each named human rater say yes (pairwise: prefer
the first response); ``rater_rates`` the share of every category per named
rater; ``selections`` each judge's positive set against the human majority's.

Judge scores are mapped to the label categories: verdict words by name
(``first``/``tie``/``second``, ``no``/``yes``), Likert scores rounded to the
nearest level, other scores cut at ``judge_cut`` (yes/no labels) or binned
evenly.

Selection extras
----------------
For stages with yes/no labels (for instance "is this attribute relevant?"), the
report counts the items the judge marks positive against those the human
majority marks positive (LLM judges have been seen to mark 2-3x more), with the
Jaccard index and F1 of the judge's positive set against the human majority's.

Defined edge cases (never NaN)
------------------------------
Perfect agreement gives 1. When every rating falls in one category, agreement
is perfect and every coefficient is 1 (expected disagreement is zero, so the
0/0 is resolved as agreement). With one rater per item there is no human-human
pair: the coefficients are ``None`` (shown as "n/a") with a note saying why.
When neither the judge nor the humans mark anything positive, Jaccard and F1
are 1.
"""

from __future__ import annotations

import html
import itertools
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

from judgecal._exceptions import InputError, InputTypeError
from judgecal._validation import FloatArray, Verbatim, check_float, check_int
from judgecal.metrics import bootstrap_ci, cohen_kappa, is_missing
from judgecal.records.core import JudgmentSet, Scale
from judgecal.vocabulary import DEFAULT_LEVEL

__all__ = [
    "AgreementReport",
    "AgreementStats",
    "SelectionExtras",
    "StageAgreement",
    "Stat",
    "agreement_report",
    "fleiss_kappa",
    "krippendorff_alpha",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
#: Krippendorff's (2004) threshold below which only tentative conclusions are drawn.
ALPHA_TENTATIVE = 0.667


# ---------------------------------------------------------------------------
# coefficients on a count matrix (units x categories)
# ---------------------------------------------------------------------------
def _delta2(metric: str, marginals: FloatArray, values: FloatArray | None = None) -> FloatArray:
    """Squared distances between categories (Krippendorff, 2011, section 4).

    ``nominal``: 0 for equal categories, 1 otherwise. ``ordinal``: the marginal
    counts from one category to the other, less half of the two ends, squared
    (so only the *ranks* of the values present matter). ``interval``: the
    squared difference of the category *values* (``values``; positions
    ``0..k-1`` when not given).
    """
    k = marginals.size
    positions = np.arange(k)
    if metric == "nominal":
        return 1.0 - np.eye(k)
    if metric == "interval":
        at = positions.astype(float) if values is None else values
        return (at[:, None] - at[None, :]) ** 2
    cum = np.concatenate([[0.0], np.cumsum(marginals)])
    lo = np.minimum(positions[:, None], positions[None, :])
    hi = np.maximum(positions[:, None], positions[None, :])
    between = cum[hi + 1] - cum[lo]
    out: FloatArray = (between - (marginals[:, None] + marginals[None, :]) / 2.0) ** 2
    return out


def _alpha_counts(
    counts: FloatArray, unit_weight: FloatArray, metric: str, values: FloatArray | None = None
) -> float | None:
    """Krippendorff's alpha from a units x categories count table (``None``: nothing pairable)."""
    per_unit = counts.sum(1)
    keep = (per_unit >= 2) & (unit_weight > 0)
    if not keep.any():
        return None
    kept, scale = counts[keep], unit_weight[keep] / (per_unit[keep] - 1.0)
    scaled = kept * scale[:, None]
    return alpha_from_coincidences(scaled.T @ kept - np.diag(scaled.sum(0)), metric, values)


def alpha_from_coincidences(
    coincidences: FloatArray, metric: str, values: FloatArray | None = None
) -> float | None:
    """Krippendorff's alpha from a coincidence matrix (sums of parts add up to the whole's)."""
    marginals = coincidences.sum(1)
    n_pairable = float(marginals.sum())
    if n_pairable <= 1.0:
        return None
    delta2 = _delta2(metric, marginals, values)
    observed = float((coincidences * delta2).sum())
    expected = float((np.outer(marginals, marginals) * delta2).sum()) / (n_pairable - 1.0)
    if expected <= 1e-12:
        return 1.0  # every pairable rating in one category: perfect agreement (documented)
    return float(np.round(1.0 - observed / expected, 12))


def _fleiss_counts(C: FloatArray, w: FloatArray) -> float | None:
    pbar = _exact_counts(C, w)
    if pbar is None:
        return None
    m = C.sum(1)
    keep = (m >= 2) & (w > 0)
    Ck, mk, wk = C[keep], m[keep], w[keep]
    pc = (wk[:, None] * Ck).sum(0) / float(np.dot(wk, mk))
    pe = float((pc**2).sum())
    if 1.0 - pe <= 1e-12:
        return 1.0
    return float(np.round((pbar - pe) / (1.0 - pe), 12))


def _exact_counts(C: FloatArray, w: FloatArray) -> float | None:
    m = C.sum(1)
    keep = (m >= 2) & (w > 0)
    if not keep.any():
        return None
    Ck, mk, wk = C[keep], m[keep], w[keep]
    pu = (Ck * (Ck - 1)).sum(1) / (mk * (mk - 1))
    return float(np.dot(wk, pu) / wk.sum())


def _reliability_counts(data: Any, name: str, where: str) -> tuple[FloatArray, list[Any]]:
    """Units x categories counts from a coders x units table (missing: see ``is_missing``)."""
    try:
        table = np.asarray(data, dtype=object)
    except (ValueError, TypeError) as exc:  # pragma: no cover - ragged input
        raise InputTypeError(name, "a coders x units table of labels", data, where=where) from exc
    if table.ndim != 2 or table.size == 0:
        raise InputError(
            name, "a non-empty 2-D coders x units table", f"shape {table.shape}", where=where
        )
    present = np.array([not is_missing(v) for v in table.ravel().tolist()]).reshape(table.shape)
    values = table[present].tolist()
    if not values:
        raise InputError(name, "at least one rating", "only missing values", where=where)
    for value in values:
        if isinstance(value, float | np.floating) and not np.isfinite(value):
            raise InputError(name, "finite labels (inf is not a category)", value, where=where)
    try:
        categories = sorted(set(values))
    except TypeError:
        categories = list(dict.fromkeys(values))
    index = {category: i for i, category in enumerate(categories)}
    coder, unit = np.nonzero(present)
    category = np.fromiter((index[v] for v in values), dtype=np.int64, count=len(values))
    counts = _counts(unit, category, table.shape[1], len(categories))
    return counts, categories


def _interval_values(categories: list[Any], name: str, where: str) -> FloatArray:
    """Category values as numbers, rescaled to [0, 1] (alpha is unchanged; squares stay finite)."""
    if any(
        isinstance(c, bool) or not isinstance(c, int | float | np.integer | np.floating)
        for c in categories
    ):
        raise InputError(
            name,
            "numbers at level='interval'",
            Verbatim(f"categories {categories[:6]}"),
            where=where,
        )
    values = np.asarray(categories, dtype=np.float64)
    span = float(values.max() - values.min())
    return (values - values.min()) / span if span > 0 else values * 0.0


def krippendorff_alpha(
    reliability_data: Any, *, level: Literal["nominal", "ordinal", "interval"] = "nominal"
) -> float | None:
    """Krippendorff's alpha for a coders x units table; missing entries are left out.

    Missing is ``None``, NaN (any float type), ``pd.NA``, ``pd.NaT`` or numpy's
    NaT. Units with fewer than two ratings are not pairable and are ignored.
    ``nominal`` compares categories for equality; ``ordinal`` uses the ranks of
    the values present (Krippendorff's ordinal metric, built from the
    marginal counts); ``interval`` uses the squared difference of the values
    themselves, which must be numbers (values {1, 2, 3, 5} are not equally
    spaced).

    Returns
    -------
    float or None
        ``None`` when no unit has two ratings (nothing to compare); 1.0 when
        every pairable rating falls in one category (no disagreement is
        possible, resolved as agreement). Never NaN.

    Raises
    ------
    InputError
        For an empty table, a table of only missing values, ``inf``, or
        non-numeric labels at ``level="interval"``.

    Examples
    --------
    Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the
    example with four coders, twelve units and missing values:

    >>> nan = float("nan")
    >>> data = [[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    ...         [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    ...         [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    ...         [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]]
    >>> round(krippendorff_alpha(data), 3), round(krippendorff_alpha(data, level="interval"), 3)
    (0.743, 0.849)
    """
    where = "krippendorff_alpha"
    if not isinstance(level, str) or level not in ("nominal", "ordinal", "interval"):
        raise InputError("level", "one of ('nominal', 'ordinal', 'interval')", level, where=where)
    counts, categories = _reliability_counts(reliability_data, "reliability_data", where)
    values = (
        _interval_values(categories, "reliability_data", where) if level == "interval" else None
    )
    return _alpha_counts(counts, np.ones(counts.shape[0]), level, values)


def fleiss_kappa(counts: Any) -> float | None:
    """Fleiss' kappa from a units x categories table of rating counts.

    Units may have different numbers of ratings; units with fewer than two are
    ignored. Returns 1.0 when all ratings fall in one category, ``None`` when
    no unit has two ratings.

    Examples
    --------
    The example in Fleiss (1971) as reproduced on Wikipedia (10 subjects,
    14 raters, 5 categories):

    >>> table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0],
    ...          [2, 2, 8, 1, 1], [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2],
    ...          [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    >>> round(fleiss_kappa(table), 3)
    0.21
    """
    where = "fleiss_kappa"
    try:
        C = np.asarray(counts, dtype=float)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InputTypeError(
            "counts", "a units x categories table of counts", counts, where=where
        ) from exc
    if C.ndim != 2 or C.size == 0:
        raise InputError(
            "counts", "a non-empty 2-D units x categories table", f"shape {C.shape}", where=where
        )
    if not np.isfinite(C).all() or (C < 0).any() or (np.rint(C) != C).any():
        raise InputError("counts", "non-negative integer counts", "other values", where=where)
    return _fleiss_counts(C, np.ones(C.shape[0]))


# ---------------------------------------------------------------------------
# report objects
# ---------------------------------------------------------------------------
class Stat(BaseModel):
    """A coefficient with its bootstrap interval; ``None`` when undefined (see ``note``)."""

    model_config = _FROZEN

    value: float | None
    """The coefficient on all items."""
    low: float | None = None
    """Lower end of the bootstrap interval."""
    high: float | None = None
    """Upper end of the bootstrap interval."""

    def fmt(self, digits: int = 2) -> str:
        """``"0.43 [0.38, 0.49]"``, or ``"n/a"`` when undefined."""
        if self.value is None:
            return "n/a"
        if self.low is None or self.high is None:
            return f"{self.value:.{digits}f}"
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


class AgreementStats(BaseModel):
    """Agreement of one comparison (human-human, judge-human, judge-judge) in one stage."""

    model_config = _FROZEN

    comparison: str
    """``human-human``, ``judge-human (NAME)`` or ``judge-judge``."""
    n_items: int
    """Items with at least two ratings to compare."""
    n_rater_pairs: int
    """Pairs of raters (or slots) over which Cohen's kappa is averaged."""
    exact: Stat
    """Share of agreeing pairs of ratings (no chance correction)."""
    cohen_kappa: Stat
    """Cohen's kappa averaged over rater pairs."""
    weighted_kappa: Stat
    """Quadratic-weighted kappa averaged over rater pairs (equals plain kappa for yes/no)."""
    fleiss_kappa: Stat
    """Fleiss' kappa."""
    alpha_nominal: Stat
    """Krippendorff's alpha, nominal."""
    alpha_ordinal: Stat
    """Krippendorff's alpha, ordinal."""
    note: str = ""
    """Why values are missing, or what to keep in mind."""


class SelectionExtras(BaseModel):
    """Yes/no stages: how many items the judge marks positive against the human majority."""

    model_config = _FROZEN

    n_items: int
    """Items with a judge verdict and at least one human rating."""
    judge_positive: int
    """Items the judge marks positive (relevant, supported, ...)."""
    human_positive: int
    """Items the human majority marks positive (more than half of the raters)."""
    ratio: float | None
    """``judge_positive / human_positive`` (``None`` when humans mark none)."""
    jaccard: float
    """Jaccard index of the two positive sets (1.0 when both are empty)."""
    f1: float
    """F1 of the judge's positive set against the human majority's (1.0 when both are empty)."""


class StageAgreement(BaseModel):
    """Agreement in one stage."""

    model_config = _FROZEN

    stage: str
    """Stage name."""
    n_items: int
    """Items in the stage."""
    categories: list[str]
    """Label categories, in order."""
    base_rates: dict[str, list[float]]
    """Share of each category, for ``humans`` and for each judge."""
    comparisons: list[AgreementStats]
    """Human-human, judge-human (one per judge) and judge-judge agreement."""
    selection: SelectionExtras | None = None
    """Yes/no stages only: the first judge's selection (see ``selections`` for every judge)."""
    selections: dict[str, SelectionExtras] = {}
    """Yes/no stages only: each judge's selection against the human majority."""
    rater_rates: dict[str, list[float]] = {}
    """Share of each category in each named human rater's ratings (raters with ids only)."""
    yes_rates: dict[str, float] = {}
    """Yes/no and pairwise stages: how often each judge, all humans (``humans``) and each
    named human rater says yes (pairwise: prefers the first response)."""

    def get(self, comparison: str) -> AgreementStats | None:
        """The comparison whose name starts with ``comparison`` (e.g. ``"human-human"``)."""
        return next((c for c in self.comparisons if c.comparison.startswith(comparison)), None)


class AgreementReport(BaseModel):
    """Agreement per stage, with rendering to markdown and HTML.

    Examples
    --------
    >>> import judgecal
    >>> rep = agreement_report(judgecal.load_hanna(criteria=("Coherence",)), n_resamples=20)
    >>> hh = rep.stages["Coherence"].get("human-human")
    >>> hh.alpha_ordinal.value < 0.667  # humans agree poorly on HANNA
    True
    >>> print(rep.to_markdown().splitlines()[0])
    ## Agreement report (90% bootstrap intervals, 20 resamples)
    """

    model_config = _FROZEN

    stages: dict[str, StageAgreement]
    """One entry per stage."""
    judges: list[str]
    """Judge names, in order."""
    level: float
    """Nominal coverage of the bootstrap intervals."""
    n_resamples: int
    """Bootstrap resamples (0: no intervals)."""

    @model_validator(mode="before")
    @classmethod
    def _renamed_fields(cls, data: Any) -> Any:
        """Reports written by 0.1 call the resample count ``n_boot``."""
        if isinstance(data, dict) and "n_boot" in data and "n_resamples" not in data:
            data = {("n_resamples" if k == "n_boot" else k): v for k, v in data.items()}
        return data

    @property
    def n_boot(self) -> int:
        """Deprecated name of :attr:`n_resamples`."""
        warnings.warn(
            "AgreementReport.n_boot is now called n_resamples; the old name will be removed.",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.n_resamples

    def _intervals_in_words(self) -> str:
        return f"{self.level:.0%} bootstrap intervals, {self.n_resamples} resamples"

    def warnings(self) -> list[str]:
        """Plain-language flags: stages where humans agree poorly, judges that over-mark."""
        out = []
        for name, st in self.stages.items():
            hh = st.get("human-human")
            a = None if hh is None else hh.alpha_ordinal.value
            if a is not None and a < ALPHA_TENTATIVE:
                out.append(
                    f"{name}: humans agree poorly with each other "
                    f"(ordinal alpha {a:.2f} < {ALPHA_TENTATIVE}); "
                    "judge-human agreement cannot be expected to be higher, and a calibrated judge "
                    "predicts a noisy target."
                )
            for judge, sel in _selections_of(st).items():
                if sel.ratio is not None and sel.ratio > 1.5:
                    out.append(
                        f"{name}: {judge} marks {sel.ratio:.1f}x as many items positive "
                        "as the human majority."
                    )
        return out

    def to_markdown(self) -> str:
        """The report as markdown: one table per stage."""
        head = f"## Agreement report ({self._intervals_in_words()})"
        lines = [head, ""]
        for w in self.warnings():
            lines.append(f"- **{w}**")
        if self.warnings():
            lines.append("")
        for name, st in self.stages.items():
            lines += [f"### {name} ({st.n_items} items)", ""]
            lines.append(
                "Base rates ("
                + ", ".join(st.categories)
                + "): "
                + "; ".join(
                    f"{src} " + "/".join(f"{100 * r:.0f}%" for r in rates)
                    for src, rates in st.base_rates.items()
                )
            )
            lines.append("")
            lines.append(
                "| comparison | items | exact | Cohen's kappa | weighted kappa | Fleiss' kappa "
                "| alpha nominal | alpha ordinal |"
            )
            lines.append("| --- | ---: | --- | --- | --- | --- | --- | --- |")
            for c in st.comparisons:
                lines.append(
                    f"| {c.comparison} | {c.n_items} | {c.exact.fmt()} | {c.cohen_kappa.fmt()} | "
                    f"{c.weighted_kappa.fmt()} | {c.fleiss_kappa.fmt()} | "
                    f"{c.alpha_nominal.fmt()} | {c.alpha_ordinal.fmt()} |"
                )
            notes = [f"{c.comparison}: {c.note}" for c in st.comparisons if c.note]
            for n in notes:
                lines.append(f"\n_{n}_")
            if st.yes_rates:
                lines.append("\nSays yes: " + _yes_rates_in_words(st.yes_rates) + ".")
            for judge, s in _selections_of(st).items():
                lines.append("\n" + _selection_in_words(judge, s))
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def to_html(self) -> str:
        """The report as a self-contained HTML fragment (tables, escaped text)."""
        e = html.escape
        parts = [f"<h2>Agreement report ({self._intervals_in_words()})</h2>"]
        ws = self.warnings()
        if ws:
            parts.append(
                "<ul>" + "".join(f"<li><strong>{e(w)}</strong></li>" for w in ws) + "</ul>"
            )
        cols = (
            "comparison",
            "items",
            "exact",
            "Cohen's kappa",
            "weighted kappa",
            "Fleiss' kappa",
            "alpha nominal",
            "alpha ordinal",
        )
        for name, st in self.stages.items():
            parts.append(f"<h3>{e(name)} ({st.n_items} items)</h3>")
            rates = "; ".join(
                f"{e(src)} " + "/".join(f"{100 * r:.0f}%" for r in rr)
                for src, rr in st.base_rates.items()
            )
            parts.append(f"<p>Base rates ({e(', '.join(st.categories))}): {rates}</p>")
            rows = ["<tr>" + "".join(f"<th>{e(c)}</th>" for c in cols) + "</tr>"]
            for c in st.comparisons:
                cells = (
                    c.comparison,
                    str(c.n_items),
                    c.exact.fmt(),
                    c.cohen_kappa.fmt(),
                    c.weighted_kappa.fmt(),
                    c.fleiss_kappa.fmt(),
                    c.alpha_nominal.fmt(),
                    c.alpha_ordinal.fmt(),
                )
                rows.append("<tr>" + "".join(f"<td>{e(x)}</td>" for x in cells) + "</tr>")
            parts.append("<table>" + "".join(rows) + "</table>")
            for c in st.comparisons:
                if c.note:
                    parts.append(f"<p><em>{e(c.comparison)}: {e(c.note)}</em></p>")
            if st.yes_rates:
                parts.append(f"<p>Says yes: {e(_yes_rates_in_words(st.yes_rates))}.</p>")
            for judge, s in _selections_of(st).items():
                parts.append(f"<p>{e(_selection_in_words(judge, s))}</p>")
        return "\n".join(parts) + "\n"


def _selections_of(st: StageAgreement) -> dict[str, SelectionExtras]:
    """Every judge's selection (reports written before ``selections`` existed: the one)."""
    if st.selections:
        return dict(st.selections)
    return {"judge": st.selection} if st.selection is not None else {}


def _selection_in_words(judge: str, s: SelectionExtras) -> str:
    ratio = "n/a" if s.ratio is None else f"{s.ratio:.2f}x"
    return (
        f"Selection: {judge} marks {s.judge_positive} of {s.n_items} positive, "
        f"human majority {s.human_positive} ({ratio}); Jaccard {s.jaccard:.2f}, F1 {s.f1:.2f}."
    )


def _yes_rates_in_words(rates: Mapping[str, float]) -> str:
    return ", ".join(f"{name} {100 * rate:.0f}%" for name, rate in rates.items())


# ---------------------------------------------------------------------------
# building the comparisons
# ---------------------------------------------------------------------------
@dataclass
class _Comparison:
    name: str
    C: FloatArray  # units x K counts
    unit_item: np.ndarray  # item index of each unit
    wide: np.ndarray  # items x coders, category index or -1
    pairs: list[tuple[int, int]]
    note: str = ""


def _categories(js: JudgmentSet) -> list[str]:
    if js.label_kind == "binary":
        return ["no", "yes"]
    if js.label_kind == "pairwise":
        return ["second", "tie", "first"]
    assert js.levels is not None
    return [str(k) for k in range(1, js.levels + 1)]


def _human_codes(js: JudgmentSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(item index, category index, coder index) of every rating; coders by id or by slot."""
    idx, val, raters = js.ratings_long()
    if js.label_kind == "pairwise":
        cat = val  # already 0..2 (second, tie, first)
    elif js.label_kind == "ordinal":
        cat = val - 1
    else:
        cat = val
    named = raters.size > 0 and (raters != "").all() and np.unique(raters).size < raters.size
    if named:
        names, coder = np.unique(raters, return_inverse=True)
    else:  # anonymous raters: their position within the item
        first = np.searchsorted(idx, idx, side="left") if idx.size else idx
        coder = np.arange(idx.size) - first
    return idx.astype(np.int64), cat.astype(np.int64), np.asarray(coder, dtype=np.int64)


@dataclass(frozen=True)
class _JudgeScores:
    """One judge's scores of a stage's items (NaN where it gave none), on its scale."""

    score: FloatArray
    scale: Scale


def _score_array(js: JudgmentSet) -> FloatArray:
    return np.array([np.nan if j.score is None else float(j.score) for j in js], dtype=float)


def _judge_codes(
    judge: _JudgeScores, kind: str | None, k: int, judge_cut: float | None
) -> np.ndarray:
    """Category index of each item's judge score (-1 when the judge failed)."""
    out = np.full(judge.score.size, -1, dtype=np.int64)
    scale = judge.scale
    scored = ~np.isnan(judge.score)
    if not scored.any():
        return out
    x = np.where(scored, judge.score, scale.low)
    if scale.kind == "verdict":
        words = [v.lower() for v in scale.verdicts]
        cats = (
            ["second", "tie", "first"]
            if kind == "pairwise"
            else ["no", "yes"]
            if kind == "binary"
            else None
        )
        if cats is not None and set(words) <= set(cats) | {"yes", "no"}:
            mapping = np.array([cats.index(w) if w in cats else -1 for w in words])
            out[scored] = mapping[x[scored].astype(int)]
            return out
    if kind == "binary":
        cut = 0.5 if judge_cut is None else judge_cut
        unit = scale.to_unit(x) if judge_cut is None else x
        out[scored] = (unit[scored] >= cut).astype(np.int64)
        return out
    if scale.kind == "likert" and int(scale.high - scale.low) + 1 == k:
        out[scored] = np.clip(np.rint(x[scored] - scale.low), 0, k - 1).astype(np.int64)
        return out
    unit = scale.to_unit(x)
    out[scored] = np.clip(np.rint(unit[scored] * (k - 1)), 0, k - 1).astype(np.int64)
    return out


def _counts(unit: np.ndarray, cat: np.ndarray, n_units: int, k: int) -> FloatArray:
    return np.bincount(unit * k + cat, minlength=n_units * k).reshape(n_units, k).astype(float)


def _build(js: JudgmentSet, judge_codes: Mapping[str, np.ndarray], k: int) -> list[_Comparison]:
    n = len(js)
    item, cat, coder = _human_codes(js)
    comps: list[_Comparison] = []
    n_coders = int(coder.max()) + 1 if coder.size else 0
    wide_h = np.full((n, max(n_coders, 1)), -1, dtype=np.int64)
    if coder.size:
        wide_h[item, coder] = cat
    C_h = _counts(item, cat, n, k)
    pairs_h = list(itertools.combinations(range(n_coders), 2))
    note = ""
    if (C_h.sum(1) >= 2).sum() == 0:
        note = "one rating per item: human-human agreement is undefined"
    elif not (
        (js.ratings_long()[2] != "").all() and np.unique(js.ratings_long()[2]).size < item.size
    ):
        note = (
            "raters are anonymous: Cohen's kappa pairs ratings by position (slot), "
            "Fleiss and alpha need no ids"
        )
    comps.append(_Comparison("human-human", C_h, np.arange(n), wide_h, pairs_h, note))
    for name, jc in judge_codes.items():
        ok = jc[item] >= 0
        units = np.flatnonzero(ok)
        C = np.zeros((units.size, k))
        C[np.arange(units.size), cat[units]] += 1
        C[np.arange(units.size), jc[item[units]]] += 1
        wide = np.concatenate([jc[:, None], wide_h], axis=1)
        pairs = [(0, c + 1) for c in range(n_coders)]
        comps.append(_Comparison(f"judge-human ({name})", C, item[units], wide, pairs))
    if len(judge_codes) >= 2:
        comps.append(_judge_judge("judge-judge", list(judge_codes.values()), n, k))
    if len(judge_codes) >= 3:  # with three or more judges, each pair too
        for (a, codes_a), (b, codes_b) in itertools.combinations(judge_codes.items(), 2):
            comps.append(_judge_judge(f"judge-judge ({a}, {b})", [codes_a, codes_b], n, k))
    return comps


def _judge_judge(name: str, codes: list[np.ndarray], n: int, k: int) -> _Comparison:
    """Agreement among the judges whose category codes are ``codes`` (-1: no verdict)."""
    wide_j = np.column_stack(codes)
    rows, cols = np.nonzero(wide_j >= 0)
    C_j = _counts(rows, wide_j[rows, cols], n, k)
    pairs = list(itertools.combinations(range(wide_j.shape[1]), 2))
    return _Comparison(name, C_j, np.arange(n), wide_j, pairs)


def _pair_codes(
    wide: np.ndarray, pairs: Sequence[tuple[int, int]], k: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each rater pair: the items both rated, and their joint-table cell ``a * k + b``."""
    out = []
    for a, b in pairs:
        rows = np.flatnonzero((wide[:, a] >= 0) & (wide[:, b] >= 0))
        out.append((rows, wide[rows, a] * k + wide[rows, b]))
    return out


def _kappa_weights(k: int, weights: str | None) -> FloatArray:
    d = np.abs(np.arange(k)[:, None] - np.arange(k)[None, :]).astype(float)
    return 1.0 - np.eye(k) if weights is None else d if weights == "linear" else d**2


def _mean_kappa(
    wide: np.ndarray,
    pairs: Sequence[tuple[int, int]],
    codes: list[tuple[np.ndarray, np.ndarray]],
    w: FloatArray,
    k: int,
    weights: str | None,
) -> float | None:
    """Cohen's kappa averaged over rater pairs, items weighted by ``w`` (bootstrap multiplicities).

    With all weights 1 this is :func:`judgecal.metrics.cohen_kappa` on each pair;
    bootstrap replicates use the same formula on the weighted joint table.
    """
    vals = []
    if np.all(w == 1.0):
        for (a, b), (rows, _) in zip(pairs, codes, strict=True):
            if rows.size >= 2:
                kappa = cohen_kappa(
                    wide[rows, a],
                    wide[rows, b],
                    labels=list(range(k)),
                    weights=weights,  # type: ignore[arg-type]
                )
                vals.append(kappa)
        return float(np.mean(vals)) if vals else None
    v = _kappa_weights(k, weights)
    for rows, cell in codes:
        ww = w[rows]
        tot = float(ww.sum())
        if tot < 2:
            continue
        obs = np.bincount(cell, weights=ww, minlength=k * k).reshape(k, k) / tot
        exp = np.outer(obs.sum(1), obs.sum(0))
        denom = float((v * exp).sum())
        vals.append(1.0 if denom <= 1e-15 else 1.0 - float((v * obs).sum()) / denom)
    return float(np.mean(vals)) if vals else None


def _stat(
    fn: Callable[[FloatArray], float | None],
    n_items: int,
    n_resamples: int,
    level: float,
    seed: int,
) -> Stat:
    ones = np.ones(n_items)
    value = fn(ones)
    if value is None or n_resamples == 0 or n_items < 2:
        return Stat(value=value)

    def metric(idx: np.ndarray) -> float:
        v = fn(np.bincount(idx, minlength=n_items).astype(float))
        return value if v is None else v  # a resample without pairs keeps the full-data value

    ci = bootstrap_ci(metric, np.arange(n_items), n_resamples=n_resamples, level=level, seed=seed)
    return Stat(value=value, low=ci.low, high=ci.high)


def _agreement(
    c: _Comparison,
    n_items: int,
    k: int,
    ordered: bool,
    n_resamples: int,
    level: float,
    seed: int,
) -> AgreementStats:
    def per_unit(w: FloatArray) -> FloatArray:
        out: FloatArray = w[c.unit_item]
        return out

    wkind = "quadratic" if ordered and k > 2 else None
    codes = _pair_codes(c.wide, c.pairs, k)
    stats_ = {
        "exact": lambda w: _exact_counts(c.C, per_unit(w)),
        "cohen_kappa": lambda w: _mean_kappa(c.wide, c.pairs, codes, w, k, None),
        "weighted_kappa": lambda w: _mean_kappa(c.wide, c.pairs, codes, w, k, wkind),
        "fleiss_kappa": lambda w: _fleiss_counts(c.C, per_unit(w)),
        "alpha_nominal": lambda w: _alpha_counts(c.C, per_unit(w), "nominal"),
        "alpha_ordinal": lambda w: _alpha_counts(c.C, per_unit(w), "ordinal"),
    }
    out = {name: _stat(fn, n_items, n_resamples, level, seed) for name, fn in stats_.items()}
    n_with = int(np.unique(c.unit_item[c.C.sum(1) >= 2]).size)
    return AgreementStats(
        comparison=c.name, n_items=n_with, n_rater_pairs=len(c.pairs), note=c.note, **out
    )


def _selection(js: JudgmentSet, jc: np.ndarray) -> SelectionExtras:
    idx, val, _ = js.ratings_long()
    n = len(js)
    cnt = np.bincount(idx, minlength=n)
    pos = np.bincount(idx, weights=(val == 1).astype(float), minlength=n)
    ok = (cnt > 0) & (jc >= 0)
    human = (pos > cnt / 2.0) & ok
    judge = (jc == 1) & ok
    inter = int((human & judge).sum())
    union = int((human | judge).sum())
    hp, jp = int(human.sum()), int(judge.sum())
    return SelectionExtras(
        n_items=int(ok.sum()),
        judge_positive=jp,
        human_positive=hp,
        ratio=None if hp == 0 else jp / hp,
        jaccard=1.0 if union == 0 else inter / union,
        f1=1.0 if hp + jp == 0 else 2.0 * inter / (hp + jp),
    )


def _align(main: JudgmentSet, other: JudgmentSet, name: str, where: str) -> JudgmentSet:
    if not isinstance(other, JudgmentSet):
        raise InputTypeError(f"judges[{name!r}]", "a JudgmentSet", other, where=where)
    pos = {(j.stage, j.item_id): j for j in other}
    out = []
    for j in main:
        o = pos.get((j.stage, j.item_id))
        if o is None:
            raise InputError(
                f"judges[{name!r}]",
                "a judgment for every item of judgments (same stage and item_id)",
                f"none for item {j.item_id!r} in stage {j.stage!r}",
                where=where,
            )
        out.append(j.model_copy(update={"score": o.score, "judge_status": o.judge_status}))
    return JudgmentSet(out, scale=other.scale)


def agreement_report(
    judgments: JudgmentSet,
    *,
    judges: Mapping[str, JudgmentSet] | None = None,
    judge_name: str = "judge",
    judge_cut: float | None = None,
    n_resamples: int = 200,
    level: float = DEFAULT_LEVEL,
    seed: int = 0,
    n_boot: int | None = None,
) -> AgreementReport:
    """Agreement per stage: human-human, judge-human and judge-judge.

    Parameters
    ----------
    judgments : JudgmentSet
        Items with human ratings (items without any are ignored) and the judge's scores.
    judges : mapping of name to JudgmentSet, optional
        Other judges' scores for the same items (matched by stage and item id);
        with two or more judges in total the report adds judge-judge agreement.
        None: when ``judgments`` carries a judge panel (``judgments.judges``),
        every judge of it, by its names.
    judge_name : str
        Name of the judge in ``judgments`` (a records panel uses its own names).
    judge_cut : float, optional
        For yes/no labels with a numeric judge score: scores ``>= judge_cut``
        count as yes (default: the middle of the scale).
    n_resamples : int
        Bootstrap resamples of items for the intervals (0: no intervals).
    level : float
        Nominal coverage of the intervals.
    seed : int
        Bootstrap seed.
    n_boot : int, optional
        Deprecated name of ``n_resamples`` (accepted with a ``DeprecationWarning``).

    Returns
    -------
    AgreementReport

    Examples
    --------
    >>> import judgecal
    >>> other = {"pandalm7b": judgecal.load_pandalm("pandalm7b")}
    >>> rep = agreement_report(judgecal.load_pandalm(), judges=other, judge_name="gpt35",
    ...                        n_resamples=0)
    >>> st = rep.stages["bloom-7b_opt-7b"]
    >>> [c.comparison for c in st.comparisons]
    ['human-human', 'judge-human (gpt35)', 'judge-human (pandalm7b)', 'judge-judge']
    """
    where = "agreement_report"
    n_resamples = _resample_count(n_resamples, n_boot, where)
    check_float(level, "level", low=0.0, high=1.0, low_open=True, high_open=True, where=where)
    check_int(seed, "seed", low=0, where=where)
    if judge_cut is not None:
        check_float(judge_cut, "judge_cut", where=where)
    if not isinstance(judge_name, str) or not judge_name:
        raise InputError("judge_name", "a non-empty string", judge_name, where=where)
    sets = _judge_sets(judgments, judges, judge_name, where)
    labelled = sets[judge_name]
    categories = _categories(labelled)
    panel = tuple(getattr(labelled, "judges", ())) if judges is None else ()
    names = list(panel) if len(panel) >= 2 else list(sets)
    stages = {}
    for stage in labelled.stage_names():
        base = labelled.stage(stage)
        if len(panel) >= 2:  # the records carry a judge panel: every judge of it
            matrix = base.panel_scores()
            scores = {name: _JudgeScores(matrix[:, i], base.scale) for i, name in enumerate(panel)}
        else:
            scores = {
                name: _JudgeScores(_score_array(s.stage(stage)), s.scale)
                for name, s in sets.items()
            }
        stages[stage] = _stage_agreement(
            stage,
            base,
            scores,
            names[0],
            categories,
            judge_cut,
            n_resamples=n_resamples,
            level=level,
            seed=seed,
        )
    return AgreementReport(stages=stages, judges=names, level=level, n_resamples=n_resamples)


def _resample_count(n_resamples: Any, n_boot: Any, where: str) -> int:
    if n_boot is not None:
        warnings.warn(
            f"{where}: n_boot= is now called n_resamples=; the old name will be removed.",
            DeprecationWarning,
            stacklevel=3,
        )
        name, n_resamples = "n_boot", n_boot
    else:
        name = "n_resamples"
    check_int(n_resamples, name, low=0, where=where)
    if 0 < n_resamples < 10:
        raise InputError(name, "0 (no intervals) or at least 10", n_resamples, where=where)
    return int(n_resamples)


def _judge_sets(
    judgments: Any, judges: Mapping[str, JudgmentSet] | None, judge_name: str, where: str
) -> dict[str, JudgmentSet]:
    """The labelled items, once per judge (each with that judge's scores), checked."""
    if not isinstance(judgments, JudgmentSet):
        raise InputTypeError("judgments", "a JudgmentSet", judgments, where=where)
    labelled = judgments.labelled()
    if len(labelled) == 0:
        raise InputError(
            "judgments", "a set with human ratings", "no item has a rating", where=where
        )
    sets = {judge_name: labelled}
    for name, other in (judges or {}).items():
        if name in sets:
            raise InputError("judges", f"names other than {judge_name!r}", name, where=where)
        sets[name] = _align(labelled, other, name, where)
    return sets


def _stage_agreement(
    stage: str,
    base: JudgmentSet,
    per_judge: Mapping[str, _JudgeScores],
    judge_name: str,
    categories: list[str],
    judge_cut: float | None,
    *,
    n_resamples: int,
    level: float,
    seed: int,
) -> StageAgreement:
    n_categories = len(categories)
    codes = {
        name: _judge_codes(s, base.label_kind, n_categories, judge_cut)
        for name, s in per_judge.items()
    }
    _, human_categories, _ = _human_codes(base)
    rates = {"humans": _shares(human_categories, n_categories)}
    for name, judge_categories in codes.items():
        rates[name] = _shares(judge_categories[judge_categories >= 0], n_categories)
    ordered = base.label_kind != "binary"
    comparisons = [
        _agreement(c, len(base), n_categories, ordered, n_resamples, level, seed)
        for c in _build(base, codes, n_categories)
    ]
    binary = base.label_kind == "binary"
    selections = {name: _selection(base, jc) for name, jc in codes.items()} if binary else {}
    rater_rates = _rater_rates(base, n_categories)
    return StageAgreement(
        stage=stage,
        n_items=len(base),
        categories=categories,
        base_rates=rates,
        comparisons=comparisons,
        selection=selections.get(judge_name),
        selections=selections,
        rater_rates=rater_rates,
        yes_rates=_yes_rates(base.label_kind, {**rates, **rater_rates}),
    )


def _rater_rates(js: JudgmentSet, n_categories: int) -> dict[str, list[float]]:
    """Share of each category in each named rater's ratings (none when raters are anonymous)."""
    _, categories, _ = _human_codes(js)
    raters = js.ratings_long()[2]
    names = sorted({str(r) for r in raters.tolist() if r})
    return {f"human {name}": _shares(categories[raters == name], n_categories) for name in names}


def _yes_rates(kind: str | None, shares: Mapping[str, list[float]]) -> dict[str, float]:
    """The share of "yes" (binary) or "first" (pairwise) of each source; empty otherwise."""
    if kind not in ("binary", "pairwise"):
        return {}
    return {name: float(rates[-1]) for name, rates in shares.items()}


def _shares(category_codes: np.ndarray, n_categories: int) -> list[float]:
    shares = np.bincount(category_codes, minlength=n_categories) / max(category_codes.size, 1)
    return [float(x) for x in shares]
