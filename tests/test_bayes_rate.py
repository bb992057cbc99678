"""``estimate_rate(method="bayes")`` is offered only where its intervals were measured to cover."""

from __future__ import annotations

import numpy as np
import pytest

from judgecal._exceptions import InputError
from judgecal.estimate import estimate_rate
from judgecal.records.core import JudgmentSet
from judgecal.records.datasets import load_hanna, load_pandalm


def _hidden(n_per: int, seed: int = 0) -> JudgmentSet:
    """PandaLM with ``n_per`` labelled comparisons per pairing (stage), the rest unlabelled."""
    js = load_pandalm("gpt35", with_texts=False)
    rng = np.random.default_rng(seed)
    st = js.stages()
    keep = np.concatenate(
        [rng.choice(np.flatnonzero(st == s), n_per, replace=False) for s in np.unique(st)]
    )
    mask = np.zeros(len(js), dtype=bool)
    mask[keep] = True
    return JudgmentSet(
        [j if mask[i] else j.model_copy(update={"ratings": ()}) for i, j in enumerate(js)],
        scale=js.scale,
    )


def test_few_labels_per_stratum_are_refused_with_the_measured_numbers() -> None:
    hidden = _hidden(10)
    with pytest.raises(InputError) as err:
        estimate_rate(hidden, method="bayes")
    assert err.value.parameter == "method"
    message = str(err.value)
    assert "0.59" in message and "100 labels" in message and "10 labels" in message
    # the same labels as one stratum, or the default estimator, are offered
    one = estimate_rate(hidden, method="bayes", strata=None)
    assert one.low < one.estimate < one.high and not one.strata
    assert estimate_rate(hidden).n_labelled == 100


def test_enough_labels_per_stratum_are_offered() -> None:
    with pytest.raises(InputError, match="30 labels in stratum"):
        estimate_rate(_hidden(30), method="bayes")
    js = load_hanna(criteria=("Coherence", "Relevance"))
    rng = np.random.default_rng(1)
    st = js.stages()
    keep = set(
        np.concatenate([rng.choice(np.flatnonzero(st == s), 100, replace=False) for s in set(st)])
    )
    hidden = JudgmentSet(
        [j if i in keep else j.model_copy(update={"ratings": ()}) for i, j in enumerate(js)],
        scale=js.scale,
    )
    r = estimate_rate(hidden, method="bayes", threshold=4)
    assert set(r.strata) == {"Coherence", "Relevance"} and r.low < r.estimate < r.high
