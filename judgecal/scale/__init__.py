"""Beyond one machine: calibrators and estimates over partitioned tables (Dask, Spark).

A fitted calibrator travels to workers as its JSON document
(:func:`judgecal.persist.dumps`), never as a pickle of user code; estimates
combine per-partition sufficient statistics
(:mod:`judgecal.estimate.sufficient`), so a cluster gives the in-memory answer.

:mod:`judgecal.scale.partitions` works on one pandas partition (usable from
Dask's ``map_partitions`` or Spark's ``mapInPandas``); :mod:`judgecal.scale.frames`
holds the Dask entry points and needs the extra ``pip install 'judgecal[dask]'``.
Importing this package does not import Dask.
"""

from __future__ import annotations

from judgecal.scale.frames import (
    CountAgreement,
    agreement_counts,
    apply_calibrator,
    estimate_difference,
    estimate_rate,
    judgment_frame,
    ratings_frame,
)

__all__ = [
    "CountAgreement",
    "agreement_counts",
    "apply_calibrator",
    "estimate_difference",
    "estimate_rate",
    "judgment_frame",
    "ratings_frame",
]
