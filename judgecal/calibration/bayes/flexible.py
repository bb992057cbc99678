r"""The ``binary`` model with ``link="flexible"`` as a :class:`DenseModel` (numpy only).

Each stage's logit at score level :math:`l` is a parametric backbone plus a
first-order random walk over the levels,

.. math:: \operatorname{logit} p_{j,l} = a_j + \sum_k b_{j,k} f_k(s_l) + r_{j,l},
          \quad r_{j,1} \sim N(0, \tau_r^2),
          \quad r_{j,l} - r_{j,l-1} \sim N(0, \tau_r^2),

with :math:`a_j \sim N(\mu_a, \tau_a^2)` and :math:`b_{j,k} \sim N(\mu_{b,k}, \tau_b^2)`.
The features :math:`f_k` are the calibrator's score feature and, with
``score_range``, also the rescaled score itself, so that a truth logistic in
the raw score is inside the backbone rather than left to the random walk.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from judgecal._validation import FloatArray, IntArray
from judgecal.calibration.base import sigmoid
from judgecal.calibration.bayes.fast_models import _distinct, softplus
from judgecal.calibration.bayes.grid_laplace import DenseModel

__all__ = ["flexible_model", "random_walk_precision", "split_flexible"]


# --------------------------------------------------------------------------------------
# binary with a flexible link: the parametric logistic plus a random walk over score levels
# --------------------------------------------------------------------------------------
class _Flexible:
    """Binomial likelihood of ``a_j + b_j f_l + r_{j,l}`` on distinct (stage, level) cells."""

    def __init__(
        self, lvl: IntArray, f: FloatArray, y: FloatArray, w: FloatArray, g: IntArray, S: int
    ):
        J = int(f.size)
        uniq, weight = _distinct([g.astype(float), lvl.astype(float)], w)
        _, agree = _distinct([g.astype(float), lvl.astype(float)], w * y)
        stage, level = uniq[:, 0].astype(np.int64), uniq[:, 1].astype(np.int64)
        self.S, self.J, self.f, self.weight, self.agree = S, J, f, weight, agree
        design = np.zeros((stage.size, 2 * S + 2 + S * J))
        rows = np.arange(stage.size)
        design[rows, stage] = 1.0
        design[rows, S + stage] = f[level]
        design[rows, 2 * S + 2 + stage * J + level] = 1.0
        self.design = design

    def loglik(self, theta: FloatArray) -> FloatArray:
        eta = theta @ self.design.T
        out: FloatArray = eta @ self.agree - softplus(eta) @ self.weight
        return out

    def derivatives(self, theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        eta = theta @ self.design.T
        p = sigmoid(eta)
        grad = (self.agree - self.weight * p) @ self.design
        curv = self.weight * p * (1.0 - p)
        hess = -np.einsum("rp,gr,rq->gpq", self.design, curv, self.design)
        return eta @ self.agree - softplus(eta) @ self.weight, grad, hess

    def logits(self, th: FloatArray) -> FloatArray:
        """Per-stage logits at every level, (draws, S, J)."""
        S, J = self.S, self.J
        a, b = th[:, :S], th[:, S : 2 * S]
        walk = th[:, 2 * S + 2 :].reshape(-1, S, J)
        out: FloatArray = a[:, :, None] + b[:, :, None] * self.f[None, None, :] + walk
        return out


def random_walk_precision(J: int) -> FloatArray:
    """Precision of a first-order random walk over ``J`` levels started at N(0, 1)."""
    diff = np.diff(np.eye(J), axis=0)
    out: FloatArray = diff.T @ diff
    out[0, 0] += 1.0
    return out


def flexible_model(
    lvl: IntArray,
    f: FloatArray,
    y: FloatArray,
    w: FloatArray,
    g: IntArray,
    S: int,
    prior: dict[str, float],
) -> tuple[DenseModel, _Flexible]:
    """The binary model with a flexible link on score levels with features ``f`` (J,)."""
    lik = _Flexible(lvl, f, y, w, g, S)
    J = int(f.size)
    P = 2 * S + 2 + S * J
    mu_a, mu_b = 2 * S, 2 * S + 1
    center = np.zeros(P)
    center[:S] = center[mu_a] = prior["mu_a"]
    center[S : 2 * S] = center[mu_b] = prior["mu_b"]
    q_fixed = np.zeros((P, P))
    q_fixed[mu_a, mu_a] = 1.0 / prior["sd_a"] ** 2
    q_fixed[mu_b, mu_b] = 1.0 / prior["sd_b"] ** 2
    q_a, q_b, q_r = np.zeros((P, P)), np.zeros((P, P)), np.zeros((P, P))
    rw = random_walk_precision(J)
    for j in range(S):
        for q, first, pooled in ((q_a, j, mu_a), (q_b, S + j, mu_b)):
            e = np.zeros(P)
            e[first], e[pooled] = 1.0, -1.0
            q += np.outer(e, e)
        block = slice(2 * S + 2 + j * J, 2 * S + 2 + (j + 1) * J)
        q_r[block, block] = rw
    model = DenseModel(
        center,
        q_fixed,
        np.stack([q_a, q_b, q_r]),
        np.array([prior["tau_a"], prior["tau_b"], prior["tau_r"]]),
        lik.loglik,
        lik.derivatives,
        center.copy(),
    )
    return model, lik


def split_flexible(post: dict[str, Any], lik: _Flexible) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per-stage logits per level (``theta``: draws, S, J) and population draws."""
    th, S = post["theta"], lik.S
    hyper = {
        "mu_a": th[:, 2 * S].copy(),
        "mu_b": th[:, 2 * S + 1].copy(),
        "tau_a": post["tau"][:, 0].copy(),
        "tau_b": post["tau"][:, 1].copy(),
        "tau_r": post["tau"][:, 2].copy(),
    }
    return {"theta": lik.logits(th)}, hyper
