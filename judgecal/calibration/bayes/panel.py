r"""The numpy fast path of the binary Bayesian calibrator for a judge panel (no PyMC).

Model, for ``k`` judges with score features :math:`f_{i1..ik}` in stage :math:`j`:
:math:`y \sim \text{Bernoulli}(\sigma(a_j + \sum_m b_{jm} f_{im}))` with one
monotone slope per judge, :math:`b_{jm} = \operatorname{softplus}(u_{jm}) \ge 0`,
:math:`a_j \sim N(\mu_a, \tau_a^2)`, :math:`u_{jm} \sim N(\mu_{u,m}, \tau_b^2)`,
:math:`\mu_a \sim N(m_a, s_a^2)` and :math:`\mu_{u,m} \sim N(-1, 3^2)`. Both
intercepts and each judge's slope are pooled across stages; the group scales
:math:`\tau_a, \tau_b` are fixed at the prior's ``tau_a`` and ``tau_b``. A
judge that carries no signal gets :math:`u \to -\infty`, so its slope goes to 0.

The posterior is approximated by a Laplace fit at the mode (dense Hessian: the
panel models are small), refined by up to three rounds of importance-weighted
moment matching, and the Student-t draws are importance-weighted against the
exact posterior with Pareto smoothing (:func:`~judgecal.calibration.bayes.fastpath.psis`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from judgecal._validation import FloatArray, IntArray
from judgecal.calibration.base import sigmoid
from judgecal.calibration.bayes.fastpath import psis, softplus, systematic_resample

__all__ = [
    "SLOPE_CENTER",
    "SLOPE_SD",
    "PanelModel",
    "laplace_panel",
    "new_stage_panel",
    "panel_model",
]

#: Prior mean and sd of each judge's population slope on the softplus scale: wide, with a
#: median slope of 0.31 and much mass near 0 (a null judge is not pushed away from 0).
SLOPE_CENTER = -1.0
SLOPE_SD = 3.0
_BLOCK = 1 << 21


@dataclass(frozen=True)
class PanelModel:
    """Distinct (stage, scores) rows with their weights, and the prior."""

    stage: IntArray  # (R,)
    feature: FloatArray  # (R, k)
    weight: FloatArray  # (R,)
    agree: FloatArray  # (R,)
    n_stages: int
    prior: dict[str, float]

    @property
    def n_judges(self) -> int:
        return int(self.feature.shape[1])

    @property
    def n_params(self) -> int:
        return self.n_stages * (self.n_judges + 1) + 1 + self.n_judges

    def split(self, theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """``a`` (D, S), ``u`` (D, S, k), ``mu_a`` (D,), ``mu_u`` (D, k) from rows of theta."""
        S, k = self.n_stages, self.n_judges
        a = theta[:, :S]
        u = theta[:, S : S + S * k].reshape(-1, S, k)
        return a, u, theta[:, S + S * k], theta[:, S + S * k + 1 :]

    def log_post(self, theta: FloatArray) -> FloatArray:
        """Log posterior density (up to a constant) of each row of theta, in blocks."""
        out = np.empty(theta.shape[0])
        step = max(1, _BLOCK // max(1, self.stage.size * self.n_judges))
        for start in range(0, theta.shape[0], step):
            rows = slice(start, start + step)
            out[rows] = self._log_post_block(theta[rows])
        return out

    def _log_post_block(self, theta: FloatArray) -> FloatArray:
        a, u, mu_a, mu_u = self.split(theta)
        p = self.prior
        slope = softplus(u)[:, self.stage, :]  # (D, R, k)
        eta = a[:, self.stage] + np.einsum("drk,rk->dr", slope, self.feature)
        loglik = eta @ self.agree - softplus(eta) @ self.weight
        prior = (
            ((a - mu_a[:, None]) ** 2).sum(1) / p["tau_a"] ** 2
            + ((u - mu_u[:, None, :]) ** 2).sum((1, 2)) / p["tau_b"] ** 2
            + (mu_a - p["mu_a"]) ** 2 / p["sd_a"] ** 2
            + ((mu_u - SLOPE_CENTER) ** 2).sum(1) / SLOPE_SD**2
        )
        out: FloatArray = loglik - 0.5 * prior
        return out

    def gradient(self, theta: FloatArray) -> FloatArray:
        """Gradient of the log posterior at one point theta (P,)."""
        a, u, mu_a, mu_u = self.split(theta[None, :])
        a, u, mu_a, mu_u = a[0], u[0], mu_a[0], mu_u[0]
        p = self.prior
        slope = softplus(u)
        eta = a[self.stage] + np.einsum("rk,rk->r", slope[self.stage], self.feature)
        resid = self.agree - self.weight * sigmoid(eta)
        S, k = self.n_stages, self.n_judges
        dev_a = (a - mu_a) / p["tau_a"] ** 2
        dev_u = (u - mu_u[None, :]) / p["tau_b"] ** 2
        grad_a = np.bincount(self.stage, weights=resid, minlength=S) - dev_a
        grad_u = np.stack(
            [
                np.bincount(self.stage, weights=resid * self.feature[:, m], minlength=S)
                for m in range(k)
            ],
            axis=1,
        )
        grad_u = grad_u * sigmoid(u) - dev_u
        grad_mu_a = dev_a.sum() - (mu_a - p["mu_a"]) / p["sd_a"] ** 2
        grad_mu_u = dev_u.sum(0) - (mu_u - SLOPE_CENTER) / SLOPE_SD**2
        return np.concatenate([grad_a, grad_u.ravel(), [grad_mu_a], grad_mu_u])


def panel_model(
    f: FloatArray, y: FloatArray, w: FloatArray, g: IntArray, n_stages: int, prior: dict[str, float]
) -> PanelModel:
    """The model on the distinct (stage, scores) rows of the data."""
    key = np.column_stack([g.astype(np.float64), f])
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    inv = inv.ravel()
    weight = np.bincount(inv, weights=w, minlength=uniq.shape[0]).astype(np.float64)
    agree = np.bincount(inv, weights=w * y, minlength=uniq.shape[0]).astype(np.float64)
    return PanelModel(
        uniq[:, 0].astype(np.int64),
        np.ascontiguousarray(uniq[:, 1:]),
        weight,
        agree,
        n_stages,
        prior,
    )


def _mode_and_covariance(model: PanelModel) -> tuple[FloatArray, FloatArray]:
    """The posterior mode and the inverse of the Hessian there (finite differences)."""
    P = model.n_params
    start = np.zeros(P)
    start[: model.n_stages] = model.prior["mu_a"]

    def objective(t: FloatArray) -> tuple[float, FloatArray]:
        return -float(model.log_post(t[None, :])[0]), -model.gradient(t)

    from scipy import optimize  # imported here: it costs 0.2-0.5 s, and only panels need it

    res = optimize.minimize(objective, start, jac=True, method="BFGS", options={"gtol": 1e-8})
    mode = np.asarray(res.x, dtype=np.float64)
    h = 1e-5
    hess = np.empty((P, P))
    for i in range(P):
        e = np.zeros(P)
        e[i] = h
        hess[i] = -(model.gradient(mode + e) - model.gradient(mode - e)) / (2 * h)
    hess = 0.5 * (hess + hess.T)
    vals, vecs = np.linalg.eigh(hess)
    vals = np.maximum(vals, 1e-6 * max(1.0, float(vals.max())))
    cov = (vecs / vals) @ vecs.T
    return mode, cov


def _student_draws(
    mean: FloatArray, cov: FloatArray, n: int, df: float, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Multivariate Student-t draws and their log proposal density (up to a constant)."""
    chol = np.linalg.cholesky(cov)
    z = rng.standard_normal((n, mean.size)) / np.sqrt(rng.chisquare(df, n) / df)[:, None]
    sq = np.einsum("ip,ip->i", z, z)
    log_q = -np.log(np.diag(chol)).sum() - 0.5 * (df + mean.size) * np.log1p(sq / df)
    return mean + z @ chol.T, log_q


def _importance_draws(
    model: PanelModel, n: int, rng: np.random.Generator, df: float = 6.0
) -> tuple[FloatArray, FloatArray, float]:
    """Draws, PSIS weights and k-hat after up to three rounds of moment matching."""
    mean, cov = _mode_and_covariance(model)
    best: tuple[FloatArray, FloatArray, float] | None = None
    for _ in range(4):
        th, log_q = _student_draws(mean, cov, n, df, rng)
        weights, k_hat = psis(model.log_post(th) - log_q)
        if best is None or k_hat < best[2]:
            best = (th, weights, k_hat)
        if k_hat <= 0.5:
            break
        mean = weights @ th
        dev = th - mean
        cov = (dev * weights[:, None]).T @ dev + 1e-9 * np.eye(mean.size)
    assert best is not None
    return best


def laplace_panel(
    model: PanelModel, *, draws: int, rng: np.random.Generator
) -> tuple[dict[str, FloatArray], dict[str, Any]]:
    """Posterior draws ``a`` (D, S), ``b`` (D, S, k), ``mu_a`` (D,), ``mu_u`` (D, k).

    Returns the draws and the diagnostics ``k_hat`` (PSIS) and ``ess``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(300, 2))
    >>> y = (rng.random(300) < 1 / (1 + np.exp(-1.5 * f[:, 0]))).astype(float)
    >>> prior = {"mu_a": 0.0, "sd_a": 2.0, "tau_a": 2.0, "tau_b": 1.0}
    >>> m = panel_model(f, y, np.ones(300), np.zeros(300, dtype=np.int64), 1, prior)
    >>> post, diag = laplace_panel(m, draws=500, rng=rng)
    >>> post["b"].shape, bool(post["b"][:, 0, 0].mean() > 1.0 > post["b"][:, 0, 1].mean())
    ((500, 1, 2), True)
    """
    th, weights, k_hat = _importance_draws(model, max(2 * draws, 4000), rng)
    idx = rng.permutation(systematic_resample(weights, draws, rng))
    a, u, mu_a, mu_u = model.split(th[idx])
    post = {"a": a.copy(), "b": softplus(u), "mu_a": mu_a.copy(), "mu_u": mu_u.copy()}
    diag = {"method": "laplace", "k_hat": float(k_hat), "ess": float(1.0 / np.sum(weights**2))}
    return post, diag


def new_stage_panel(
    mu_a: FloatArray, mu_u: FloatArray, prior: dict[str, float], rng: np.random.Generator
) -> dict[str, FloatArray]:
    """Draws of a stage not seen in fit: ``a`` (D,) and ``b`` (D, k) from the population."""
    a = mu_a + prior["tau_a"] * rng.standard_normal(mu_a.shape)
    b = softplus(mu_u + prior["tau_b"] * rng.standard_normal(mu_u.shape))
    return {"a": np.asarray(a, dtype=np.float64), "b": np.asarray(b, dtype=np.float64)}
