r"""The ``monotone`` kind: posterior draws of the flexible link projected onto monotone curves.

The monotone model is the flexible-link binary model
(:mod:`~judgecal.calibration.bayes.flexible`) whose posterior is pushed through
the projection onto non-decreasing curves: each draw of the per-level logits
:math:`\theta_{j,1..J}` of a stage is replaced by its weighted isotonic regression
(non-decreasing logits are non-decreasing probabilities),

.. math:: \Pi(\theta) = \operatorname*{arg\,min}_{q_1 \le \dots \le q_J}
          \sum_l w_l (q_l - \theta_l)^2,

with :math:`w_l` the stage's labels at level :math:`l` (plus a half, so an
empty level still counts). This is the *projection posterior* of Lin and
Dunson (2014, Biometrika 101, 303-317); Chakraborty and Ghosal (2021, Annals of
Statistics 49, 1011-1028) show that its pointwise credible intervals cover at
least their nominal level asymptotically where the truth is strictly
increasing. Because the unconstrained model is a latent Gaussian model, its
posterior is fitted fast and accurately on any judge scale (nested Laplace),
and PyMC's NUTS on the same model is the reference.
"""

from __future__ import annotations

import numpy as np

from judgecal._validation import FloatArray

__all__ = ["isotonic_rows"]

# Floats one block of the max-min formula may hold (rows x levels x levels).
_BLOCK_FLOATS = 4_000_000


def isotonic_rows(values: FloatArray, weights: FloatArray) -> FloatArray:
    """Weighted isotonic (non-decreasing) regression of every row of ``values``.

    Uses the max-min formula
    :math:`q_i = \\max_{a \\le i} \\min_{b \\ge i} \\bar v_{a..b}` with
    :math:`\\bar v_{a..b}` the weighted mean of levels ``a..b``: O(J^2) per row,
    vectorized over the rows in blocks that bound memory. (scikit-learn's
    ``IsotonicRegression``, which :class:`~judgecal.IsotonicCalibrator` uses, fits
    one curve per call and would add its import to every monotone fit.)

    Parameters
    ----------
    values : (D, J) array
        One curve per row.
    weights : (J,) array
        Positive weight of each level.

    Returns
    -------
    (D, J) array
        The projected curves, non-decreasing along each row.

    Examples
    --------
    >>> isotonic_rows(np.array([[0.1, 0.3, 0.2, 0.6]]), np.ones(4))
    array([[0.1 , 0.25, 0.25, 0.6 ]])
    >>> isotonic_rows(np.array([[0.4, 0.2]]), np.array([3.0, 1.0]))
    array([[0.35, 0.35]])
    """
    D, J = values.shape
    block = max(1, _BLOCK_FLOATS // (J * J))
    out = np.empty_like(values, dtype=np.float64)
    for start in range(0, D, block):
        out[start : start + block] = _isotonic_block(values[start : start + block], weights)
    # the pooled means of one block are computed per level: make equal ones exactly equal
    return np.maximum.accumulate(out, axis=1)


def _isotonic_block(values: FloatArray, weights: FloatArray) -> FloatArray:
    J = values.shape[1]
    cum_w = np.concatenate([[0.0], np.cumsum(weights)])
    cum_vw = np.concatenate(
        [np.zeros((values.shape[0], 1)), np.cumsum(values * weights, axis=1)], axis=1
    )
    upper = np.triu(np.ones((J, J), dtype=bool))  # a <= b
    span_w = cum_w[None, 1:] - cum_w[:-1, None]  # (a, b): weight of levels a..b
    mean = (cum_vw[:, None, 1:] - cum_vw[:, :-1, None]) / np.where(upper, span_w, 1.0)
    mean = np.where(upper[None], mean, np.inf)
    # min over b >= i, for each a: a running minimum from the right along b
    min_right = np.minimum.accumulate(mean[:, :, ::-1], axis=2)[:, :, ::-1]
    # max over a <= i of min_right[a, i]
    out: FloatArray = np.max(np.where(upper[None], min_right, -np.inf), axis=1)
    return out
