"""Validation of a saved Bayesian calibrator's state (what :func:`judgecal.load` reads).

A state that ``fit`` could not have produced (non-finite or truncated draws,
stages without draws, unordered cut points, an unknown score feature) raises
``ValueError`` with the reason, so an edited or corrupted file never loads and
predicts NaN.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from judgecal._validation import FloatArray
from judgecal.calibration.base import State, check_finite_array, check_finite_number

__all__ = [
    "LEGACY_NEW_STAGE",
    "NewStage",
    "check_header",
    "decode_draws",
    "decode_n_judges",
    "expected_draws",
]

#: The key under which judgecal 0.1 saved the draws of a new stage, among the stage names.
LEGACY_NEW_STAGE = "__new_stage__"
_KIND = "Bayesian"
_KEYS = {
    "binary": ("a", "b"),
    "monotone": ("theta",),
    "flexible": ("theta",),  # binary with link="flexible": per-level logits
    "ordinal": ("a", "b", "cut"),
    "pairwise": ("a", "b", "cut"),
}


class NewStage:
    """The key of the draws for a stage not seen in ``fit``: not a string, so no name collides."""

    _instance: NewStage | None = None

    def __new__(cls) -> NewStage:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NEW_STAGE"

    def __lt__(self, other: object) -> bool:  # sorts after every stage name
        return False

    def __gt__(self, other: object) -> bool:
        return other is not self


def expected_draws(params: dict[str, Any], method: Any) -> int | None:
    """The number of draws ``fit`` stores for these parameters (None when unknown)."""
    draws, chains = params.get("draws"), params.get("chains")
    if not isinstance(draws, int) or not isinstance(chains, int) or draws < 1 or chains < 1:
        return None
    if method == "laplace":
        return draws
    if method == "nuts":
        return math.ceil(draws / chains) * chains
    return None


def decode_n_judges(state: State, kind: str) -> int:
    """The number of judges (score columns): 1 unless a ``binary`` panel saved ``n_judges``."""
    n_judges = state.get("n_judges", 1) if isinstance(state, dict) else 1
    if isinstance(n_judges, bool) or not isinstance(n_judges, int) or n_judges < 1:
        raise ValueError(f"'n_judges' must be a positive integer, got {n_judges!r}")
    if n_judges != 1 and kind != "binary":
        raise ValueError(f"only kind='binary' takes a judge panel, got n_judges={n_judges}")
    return n_judges


def check_header(
    state: State, kind: str, n_judges: int = 1
) -> tuple[list[str], dict[str, int], dict[str, Any], int]:
    """Stages, their counts, the score feature and the number of levels, checked."""
    for key in ("stages", "stage_counts", "feature", "levels", "prior", "diagnostics", "draws"):
        if key not in state:
            raise ValueError(f"a {_KIND} state needs {key!r}")
    stages = state["stages"]
    if (
        not isinstance(stages, list)
        or not stages
        or not all(isinstance(s, str) and s for s in stages)
    ):
        raise ValueError(f"'stages' must be a non-empty list of stage names, got {stages!r}")
    if len(set(stages)) != len(stages):
        raise ValueError("'stages' must not repeat a name")
    counts = state["stage_counts"]
    if not isinstance(counts, dict) or set(counts) != set(stages):
        raise ValueError("'stage_counts' must have one count for every stage in 'stages'")
    if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts.values()):
        raise ValueError("'stage_counts' must be non-negative integers")
    levels = state["levels"]
    want = {"binary": (2, 2), "monotone": (2, 2), "pairwise": (3, 3), "ordinal": (2, 100)}[kind]
    if isinstance(levels, bool) or not isinstance(levels, int) or not want[0] <= levels <= want[1]:
        raise ValueError(f"'levels' must be an integer in {list(want)} for kind={kind!r}")
    if not isinstance(state["prior"], dict) or not isinstance(state["diagnostics"], dict):
        raise ValueError("'prior' and 'diagnostics' must be mappings")
    for key in state["prior"]:
        check_finite_number(state["prior"], key, kind=f"{_KIND} prior")
    return list(stages), dict(counts), _check_feature(state["feature"], n_judges), levels


def _check_feature(feature: Any, n_judges: int) -> dict[str, Any]:
    if not isinstance(feature, dict) or feature.get("type") not in ("logit", "standardized"):
        raise ValueError(f"'feature' must have type 'logit' or 'standardized', got {feature!r}")
    kind = f"{_KIND} feature"
    if feature["type"] == "logit":
        low = check_finite_number(feature, "low", kind=kind)
        high = check_finite_number(feature, "high", kind=kind)
        eps = check_finite_number(feature, "eps", kind=kind, positive=True)
        if not (low < high and eps < 0.5):
            raise ValueError(f"'feature' needs low < high and eps < 0.5, got {feature!r}")
    elif n_judges > 1:
        center = check_finite_array(feature.get("center"), "center", kind=kind, shape=(n_judges,))
        spread = check_finite_array(feature.get("spread"), "spread", kind=kind, shape=(n_judges,))
        if (spread <= 0).any():
            raise ValueError(f"{kind} 'spread' must be positive, got {feature['spread']!r}")
        return {**feature, "center": center.tolist(), "spread": spread.tolist()}
    else:
        check_finite_number(feature, "center", kind=kind)
        check_finite_number(feature, "spread", kind=kind, positive=True)
    return dict(feature)


def decode_draws(
    state: State,
    stages: list[str],
    kind: str,
    levels: int,
    score_levels: FloatArray | None,
    n_draws: int | None,
    n_judges: int = 1,
) -> dict[Any, dict[str, FloatArray]]:
    """The draws per stage plus :class:`NewStage`, every one finite and of one declared size."""
    raw = state["draws"]
    if not isinstance(raw, dict):
        raise ValueError("'draws' must map each stage to its draws")
    raw = dict(raw)
    new = state["new_stage"] if "new_stage" in state else raw.pop(LEGACY_NEW_STAGE, None)
    if new is None:
        raise ValueError("the draws of a new stage are missing")
    if set(raw) != set(stages):
        raise ValueError(
            f"'draws' must hold the stages {sorted(stages)} exactly, got {sorted(raw)}"
        )
    out: dict[Any, dict[str, FloatArray]] = {}
    size = n_draws
    for name, draws in [*((s, raw[s]) for s in stages), (NewStage(), new)]:
        out[name] = _stage_draws(draws, name, kind, levels, score_levels, size, n_judges)
        size = next(iter(out[name].values())).shape[0]
    return out


def _stage_draws(
    draws: Any,
    name: Any,
    kind: str,
    levels: int,
    score_levels: FloatArray | None,
    size: int | None,
    n_judges: int = 1,
) -> dict[str, FloatArray]:
    keys = _KEYS[kind]
    if kind == "ordinal" and isinstance(draws, dict) and "tau_r" in draws:
        keys = (*keys, "tau_r")  # a model with rater offsets
    if not isinstance(draws, dict) or set(draws) != set(keys):
        raise ValueError(f"the draws of stage {name!r} must have exactly {list(keys)}")
    where = f"{_KIND} draws of stage {name!r}"
    out: dict[str, FloatArray] = {}
    for key in keys:
        shape: tuple[int | None, ...] = (size,)
        if key == "cut":
            shape = (size, levels - 1)
        elif key == "theta":
            shape = (size, None if score_levels is None else score_levels.size)
        elif key == "b" and n_judges > 1:
            shape = (size, n_judges)
        arr = check_finite_array(draws[key], key, kind=where, shape=shape)
        if key == "b" and n_judges > 1 and (arr < 0).any():
            raise ValueError(f"{where} 'b' must be non-negative (one monotone slope per judge)")
        if arr.shape[0] < 2:
            raise ValueError(f"{where} {key!r} must hold at least 2 draws, got {arr.shape[0]}")
        ordered = key == "cut" or (key == "theta" and kind == "monotone")
        if ordered and (np.diff(arr, axis=1) < 0).any():
            raise ValueError(f"{where} {key!r} must be non-decreasing along each draw")
        out[key] = arr
        size = arr.shape[0]
    return out


def decode_score_levels(state: State, kind: str) -> FloatArray | None:
    """The judge scale of a ``monotone`` (or flexible-link) model: finite, strictly increasing."""
    if kind not in ("monotone", "flexible"):
        return None
    levels = check_finite_array(
        state.get("score_levels"), "score_levels", kind=_KIND, shape=(None,)
    )
    if levels.size == 0 or (np.diff(levels) <= 0).any():
        raise ValueError("'score_levels' must be non-empty and strictly increasing")
    return levels
