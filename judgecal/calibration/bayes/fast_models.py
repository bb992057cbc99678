r"""The ``ordinal``/``pairwise`` model as a :class:`DenseModel` (numpy only).

The same models as :mod:`judgecal.calibration.bayes._pymc_backend` builds for NUTS,
written as a latent Gaussian model for :func:`grid_posterior`:

``ordinal`` / ``pairwise`` (cumulative logit)
    :math:`\theta = (a_{1..S}, b_{1..S}, \mu_b, r_{1..R}, d_{1..K-1})` with
    :math:`a_j \sim N(0, \tau_a^2)`, :math:`b_j \sim N(\mu_b, \tau_b^2)`,
    :math:`\mu_b \sim N(m_b, s_b^2)`, rater offsets :math:`r_i \sim N(0, \tau_r^2)`
    (only when raters are given) and ordered cut points
    :math:`\kappa_1 = d_1`, :math:`\kappa_k = \kappa_{k-1} + e^{d_k}` with
    :math:`\kappa_k \sim N(0, s_\kappa^2)` (PyMC's ordered transform: the
    Jacobian :math:`\sum_{k \ge 2} d_k` is part of the log density).
    :math:`P(Y \ge k) = \sigma(a_j + b_j f + r_i - \kappa_{k-1})`.

The ``monotone`` kind is the flexible link projected
(:mod:`judgecal.calibration.bayes.projection`).

Likelihoods use sufficient statistics per distinct row (stage, score, label,
rater), so a discrete judge scale costs the same for 500 or 10^5 labels.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from judgecal._validation import FloatArray, IntArray
from judgecal.calibration.base import sigmoid
from judgecal.calibration.bayes.grid_laplace import DenseModel

__all__ = ["ordinal_model", "split_ordinal"]


def softplus(t: Any) -> Any:
    """``log(1 + exp(t))``, computed stably."""
    return np.logaddexp(0.0, t)


def _distinct(columns: list[FloatArray], w: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Distinct rows of the stacked columns and their total weights."""
    key = np.column_stack(columns)
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    weight = np.bincount(inv.ravel(), weights=w, minlength=uniq.shape[0])
    return uniq, np.asarray(weight, dtype=np.float64)


# --------------------------------------------------------------------------------------
# ordinal / pairwise
# --------------------------------------------------------------------------------------
class _Ordinal:
    """Cumulative-logit likelihood on distinct rows, with its gradient and Hessian."""

    def __init__(
        self,
        f: FloatArray,
        y: FloatArray,
        w: FloatArray,
        g: IntArray,
        rater: IntArray,
        sizes: tuple[int, int, int],
        sd_cut: float,
    ) -> None:
        S, R, K = sizes
        uniq, self.weight = _distinct([g.astype(float), f, y, rater.astype(float)], w)
        stage, feat = uniq[:, 0].astype(np.int64), uniq[:, 1]
        level, rt = uniq[:, 2].astype(np.int64), uniq[:, 3].astype(np.int64)
        self.S, self.R, self.K, self.sd_cut = S, R, K, sd_cut
        self.off = 2 * S + 1 + R  # first cut coordinate
        P = self.off + K - 1
        rows = np.arange(uniq.shape[0])
        eta_map = np.zeros((rows.size, P))
        eta_map[rows, stage] = 1.0
        eta_map[rows, S + stage] = feat
        if R:
            eta_map[rows, 2 * S + 1 + rt] = 1.0
        self.has_lo, self.has_hi = level >= 2, level <= K - 1
        self.lo_idx = np.clip(level - 2, 0, K - 2)
        self.hi_idx = np.clip(level - 1, 0, K - 2)
        self.u_map, self.v_map = eta_map.copy(), eta_map.copy()
        self.u_map[rows[self.has_lo], self.off + self.lo_idx[self.has_lo]] = -1.0
        self.v_map[rows[self.has_hi], self.off + self.hi_idx[self.has_hi]] = -1.0
        self.eta_map = eta_map

    def cuts(self, theta: FloatArray) -> FloatArray:
        d = theta[:, self.off :]
        out: FloatArray = np.cumsum(np.concatenate([d[:, :1], np.exp(d[:, 1:])], axis=1), axis=1)
        return out

    def _uv(self, theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        cut = self.cuts(theta)
        eta = theta[:, : self.off] @ self.eta_map[:, : self.off].T
        u = np.where(self.has_lo, eta - cut[:, self.lo_idx], 0.0)
        v = np.where(self.has_hi, eta - cut[:, self.hi_idx], 0.0)
        return u, v, cut

    def _log_p(self, u: FloatArray, v: FloatArray) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            mid = u + np.log(-np.expm1(np.minimum(v - u, -1e-300))) - softplus(u) - softplus(v)
        out: FloatArray = np.where(
            self.has_lo, np.where(self.has_hi, mid, -softplus(-u)), -softplus(v)
        )
        return out

    def _prior(self, theta: FloatArray, cut: FloatArray) -> FloatArray:
        out: FloatArray = -0.5 * np.sum(cut**2, axis=1) / self.sd_cut**2 + np.sum(
            theta[:, self.off + 1 :], axis=1
        )
        return out

    def loglik(self, theta: FloatArray) -> FloatArray:
        u, v, cut = self._uv(theta)
        return self._log_p(u, v) @ self.weight + self._prior(theta, cut)  # type: ignore[no-any-return]

    def derivatives(self, theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        u, v, cut = self._uv(theta)
        log_p = self._log_p(u, v)
        gu = np.where(self.has_lo, np.exp(-softplus(-u) - softplus(u) - log_p), 0.0)
        gv = np.where(self.has_hi, -np.exp(-softplus(-v) - softplus(v) - log_p), 0.0)
        huu = gu * (1.0 - 2.0 * sigmoid(u)) - gu**2
        hvv = gv * (1.0 - 2.0 * sigmoid(v)) - gv**2
        huv = -gu * gv
        W = self.weight
        grad = (W * gu) @ self.u_map + (W * gv) @ self.v_map
        um, vm = self.u_map, self.v_map
        cross = (um.T[None] * (W * huv)[:, None, :]) @ vm
        hess = (
            (um.T[None] * (W * huu)[:, None, :]) @ um
            + (vm.T[None] * (W * hvv)[:, None, :]) @ vm
            + cross
            + np.transpose(cross, (0, 2, 1))
        )
        c = slice(self.off, None)
        grad[:, c] -= cut / self.sd_cut**2
        hess[:, c, c] -= np.eye(self.K - 1) / self.sd_cut**2
        value = log_p @ W + self._prior(theta, cut)
        return value, *self._to_unconstrained(theta, grad, hess)

    def _to_unconstrained(
        self, theta: FloatArray, grad: FloatArray, hess: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Chain rule from the cut points to their unconstrained coordinates ``d``."""
        G, off, K1 = theta.shape[0], self.off, self.K - 1
        ed = np.exp(theta[:, off:])
        jac = (
            np.tril(np.ones((K1, K1)))[None]
            * np.concatenate([np.ones((G, 1)), ed[:, 1:]], axis=1)[:, None, :]
        )
        gc = grad[:, off:].copy()
        grad[:, off:] = np.einsum("gkm,gk->gm", jac, gc)
        grad[:, off + 1 :] += 1.0  # the ordered transform's Jacobian
        hess[:, :off, off:] = hess[:, :off, off:] @ jac
        hess[:, off:, :off] = np.transpose(hess[:, :off, off:], (0, 2, 1))
        inner = np.transpose(jac, (0, 2, 1)) @ hess[:, off:, off:] @ jac
        tail = np.cumsum(gc[:, ::-1], axis=1)[:, ::-1]  # sum_{k >= m} dL/dc_k
        idx = np.arange(1, K1)
        inner[:, idx, idx] += ed[:, 1:] * tail[:, 1:]
        hess[:, off:, off:] = inner
        return grad, hess


def ordinal_model(
    f: FloatArray,
    y: FloatArray,
    w: FloatArray,
    g: IntArray,
    n_stages: int,
    levels: int,
    prior: dict[str, float],
    rater: IntArray | None = None,
    n_raters: int = 0,
) -> tuple[DenseModel, _Ordinal]:
    """The cumulative-logit model of ``y`` in ``1..levels`` (see the module notes)."""
    S, R, K = n_stages, n_raters, levels
    lik = _Ordinal(
        f,
        y,
        w,
        g,
        np.zeros(f.size, np.int64) if rater is None else rater,
        (S, R, K),
        prior["sd_cut"],
    )
    P = lik.off + K - 1
    center = np.zeros(P)
    center[S : 2 * S + 1] = prior["mu_b"]
    q_fixed = np.zeros((P, P))
    q_fixed[2 * S, 2 * S] = 1.0 / prior["sd_b"] ** 2
    scales = [np.diag(np.r_[np.ones(S), np.zeros(P - S)])]
    q_b = np.zeros((P, P))
    for j in range(S):
        e = np.zeros(P)
        e[S + j], e[2 * S] = 1.0, -1.0
        q_b += np.outer(e, e)
    scales.append(q_b)
    priors = [prior["tau_a"], prior["tau_b"]]
    if R:
        q_r = np.zeros((P, P))
        idx = np.arange(2 * S + 1, 2 * S + 1 + R)
        q_r[idx, idx] = 1.0
        scales.append(q_r)
        priors.append(prior["tau_r"])
    start = center.copy()
    start[lik.off :] = np.r_[-1.5, np.full(K - 2, math.log(3.0 / max(1, K - 2)))]
    gaussian = np.arange(P) < lik.off
    model = DenseModel(
        center,
        q_fixed,
        np.stack(scales),
        np.array(priors),
        lik.loglik,
        lik.derivatives,
        start,
        gaussian,
    )
    return model, lik


def split_ordinal(post: dict[str, Any], lik: _Ordinal) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per-stage draws (``a``, ``b``, ``cut``) and population draws from ``grid_posterior``."""
    th, S, R = post["theta"], lik.S, lik.R
    draws = {"a": th[:, :S].copy(), "b": th[:, S : 2 * S].copy(), "cut": lik.cuts(th)}
    hyper: dict[str, Any] = {
        "mu_b": th[:, 2 * S].copy(),
        "tau_a": post["tau"][:, 0].copy(),
        "tau_b": post["tau"][:, 1].copy(),
    }
    if R:
        hyper["rater"] = th[:, 2 * S + 1 : 2 * S + 1 + R].copy()
        hyper["tau_r"] = post["tau"][:, 2].copy()
    return draws, hyper
