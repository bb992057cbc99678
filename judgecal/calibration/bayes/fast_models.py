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

__all__ = ["cut_points", "new_stage_cuts", "ordinal_model", "split_ordinal"]


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
# Parameter points x distinct rows evaluated at once by the ordinal likelihood (bounds memory
# when the judge's scores are continuous and every row is distinct).
_ROW_BUDGET = 1_000_000

#: Prior of the global log-gaps between neighbouring cut points: N(log 1.5, 1), so a gap
#: between 0.2 and 11 logits is within 2 sd.
GAP_MEAN, GAP_SD = math.log(1.5), 1.0


class _Ordinal:
    r"""Cumulative-logit likelihood on distinct rows, with its gradient and Hessian.

    Each stage has its own cut points, :math:`\kappa_{j,1} = d_1`,
    :math:`\kappa_{j,k} = \kappa_{j,k-1} + e^{g_{j,k}}`: the first is shared (the stage
    intercepts ``a_j`` shift a stage), the log-gaps are the stage's. Derivatives are
    taken in the "expanded" coordinates (``a, b, mu_b, raters``, then every stage's
    cut points) and carried to ``(d_1, g)`` by the chain rule.
    """

    def __init__(
        self,
        f: FloatArray,
        y: FloatArray,
        w: FloatArray,
        g: IntArray,
        rater: IntArray,
        sizes: tuple[int, int, int],
    ) -> None:
        S, R, K = sizes
        uniq, self.weight = _distinct([g.astype(float), f, y, rater.astype(float)], w)
        stage, feat = uniq[:, 0].astype(np.int64), uniq[:, 1]
        level, rt = uniq[:, 2].astype(np.int64), uniq[:, 3].astype(np.int64)
        self.S, self.R, self.K = S, R, K
        self.off = 2 * S + 1 + R  # first cut coordinate
        K1 = K - 1
        P_exp = self.off + S * K1
        rows = np.arange(uniq.shape[0])
        eta_map = np.zeros((rows.size, P_exp))
        eta_map[rows, stage] = 1.0
        eta_map[rows, S + stage] = feat
        if R:
            eta_map[rows, 2 * S + 1 + rt] = 1.0
        self.has_lo, self.has_hi = level >= 2, level <= K - 1
        self.lo_idx = stage * K1 + np.clip(level - 2, 0, K - 2)
        self.hi_idx = stage * K1 + np.clip(level - 1, 0, K - 2)
        self.u_map, self.v_map = eta_map.copy(), eta_map.copy()
        self.u_map[rows[self.has_lo], self.off + self.lo_idx[self.has_lo]] = -1.0
        self.v_map[rows[self.has_hi], self.off + self.hi_idx[self.has_hi]] = -1.0
        self.eta_map = eta_map
        cols = [stage, S + stage] + ([2 * S + 1 + rt] if R else [])
        vals = [np.ones(rows.size), feat] + ([np.ones(rows.size)] if R else [])
        self._pairs = _HessianPairs(
            np.stack(cols, 1), np.stack(vals, 1), self.off + self.lo_idx, self.off + self.hi_idx
        )
        self.P_exp = P_exp

    @property
    def n_params(self) -> int:
        """``a, b, mu_b, raters, d_1``, the stages' log-gaps and their means."""
        return self.off + 1 + (self.S + 1) * (self.K - 2)

    def _gaps(self, theta: FloatArray) -> FloatArray:
        """The stages' log-gaps, (G, S, K - 2)."""
        n = self.S * (self.K - 2)
        return theta[:, self.off + 1 : self.off + 1 + n].reshape(theta.shape[0], self.S, self.K - 2)

    def cuts(self, theta: FloatArray) -> FloatArray:
        """Every stage's cut points, (G, S, K - 1)."""
        with np.errstate(over="ignore"):  # a Newton trial step far out: no posterior mass
            return cut_points(theta[:, self.off, None], self._gaps(theta))

    def _uv(self, theta: FloatArray) -> tuple[FloatArray, FloatArray]:
        cut = self.cuts(theta).reshape(theta.shape[0], -1)
        eta = theta[:, : self.off] @ self.eta_map[:, : self.off].T
        u = np.where(self.has_lo, eta - cut[:, self.lo_idx], 0.0)
        v = np.where(self.has_hi, eta - cut[:, self.hi_idx], 0.0)
        return u, v

    def _log_p(self, u: FloatArray, v: FloatArray) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            mid = u + np.log(-np.expm1(np.minimum(v - u, -1e-300))) - softplus(u) - softplus(v)
        out: FloatArray = np.where(
            self.has_lo, np.where(self.has_hi, mid, -softplus(-u)), -softplus(v)
        )
        return out

    def _blocks(self, n: int) -> list[slice]:
        """Blocks of parameter points whose (points x distinct rows) arrays stay small."""
        step = max(1, _ROW_BUDGET // max(1, self.weight.size))
        return [slice(i, i + step) for i in range(0, n, step)]

    def loglik(self, theta: FloatArray) -> FloatArray:
        return np.concatenate([self._loglik(theta[b]) for b in self._blocks(theta.shape[0])])

    def _loglik(self, theta: FloatArray) -> FloatArray:
        u, v = self._uv(theta)
        with np.errstate(over="ignore", invalid="ignore"):
            out = self._log_p(u, v) @ self.weight
        return np.where(np.isfinite(out), out, -np.inf)  # type: ignore[no-any-return]

    def derivatives(self, theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        parts = [self._derivatives(theta[b]) for b in self._blocks(theta.shape[0])]
        value, grad, hess = (np.concatenate([p[k] for p in parts]) for k in range(3))
        return value, grad, hess

    def _derivatives(self, theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        u, v = self._uv(theta)
        log_p = self._log_p(u, v)
        gu = np.where(self.has_lo, np.exp(-softplus(-u) - softplus(u) - log_p), 0.0)
        gv = np.where(self.has_hi, -np.exp(-softplus(-v) - softplus(v) - log_p), 0.0)
        huu = gu * (1.0 - 2.0 * sigmoid(u)) - gu**2
        hvv = gv * (1.0 - 2.0 * sigmoid(v)) - gv**2
        huv = -gu * gv
        W = self.weight
        grad = (W * gu) @ self.u_map + (W * gv) @ self.v_map
        hess = self._pairs.hessian(W * huu, W * hvv, W * huv, self.P_exp)
        return log_p @ W, *self._to_unconstrained(theta, grad, hess)

    def _jacobian(self, theta: FloatArray) -> FloatArray:
        """d(expanded coordinates) / d(theta), (G, P_exp, P)."""
        G, off, S, K1 = theta.shape[0], self.off, self.S, self.K - 1
        jac = np.zeros((G, off + S * K1, self.n_params))
        jac[:, np.arange(off), np.arange(off)] = 1.0
        jac[:, off:, off] = 1.0  # every cut moves with d_1
        steps = np.exp(self._gaps(theta))  # (G, S, K - 2)
        for j in range(S):
            for k in range(1, K1):  # cut k of stage j = d_1 + sum of its first k gaps
                cols = off + 1 + j * (K1 - 1) + np.arange(k)
                jac[:, off + j * K1 + k, cols] = steps[:, j, :k]
        return jac

    def _to_unconstrained(
        self, theta: FloatArray, grad: FloatArray, hess: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Chain rule from the expanded coordinates to ``theta``."""
        jac = self._jacobian(theta)
        grad_t = np.einsum("gep,ge->gp", jac, grad)
        hess_t = np.transpose(jac, (0, 2, 1)) @ hess @ jac
        # second derivative of cut k in its gap m <= k is the step itself
        K1, off = self.K - 1, self.off
        g_cut = grad[:, off:].reshape(-1, self.S, K1)
        tail = np.cumsum(g_cut[:, :, ::-1], axis=2)[:, :, ::-1][:, :, 1:]  # sum over cuts >= m
        curv = (np.exp(self._gaps(theta)) * tail).reshape(theta.shape[0], -1)
        idx = off + 1 + np.arange(curv.shape[1])
        hess_t[:, idx, idx] += curv
        grad_out: FloatArray = grad_t
        return grad_out, hess_t


class _HessianPairs:
    """The Hessian of a sum of per-row terms in ``u = e - c_lo`` and ``v = e - c_hi``.

    Row ``r`` touches a few coordinates: ``e`` (stage intercept, slope times the
    feature, rater) and one cut point on each side. Its Hessian contribution is a
    handful of scalar products, accumulated with one ``bincount`` instead of dense
    (P x rows) @ (rows x P) products per grid point.
    """

    def __init__(self, e_cols: IntArray, e_vals: FloatArray, lo: IntArray, hi: IntArray):
        R, n_e = e_cols.shape
        targets, mults, kinds = [], [], []
        # kinds: 0 e-e (huu + hvv + 2 huv), 1 e-lo -(huu + huv), 2 e-hi -(hvv + huv),
        # 3 lo-lo huu, 4 hi-hi hvv, 5 lo-hi huv
        for m in range(n_e):
            for k in range(n_e):
                targets.append((e_cols[:, m], e_cols[:, k]))
                mults.append(e_vals[:, m] * e_vals[:, k])
                kinds.append(0)
            for side, kind in ((lo, 1), (hi, 2)):
                targets += [(e_cols[:, m], side), (side, e_cols[:, m])]
                mults += [e_vals[:, m], e_vals[:, m]]
                kinds += [kind, kind]
        targets += [(lo, lo), (hi, hi), (lo, hi), (hi, lo)]
        mults += [np.ones(R)] * 4
        kinds += [3, 4, 5, 5]
        self.mult = np.stack(mults, 1)  # (R, pairs)
        self.kinds = np.array(kinds)
        self.targets = targets

    def hessian(self, huu: FloatArray, hvv: FloatArray, huv: FloatArray, P: int) -> FloatArray:
        """(G, P, P) from the weighted second derivatives per row, each (G, R)."""
        coef = np.stack(
            [huu + hvv + 2 * huv, -(huu + huv), -(hvv + huv), huu, hvv, huv], axis=-1
        )  # (G, R, 6)
        vals = coef[:, :, self.kinds] * self.mult  # (G, R, pairs)
        flat = np.stack([r * P + c for r, c in self.targets], 1)  # (R, pairs)
        G = huu.shape[0]
        index = (np.arange(G)[:, None, None] * (P * P) + flat[None]).ravel()
        out = np.bincount(index, weights=vals.ravel(), minlength=G * P * P)
        return np.asarray(out, dtype=np.float64).reshape(G, P, P)


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
    lik = _Ordinal(f, y, w, g, np.zeros(f.size, np.int64) if rater is None else rater, (S, R, K))
    P, off, n_gap = lik.n_params, lik.off, S * (K - 2)
    center = np.zeros(P)
    center[S : 2 * S + 1] = prior["mu_b"]
    center[off + 1 :] = GAP_MEAN
    q_fixed = np.zeros((P, P))
    q_fixed[2 * S, 2 * S] = 1.0 / prior["sd_b"] ** 2
    q_fixed[off, off] = 1.0 / prior["sd_cut"] ** 2
    mean_idx = off + 1 + n_gap + np.arange(K - 2)
    q_fixed[mean_idx, mean_idx] = 1.0 / GAP_SD**2
    scales = [np.diag(np.r_[np.ones(S), np.zeros(P - S)])]
    scales.append(_pooled(P, S + np.arange(S), np.full(S, 2 * S)))
    priors = [prior["tau_a"], prior["tau_b"]]
    if R:
        q_r = np.zeros((P, P))
        idx = np.arange(2 * S + 1, 2 * S + 1 + R)
        q_r[idx, idx] = 1.0
        scales.append(q_r)
        priors.append(prior["tau_r"])
    if K > 2:
        gap_idx = off + 1 + np.arange(n_gap)
        scales.append(_pooled(P, gap_idx, np.tile(mean_idx, S)))
        priors.append(prior["tau_cut"])
    start = center.copy()
    start[off] = -1.5
    model = DenseModel(
        center, q_fixed, np.stack(scales), np.array(priors), lik.loglik, lik.derivatives, start
    )
    return model, lik


def _pooled(P: int, members: IntArray, means: IntArray) -> FloatArray:
    """Precision structure of ``theta[members] ~ N(theta[means], tau^2)``, one pair each."""
    out = np.zeros((P, P))
    for m, c in zip(members.tolist(), means.tolist(), strict=True):
        e = np.zeros(P)
        e[m], e[c] = 1.0, -1.0
        out += np.outer(e, e)
    return out


def split_ordinal(post: dict[str, Any], lik: _Ordinal) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per-stage draws (``a``, ``b``: (D, S); ``cut``: (D, S, K - 1)) and population draws."""
    th, S, R, K = post["theta"], lik.S, lik.R, lik.K
    draws = {"a": th[:, :S].copy(), "b": th[:, S : 2 * S].copy(), "cut": lik.cuts(th)}
    hyper: dict[str, Any] = {
        "mu_b": th[:, 2 * S].copy(),
        "tau_a": post["tau"][:, 0].copy(),
        "tau_b": post["tau"][:, 1].copy(),
        "d1": th[:, lik.off].copy(),
        "gap_mean": th[:, lik.off + 1 + S * (K - 2) :].copy(),
        "tau_cut": post["tau"][:, -1].copy() if K > 2 else np.zeros(th.shape[0]),
    }
    if R:
        hyper["rater"] = th[:, 2 * S + 1 : 2 * S + 1 + R].copy()
        hyper["tau_r"] = post["tau"][:, 2].copy()
    return draws, hyper


def new_stage_cuts(hyper: dict[str, Any], rng: np.random.Generator) -> FloatArray:
    """Cut points of a stage not seen in fit, (D, K - 1), from the population draws."""
    d1 = np.asarray(hyper["d1"])
    if "gap_mean" not in hyper:  # two levels (NUTS keeps no gaps): one cut point
        return cut_points(d1, np.zeros((d1.size, 0)))
    mean = np.asarray(hyper["gap_mean"])  # (D, K - 2)
    gaps = mean + np.asarray(hyper["tau_cut"])[:, None] * rng.standard_normal(mean.shape)
    return cut_points(d1, gaps)


def cut_points(d1: FloatArray, gaps: FloatArray) -> FloatArray:
    """Ordered cut points (..., K - 1) from the first cut (...) and the log-gaps (..., K - 2).

    Examples
    --------
    >>> cut_points(np.array([-1.0]), np.log(np.array([[2.0, 0.5]])))
    array([[-1. ,  1. ,  1.5]])
    """
    rise = np.cumsum(np.exp(gaps), axis=-1)
    start = np.broadcast_to(np.asarray(d1)[..., None], (*rise.shape[:-1], 1))
    out: FloatArray = np.concatenate([start, start + rise], axis=-1)
    return out
