"""The whole personalization pipeline, judged by LLMs and calibrated against a few human labels.

A personalization system does three things, and an LLM judge checks each of them:

* extraction -- is this attribute of the user supported by the conversation?
* selection  -- is this attribute relevant to the new request?
* generation -- is the personalized response better than the generic one?

The data is simulated with known truth and shaped like "Re-Centering Humans in LLM
Personalization" (arXiv 2606.06614): humans agree with each other at kappa ~0.43 on
selection but with the LLM judges at ~0.30; the LLMs mark 2-3x more attributes relevant;
54.6% of personalized responses are no better than generic for humans, while the judge
prefers them and gives a bonus to any response that merely mentions the attribute.

One script runs what an evaluation engineer would: the agreement table, a calibration
per stage with partial pooling across stages (a Bayesian calibrator fitted on 100
labelled items per stage), the human rate per stage from those 100 labels with a 90%
interval (prediction-powered inference on the calibrated judge), and a mention-ablation
probe through the judge function. Every line prints what the raw judge says beside what
judgecal says and the simulated truth; every interval printed is judgecal's, at 90%.

Run: ``.venv/bin/python examples/personalization_pipeline.py`` (about 5 seconds).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from scipy.special import expit
from scipy.stats import norm

from judgecal import (
    BayesianCalibrator,
    CalibratedJudge,
    Judgment,
    JudgmentSet,
    Rating,
    Scale,
    agreement_report,
    estimate_rate,
    probe_bias,
)
from judgecal.bias.ablations import remove_mentions

SEED = 8
STAGES = ("extraction", "selection", "generation")
JUDGES = ("gpt-4o", "claude", "llama")
N_ITEMS = {"extraction": 600, "selection": 600, "generation": 1500}
N_LABELLED = 100  # items per stage that three people labelled
N_RATERS = 3
SCALE = Scale.likert(5)
ATTRIBUTES = ("vegetarian", "marathon runner", "new parent", "nurse", "student")
MENTION_BONUS = 0.9  # what the judge adds, on its latent 1-5 rating, for naming the attribute
JUDGE_NOISE = 0.5


@dataclass(frozen=True)
class StageModel:
    """How humans and LLM judges see one stage (all on a latent item quality z ~ N(0, 1)).

    A human says yes with probability ``expit(human_a + human_b * z)``; an LLM judge rates
    ``round(clip(3 + judge_c * z + shared * u + shift + mention_bonus * m + noise, 1, 5))``
    where ``u`` is what the LLMs see alike and humans do not (why LLMs agree with each
    other more than with people) and ``m`` marks a response that names the attribute.
    """

    human_a: float
    human_b: float
    judge_c: float
    shared: float
    shifts: tuple[float, float, float]  # one per judge: how much more often it says yes
    mention_share: float = 0.0


MODELS = {
    "extraction": StageModel(-0.5, 1.8, 1.0, 0.6, (0.5, 0.4, 0.7)),
    "selection": StageModel(-2.4, 2.5, 1.0, 0.7, (0.4, 0.3, 0.6)),
    # humans: 54.6% of personalized responses no better than generic (E[1 - p] = 0.546)
    "generation": StageModel(-0.306, 2.0, 1.0, 0.6, (0.35, 0.3, 0.5), mention_share=0.6),
}


@dataclass
class Stage:
    """One stage's simulated items: latent values, human probabilities, texts and ratings."""

    name: str
    z: np.ndarray
    u: np.ndarray
    mention: np.ndarray
    p_human: np.ndarray
    texts: list[str]
    attribute: list[str]
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    ratings: list[list[int]] = field(default_factory=list)


def latent_rating(model: StageModel, judge: int, z: Any, u: Any, mention: Any) -> Any:
    """The judge's rating before rounding, without its noise."""
    bonus = MENTION_BONUS if mention else 0.0
    return 3.0 + model.judge_c * z + model.shared * u + model.shifts[judge] + bonus


def text_noise(text: str, judge: int) -> float:
    """The judge's noise on a text: fixed per text (a deterministic stand-in for sampling)."""
    seed = zlib.crc32(f"{judge}|{text}".encode())
    return float(np.random.default_rng(seed).normal(0.0, JUDGE_NOISE))


def to_likert(value: float) -> float:
    return float(np.clip(np.round(value), 1, 5))


def make_judge(stage: Stage, judge: int) -> object:
    """An LLM judge as a function of the response text; it rewards naming the attribute."""
    model, index = MODELS[stage.name], {text: i for i, text in enumerate(stage.texts)}
    item_pattern = re.compile(r"\[item (\d+)\]")

    def judge_text(text: str) -> float:
        found = item_pattern.search(text)
        i = int(found.group(1)) if found else index[text]
        mentions = any(a in text for a in ATTRIBUTES)
        value = latent_rating(model, judge, stage.z[i], stage.u[i], mentions)
        return to_likert(value + text_noise(text, judge))

    return judge_text


def simulate_stage(name: str, rng: np.random.Generator) -> Stage:
    model, n = MODELS[name], N_ITEMS[name]
    z, u = rng.normal(size=n), rng.normal(size=n)
    mention = rng.random(n) < model.mention_share
    attribute = [ATTRIBUTES[k] for k in rng.integers(0, len(ATTRIBUTES), n)]
    texts = []
    for i in range(n):
        body = f"[item {i}] Here is a plan for your week. Start with the lentil soup."
        texts.append(body + (f" As a {attribute[i]}, you will like this." if mention[i] else ""))
    stage = Stage(name, z, u, mention, expit(model.human_a + model.human_b * z), texts, attribute)
    for j, judge in enumerate(JUDGES):
        judge_text = make_judge(stage, j)
        stage.scores[judge] = np.array([judge_text(t) for t in texts])  # type: ignore[operator]
    labelled = rng.random((N_LABELLED, N_RATERS)) < stage.p_human[:N_LABELLED, None]
    stage.ratings = labelled.astype(int).tolist()
    return stage


def records(stage: Stage, judge: str) -> list[Judgment]:
    """The stage as records of one judge; the first N_LABELLED items carry three ratings."""
    out = []
    for i in range(len(stage.z)):
        ratings: tuple[Rating, ...] = ()
        if i < N_LABELLED:
            ratings = tuple(
                Rating(value=v, rater=f"person {k + 1}") for k, v in enumerate(stage.ratings[i])
            )
        out.append(
            Judgment(
                item_id=f"{stage.name}-{i}",
                stage=stage.name,
                score=float(stage.scores[judge][i]),
                label_kind="binary",
                ratings=ratings,
            )
        )
    return out


# ---------------------------------------------------------------- the truth, from the model
def truth_kappas(name: str, n: int = 400_000) -> dict[str, float]:
    """Population Cohen's kappa of every comparison the agreement table shows, for one stage."""
    rng = np.random.default_rng(0)
    model = MODELS[name]
    z, u = rng.normal(size=n), rng.normal(size=n)
    person = [rng.random(n) < expit(model.human_a + model.human_b * z) for _ in range(2)]
    said_yes = {
        judge: to_likert_array(latent_rating(model, j, z, u, False) + rng.normal(0, JUDGE_NOISE, n))
        >= 4
        for j, judge in enumerate(JUDGES)
    }
    truth = {"human-human": kappa(person[0], person[1])}
    for judge in JUDGES:
        truth[f"judge-human ({judge})"] = kappa(said_yes[judge], person[0])
    pairs = [(a, b) for k, a in enumerate(JUDGES) for b in JUDGES[k + 1 :]]
    for a, b in pairs:
        truth[f"judge-judge ({a}, {b})"] = kappa(said_yes[a], said_yes[b])
    truth["judge-judge"] = float(np.mean([truth[f"judge-judge ({a}, {b})"] for a, b in pairs]))
    return truth


def kappa(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's kappa of two yes/no raters."""
    agree, pa, pb = np.mean(a == b), a.mean(), b.mean()
    chance = pa * pb + (1 - pa) * (1 - pb)
    return float((agree - chance) / (1 - chance))


def to_likert_array(values: np.ndarray) -> np.ndarray:
    return np.asarray(np.clip(np.round(values), 1, 5))


def expected_rating(value: np.ndarray) -> np.ndarray:
    """E[round(clip(value + noise, 1, 5))] for normal noise, exactly."""
    steps = np.arange(1, 5) + 0.5
    cdf = norm.cdf((value[:, None] - steps[None, :]) / JUDGE_NOISE)
    return np.asarray(1.0 + cdf.sum(axis=1))


def truth_mention_effect(stage: Stage, items: np.ndarray) -> float:
    """The expected change of the judge's rating when the mention is removed, on ``items``."""
    model = MODELS[stage.name]
    with_it = np.array([latent_rating(model, 0, stage.z[i], stage.u[i], True) for i in items])
    without = with_it - MENTION_BONUS
    return float(np.mean(expected_rating(without) - expected_rating(with_it)))


# ---------------------------------------------------------------- what judgecal does
def agreement_section(stage: Stage) -> None:
    labelled = JudgmentSet(records(stage, JUDGES[0])[:N_LABELLED], scale=SCALE)
    others = {
        judge: JudgmentSet(records(stage, judge)[:N_LABELLED], scale=SCALE) for judge in JUDGES[1:]
    }
    report = agreement_report(
        labelled, judges=others, judge_name=JUDGES[0], judge_cut=4, n_resamples=0
    )
    truth = truth_kappas(stage.name)
    table = report.stages[stage.name]
    print(f"\n## Agreement on {stage.name} ({N_LABELLED} items, 3 people, 3 LLM judges)\n")
    print("| comparison | Cohen's kappa (judgecal, this sample) | population (truth) |")
    print("| --- | ---: | ---: |")
    for row in table.comparisons:
        value = row.cohen_kappa.value
        shown = "n/a" if value is None else f"{value:.2f}"
        expected = truth.get(row.comparison)
        print(f"| {row.comparison} | {shown} | {'' if expected is None else f'{expected:.2f}'} |")
    people = float(np.mean(stage.ratings))
    rates = ", ".join(f"{j} {np.mean(stage.scores[j][:N_LABELLED] >= 4):.0%}" for j in JUDGES)
    print(f"\nsays relevant: people {people:.0%}; {rates}")


def calibration_section(stages: dict[str, Stage]) -> BayesianCalibrator:
    """One Bayesian calibrator over the three stages (partial pooling), on 100 labels each."""
    scores, y, stage_names = [], [], []
    for stage in stages.values():
        scores.append(stage.scores[JUDGES[0]][:N_LABELLED])
        y.append(np.mean(stage.ratings, axis=1))
        stage_names += [stage.name] * N_LABELLED
    calibrator = BayesianCalibrator(score_range=(1, 5), method="laplace", random_state=0)
    calibrator.fit(
        np.concatenate(scores),
        np.concatenate(y),
        np.full(len(stage_names), float(N_RATERS)),
        stages=stage_names,
    )
    print(
        f"\n## Calibration of {JUDGES[0]}: P(a person says yes | judge score), pooled over stages\n"
    )
    print("| stage | mean abs. error vs truth: raw judge | judgecal |")
    print("| --- | ---: | ---: |")
    for stage in stages.values():
        score = stage.scores[JUDGES[0]]
        calibrated = calibrator.predict_agreement(score, stages=stage.name)
        raw = SCALE.to_unit(score)
        truth = _truth_given_score(stage, score)
        print(
            f"| {stage.name} | {np.mean(np.abs(raw - truth)):.3f} | "
            f"{np.mean(np.abs(calibrated - truth)):.3f} |"
        )
    return calibrator


def _truth_given_score(stage: Stage, score: np.ndarray) -> np.ndarray:
    """P(a person says yes | this judge score, stage), from a large draw of the same model."""
    rng = np.random.default_rng(1)
    model, n = MODELS[stage.name], 400_000
    z, u = rng.normal(size=n), rng.normal(size=n)
    mention = rng.random(n) < model.mention_share
    value = latent_rating(model, 0, z, u, False) + MENTION_BONUS * mention
    big = to_likert_array(value + rng.normal(0, JUDGE_NOISE, n))
    p = expit(model.human_a + model.human_b * z)
    by_score = {s: float(p[big == s].mean()) for s in np.unique(big)}
    return np.array([by_score[s] for s in score])


def rates_section(stages: dict[str, Stage]) -> None:
    """The human rate per stage from 100 labels each, beside the raw judge and the truth."""
    everything = JudgmentSet(
        [j for stage in stages.values() for j in records(stage, JUDGES[0])], scale=SCALE
    )
    estimate = estimate_rate(
        everything,
        calibrator=BayesianCalibrator(score_range=(1, 5), method="laplace", random_state=0),
    )
    print(f"\n## Human rates per stage ({N_LABELLED} labelled items each, 90% intervals)\n")
    questions = {
        "extraction": "attribute supported",
        "selection": "attribute relevant",
        "generation": "personalized NO better than generic",
    }
    print("raw judge: the share of items it rates 4 or 5; judgecal: prediction-powered inference")
    print("on the calibrated judge (cross-fitted), strata = stages; truth: the simulated people.\n")
    print("| stage | question | raw judge says | judgecal | truth |")
    print("| --- | --- | ---: | --- | ---: |")
    for name, stage in stages.items():
        part = estimate.strata[name]
        raw = float(np.mean(stage.scores[JUDGES[0]] >= 4))
        value, low, high, truth = part.estimate, part.low, part.high, float(stage.p_human.mean())
        if name == "generation":  # report the share that is no better
            raw, value, low, high, truth = 1 - raw, 1 - value, 1 - high, 1 - low, 1 - truth
        print(
            f"| {name} | {questions[name]} | {raw:.1%} | "
            f"{value:.1%} [{low:.1%}, {high:.1%}] | truth {truth:.1%} |"
        )


def probe_section(stage: Stage) -> None:
    """Remove the attribute's mention from responses that name it; watch the judge move."""
    items = np.flatnonzero(stage.mention)[:200]
    texts = [stage.texts[i] for i in items]
    judge = CalibratedJudge(make_judge(stage, 0), scale=SCALE)
    report = probe_bias(
        judge,
        texts,
        partial(remove_mentions, unit="sentence"),
        attributes=[[stage.attribute[i]] for i in items],
        stages="generation",
        per_attribute=False,
        n_resamples=1000,
        n_permutations=999,
        seed=0,
    )
    effect = report.effects[0]
    truth = truth_mention_effect(stage, items)
    print(f"\n## Mention probe on {len(texts)} personalized responses ({JUDGES[0]})\n")
    print(
        "removing the attribute's mention changes the judge's rating by "
        f"{effect.estimate:+.2f} [{effect.low:+.2f}, {effect.high:+.2f}] | truth {truth:+.2f}; "
        "people: no change (they ignore a bare mention)"
    )


def main() -> None:
    rng = np.random.default_rng(SEED)
    stages = {name: simulate_stage(name, rng) for name in STAGES}
    print("# The personalization pipeline: raw LLM judge vs judgecal vs the simulated truth")
    agreement_section(stages["selection"])
    calibration_section(stages)
    rates_section(stages)
    probe_section(stages["generation"])


if __name__ == "__main__":
    main()
