r"""Surface-feature bias: ablation probes, human gaps, regressions, an adjusted calibrator.

A judge is *biased* toward a surface feature (a mention of the user's
attribute, length, markdown, answer position) when its verdict moves with the
feature more than a human's would. Four tools measure or remove that:

:func:`probe_bias`
    Judge each response and an ablated variant (:mod:`judgecal.bias.ablations`)
    through a :class:`~judgecal.CalibratedJudge`, so judge failures are
    counted and never scored, and report the mean paired change with a
    bootstrap interval, a paired sign-flip permutation p-value and the share
    of verdicts that flip, per stage and per attribute.
:func:`human_judge_gap`
    Where humans rated both versions (or two groups of items, with and without
    the feature): the judge's gap, the human gap, and the difference of the
    two with an interval -- the measure of "Re-Centering Humans in LLM
    Personalization" (humans: gap 0.03; several judges: much larger).
:func:`preference_gap`
    On pairwise data: how much more often the judge than the humans picks the
    response with more of a feature (the longer one, by default).
:func:`feature_regression`
    The observational route when no variants can be made: an OLS regression
    of the judge score on the human score plus surface features, with
    heteroskedasticity-robust (HC3) intervals. A feature coefficient is the
    judge's reward for the feature *beyond* what humans give it; the idea
    behind length-controlled AlpacaEval (Dubois et al., 2024) and Chatbot
    Arena's style control (LMSYS, 2024).
:class:`FeatureAdjustedCalibrator`
    Calibrate on the judge score plus surface features, so the probability
    stops rewarding what humans do not reward.

All results are :class:`BiasEffect` rows collected in a :class:`BiasReport`,
which renders as a markdown table and a forest plot.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from judgecal._exceptions import (
    InputError,
    InputTypeError,
)
from judgecal._validation import (
    FloatArray,
    as_float_1d,
    check_choice,
    check_float,
    check_int,
    check_same_length,
    check_stages,
    make_rng,
)
from judgecal.bias.ablations import AblationRecord, _normalize_attributes, per_item_attributes
from judgecal.judging.judge import CalibratedJudge, JudgeResult
from judgecal.records.core import JudgmentSet, Scale

__all__ = [
    "BiasEffect",
    "BiasReport",
    "feature_regression",
    "human_judge_gap",
    "paired_change",
    "preference_gap",
    "probe_bias",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
EffectKind = Literal["ablation", "human_gap", "preference", "regression"]


# ---------------------------------------------------------------------------
# report objects
# ---------------------------------------------------------------------------
class BiasEffect(BaseModel):
    """One measured effect of a surface feature on a judge.

    Examples
    --------
    >>> e = BiasEffect(kind="ablation", name="remove_mentions", estimate=-0.4, low=-0.6,
    ...                high=-0.2, level=0.95, p_value=0.001, n=80)
    >>> e.flagged(0.05), e.interval_text()
    (True, '[-0.600, -0.200]')
    """

    model_config = _FROZEN

    kind: EffectKind
    """``ablation`` (paired probe), ``human_gap``, ``preference`` (pairwise) or ``regression``."""
    name: str
    """What was changed or measured (ablation name, feature name)."""
    stage: str = "all"
    """Stage the row covers (``all`` pools every stage)."""
    attribute: str | None = None
    """Attribute the row covers (ablation probes per attribute); ``None`` means all of them."""
    estimate: float | None
    """The effect: mean paired change (variant minus original), gap difference, rate difference or coefficient. ``None`` when no pair was usable."""
    low: float | None = None
    """Lower end of the interval."""
    high: float | None = None
    """Upper end of the interval."""
    level: float = 0.95
    """Confidence level of the interval."""
    p_value: float | None = None
    """Two-sided p-value of "no effect" (permutation or t-test), when defined."""
    n: int = 0
    """Units used (pairs, items or rows)."""
    n_failed: int = 0
    """Units left out because the judge failed on either side (counted, never scored)."""
    n_unchanged: int = 0
    """Items the ablation did not change (not judged again, not in the statistics)."""
    flip_share: float | None = None
    """Share of used pairs whose verdict flips (ablation probes)."""
    judge_value: float | None = None
    """The judge's own gap or rate (human gaps, preferences)."""
    human_value: float | None = None
    """The humans' gap or rate (human gaps, preferences)."""
    unit: str = ""
    """What the estimate is measured in."""

    def flagged(self, alpha: float = 0.05) -> bool:
        """Whether the effect is significant: ``p < alpha``, or an interval excluding 0 when there is no p."""
        if self.estimate is None:
            return False
        if self.p_value is not None:
            return self.p_value < alpha
        if self.low is None or self.high is None:
            return False
        return self.low > 0 or self.high < 0

    def interval_text(self) -> str:
        """The interval as ``[low, high]``."""
        if self.low is None or self.high is None:
            return ""
        return f"[{self.low:.3f}, {self.high:.3f}]"


def _fmt(v: float | None, spec: str = ".3f") -> str:
    return "" if v is None else format(v, spec)


class BiasReport(BaseModel):
    """A table of :class:`BiasEffect` rows, with a markdown rendering and a forest plot.

    Examples
    --------
    >>> r = BiasReport(title="demo", effects=(
    ...     BiasEffect(kind="regression", name="length", estimate=0.2, low=0.1, high=0.3, n=50),))
    >>> print(r.to_markdown())
    ### demo
    <BLANKLINE>
    | kind | effect | estimate | 95% interval | n | flagged |
    | --- | --- | --- | --- | --- | --- |
    | regression | length | 0.200 | [0.100, 0.300] | 50 | yes |
    """

    model_config = _FROZEN

    effects: tuple[BiasEffect, ...] = ()
    """The measured effects."""
    title: str = "Bias report"
    """Heading of the rendered table."""
    judge: str | None = None
    """Which judge was probed."""
    alpha: float = 0.05
    """Significance level used for ``flagged``."""
    status_counts: Mapping[str, Mapping[str, int]] = {}
    """Judge statuses per run (``original``, ``variant``), when a probe made calls."""
    notes: tuple[str, ...] = ()
    """Free notes (what the estimate means, controls, ...)."""

    def __add__(self, other: BiasReport) -> BiasReport:
        if not isinstance(other, BiasReport):
            return NotImplemented
        return self.model_copy(
            update={
                "effects": self.effects + other.effects,
                "notes": self.notes + other.notes,
                "status_counts": {**self.status_counts, **other.status_counts},
            }
        )

    def flagged(self) -> tuple[BiasEffect, ...]:
        """Effects significant at ``alpha``."""
        return tuple(e for e in self.effects if e.flagged(self.alpha))

    def to_markdown(self) -> str:
        """The report as a markdown table (columns without any value are left out)."""
        levels = {e.level for e in self.effects}
        lvl = f"{levels.pop():.0%} interval" if len(levels) == 1 else "interval"
        cols: list[tuple[str, Callable[[BiasEffect], str]]] = [
            ("kind", lambda e: e.kind),
            ("effect", lambda e: e.name),
            ("stage", lambda e: e.stage),
            ("attribute", lambda e: e.attribute or ""),
            ("estimate", lambda e: _fmt(e.estimate) or "n/a"),
            (lvl, lambda e: e.interval_text()),
            ("p", lambda e: "" if e.p_value is None else f"{e.p_value:.3g}"),
            ("judge", lambda e: _fmt(e.judge_value)),
            ("human", lambda e: _fmt(e.human_value)),
            ("flips", lambda e: "" if e.flip_share is None else f"{e.flip_share:.1%}"),
            ("n", lambda e: str(e.n)),
            ("failed", lambda e: str(e.n_failed) if e.n_failed else ""),
            ("unchanged", lambda e: str(e.n_unchanged) if e.n_unchanged else ""),
            ("flagged", lambda e: "yes" if e.flagged(self.alpha) else "no"),
        ]
        cells = [[f(e) for _, f in cols] for e in self.effects]

        def shown(j: int) -> bool:
            name = cols[j][0]
            if name in ("effect", "estimate"):
                return True
            if name == "stage":
                return any(row[j] != "all" for row in cells)
            return any(row[j] for row in cells)

        keep = [j for j in range(len(cols)) if shown(j)]
        head = [cols[j][0] for j in keep]
        lines = [f"### {self.title}", ""]
        if self.judge:
            lines[0] += f" ({self.judge})"
        lines.append("| " + " | ".join(head) + " |")
        lines.append("| " + " | ".join("---" for _ in head) + " |")
        for row in cells:
            lines.append("| " + " | ".join(row[j] for j in keep) + " |")
        for run, counts in self.status_counts.items():
            lines.append("")
            lines.append(
                f"Judge statuses ({run}): " + ", ".join(f"{k} {v}" for k, v in counts.items())
            )
        for note in self.notes:
            lines.append("")
            lines.append(note)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_markdown()

    def plot(self, *, ax: Any = None, path: str | os.PathLike[str] | None = None) -> Any:
        """A forest plot: each effect's estimate and interval, with a line at zero.

        matplotlib is imported only here. Returns the matplotlib Axes.
        """
        from judgecal.plotting import _pyplot

        plt = _pyplot()
        rows = [e for e in self.effects if e.estimate is not None]
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 0.45 * max(len(rows), 2) + 1.2))
        ys = np.arange(len(rows))[::-1]
        for y, e in zip(ys, rows, strict=True):
            color = "C3" if e.flagged(self.alpha) else "C0"
            lo = e.low if e.low is not None else e.estimate
            hi = e.high if e.high is not None else e.estimate
            ax.plot([lo, hi], [y, y], color=color, lw=2)
            ax.plot([e.estimate], [y], "o", color=color)
        labels = [
            f"{e.name}"
            + (f" [{e.stage}]" if e.stage != "all" else "")
            + (f" ({e.attribute})" if e.attribute else "")
            for e in rows
        ]
        ax.set_yticks(ys, labels)
        ax.axvline(0.0, color="grey", lw=1, ls="--")
        ax.set_xlabel("effect (estimate and interval; red = flagged)")
        ax.set_title(self.title + (f" ({self.judge})" if self.judge else ""))
        if path is not None:
            ax.figure.tight_layout()
            ax.figure.savefig(path)
        return ax


# ---------------------------------------------------------------------------
# paired statistics
# ---------------------------------------------------------------------------
_CHUNK = 1 << 21


def _boot_means(d: FloatArray, n_resamples: int, rng: np.random.Generator) -> FloatArray:
    n = d.size
    out = np.empty(n_resamples)
    rows = max(1, _CHUNK // max(n, 1))
    for s in range(0, n_resamples, rows):
        r = min(rows, n_resamples - s)
        out[s : s + r] = d[rng.integers(0, n, (r, n))].mean(axis=1)
    return out


def _sign_flip_p(d: FloatArray, n_permutations: int, rng: np.random.Generator) -> float:
    n = d.size
    obs = abs(float(d.mean()))
    if not np.any(d != 0):
        return 1.0
    tol = 1e-12 * max(1.0, float(np.abs(d).max()))
    hits = 0
    rows = max(1, _CHUNK // max(n, 1))
    for s in range(0, n_permutations, rows):
        r = min(rows, n_permutations - s)
        signs = rng.integers(0, 2, (r, n), dtype=np.int8) * 2 - 1
        hits += int(np.count_nonzero(np.abs(signs @ d) / n >= obs - tol))
    return (1.0 + hits) / (1.0 + n_permutations)


def paired_change(
    original: Any,
    variant: Any,
    *,
    level: float = 0.95,
    n_resamples: int = 2000,
    n_permutations: int = 4999,
    seed: int | None = 0,
) -> dict[str, float]:
    r"""Mean paired change ``variant - original`` with a bootstrap interval and a sign-flip p-value.

    The interval is the percentile bootstrap over pairs. The p-value is the
    two-sided paired permutation test that flips the sign of each difference
    at random (exact under "the change is symmetric about zero"), with
    Monte Carlo resamples counted as :math:`(1 + \#\{|\bar d^*| \ge |\bar d|\}) / (1 + B)`
    so it is never 0.

    Returns
    -------
    dict with ``estimate``, ``low``, ``high``, ``p_value``, ``n``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> before = rng.normal(5, 1, 200)
    >>> after = before + 0.5 + rng.normal(0, 0.5, 200)
    >>> r = paired_change(before, after)
    >>> r["low"] < 0.5 < r["high"], r["p_value"] < 0.01
    (True, True)
    """
    where = "paired_change"
    a = as_float_1d(original, "original", where=where)
    b = as_float_1d(variant, "variant", where=where)
    check_same_length(a.size, b.size, "variant", where=where)
    check_float(level, "level", low=0.0, high=1.0, low_open=True, high_open=True, where=where)
    check_int(n_resamples, "n_resamples", low=10, where=where)
    check_int(n_permutations, "n_permutations", low=10, where=where)
    return _paired(b - a, level, n_resamples, n_permutations, make_rng(seed))


def _paired(
    d: FloatArray, level: float, n_resamples: int, n_permutations: int, rng: np.random.Generator
) -> dict[str, float]:
    n = d.size
    est = float(d.mean())
    if n == 1:
        return {"estimate": est, "low": est, "high": est, "p_value": 1.0, "n": 1.0}
    means = _boot_means(d, n_resamples, rng)
    alpha = 1.0 - level
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    p = _sign_flip_p(d, n_permutations, rng)
    return {
        "estimate": est,
        "low": float(min(lo, est)),
        "high": float(max(hi, est)),
        "p_value": p,
        "n": float(n),
    }


# ---------------------------------------------------------------------------
# probes
# ---------------------------------------------------------------------------
def _as_calibrated_judge(judge: Any, scale: Scale | None, where: str) -> CalibratedJudge:
    if isinstance(judge, CalibratedJudge):
        return judge
    if scale is None:
        raise InputError(
            "scale", "a judgecal.Scale when judge is not a CalibratedJudge", None, where=where
        )
    return CalibratedJudge(judge, scale=scale)


def _stat_common(
    where: str, level: float, alpha: float, n_resamples: int, n_permutations: int
) -> None:
    check_float(level, "level", low=0.0, high=1.0, low_open=True, high_open=True, where=where)
    check_float(alpha, "alpha", low=0.0, high=1.0, low_open=True, high_open=True, where=where)
    check_int(n_resamples, "n_resamples", low=10, where=where)
    check_int(n_permutations, "n_permutations", low=10, where=where)


def probe_bias(
    judge: Any,
    texts: Sequence[Any],
    ablation: Callable[..., tuple[Any, AblationRecord]],
    *,
    attributes: Any = None,
    stages: str | Sequence[str] | None = None,
    scale: Scale | None = None,
    build_item: Callable[[Any, int], Any] | None = None,
    per_attribute: bool = True,
    on: str = "score",
    flip_threshold: float | None = None,
    level: float = 0.95,
    alpha: float = 0.05,
    n_resamples: int = 2000,
    n_permutations: int = 4999,
    seed: int | None = 0,
) -> BiasReport:
    """Judge each text and its ablated variant; report how the judge moves.

    Both runs go through :meth:`CalibratedJudge.judge_many`, so a call that
    errors or cannot be parsed ends in a status: its pair is left out of the
    statistics and counted in ``n_failed`` (never scored as 0). Texts the
    ablation leaves unchanged are not judged again and are counted in
    ``n_unchanged``.

    Parameters
    ----------
    judge : CalibratedJudge or callable
        The judge. A bare callable is wrapped in a ``CalibratedJudge`` on ``scale``.
    texts : sequence
        What the ablation changes: response texts, or ``(first, second)``
        pairs for :func:`~judgecal.bias.ablations.swap_answers`.
    ablation : callable
        ``ablation(text, attributes) -> (new_text, AblationRecord)``, e.g.
        :func:`~judgecal.bias.ablations.remove_mentions`. Bind options with
        :func:`functools.partial`.
    attributes : attribute spec, or one per text, optional
        The user's attributes (see :mod:`judgecal.bias.ablations`).
    stages : str or sequence of str, optional
        Stage of each text (default: the judge's stage).
    scale : Scale, optional
        Needed when ``judge`` is a bare callable.
    build_item : callable, optional
        ``build_item(text, index) -> item`` makes what the judge is called
        with (e.g. a prompt around the response); default: the text itself.
    per_attribute : bool
        With several attributes, also ablate each attribute alone and report
        a row per attribute (more judge calls).
    on : {"score", "probability"}
        Compare raw scores, or calibrated probabilities (needs a calibrator).
    flip_threshold : float, optional
        A verdict is ``value >= flip_threshold``. Default: 0.5 for
        probabilities, the verdict itself on verdict scales, the scale's
        midpoint otherwise.
    level, alpha : float
        Interval level; significance level for ``flagged``.
    n_resamples, n_permutations : int
        Bootstrap resamples; sign-flip permutations.
    seed : int, optional
        Seed for resampling.

    Returns
    -------
    BiasReport
        One ``ablation`` row per (attribute, stage): ``estimate`` is the mean
        change *variant minus original* (for answer swaps, the variant's
        verdict is mirrored first, so a negative value means the judge
        favours whichever answer is shown first).

    Examples
    --------
    >>> from judgecal import Scale
    >>> from judgecal.bias.ablations import insert_mention
    >>> def judge(text):                      # rewards any mention of "vegan"
    ...     return 5 + 2 * ("vegan" in text.lower())
    >>> texts = [f"Recipe number {i} uses beans." for i in range(40)]
    >>> rep = probe_bias(judge, texts, insert_mention, attributes="vegan",
    ...                  scale=Scale.numeric(0, 10))
    >>> e = rep.effects[0]
    >>> e.attribute, round(e.estimate, 2), e.n, e.p_value < 0.001
    ('vegan', 2.0, 40, True)
    """
    where = "probe_bias"
    cj = _as_calibrated_judge(judge, scale, where)
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise InputTypeError("texts", "a sequence of texts (or answer pairs)", texts, where=where)
    n = len(texts)
    if n == 0:
        raise InputError("texts", "at least one text", "an empty sequence", where=where)
    if not callable(ablation):
        raise InputTypeError(
            "ablation",
            "a callable (text, attributes) -> (text, AblationRecord)",
            ablation,
            where=where,
        )
    if build_item is not None and not callable(build_item):
        raise InputTypeError(
            "build_item", "a callable (text, index) -> item", build_item, where=where
        )
    check_choice(on, "on", ("score", "probability"), where=where)
    if on == "probability" and cj.calibrator is None:
        raise InputError("on", "'score' when the judge has no calibrator", on, where=where)
    _stat_common(where, level, alpha, n_resamples, n_permutations)
    if flip_threshold is not None:
        check_float(flip_threshold, "flip_threshold", where=where)
    st = check_stages(cj.stage if stages is None else stages, n, where=where)
    build = build_item or (lambda t, i: t)

    # which attribute sets to ablate: key None = all of an item's attributes
    specs: list[Any] = (
        [None] * n if attributes is None else per_item_attributes(attributes, n, where)
    )
    norm = [() if s is None else _normalize_attributes(s, where) for s in specs]
    names = list(dict.fromkeys(name for spec in norm for name, _ in spec))
    keys: list[str | None] = [None]
    if per_attribute and len(names) > 1:
        keys += names
    single = names[0] if len(names) == 1 else None

    jobs: list[tuple[str | None, int, Any, AblationRecord]] = []
    unchanged: dict[str | None, list[int]] = {k: [] for k in keys}
    for key in keys:
        for i in range(n):
            if key is None:
                attrs: Any = dict(norm[i]) if attributes is not None else ()
                if attributes is not None and not norm[i]:
                    continue
            else:
                syn = dict(norm[i]).get(key)
                if syn is None:
                    continue
                attrs = {key: list(syn)}
            out = ablation(texts[i], attrs)
            if not (
                isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], AblationRecord)
            ):
                raise InputTypeError(
                    "ablation",
                    "a callable returning (new_text, AblationRecord)",
                    type(out).__name__,
                    where=where,
                )
            new, rec = out
            if rec.changed:
                jobs.append((key, i, new, rec))
            else:
                unchanged[key].append(i)

    orig_run = cj.judge_many([build(t, i) for i, t in enumerate(texts)], stages=st.tolist())
    var_run = (
        cj.judge_many(
            [build(new, i) for _, i, new, _ in jobs], stages=[str(st[i]) for _, i, _, _ in jobs]
        )
        if jobs
        else None
    )
    orig_val = _values(cj, orig_run.results, on, mirror=[False] * n)
    var_val = (
        _values(cj, var_run.results, on, mirror=[rec.mirrored for *_, rec in jobs])
        if var_run is not None
        else np.empty(0)
    )
    verdict = _verdict_fn(cj.scale, on, flip_threshold)

    stage_keys = ["all"] + (sorted(set(st.tolist())) if len(set(st.tolist())) > 1 else [])
    name = (
        getattr(ablation, "__name__", None)
        or getattr(getattr(ablation, "func", None), "__name__", None)
        or type(ablation).__name__
    )
    if jobs:
        name = jobs[0][3].ablation or name
    effects = []
    rng_seq = np.random.SeedSequence(seed)
    job_key = np.array([k if k is not None else "\0all" for k, *_ in jobs], dtype=object)
    job_item = np.array([i for _, i, *_ in jobs], dtype=np.int64)
    for key in keys:
        for sk in stage_keys:
            sel = job_key == (key if key is not None else "\0all")
            if sk != "all":
                sel &= st[job_item] == sk
            idx = np.flatnonzero(sel)
            n_unch = sum(1 for i in unchanged[key] if sk == "all" or st[i] == sk)
            a = orig_val[job_item[idx]]
            b = var_val[idx]
            ok = np.isfinite(a) & np.isfinite(b)
            d = b[ok] - a[ok]
            attr_label = key if key is not None else single
            child = np.random.default_rng(rng_seq.spawn(1)[0])
            if d.size == 0:
                effects.append(
                    BiasEffect(
                        kind="ablation",
                        name=name,
                        stage=sk,
                        attribute=attr_label,
                        estimate=None,
                        level=level,
                        n=0,
                        n_failed=int((~ok).sum()),
                        n_unchanged=n_unch,
                        unit=on,
                    )
                )
                continue
            r = _paired(d, level, n_resamples, n_permutations, child)
            flips = float(np.mean(verdict(a[ok]) != verdict(b[ok])))
            effects.append(
                BiasEffect(
                    kind="ablation",
                    name=name,
                    stage=sk,
                    attribute=attr_label,
                    estimate=r["estimate"],
                    low=r["low"],
                    high=r["high"],
                    level=level,
                    p_value=r["p_value"],
                    n=int(d.size),
                    n_failed=int((~ok).sum()),
                    n_unchanged=n_unch,
                    flip_share=flips,
                    unit=on,
                )
            )
    counts = {"original": orig_run.status_counts()}
    if var_run is not None:
        counts["variant"] = var_run.status_counts()
    note = "estimate = mean change of the judge's " + on + " (variant minus original)"
    if any(rec.mirrored for *_, rec in jobs):
        note += "; variant verdicts are mirrored (first <-> second), so a negative change means the judge favours the answer shown first"
    return BiasReport(
        effects=tuple(effects),
        title=f"Ablation probe: {name}",
        judge=repr(cj),
        alpha=alpha,
        status_counts=counts,
        notes=(note + ".",),
    )


def _values(
    cj: CalibratedJudge, results: list[JudgeResult], on: str, mirror: list[bool]
) -> FloatArray:
    out = np.full(len(results), np.nan)
    lo, hi = cj.scale.low, cj.scale.high
    ok = [i for i, r in enumerate(results) if r.ok]
    if not ok:
        return out
    scores = np.array([results[i].score for i in ok], dtype=np.float64)
    m = np.array([mirror[i] for i in ok], dtype=bool)
    scores[m] = lo + hi - scores[m]
    if on == "probability":
        stages = [results[i].stage for i in ok]
        out[ok] = cj.calibrate(scores, stages=stages)
    else:
        out[ok] = scores
    return out


def _verdict_fn(scale: Scale, on: str, threshold: float | None) -> Callable[[FloatArray], Any]:
    if threshold is not None:
        t = float(threshold)
        return lambda x: x >= t
    if on == "probability":
        return lambda x: x >= 0.5
    if scale.kind == "verdict":
        return lambda x: np.rint(x)
    mid = 0.5 * (scale.low + scale.high)
    return lambda x: x >= mid


# ---------------------------------------------------------------------------
# against humans
# ---------------------------------------------------------------------------
def _to_unit(
    x: FloatArray, scale: Scale | None, scale_name: str, name: str, where: str
) -> FloatArray:
    if scale is None:
        return x
    if not isinstance(scale, Scale):
        raise InputTypeError(scale_name, "a judgecal.Scale or None", scale, where=where)
    if (x < scale.low).any() or (x > scale.high).any():
        raise InputError(
            name,
            f"values on {scale_name} [{scale.low:g}, {scale.high:g}]",
            f"range [{x.min():g}, {x.max():g}]",
            where=where,
        )
    return scale.to_unit(x)


def human_judge_gap(
    judge_with: Any,
    judge_without: Any,
    human_with: Any,
    human_without: Any,
    *,
    paired: bool = True,
    judge_scale: Scale | None = None,
    human_scale: Scale | None = None,
    name: str = "mention",
    stage: str = "all",
    groups: Any = None,
    level: float = 0.95,
    n_resamples: int = 2000,
    n_permutations: int = 4999,
    seed: int | None = 0,
) -> BiasEffect:
    r"""The judge's gap, the human gap, and their difference with an interval.

    The *gap* is the mean rating of responses with the feature (e.g. a
    mention of the user's attribute) minus the mean rating without it. A
    judge is biased when its gap exceeds the humans': the estimate is
    :math:`\text{gap}_\text{judge} - \text{gap}_\text{human}`. Pass the
    scales to compare both on [0, 1] (a 1-10 judge against 1-5 humans).

    Parameters
    ----------
    judge_with, judge_without, human_with, human_without : array-like
        Ratings (a human value may be the mean of several raters).
        ``paired=True``: four arrays of one length, row ``i`` being both
        versions of item ``i``. ``paired=False``: two groups of items;
        ``judge_with`` and ``human_with`` rate the same items, and so do the
        two ``without`` arrays.
    paired : bool
        Paired design (bootstrap over items, sign-flip p-value on the
        per-item difference of gaps) or two groups (bootstrap within groups,
        permutation of group labels on judge-minus-human).
    judge_scale, human_scale : Scale, optional
        Map each side to [0, 1] first.
    name, stage : str
        Labels of the row.
    groups : array-like of shape (n,), optional
        Paired design only: cluster labels (e.g. the conversation several
        items come from). The bootstrap then resamples clusters and the
        sign flips act on whole clusters, so items of one cluster are not
        treated as independent.
    level, n_resamples, n_permutations, seed
        Interval level and resampling.

    Returns
    -------
    BiasEffect
        ``judge_value`` and ``human_value`` are the two gaps.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> q = rng.normal(3, 0.7, 150)                     # quality of 150 items
    >>> h_wo, h_w = q + rng.normal(0, .5, 150), q + 0.03 + rng.normal(0, .5, 150)
    >>> j_wo, j_w = q + rng.normal(0, .3, 150), q + 0.6 + rng.normal(0, .3, 150)
    >>> e = human_judge_gap(j_w, j_wo, h_w, h_wo)
    >>> round(e.judge_value, 2), round(e.human_value, 2), e.low > 0
    (0.6, 0.12, True)
    """
    where = "human_judge_gap"
    check_float(level, "level", low=0.0, high=1.0, low_open=True, high_open=True, where=where)
    check_int(n_resamples, "n_resamples", low=10, where=where)
    check_int(n_permutations, "n_permutations", low=10, where=where)
    check_choice(paired, "paired", (True, False), where=where)
    jw = _to_unit(
        as_float_1d(judge_with, "judge_with", where=where),
        judge_scale,
        "judge_scale",
        "judge_with",
        where,
    )
    jo = _to_unit(
        as_float_1d(judge_without, "judge_without", where=where),
        judge_scale,
        "judge_scale",
        "judge_without",
        where,
    )
    hw = _to_unit(
        as_float_1d(human_with, "human_with", where=where),
        human_scale,
        "human_scale",
        "human_with",
        where,
    )
    ho = _to_unit(
        as_float_1d(human_without, "human_without", where=where),
        human_scale,
        "human_scale",
        "human_without",
        where,
    )
    check_same_length(jw.size, hw.size, "human_with", where=where)
    check_same_length(jo.size, ho.size, "human_without", where=where)
    rng = make_rng(seed)
    alpha = 1.0 - level
    judge_gap = float(jw.mean() - jo.mean())
    human_gap = float(hw.mean() - ho.mean())
    if paired:
        check_same_length(jw.size, jo.size, "judge_without", where=where)
        if jw.size < 2:
            raise InputError("judge_with", "at least 2 paired items", jw.size, where=where)
        e = (jw - jo) - (hw - ho)
        n = int(e.size)
        if groups is None:
            means = _boot_means(e, n_resamples, rng)
            p = _sign_flip_p(e, n_permutations, rng)
        else:
            g = np.asarray(groups)
            if g.ndim != 1 or g.size != n:
                raise InputError(
                    "groups", f"one cluster label per item ({n})", f"shape {g.shape}", where=where
                )
            _, inv = np.unique(g, return_inverse=True)
            sums = np.asarray(np.bincount(inv, weights=e), dtype=np.float64)
            sizes = np.bincount(inv).astype(np.float64)
            G = sums.size
            if G < 2:
                raise InputError("groups", "at least 2 clusters", G, where=where)
            means = np.empty(n_resamples)
            rows = max(1, _CHUNK // G)
            for s0 in range(0, n_resamples, rows):
                r = min(rows, n_resamples - s0)
                pick = rng.integers(0, G, (r, G))
                means[s0 : s0 + r] = sums[pick].sum(axis=1) / sizes[pick].sum(axis=1)
            # sign flips of whole clusters: the mean is sum(cluster sums) / n
            p = _sign_flip_p(sums * (G / n), n_permutations, rng)
    else:
        if groups is not None:
            raise InputError("groups", "None unless paired=True", "cluster labels", where=where)
        if jw.size < 2 or jo.size < 2:
            raise InputError(
                "judge_with", "at least 2 items in each group", (jw.size, jo.size), where=where
            )
        dw, do = jw - hw, jo - ho
        means = _boot_means(dw, n_resamples, rng) - _boot_means(do, n_resamples, rng)
        pooled = np.concatenate([dw, do])
        obs = abs(dw.mean() - do.mean())
        hits = 0
        for _ in range(n_permutations):
            perm = rng.permutation(pooled)
            hits += abs(perm[: dw.size].mean() - perm[dw.size :].mean()) >= obs - 1e-12
        p = (1.0 + hits) / (1.0 + n_permutations)
        n = int(dw.size + do.size)
    est = judge_gap - human_gap
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return BiasEffect(
        kind="human_gap",
        name=name,
        stage=stage,
        estimate=est,
        low=float(min(lo, est)),
        high=float(max(hi, est)),
        level=level,
        p_value=float(p),
        n=n,
        judge_value=judge_gap,
        human_value=human_gap,
        unit="judge gap minus human gap" + (" (0-1 scale)" if judge_scale or human_scale else ""),
    )


def preference_gap(
    judgments: JudgmentSet,
    first: str | Any = "len_response1",
    second: str | Any = "len_response2",
    *,
    ties: str = "half",
    name: str = "picks longer",
    stage: str | None = None,
    level: float = 0.95,
    n_resamples: int = 2000,
    seed: int | None = 0,
) -> BiasEffect:
    """How much more often the judge than the humans picks the response with more of a feature.

    For pairwise judgments (judge verdicts on a scale whose top favours the
    first response, human ratings first/second/tie), keep the items whose two
    responses differ in the feature (by default: length in characters), and
    compare the judge's rate of picking the larger one with the human raters'
    rate on the same items. The interval is a bootstrap over items. Items the
    judge failed on are left out and counted in ``n_failed``.

    Parameters
    ----------
    judgments : JudgmentSet
        Pairwise-labelled judgments (e.g. :func:`judgecal.load_pandalm`).
    first, second : str or array-like
        Feature names in ``Judgment.features`` (or arrays, one value per judgment)
        of the first and second responses.
    ties : {"half", "drop"}
        A tie counts as half a pick (``half``), or only decisive verdicts and
        ratings count (``drop``: rates among decisive verdicts).
    name : str
        Label of the row.
    stage : str, optional
        Only judgments of this stage.
    level, n_resamples, seed
        Interval level and bootstrap.

    Returns
    -------
    BiasEffect
        ``estimate`` = judge rate - human rate; ``judge_value`` and
        ``human_value`` are the two rates.

    Examples
    --------
    >>> from judgecal import load_pandalm
    >>> e = preference_gap(load_pandalm("gpt35"))
    >>> round(e.judge_value, 3), round(e.human_value, 3), e.n
    (0.615, 0.652, 956)
    """
    where = "preference_gap"
    if not isinstance(judgments, JudgmentSet):
        raise InputTypeError(
            "judgments", "a judgecal.JudgmentSet", type(judgments).__name__, where=where
        )
    if judgments.label_kind != "pairwise":
        raise InputError(
            "judgments", "pairwise-labelled judgments", judgments.label_kind, where=where
        )
    check_choice(ties, "ties", ("half", "drop"), where=where)
    check_float(level, "level", low=0.0, high=1.0, low_open=True, high_open=True, where=where)
    check_int(n_resamples, "n_resamples", low=10, where=where)
    js = judgments if stage is None else judgments.stage(stage)
    if stage is not None and len(js) == 0:
        raise InputError(
            "stage", f"a stage of the judgments {judgments.stage_names()}", stage, where=where
        )
    if stage is not None and not (isinstance(first, str) and isinstance(second, str)):
        raise InputError(
            "first",
            "feature names (not arrays) when stage is given",
            type(first).__name__,
            where=where,
        )
    f1 = js.feature(first) if isinstance(first, str) else as_float_1d(first, "first", where=where)
    f2 = (
        js.feature(second)
        if isinstance(second, str)
        else as_float_1d(second, "second", where=where)
    )
    check_same_length(len(js), f1.size, "first", where=where)
    check_same_length(len(js), f2.size, "second", where=where)
    sign = np.sign(f1 - f2)
    scale = js.scale
    jv = np.zeros(len(js))
    jw = np.zeros(len(js))
    hv = np.zeros(len(js))
    hw = np.zeros(len(js))
    n_failed = 0
    keep = np.zeros(len(js), dtype=bool)
    code = {"first": 1.0, "tie": 0.0, "second": -1.0}
    for i, j in enumerate(js):
        if sign[i] == 0 or not j.ratings:
            continue
        if j.score is None:
            n_failed += 1
            continue
        keep[i] = True
        u = 2.0 * float(scale.to_unit(j.score)) - 1.0  # +1 favours first
        pick = (u * sign[i] + 1.0) / 2.0
        if ties == "drop" and pick == 0.5:
            jv[i], jw[i] = 0.0, 0.0
        else:
            jv[i], jw[i] = pick, 1.0
        for rating in j.ratings:
            hp = (code[str(rating.value)] * sign[i] + 1.0) / 2.0
            if ties == "drop" and hp == 0.5:
                continue
            hv[i] += hp
            hw[i] += 1.0
    idx = np.flatnonzero(keep)
    if idx.size < 2 or jw[idx].sum() == 0 or hw[idx].sum() == 0:
        return BiasEffect(
            kind="preference",
            name=name,
            stage=stage or "all",
            estimate=None,
            level=level,
            n=int(idx.size),
            n_failed=n_failed,
        )
    jv, jw, hv, hw = jv[idx], jw[idx], hv[idx], hw[idx]

    def rates(sel: Any) -> tuple[Any, Any]:
        return (
            jv[sel].sum(-1) / np.maximum(jw[sel].sum(-1), 1e-300),
            hv[sel].sum(-1) / np.maximum(hw[sel].sum(-1), 1e-300),
        )

    j_rate, h_rate = (float(v) for v in rates(slice(None)))
    rng = make_rng(seed)
    m = idx.size
    reps = np.empty(n_resamples)
    rows = max(1, _CHUNK // m)
    for s in range(0, n_resamples, rows):
        r = min(rows, n_resamples - s)
        b = rng.integers(0, m, (r, m))
        jr, hr = rates(b)
        reps[s : s + r] = jr - hr
    est = j_rate - h_rate
    alpha = 1.0 - level
    lo, hi = np.quantile(reps, [alpha / 2, 1 - alpha / 2])
    return BiasEffect(
        kind="preference",
        name=name,
        stage=stage or "all",
        estimate=est,
        low=float(min(lo, est)),
        high=float(max(hi, est)),
        level=level,
        n=int(m),
        n_failed=n_failed,
        judge_value=j_rate,
        human_value=h_rate,
        unit="judge rate minus human rate"
        + (" (decisive only)" if ties == "drop" else " (tie = half)"),
    )


# ---------------------------------------------------------------------------
# observational regression
# ---------------------------------------------------------------------------
def feature_regression(
    judge_scores: Any,
    human_scores: Any,
    features: Mapping[str, Any],
    *,
    cov: str = "HC3",
    groups: Any = None,
    level: float = 0.95,
    alpha: float = 0.05,
    title: str = "Feature regression",
) -> BiasReport:
    r"""Regress the judge score on the human score plus surface features (OLS, robust intervals).

    Fits :math:`s_i = \beta_0 + \beta_h h_i + \sum_k \gamma_k f_{ik} + \varepsilon_i`
    by least squares. Holding the human score fixed, :math:`\gamma_k` is how
    much the judge's score moves per unit of feature ``k`` *beyond* what the
    humans reward: 0 for an unbiased judge. Intervals use
    heteroskedasticity-consistent standard errors (``HC3`` by default, the
    small-sample choice of Long and Ervin, 2000; ``HC0``, ``HC1`` available)
    with Student-t quantiles on ``n - p`` degrees of freedom. This is the idea
    behind length-controlled AlpacaEval (Dubois et al., 2024), which regresses
    the judge's preference on a length term and reads the result at zero
    length difference, and Chatbot Arena's style control (LMSYS, 2024), which
    adds length and markdown differences to its Bradley-Terry model. For
    pairwise data pass *differences* (first minus second) as features.

    The human score is measured with noise (few raters per item), so
    :math:`\beta_h` is attenuated and a feature correlated with quality can
    pick up part of it: read small coefficients with care, and prefer an
    ablation probe when variants can be made.

    Parameters
    ----------
    judge_scores, human_scores : array-like of shape (n,)
        The judge's score and the (mean) human score of each item.
    features : mapping of str to array-like of shape (n,)
        Surface features (mention count, length, markdown count, ...).
    cov : {"HC3", "HC1", "HC0"}
        Robust covariance estimator (ignored when ``groups`` is given).
    groups : array-like of shape (n,), optional
        Cluster labels (e.g. the story or conversation several rows share).
        Then the covariance is cluster-robust (CR1: Liang and Zeger, 1986,
        with the small-sample factor ``G/(G-1) (n-1)/(n-p)``) and the
        t quantiles use ``G - 1`` degrees of freedom.
    level, alpha : float
        Interval level; significance level for ``flagged``.
    title : str
        Title of the report.

    Returns
    -------
    BiasReport
        One ``regression`` row per feature (the human coefficient is in ``notes``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> h = rng.normal(3, 1, 400); m = rng.integers(0, 3, 400)
    >>> s = 1 + 0.8 * h + 0.5 * m + rng.normal(0, 0.5, 400)
    >>> r = feature_regression(s, h, {"mentions": m})
    >>> e = r.effects[0]
    >>> e.name, round(e.estimate, 2), e.low < 0.5 < e.high
    ('mentions', 0.5, True)
    """
    from scipy import stats

    where = "feature_regression"
    check_choice(cov, "cov", ("HC0", "HC1", "HC3"), where=where)
    check_float(level, "level", low=0.0, high=1.0, low_open=True, high_open=True, where=where)
    check_float(alpha, "alpha", low=0.0, high=1.0, low_open=True, high_open=True, where=where)
    y = as_float_1d(judge_scores, "judge_scores", where=where)
    h = as_float_1d(human_scores, "human_scores", where=where)
    check_same_length(y.size, h.size, "human_scores", where=where)
    if not isinstance(features, Mapping) or not features:
        raise InputTypeError("features", "a non-empty mapping name -> array", features, where=where)
    names = [str(k) for k in features]
    cols = [np.ones_like(y), h]
    for k in names:
        f = as_float_1d(features[k], f"features[{k!r}]", where=where)
        check_same_length(y.size, f.size, f"features[{k!r}]", where=where)
        cols.append(f)
    X = np.column_stack(cols)
    n, p = X.shape
    if n <= p + 1:
        raise InputError(
            "judge_scores", f"more than {p + 1} rows for {p} coefficients", n, where=where
        )
    if np.linalg.matrix_rank(X) < p:
        for j in reversed(range(2, p)):
            if np.linalg.matrix_rank(np.delete(X, j, axis=1)) == np.linalg.matrix_rank(X):
                raise InputError(
                    "features",
                    "features that vary and are not collinear with the others or the human score",
                    f"{names[j - 2]!r} (constant or collinear)",
                    where=where,
                )
        raise InputError("human_scores", "a human score that varies", "a constant", where=where)
    XtX_inv = np.linalg.inv(X.T @ X)
    beta = XtX_inv @ (X.T @ y)
    e = y - X @ beta
    if cov == "HC3":
        lev = np.einsum("ij,jk,ik->i", X, XtX_inv, X)
        w = e**2 / np.clip(1.0 - lev, 1e-8, None) ** 2
    elif cov == "HC1":
        w = e**2 * n / (n - p)
    else:
        w = e**2
    V = XtX_inv @ (X.T * w) @ X @ XtX_inv
    df = n - p
    label = cov
    if groups is not None:
        g = np.asarray(groups)
        if g.ndim != 1 or g.size != n:
            raise InputError(
                "groups", f"one cluster label per row ({n})", f"shape {g.shape}", where=where
            )
        _, inv = np.unique(g, return_inverse=True)
        G = int(inv.max()) + 1
        if G < 2:
            raise InputError("groups", "at least 2 clusters", G, where=where)
        scores = np.zeros((G, p))
        np.add.at(scores, inv, X * e[:, None])
        factor = G / (G - 1) * (n - 1) / (n - p)
        V = factor * XtX_inv @ (scores.T @ scores) @ XtX_inv
        df = G - 1
        label = f"cluster-robust, {G} clusters"
    se = np.sqrt(np.clip(np.diag(V), 0.0, None))
    tq = float(stats.t.ppf(1 - (1 - level) / 2, df))
    effects = []
    for j, k in enumerate(names, start=2):
        tval = beta[j] / se[j] if se[j] > 0 else (0.0 if beta[j] == 0 else math.inf)
        pval = float(2 * stats.t.sf(abs(tval), df)) if math.isfinite(tval) else 0.0
        effects.append(
            BiasEffect(
                kind="regression",
                name=k,
                estimate=float(beta[j]),
                low=float(beta[j] - tq * se[j]),
                high=float(beta[j] + tq * se[j]),
                level=level,
                p_value=pval,
                n=n,
                unit="judge score per unit of feature, at fixed human score",
            )
        )
    note = (
        f"OLS of the judge score on the human score and features ({label} SEs, df={df}): "
        f"human coefficient {beta[1]:.3f} [{beta[1] - tq * se[1]:.3f}, {beta[1] + tq * se[1]:.3f}], "
        f"R^2 = {1 - float(e @ e) / max(float(((y - y.mean()) ** 2).sum()), 1e-300):.3f}."
    )
    return BiasReport(effects=tuple(effects), title=title, alpha=alpha, notes=(note,))


# ---------------------------------------------------------------------------
# feature-adjusted calibrator
# ---------------------------------------------------------------------------
