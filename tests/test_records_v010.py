"""Every public result on the bundled data equals judgecal 0.1.0's.

``tests/fixtures/v0_1_0_results/results.json`` was written by 0.1.0 itself
(``make_results.py`` beside it): record arrays exactly, targets and calibrator
predictions exactly, rate estimates to 1e-12 (floating sums may reorder).
0.1's pairwise ``ratings_long`` codes are stored converted to today's coding.
"""

from __future__ import annotations

import importlib.util
import json
import math
import warnings
from pathlib import Path
from typing import Any

import pytest

import judgecal

HERE = Path(__file__).parent / "fixtures" / "v0_1_0_results"
EXPECTED = json.loads((HERE / "results.json").read_text(encoding="utf-8"))


def _today() -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location("make_results", HERE / "make_results.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    original = module._set_summary

    def summary(js: Any, pairwise: bool) -> dict[str, Any]:
        return original(js, pairwise=False)  # today's ratings_long is already in the vocabulary

    module._set_summary = summary
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # ties="negative", 0.1's name
        return {
            "hanna/ChatGPT_p1": module.hanna(
                judgecal.load_hanna(criteria=("Coherence", "Empathy"))
            ),
            "hanna/Beluga-13B_p2": module.hanna(
                judgecal.load_hanna("Beluga-13B_p2", criteria=("Surprise",))
            ),
            "pandalm/gpt35": module.pandalm(judgecal.load_pandalm(with_texts=False)),
            "pandalm/pandalm7b": module.pandalm(
                judgecal.load_pandalm("pandalm7b", with_texts=False)
            ),
        }


@pytest.fixture(scope="module")
def today() -> dict[str, Any]:
    return _today()


def _differences(old: Any, new: Any, path: str, tol: float) -> list[str]:
    if isinstance(old, dict):
        if not isinstance(new, dict) or set(old) != set(new):
            return [
                f"{path}: keys {sorted(old)} != {sorted(new) if isinstance(new, dict) else new}"
            ]
        return [d for k in old for d in _differences(old[k], new[k], f"{path}.{k}", tol)]
    if isinstance(old, list):
        if not isinstance(new, list) or len(old) != len(new):
            return [f"{path}: length {len(old)} != {len(new) if isinstance(new, list) else new}"]
        out = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            out += _differences(a, b, f"{path}[{i}]", tol)
            if len(out) > 5:
                break
        return out
    if isinstance(old, float) and isinstance(new, int | float) and not isinstance(new, bool):
        if math.isclose(old, new, rel_tol=0, abs_tol=tol):
            return []
        return [f"{path}: {old!r} != {new!r}"]
    return [] if old == new and type(old) is type(new) else [f"{path}: {old!r} != {new!r}"]


@pytest.mark.parametrize("dataset", sorted(EXPECTED))
@pytest.mark.parametrize(
    "part",
    ["n", "item_ids", "stages", "stage_names", "status_counts", "scores", "ratings_long",
     "targets", "calibrators", "features", "meta"],
)  # fmt: skip
def test_records_equal_0_1_0(today: dict[str, Any], dataset: str, part: str) -> None:
    if part not in EXPECTED[dataset]:
        pytest.skip(f"{dataset} has no {part}")
    assert _differences(EXPECTED[dataset][part], today[dataset][part], part, 0.0) == []


@pytest.mark.parametrize("dataset", sorted(EXPECTED))
@pytest.mark.parametrize("part", ["estimate_rate", "agreement"])
def test_estimates_equal_0_1_0(today: dict[str, Any], dataset: str, part: str) -> None:
    assert _differences(EXPECTED[dataset][part], today[dataset][part], part, 1e-12) == []
