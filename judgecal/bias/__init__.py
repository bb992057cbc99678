"""Surface-feature bias: what a judge rewards that humans do not.

======================================  ==================================================
:mod:`judgecal.bias.ablations`          pure text ablations and a mention detector
:mod:`judgecal.bias.probes`             experimental probes: judge each text and a variant
:mod:`judgecal.bias.observational`      the judge against humans, without variants
:mod:`judgecal.bias.report`             :class:`BiasEffect` rows and the :class:`BiasReport`
:mod:`judgecal.bias.resampling`         bootstrap and permutation helpers they share
======================================  ==================================================

The public names are importable from here as well (``from judgecal.bias import
probe_bias``); each module is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "BiasEffect",
    "BiasReport",
    "feature_regression",
    "human_judge_gap",
    "paired_change",
    "preference_gap",
    "probe_bias",
]

_HOME = {
    "BiasEffect": "judgecal.bias.report",
    "BiasReport": "judgecal.bias.report",
    "feature_regression": "judgecal.bias.observational",
    "human_judge_gap": "judgecal.bias.observational",
    "paired_change": "judgecal.bias.probes",
    "preference_gap": "judgecal.bias.observational",
    "probe_bias": "judgecal.bias.probes",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'judgecal.bias' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from judgecal.bias.observational import feature_regression, human_judge_gap, preference_gap
    from judgecal.bias.probes import paired_change, probe_bias
    from judgecal.bias.report import BiasEffect, BiasReport
