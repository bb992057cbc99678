r"""Experimental bias probes: change one surface feature of each response and judge both.

:func:`probe_bias` judges each response and an ablated variant
(:mod:`judgecal.bias.ablations`) through a :class:`~judgecal.CalibratedJudge`,
so judge failures are counted and never scored, and reports the mean paired
change with a bootstrap interval, a paired sign-flip permutation p-value and
the share of verdicts that flip, per stage and per attribute.
:func:`paired_change` is the statistic on its own, for changes measured
elsewhere.

The observational comparisons (no variants, human labels instead) are in
:mod:`judgecal.bias.observational`; the result objects in
:mod:`judgecal.bias.report`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from judgecal._exceptions import InputError, InputTypeError
from judgecal._validation import (
    FloatArray,
    StrArray,
    as_float_1d,
    check_choice,
    check_float,
    check_int,
    check_same_length,
    check_stages,
    make_rng,
)
from judgecal.bias.ablations import AblationRecord, normalize_attributes, per_item_attributes
from judgecal.bias.report import BiasEffect, BiasReport
from judgecal.bias.resampling import paired_summary
from judgecal.judging.judge import CalibratedJudge, JudgeResult
from judgecal.records.core import Scale
from judgecal.vocabulary import DEFAULT_LEVEL

__all__ = ["BiasEffect", "BiasReport", "paired_change", "probe_bias"]

_ALL = "\0all"  # key of the variants that ablate all of an item's attributes at once


def paired_change(
    original: Any,
    variant: Any,
    *,
    level: float = DEFAULT_LEVEL,
    n_resamples: int = 2000,
    n_permutations: int = 4999,
    seed: int | None = 0,
) -> dict[str, float]:
    r"""Mean paired change ``variant - original`` with a bootstrap interval and a sign-flip p-value.

    The interval is the percentile bootstrap over pairs. The p-value is the
    two-sided paired permutation test that flips the sign of each difference
    at random (exact under "the change is symmetric about zero"), with
    Monte Carlo resamples counted as
    :math:`(1 + \#\{|\bar d^*| \ge |\bar d|\}) / (1 + B)` so it is never 0.

    Parameters
    ----------
    original, variant : array-like of shape (n,)
        The two measurements of each unit.
    level : float
        Interval level.
    n_resamples : int
        Bootstrap resamples (for the interval).
    n_permutations : int
        Random sign flips (for the p-value).
    seed : int, optional
        Seed of the resampling.

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
    first = as_float_1d(original, "original", where=where)
    second = as_float_1d(variant, "variant", where=where)
    check_same_length(first.size, second.size, "variant", where=where)
    _check_resampling(where, level, 0.05, n_resamples, n_permutations)
    return paired_summary(second - first, level, n_resamples, n_permutations, make_rng(seed))


def _check_resampling(
    where: str, level: float, alpha: float, n_resamples: int, n_permutations: int
) -> None:
    check_float(level, "level", low=0.0, high=1.0, low_open=True, high_open=True, where=where)
    check_float(alpha, "alpha", low=0.0, high=1.0, low_open=True, high_open=True, where=where)
    check_int(n_resamples, "n_resamples", low=10, where=where)
    check_int(n_permutations, "n_permutations", low=10, where=where)


# ---------------------------------------------------------------------------
# the probe's pieces
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Variant:
    """One changed text: which attribute set (``_ALL`` or a name), which item, the record."""

    key: str
    item: int
    text: Any
    record: AblationRecord


@dataclass
class _Variants:
    """Every variant the ablation made, and the items it left unchanged, per attribute set."""

    keys: list[str]
    """``_ALL``, then each attribute's name when attributes are probed one by one."""
    single: str | None
    """The only attribute when there is exactly one (labels the ``_ALL`` rows)."""
    made: list[_Variant] = field(default_factory=list)
    unchanged: dict[str, list[int]] = field(default_factory=dict)

    def attribute_label(self, key: str) -> str | None:
        return self.single if key == _ALL else key


def _as_calibrated_judge(judge: Any, scale: Scale | None, where: str) -> CalibratedJudge:
    if isinstance(judge, CalibratedJudge):
        return judge
    if scale is None:
        raise InputError(
            "scale", "a judgecal.Scale when judge is not a CalibratedJudge", None, where=where
        )
    return CalibratedJudge(judge, scale=scale)


def _check_texts_and_callables(
    texts: Any, ablation: Any, build_item: Any, where: str
) -> Sequence[Any]:
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise InputTypeError("texts", "a sequence of texts (or answer pairs)", texts, where=where)
    if len(texts) == 0:
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
    return texts


def _attributes_to_ablate(
    attributes: Any, n_items: int, per_attribute: bool, where: str
) -> tuple[list[Any], list[str], str | None]:
    """Each item's attribute spec (or ``None``), the attribute sets to probe, the single name."""
    if attributes is None:
        return [None] * n_items, [_ALL], None
    specs = per_item_attributes(attributes, n_items, where)
    normalized = [dict(normalize_attributes(spec, where)) for spec in specs]
    names = list(dict.fromkeys(name for spec in normalized for name in spec))
    keys = [_ALL] + (names if per_attribute and len(names) > 1 else [])
    return normalized, keys, names[0] if len(names) == 1 else None


def _ablate(ablation: Callable[..., Any], text: Any, attributes: Any, where: str) -> Any:
    out = ablation(text, attributes)
    if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], AblationRecord)):
        raise InputTypeError(
            "ablation",
            "a callable returning (new_text, AblationRecord)",
            type(out).__name__,
            where=where,
        )
    return out


def _make_variants(
    texts: Sequence[Any],
    ablation: Callable[..., Any],
    attributes: Any,
    per_attribute: bool,
    where: str,
) -> _Variants:
    """Ablate every item for every attribute set; keep the changed ones, count the others."""
    specs, keys, single = _attributes_to_ablate(attributes, len(texts), per_attribute, where)
    variants = _Variants(keys=keys, single=single, unchanged={key: [] for key in keys})
    for key in keys:
        for item, spec in enumerate(specs):
            if spec is None:
                item_attributes: Any = ()
            elif key == _ALL:
                if not spec:
                    continue
                item_attributes = {name: list(terms) for name, terms in spec.items()}
            elif key in spec:
                item_attributes = {key: list(spec[key])}
            else:
                continue
            new, record = _ablate(ablation, texts[item], item_attributes, where)
            if record.changed:
                variants.made.append(_Variant(key, item, new, record))
            else:
                variants.unchanged[key].append(item)
    return variants


def _judged_values(
    judge: CalibratedJudge, results: list[JudgeResult], on: str, mirror: list[bool]
) -> FloatArray:
    """Scores (or calibrated probabilities) of the calls that succeeded; NaN for the others.

    A mirrored verdict (an answer swap) is reflected on the scale first.
    """
    values = np.full(len(results), np.nan)
    ok = [i for i, result in enumerate(results) if result.ok]
    if not ok:
        return values
    scores = np.array([results[i].score for i in ok], dtype=np.float64)
    mirrored = np.array([mirror[i] for i in ok], dtype=bool)
    scores[mirrored] = judge.scale.low + judge.scale.high - scores[mirrored]
    if on == "probability":
        values[ok] = judge.calibrate(scores, stages=[results[i].stage for i in ok])
    else:
        values[ok] = scores
    return values


def _verdict_fn(scale: Scale, on: str, threshold: float | None) -> Callable[[FloatArray], Any]:
    if threshold is not None:
        cut = float(threshold)
        return lambda x: x >= cut
    if on == "probability":
        return lambda x: x >= 0.5
    if scale.kind == "verdict":
        return lambda x: np.rint(x)
    midpoint = 0.5 * (scale.low + scale.high)
    return lambda x: x >= midpoint


def _ablation_name(ablation: Any, variants: _Variants) -> str:
    if variants.made and variants.made[0].record.ablation:
        return variants.made[0].record.ablation
    return str(
        getattr(ablation, "__name__", None)
        or getattr(getattr(ablation, "func", None), "__name__", None)
        or type(ablation).__name__
    )


@dataclass(frozen=True)
class _Statistics:
    """How each row is computed: the resampling, the verdict and what is compared."""

    on: str
    level: float
    n_resamples: int
    n_permutations: int
    verdict: Callable[[FloatArray], Any]


def _effect_row(
    original: FloatArray,
    variant: FloatArray,
    row: dict[str, Any],
    stats: _Statistics,
    rng: np.random.Generator,
) -> BiasEffect:
    """One row from the paired values of one (attribute set, stage); NaN marks a failure."""
    usable = np.isfinite(original) & np.isfinite(variant)
    row.update(kind="ablation", level=stats.level, n_failed=int((~usable).sum()), unit=stats.on)
    if not usable.any():
        return BiasEffect(estimate=None, n=0, **row)
    summary = paired_summary(
        variant[usable] - original[usable],
        stats.level,
        stats.n_resamples,
        stats.n_permutations,
        rng,
    )
    flips = stats.verdict(original[usable]) != stats.verdict(variant[usable])
    return BiasEffect(
        estimate=summary["estimate"],
        low=summary["low"],
        high=summary["high"],
        p_value=summary["p_value"],
        n=int(usable.sum()),
        flip_share=float(np.mean(flips)),
        **row,
    )


def _effects(
    variants: _Variants,
    stages: StrArray,
    runs: _Runs,
    name: str,
    stats: _Statistics,
    seed: int | None,
) -> list[BiasEffect]:
    """A row per attribute set, pooled over stages and (with several stages) per stage."""
    distinct = sorted(set(stages.tolist()))
    stage_keys = ["all"] + (distinct if len(distinct) > 1 else [])
    seeds = np.random.SeedSequence(seed)
    variant_key = np.array([v.key for v in variants.made], dtype=object)
    variant_item = np.array([v.item for v in variants.made], dtype=np.int64)
    effects = []
    for key in variants.keys:
        for stage in stage_keys:
            selected = variant_key == key
            if stage != "all":
                selected &= stages[variant_item] == stage
            rows = np.flatnonzero(selected)
            unchanged = [i for i in variants.unchanged[key] if stage in ("all", stages[i])]
            row = {
                "name": name,
                "stage": stage,
                "attribute": variants.attribute_label(key),
                "n_unchanged": len(unchanged),
            }
            rng = np.random.default_rng(seeds.spawn(1)[0])
            original_values = runs.original[variant_item[rows]]
            effects.append(_effect_row(original_values, runs.variant[rows], row, stats, rng))
    return effects


def _probe_note(on: str, variants: _Variants) -> str:
    note = f"estimate = mean change of the judge's {on} (variant minus original)"
    if any(v.record.mirrored for v in variants.made):
        note += (
            "; variant verdicts are mirrored (first <-> second), so a negative change means "
            "the judge favours the answer shown first"
        )
    return note + "."


@dataclass(frozen=True)
class _Runs:
    """The judged values of the originals and of the variants (NaN where a call failed)."""

    original: FloatArray
    variant: FloatArray
    status_counts: dict[str, dict[str, int]]


def _judge_both(
    judge: CalibratedJudge,
    texts: Sequence[Any],
    variants: _Variants,
    stages: StrArray,
    build_item: Callable[[Any, int], Any] | None,
    on: str,
    options: dict[str, Any],
) -> _Runs:
    """Judge the originals, then the variants, each in one :meth:`~CalibratedJudge.judge_many`."""
    build = build_item or (lambda text, index: text)
    original_items = [build(text, i) for i, text in enumerate(texts)]
    original_run = judge.judge_many(original_items, stages=stages.tolist(), **options)
    original = _judged_values(judge, original_run.results, on, [False] * len(texts))
    counts = {"original": original_run.status_counts()}
    if not variants.made:
        return _Runs(original, np.empty(0), counts)
    variant_run = judge.judge_many(
        [build(v.text, v.item) for v in variants.made],
        stages=[str(stages[v.item]) for v in variants.made],
        **options,
    )
    mirror = [v.record.mirrored for v in variants.made]
    counts["variant"] = variant_run.status_counts()
    return _Runs(original, _judged_values(judge, variant_run.results, on, mirror), counts)


# ---------------------------------------------------------------------------
# the probe
# ---------------------------------------------------------------------------
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
    level: float = DEFAULT_LEVEL,
    alpha: float = 0.05,
    n_resamples: int = 2000,
    n_permutations: int = 4999,
    seed: int | None = 0,
    run_options: Mapping[str, Any] | None = None,
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
    n_resamples : int
        Bootstrap resamples (for the intervals).
    n_permutations : int
        Random sign flips (for the p-values).
    seed : int, optional
        Seed for resampling.
    run_options : mapping, optional
        Keyword arguments passed on to both :meth:`CalibratedJudge.judge_many`
        calls (e.g. concurrency, timeouts, retries or a cache, where
        ``judge_many`` accepts them).

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
    calibrated = _as_calibrated_judge(judge, scale, where)
    texts = _check_texts_and_callables(texts, ablation, build_item, where)
    check_choice(on, "on", ("score", "probability"), where=where)
    if on == "probability" and calibrated.calibrator is None:
        raise InputError("on", "'score' when the judge has no calibrator", on, where=where)
    _check_resampling(where, level, alpha, n_resamples, n_permutations)
    if flip_threshold is not None:
        check_float(flip_threshold, "flip_threshold", where=where)
    options = _check_run_options(run_options, where)
    item_stages = check_stages(
        calibrated.stage if stages is None else stages, len(texts), where=where
    )
    variants = _make_variants(texts, ablation, attributes, per_attribute, where)
    runs = _judge_both(calibrated, texts, variants, item_stages, build_item, on, options)
    verdict = _verdict_fn(calibrated.scale, on, flip_threshold)
    stats = _Statistics(on, level, n_resamples, n_permutations, verdict)
    name = _ablation_name(ablation, variants)
    return BiasReport(
        effects=tuple(_effects(variants, item_stages, runs, name, stats, seed)),
        title=f"Ablation probe: {name}",
        judge=repr(calibrated),
        alpha=alpha,
        status_counts=runs.status_counts,
        notes=(_probe_note(on, variants),),
    )


def _check_run_options(run_options: Any, where: str) -> dict[str, Any]:
    if run_options is None:
        return {}
    if not isinstance(run_options, Mapping) or not all(isinstance(k, str) for k in run_options):
        raise InputTypeError(
            "run_options", "a mapping of judge_many keyword arguments", run_options, where=where
        )
    reserved = {"items", "stages", "item_ids"} & set(run_options)
    if reserved:
        raise InputError(
            "run_options",
            "options other than the items and stages (probe_bias sets those)",
            sorted(reserved),
            where=where,
        )
    return dict(run_options)
