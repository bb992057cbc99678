"""Length bias of two real LLM judges against three human raters (bundled PandaLM data).

PandaLM's test set has 999 pairs of responses, three human verdicts per pair
(first, second or tie) and the verdicts of GPT-3.5-turbo and PandaLM-7B.

1. How much more often does each judge than the humans pick the longer response?
   (``preference_gap``: rates on the same items, bootstrap interval over items.)
   Intervals are 90% (the house default level).
2. The observational route: regress the judge's verdict on the humans' mean
   verdict plus length and markdown differences (``feature_regression``).
3. A feature-adjusted calibrator (judge verdict + log length ratio) against a
   plain logistic calibrator, on held-out items.

Run: ``python examples/length_bias_pandalm.py`` (a few seconds, no network).
"""

from __future__ import annotations

import numpy as np

from judgecal import (
    BiasReport,
    FeatureAdjustedCalibrator,
    LogisticCalibrator,
    brier_score,
    feature_regression,
    load_pandalm,
    preference_gap,
)
from judgecal.bias.ablations import markdown_count

JUDGES = ("gpt35", "pandalm7b")


def main() -> None:
    report = BiasReport(
        title="PandaLM: does the judge pick the longer response more often than humans?"
    )
    for judge in JUDGES:
        js = load_pandalm(judge)
        half = preference_gap(js, name=f"{judge}: picks longer", n_resamples=2000, seed=0)
        decisive = preference_gap(
            js, ties="drop", name=f"{judge}: picks longer (decisive)", n_resamples=2000, seed=0
        )
        report = report + BiasReport(effects=(half, decisive))
    print(report.to_markdown())
    for e in report.effects:
        assert e.estimate is not None and e.low is not None and e.high is not None
        print(
            f"{e.name}: judge {e.judge_value:.1%} vs humans {e.human_value:.1%} -> "
            f"{e.estimate * 100:+.1f} points [{e.low * 100:+.1f}, {e.high * 100:+.1f}] "
            f"(n={e.n}, judge failed on {e.n_failed})"
        )

    print()
    for judge in JUDGES:
        js = load_pandalm(judge).scored()
        idx, codes, _ = js.ratings_long()  # second 0, tie 1, first 2
        human = np.bincount(idx, weights=codes - 1.0) / np.bincount(idx)  # -1 second .. +1 first
        verdict = js.scores() - 1.0
        llr = np.log((js.feature("len_response1") + 1) / (js.feature("len_response2") + 1))
        md = np.array(
            [
                markdown_count(j.texts["response1"]) - markdown_count(j.texts["response2"])
                for j in js
            ],
            dtype=float,
        )
        reg = feature_regression(
            verdict,
            human,
            {"log length ratio": llr, "markdown difference": md},
            title=f"Regression ({judge})",
        )
        print(reg.to_markdown())
        print()

        # Feature-adjusted calibration: P(humans prefer the first | verdict, log length ratio)
        y, w = js.targets(ties="half")
        X = np.column_stack([js.scores(), llr])
        rng = np.random.default_rng(0)
        raw_b, adj_b = [], []
        for _ in range(20):
            perm = rng.permutation(len(y))
            tr, te = perm[:500], perm[500:]
            raw = LogisticCalibrator().fit(X[tr, 0], y[tr], w[tr])
            adj = FeatureAdjustedCalibrator(["log_length_ratio"]).fit(X[tr], y[tr], w[tr])
            raw_b.append(brier_score(y[te], raw.predict_agreement(X[te, 0]), sample_weight=w[te]))
            adj_b.append(brier_score(y[te], adj.predict_agreement(X[te]), sample_weight=w[te]))
        full = FeatureAdjustedCalibrator(["log_length_ratio"]).fit(X, y, w)
        wins = float(np.mean(np.array(adj_b) < np.array(raw_b)))
        print(
            f"{judge}: held-out Brier, logistic on the verdict {np.mean(raw_b):.4f} vs "
            f"feature-adjusted {np.mean(adj_b):.4f} (better in {wins:.0%} of 20 splits); "
            f"judge's length reward beyond humans {full.feature_bonus_['log_length_ratio']:+.3f} "
            "verdict units per unit of log length ratio"
        )
    print(
        "\nReading: on PandaLM neither judge picks the longer answer more often than the humans "
        "do (GPT-3.5 picks it less often). The regression conditioned on the noisy human verdict "
        "and the calibrator conditioned on the judge's verdict disagree in sign for PandaLM-7B: "
        "with noisy measures on both sides, a feature correlated with quality leaks into whichever "
        "side is the control. Ablation probes (judgecal.probe_bias) settle such questions when "
        "variants can be generated."
    )


if __name__ == "__main__":
    main()
