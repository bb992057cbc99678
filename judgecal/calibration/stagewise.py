"""Former home of the stagewise calibrators; the names now live in their own modules.

:mod:`judgecal.calibration.base` (the base, stage routing), :mod:`.isotonic` and
:mod:`.logistic`. This module only re-exports them for code written against
judgecal 0.1; new code imports from the modules above or from ``judgecal``.
"""

from __future__ import annotations

from judgecal.calibration.base import (
    StagewiseCalibrator,
    State,
    fit_stages,
    route_stages,
    sigmoid,
    stage_groups,
)
from judgecal.calibration.isotonic import IsotonicCalibrator
from judgecal.calibration.logistic import (
    LogisticCalibrator,
    fit_logistic_design,
    fit_logistic_map,
)

_groups = stage_groups
_sigmoid = sigmoid

__all__ = [
    "IsotonicCalibrator",
    "LogisticCalibrator",
    "StagewiseCalibrator",
    "State",
    "fit_logistic_design",
    "fit_logistic_map",
    "fit_stages",
    "route_stages",
]
