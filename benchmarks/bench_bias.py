"""Bias probes at scale: ablation cost per text, judge-wrapper overhead, and the simulations.

Run: ``.venv/bin/python benchmarks/bench_bias.py`` (writes ``benchmarks/results/bias.json``).
``--quick`` uses fewer simulation runs.

Timings are sums over 10 chunks of 1,000 texts of the best of 3 runs per chunk, so load
spikes on a shared machine stay out of them.

Sections
--------
ablations
    10^4 real response texts (PandaLM responses, cycled). Microseconds per text for each
    ablation, next to two floors in the same process: one compiled ``re.finditer`` over
    the text (a single-word pattern) and ``str.lower() + in``.
judge calls
    10^4 items. A bare loop calling a cheap judge, the same loop plus ``parse_score``, then
    ``CalibratedJudge.judge_many`` without and with a calibrator, and one ``cj(item)`` per
    item. Overhead per item and ratio against the bare loop.
adversarial
    Seconds for each ablation on about 1.7 million characters of adversarial text (long runs
    of white space, unclosed emphasis marks and backticks, nested brackets, long words,
    repeated attribute prefixes, runs of sentence and clause punctuation, NUL and non-ASCII
    characters): every ablation runs in linear time, so none takes more than about a second.
probe
    ``probe_bias`` end to end on 10^4 texts (two judge runs, ablation, statistics).
simulations
    Coverage of the probe interval for a known mention bonus, false-positive rate of an
    unbiased judge, coverage of the regression coefficient and of the clustered human gap,
    at the default level (90%): the numbers behind the tests, with more runs.
pandalm
    How much more often each judge than the humans picks the longer response.
hanna
    Each HANNA judge's reward for story length beyond the human rating (cluster-robust).
"""

from __future__ import annotations

import json
import re
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from judgecal import (
    CalibratedJudge,
    LogisticCalibrator,
    Scale,
    feature_regression,
    human_judge_gap,
    load_pandalm,
    preference_gap,
    probe_bias,
)
from judgecal.bias.ablations import (
    MentionDetector,
    find_mentions,
    insert_mention,
    markdown_count,
    remove_mentions,
    shorten,
    strip_markdown,
    surface_features,
    swap_answers,
)
from judgecal.judging.parsers import parse_score
from judgecal.vocabulary import DEFAULT_LEVEL

N = 10_000
ATTRS = {"movie": ["film"], "recipe": ["ingredients", "baking"], "city": ["san diego"], "music": []}


def best_of(fn: Any, repeat: int = 3) -> float:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return min(out)


def chunked_min(fn: Any, texts: list[str], chunks: int = 10, repeat: int = 3) -> float:
    """Seconds for ``fn`` over all texts: the sum over chunks of the best of ``repeat`` runs.

    Taking the minimum per chunk keeps load spikes on a shared machine out of the number.
    """
    size = len(texts) // chunks
    total = 0.0
    for c in range(chunks):
        part = texts[c * size : (c + 1) * size]
        total += best_of(lambda part=part: fn(part), repeat)
    return total


def texts_10k() -> list[str]:
    pairs = load_pandalm("gpt35")
    base = [str(j.texts[key]) for j in pairs for key in ("response1", "response2")]
    return [base[i % len(base)] for i in range(N)]


SEGMENT = 1 << 16
ADVERSARIAL_ATTRS = {"vegan": ["plant based", "vegan vegan diet"], "new york": []}


def adversarial_text() -> str:
    """About 1.7 million characters: runs that made 0.1's regexes quadratic, one per line."""
    runs = (
        " " * SEGMENT,
        " \t" * (SEGMENT // 2),
        "**" * (SEGMENT // 2),
        "**a " * (SEGMENT // 4),
        "__a " * (SEGMENT // 4),
        "*a " * (SEGMENT // 3),
        "~~a " * (SEGMENT // 4),
        "`a " * (SEGMENT // 3),
        "[" * (SEGMENT // 2) + "]" * (SEGMENT // 2),
        "[a](" * (SEGMENT // 4),
        "![a](" * (SEGMENT // 5),
        "a" * SEGMENT,
        "vegan " * (SEGMENT // 6),
        "plant " * (SEGMENT // 6),
        "vegan vegan " * (SEGMENT // 12),
        ".!?" * (SEGMENT // 3),
        ". " * (SEGMENT // 2),
        ",;: " * (SEGMENT // 4),
        " - " * (SEGMENT // 3),
        '."' * (SEGMENT // 2),
        "|" * SEGMENT,
        "|---" * (SEGMENT // 4) + " " * 1000 + "x",
        "- " * (SEGMENT // 2) + "x",
        "\0" * SEGMENT,
        "\u00e9\U0001f642\u2014\u2013\u00a0" * (SEGMENT // 5),
    )
    return "\n".join(f"vegan {run} vegan x" for run in runs) + "\n" * (SEGMENT + 1)


def bench_adversarial() -> list[dict[str, Any]]:
    text = adversarial_text()
    calls: dict[str, Any] = {
        "find_mentions": lambda: find_mentions(text, ADVERSARIAL_ATTRS),
        "remove_mentions (sentence)": lambda: remove_mentions(text, ADVERSARIAL_ATTRS),
        "remove_mentions (clause)": lambda: remove_mentions(text, ADVERSARIAL_ATTRS, unit="clause"),
        "insert_mention": lambda: insert_mention(text, {"dog": [], **ADVERSARIAL_ATTRS}),
        "shorten (to 50%)": lambda: shorten(text, target=0.5),
        "shorten (to 1000 characters)": lambda: shorten(text, target=1000),
        "strip_markdown": lambda: strip_markdown(text),
        "markdown_count": lambda: markdown_count(text),
        "surface_features": lambda: surface_features([text], ADVERSARIAL_ATTRS),
        "swap_answers": lambda: swap_answers((text, text)),
    }
    return [
        {"case": name, "characters": len(text), "seconds": round(best_of(call, 1), 3)}
        for name, call in calls.items()
    ]


def bench_ablations(texts: list[str]) -> list[dict[str, Any]]:
    det = MentionDetector(ATTRS)
    word = re.compile(r"(?<!\w)movie(?!\w)", re.IGNORECASE)
    rows: list[dict[str, Any]] = []
    floor_re = (
        chunked_min(lambda ts: [sum(1 for _ in word.finditer(t)) for t in ts], texts) / N * 1e6
    )
    floor_in = chunked_min(lambda ts: ["movie" in t.lower() for t in ts], texts) / N * 1e6
    cases = {
        "floor: one regex finditer": None,
        "floor: lower() + in": None,
        "MentionDetector.count (4 attributes, 7 terms)": lambda ts: [det.count(t) for t in ts],
        "MentionDetector.find (spans + counts)": lambda ts: [det.find(t) for t in ts],
        "remove_mentions (sentence)": lambda ts: [remove_mentions(t, det) for t in ts],
        "remove_mentions (clause)": lambda ts: [remove_mentions(t, det, unit="clause") for t in ts],
        "insert_mention": lambda ts: [insert_mention(t, det) for t in ts],
        "shorten (to 50%)": lambda ts: [shorten(t, target=0.5) for t in ts],
        "strip_markdown": lambda ts: [strip_markdown(t) for t in ts],
        "swap_answers": lambda ts: [swap_answers((t, t)) for t in ts],
        "surface_features (length, markdown, mentions)": lambda ts: surface_features(ts, det),
    }
    for name, fn in cases.items():
        if fn is None:
            per = floor_re if "regex" in name else floor_in
        else:
            per = chunked_min(fn, texts) / N * 1e6
        rows.append(
            {
                "case": name,
                "n": N,
                "us_per_text": round(per, 2),
                "ratio_vs_regex_floor": round(per / floor_re, 1),
            }
        )
    return rows


def bench_judge_calls() -> list[dict[str, Any]]:
    items = [f"item {i}" for i in range(N)]
    scale = Scale.likert(5)

    def judge(x: str) -> str:
        return "Score: 3"

    cal = LogisticCalibrator().fit([1, 2, 3, 4, 5] * 20, [0, 0, 1, 1, 1] * 20)
    bare_cj = CalibratedJudge(judge, scale=scale)
    cal_cj = CalibratedJudge(judge, cal, scale=scale)
    cases = {
        "bare loop": lambda xs: [judge(x) for x in xs],
        "bare loop + parse_score": lambda xs: [parse_score(judge(x), scale) for x in xs],
        "judge_many, no calibrator": lambda xs: bare_cj.judge_many(xs),
        "judge_many, logistic calibrator": lambda xs: cal_cj.judge_many(xs),
        "cj(item) per item, logistic calibrator": lambda xs: [cal_cj(x) for x in xs],
    }
    rows = []
    bare = chunked_min(cases["bare loop"], items) / N * 1e6
    parse = chunked_min(cases["bare loop + parse_score"], items) / N * 1e6
    for name, fn in cases.items():
        per = (
            chunked_min(fn, items) / N * 1e6
            if name not in ("bare loop", "bare loop + parse_score")
            else (bare if name == "bare loop" else parse)
        )
        rows.append(
            {
                "case": name,
                "n": N,
                "us_per_item": round(per, 2),
                "overhead_vs_bare_us": round(per - bare, 2),
                "overhead_vs_parse_us": round(per - parse, 2),
                "ratio_vs_bare": round(per / bare, 1),
            }
        )
    return rows


def bench_probe(texts: list[str]) -> list[dict[str, Any]]:
    rows = []

    def judge(t: str) -> float:
        return float(min(10, 1 + len(t) // 200))

    scale = Scale.numeric(0, 10)
    for name, abl, attrs in (
        ("remove_mentions (4 attributes, per attribute)", remove_mentions, ATTRS),
        ("shorten to 50%", partial(shorten, target=0.5), None),
        ("strip_markdown", strip_markdown, None),
    ):
        t0 = time.perf_counter()
        rep = probe_bias(
            judge, texts, abl, attributes=attrs, scale=scale, n_resamples=1000, n_permutations=999
        )
        sec = time.perf_counter() - t0
        judged = sum(rep.status_counts.get("variant", {}).values()) + N
        rows.append(
            {
                "case": f"probe_bias: {name}",
                "n_texts": N,
                "judge_calls": judged,
                "seconds": round(sec, 2),
                "us_per_text": round(sec / N * 1e6, 1),
                "rows": len(rep.effects),
            }
        )
    return rows


_Q = re.compile(r"q=(-?\d+\.\d+)")


def _sim_probe(runs: int, delta: float, n: int, fail: float) -> dict[str, float]:
    covered = flagged = failed = 0
    for r in range(runs):
        rng = np.random.default_rng(r)
        q = rng.normal(5, 1, n)
        texts = [f"Answer {i} q={qi:.4f}. It has tips." for i, qi in enumerate(q)]

        def judge(text: str, rng: np.random.Generator = rng) -> str:
            u = rng.random()
            if u < fail / 2:
                raise RuntimeError("down")
            if u < fail:
                return "no score"
            m = _Q.search(text)
            assert m is not None
            return (
                f"Score: {float(m.group(1)) + delta * ('vegan' in text.lower()) + rng.normal():.4f}"
            )

        e = probe_bias(
            judge,
            texts,
            insert_mention,
            attributes="vegan",
            scale=Scale.numeric(-100, 100),
            n_resamples=1000,
            n_permutations=999,
            seed=r,
        ).effects[0]
        assert e.low is not None and e.high is not None
        covered += e.low <= delta <= e.high
        flagged += e.flagged(0.05)
        failed += e.n_failed
    return {
        "runs": runs,
        "delta": delta,
        "n_items": n,
        "fail_rate": fail,
        "level": DEFAULT_LEVEL,
        "coverage": covered / runs,
        "flagged_at_0.05": flagged / runs,
        "failed_pairs_per_run": failed / runs,
    }


def _sim_regression(runs: int) -> dict[str, float]:
    covered = fp = 0
    for r in range(runs):
        rng = np.random.default_rng(r)
        n = 150
        h = rng.normal(3, 1, n)
        mentions = rng.poisson(0.5 + 0.3 * (h > 3), n)
        length = rng.normal(300, 80, n)
        s = 1 + 0.8 * h + 0.4 * mentions + rng.normal(0, 0.3 + 0.4 * mentions, n)
        m, ln = feature_regression(s, h, {"mentions": mentions, "length": length}).effects
        assert m.low is not None and m.high is not None
        covered += m.low <= 0.4 <= m.high
        fp += ln.flagged(0.05)
    return {
        "runs": runs,
        "level": DEFAULT_LEVEL,
        "coverage_of_mention_coef": covered / runs,
        "false_positive_rate_null_feature": fp / runs,
    }


def _sim_human_gap_clusters(runs: int) -> dict[str, float]:
    """30 conversations x 8 items; the judge's extra gap (0.3) varies by conversation."""
    clustered = item_level = flagged = 0
    for r in range(runs):
        rng = np.random.default_rng(r)
        n_groups, size = 30, 8
        groups = np.repeat(np.arange(n_groups), size)
        quality = rng.normal(3, 0.7, n_groups * size)
        conversation = np.repeat(rng.normal(0, 0.5, n_groups), size)
        h_wo = quality + rng.normal(0, 0.3, quality.size)
        h_w = quality + rng.normal(0, 0.3, quality.size)
        j_wo = quality + rng.normal(0, 0.3, quality.size)
        j_w = quality + 0.3 + conversation + rng.normal(0, 0.3, quality.size)
        options: dict[str, Any] = {"n_resamples": 400, "n_permutations": 199, "seed": r}
        c = human_judge_gap(j_w, j_wo, h_w, h_wo, groups=groups, **options)
        iid = human_judge_gap(j_w, j_wo, h_w, h_wo, **options)
        null = human_judge_gap(j_w - 0.3, j_wo, h_w, h_wo, groups=groups, **options)
        assert c.low is not None and c.high is not None
        assert iid.low is not None and iid.high is not None
        clustered += c.low <= 0.3 <= c.high
        item_level += iid.low <= 0.3 <= iid.high
        flagged += null.flagged(0.05)
    return {
        "runs": runs,
        "level": DEFAULT_LEVEL,
        "coverage_clustered": clustered / runs,
        "coverage_item_level": item_level / runs,
        "null_flagged_at_0.05": flagged / runs,
    }


def simulations(quick: bool) -> dict[str, Any]:
    k = 1 if quick else 3
    return {
        "probe_bias_delta_0.7": _sim_probe(200 * k, 0.7, 60, 0.06),
        "probe_no_bias": _sim_probe(300 * k, 0.0, 40, 0.05),
        "regression": _sim_regression(300 * k),
        "human_gap_clusters": _sim_human_gap_clusters(200),
    }


def pandalm() -> list[dict[str, Any]]:
    rows = []
    for judge in ("gpt35", "pandalm7b"):
        js = load_pandalm(judge)
        for ties in ("half", "drop"):
            e = preference_gap(js, ties=ties, n_resamples=2000)
            rows.append(
                {
                    "judge": judge,
                    "ties": ties,
                    "judge_rate": round(e.judge_value or 0, 4),
                    "human_rate": round(e.human_value or 0, 4),
                    "difference": round(e.estimate or 0, 4),
                    "low": round(e.low or 0, 4),
                    "high": round(e.high or 0, 4),
                    "n": e.n,
                    "n_failed": e.n_failed,
                }
            )
    return rows


def hanna() -> list[dict[str, Any]]:
    from judgecal import load_hanna

    rows = []
    for judge in ("ChatGPT_p1", "Beluga-13B_p1", "Mistral-7B_p1", "Llama-13B_p1"):
        js = load_hanna(judge).scored()
        idx, ratings, _ = js.ratings_long()
        human = np.bincount(idx, weights=ratings) / np.bincount(idx)
        rep = feature_regression(
            js.scores(),
            human,
            {"log length": np.log(js.feature("text_length"))},
            groups=js.meta("story_id"),
        )
        e = rep.effects[0]
        rows.append(
            {
                "judge": judge,
                "coef_log_length": round(e.estimate or 0, 4),
                "low": round(e.low or 0, 4),
                "high": round(e.high or 0, 4),
                "p": float(f"{e.p_value:.3g}"),
                "rows": e.n,
            }
        )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    keys = list(rows[0])
    widths = [max(len(str(k)), *(len(str(r[k])) for r in rows)) for k in keys]
    lines = ["  ".join(str(k).ljust(w) for k, w in zip(keys, widths, strict=True))]
    lines += [
        "  ".join(str(r[k]).ljust(w) for k, w in zip(keys, widths, strict=True)) for r in rows
    ]
    return "\n".join(lines)


def main() -> None:
    quick = "--quick" in sys.argv
    texts = texts_10k()
    out: dict[str, Any] = {
        "n_texts": N,
        "mean_text_chars": round(float(np.mean([len(t) for t in texts])), 1),
    }
    out["ablations"] = bench_ablations(texts)
    print(
        f"## Ablations over {N} PandaLM responses (mean {out['mean_text_chars']} chars)\n"
        + table(out["ablations"])
        + "\n"
    )
    out["adversarial"] = bench_adversarial()
    heading = "## Ablations on ~1.7 million characters of adversarial text"
    print(heading + "\n" + table(out["adversarial"]) + "\n")
    out["judge_calls"] = bench_judge_calls()
    print(f"## Judge calls ({N} items)\n" + table(out["judge_calls"]) + "\n")
    out["probe"] = bench_probe(texts)
    print("## probe_bias end to end\n" + table(out["probe"]) + "\n")
    out["simulations"] = simulations(quick)
    print("## Simulations\n" + json.dumps(out["simulations"], indent=2) + "\n")
    out["pandalm_picks_longer"] = pandalm()
    print(
        "## PandaLM: judge rate minus human rate of picking the longer response\n"
        + table(out["pandalm_picks_longer"])
    )
    out["hanna_length_regression"] = hanna()
    print(
        "\n## HANNA: judge rating on mean human rating + log story length (clustered by story)\n"
        + table(out["hanna_length_regression"])
    )
    path = Path(__file__).parent / "results" / "bias.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
