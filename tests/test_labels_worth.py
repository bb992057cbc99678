"""'Labels the judge was worth': the human-only sample size with the same width."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import judgecal
from judgecal.cli.app import main
from judgecal.estimate._prepared import data_from_arrays
from judgecal.estimate.rates import rate_from_data


def test_human_only_with_effective_labels_has_the_same_width() -> None:
    """Across seeds, a human-only estimate on ``effective_labels`` labels is as wide as
    PPI++ on ``n`` (within 10%); this fails if effective_labels were just n."""
    ratios, gains = [], []
    for trial in range(20):
        rng = np.random.default_rng(trial)
        size, n_labels = 4000, 150
        prob = rng.beta(0.5, 0.5, size)
        labels = (rng.random(size) < prob).astype(float)
        labelled = np.zeros(size, dtype=bool)
        labelled[rng.choice(size, n_labels, replace=False)] = True
        result = rate_from_data(data_from_arrays(prob, 0, 1, labels, labelled))
        worth = round(result.effective_labels)
        more = np.zeros(size, dtype=bool)
        more[rng.choice(size, worth, replace=False)] = True
        human = rate_from_data(data_from_arrays(prob, 0, 1, labels, more), calibrator="none")
        ratios.append(human.human_only.width / result.width)
        gains.append(result.labels_gained)
    assert abs(float(np.mean(ratios)) - 1.0) < 0.1
    assert float(np.mean(gains)) > 50


@pytest.mark.parametrize("loader", ["hanna", "pandalm"])
def test_bundled_judges_are_worth_some_labels(loader: str) -> None:
    data = judgecal.load_hanna() if loader == "hanna" else judgecal.load_pandalm(with_texts=False)
    hidden = judgecal.keep_labels(data, 150, by=None, seed=0)
    result = judgecal.estimate_rate(hidden, strata=None, threshold=4 if loader == "hanna" else None)
    assert result.effective_labels > result.n_labelled
    expected = result.n_labelled * (result.human_only.width / result.width) ** 2
    assert math.isclose(result.effective_labels, expected, rel_tol=0.05)


def test_cli_prints_worth_and_decision(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "--until-width", "0.1", "--batch", "20"]) == 0
    out = capsys.readouterr().out
    assert "the judge was worth" in out
    assert "label 20 more" in out


def test_cli_reads_inclusion_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    rows = ["item_id,judge,human,inclusion_prob"]
    for i in range(400):
        score = rng.integers(1, 6)
        labelled = rng.random() < 0.25
        human = str(int(rng.random() < score / 6)) if labelled else ""
        rows.append(f"i{i},{score},{human},{0.25 if labelled else ''}")
    path = tmp_path / "labels.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    argv = ["estimate", str(path), "--score-col", "judge", "--label-col", "human"]
    assert main([*argv, "--strata", "none", "--inclusion-col", "inclusion_prob"]) == 0
    assert "IPW" in capsys.readouterr().out


def test_plan_predicts_the_anytime_stopping_size() -> None:
    plan = judgecal.plan_labels(0.05, correlation=0.6, n_total=5000, batch=10)
    assert plan.n_anytime is not None and plan.n_anytime % 10 == 0
    assert plan.n_ppi < plan.n_anytime < 4 * plan.n_ppi
