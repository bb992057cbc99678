r"""Nested Laplace with importance sampling for models with a small dense parameter vector.

The fast path of the ``monotone``, ``ordinal`` and ``pairwise`` kinds (numpy only,
no PyMC). A model here has latent parameters :math:`\theta` (P numbers) with a
Gaussian prior whose precision depends on a few group scales
:math:`\tau_1, \dots, \tau_m` (half-normal priors),

.. math:: \log p(\theta \mid \tau) = -\tfrac12 (\theta - m)^\top Q(\tau) (\theta - m)
          + \tfrac12 \log\det Q(\tau) + \text{const},
          \qquad Q(\tau) = Q_0 + \sum_s \tau_s^{-2} Q_s,

and a log-likelihood :math:`\ell(\theta)` (which may include non-Gaussian prior
terms) whose gradient and Hessian the model computes. The scales are
integrated over a log-spaced grid; at each grid point the conditional posterior
of :math:`\theta` is fitted by Newton's method (a Laplace approximation, as in
INLA: Rue, Martino and Chopin, 2009), the grid point is weighted by its Laplace
marginal likelihood times the prior of the scales, and draws from the mixture
(multivariate Student-t around each mode) are importance-weighted against the
exact joint density and Pareto-smoothed (:func:`~judgecal.calibration.bayes.fastpath.psis`).
The Pareto :math:`\hat k` and the effective sample size say whether the
approximation can be trusted; the calibrator falls back to NUTS when they do
not.

Hessians are dense (P x P per grid point): this path is for tens to a few
hundred parameters, which is what these models have for a handful of stages.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from judgecal._validation import FloatArray, IntArray
from judgecal.calibration.bayes.fastpath import psis, systematic_resample

__all__ = ["DenseModel", "grid_posterior"]

#: ``(theta (G, P)) -> (log-lik (G,), gradient (G, P), Hessian (G, P, P))``
Derivatives = Callable[[FloatArray], tuple[FloatArray, FloatArray, FloatArray]]
# Draw-rows evaluated at once by the exact log density (bounds memory for many draws).
_BLOCK_DRAWS = 2048
# Rounds of moment matching when the first proposal's k-hat exceeds 0.5.
_ADAPT_ROUNDS = 3


@dataclass(frozen=True)
class DenseModel:
    """A latent Gaussian model: prior structure, log-likelihood and its derivatives.

    Attributes
    ----------
    center : (P,) prior mean :math:`m`.
    q_fixed : (P, P) precision part that does not depend on the scales.
    q_scales : (m, P, P) structure matrices :math:`Q_s`, multiplied by :math:`\\tau_s^{-2}`.
    scale_priors : (m,) half-normal prior scales of the :math:`\\tau_s`.
    loglik : ``theta (N, P) -> (N,)``, the log-likelihood (plus non-Gaussian prior terms).
    derivatives : its value, gradient and Hessian at a batch of points.
    start : (P,) starting point of Newton's method.
    gaussian : (P,) bool, the coordinates the Gaussian prior covers (the others' priors
        are in ``loglik``); ``None`` means all.
    """

    center: FloatArray
    q_fixed: FloatArray
    q_scales: FloatArray
    scale_priors: FloatArray
    loglik: Callable[[FloatArray], FloatArray]
    derivatives: Derivatives
    start: FloatArray
    gaussian: Any = None

    @property
    def n_params(self) -> int:
        return int(self.center.size)


def _scale_grid(priors: FloatArray, points: int) -> tuple[FloatArray, FloatArray]:
    """Log scales at every grid point (G, m) and the log-grid steps (m,)."""
    axis = np.linspace(math.log(0.02), math.log(4.0), points)
    mesh = np.meshgrid(*[np.log(p) + axis for p in priors], indexing="ij")
    log_tau = np.stack([m.ravel() for m in mesh], axis=1)
    return log_tau, np.full(priors.size, float(axis[1] - axis[0]))


def _log_prior_scales(log_tau: FloatArray, priors: FloatArray) -> FloatArray:
    """Half-normal log densities of the scales times the log-grid Jacobian (normalised)."""
    tau = np.exp(log_tau)
    out: FloatArray = np.sum(
        -0.5 * (tau / priors) ** 2
        + log_tau
        + math.log(2.0)
        - 0.5 * math.log(2.0 * math.pi)
        - np.log(priors),
        axis=1,
    )
    return out


def _objective(
    model: DenseModel, theta: FloatArray, prec: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Negative log conditional posterior, its gradient and Hessian (per grid point)."""
    ll, grad, hess = model.derivatives(theta)
    dev = theta - model.center
    q_dev = np.einsum("gpq,gq->gp", prec, dev)
    value = -ll + 0.5 * np.einsum("gp,gp->g", dev, q_dev)
    return value, q_dev - grad, prec - hess


def _value(model: DenseModel, theta: FloatArray, prec: FloatArray) -> FloatArray:
    dev = theta - model.center
    out: FloatArray = -model.loglik(theta) + 0.5 * np.einsum("gp,gpq,gq->g", dev, prec, dev)
    return out


def _newton(model: DenseModel, prec: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Modes, objective values and Cholesky factors of the Hessians at the modes."""
    theta = np.tile(model.start, (prec.shape[0], 1))
    active = np.ones(prec.shape[0], dtype=bool)
    for _ in range(60):
        value, grad, hess = _objective(model, theta, prec)
        chol = _safe_cholesky(hess)
        step = _chol_solve(chol, grad)
        step[~active] = 0.0
        t = np.ones(theta.shape[0])
        cand = theta - step
        fc = _value(model, cand, prec)
        for _ in range(30):
            worse = ~(fc <= value + 1e-10)
            if not worse.any():
                break
            t[worse] *= 0.5
            cand[worse] = theta[worse] - t[worse, None] * step[worse]
            fc = np.where(worse, _value(model, cand, prec), fc)
        improved = fc <= value + 1e-10
        done = (np.abs(value - fc) < 1e-10 * (1.0 + np.abs(value))) | (
            np.max(np.abs(t[:, None] * step), axis=1) < 1e-8
        )
        theta = np.where(improved[:, None], cand, theta)
        active &= ~done & improved
        if not active.any():
            break
    value, _, hess = _objective(model, theta, prec)
    return theta, value, _safe_cholesky(hess)


def _safe_cholesky(hess: FloatArray) -> FloatArray:
    """Cholesky factors; a point whose Hessian is not positive definite gets a ridge."""
    try:
        return np.asarray(np.linalg.cholesky(hess), dtype=np.float64)
    except np.linalg.LinAlgError:
        eye = np.eye(hess.shape[-1])
        out = np.empty_like(hess)
        for g in range(hess.shape[0]):
            ridge = 0.0
            while True:
                try:
                    out[g] = np.linalg.cholesky(hess[g] + ridge * eye)
                    break
                except np.linalg.LinAlgError:
                    ridge = max(1e-8, 10.0 * ridge)
        return out


def _chol_solve(chol: FloatArray, rhs: FloatArray) -> FloatArray:
    """``H^{-1} rhs`` per grid point from lower Cholesky factors."""
    low = np.linalg.solve(chol, rhs[..., None])
    out: FloatArray = np.linalg.solve(np.transpose(chol, (0, 2, 1)), low)[..., 0]
    return out


def _logdet_chol(chol: FloatArray) -> FloatArray:
    out: FloatArray = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    return out


def grid_posterior(
    model: DenseModel,
    *,
    draws: int,
    rng: np.random.Generator,
    points: int = 9,
    df: float = 6.0,
    proposals: int | None = None,
) -> dict[str, Any]:
    r"""Posterior draws of ``theta`` and the scales, with PSIS diagnostics.

    Returns ``theta`` (draws, P), ``tau`` (draws, m), ``k_hat``, ``ess`` and
    ``grid_points`` (grid points with non-negligible weight).

    Examples
    --------
    A normal mean with a half-normal scale is the smallest such model:

    >>> def derivs(t):
    ...     return -0.5 * ((t - 1.0) ** 2).sum(1), -(t - 1.0), -np.eye(1)[None].repeat(len(t), 0)
    >>> m = DenseModel(np.zeros(1), np.zeros((1, 1)), np.ones((1, 1, 1)), np.ones(1),
    ...                lambda t: -0.5 * ((t - 1.0) ** 2).sum(1), derivs, np.zeros(1))
    >>> post = grid_posterior(m, draws=500, rng=np.random.default_rng(0))
    >>> post["theta"].shape, bool(post["k_hat"] < 0.7)
    ((500, 1), True)
    """
    log_tau, steps = _scale_grid(model.scale_priors, points)
    lam = np.exp(-2.0 * log_tau)
    prec = model.q_fixed[None] + np.einsum("gs,spq->gpq", lam, model.q_scales)
    mask = np.ones(model.n_params, bool) if model.gaussian is None else model.gaussian
    prior_logdet = np.linalg.slogdet(prec[:, mask][:, :, mask])[1]
    modes, values, chol = _newton(model, prec)
    log_prior_tau = _log_prior_scales(log_tau, model.scale_priors)
    log_m = -values + 0.5 * prior_logdet - 0.5 * _logdet_chol(chol) + log_prior_tau
    pi = np.exp(log_m - log_m.max())
    pi = np.where(pi > 1e-6 * pi.max(), pi, 0.0)
    pi /= pi.sum()
    n_prop = proposals or max(4 * draws, 4000)
    proposal = _Proposal(modes, chol, pi, np.zeros(model.n_params), np.eye(model.n_params), df)
    target = (prec, 0.5 * prior_logdet + log_prior_tau)
    theta, comp, log_r = proposal.ratios(model, target, n_prop, rng)
    weights, k_hat = psis(log_r)
    rounds = 0
    while k_hat > 0.5 and rounds < _ADAPT_ROUNDS:
        # pooled importance-weighted moment matching (Paananen et al., 2021): one affine
        # correction of every component, in the coordinates whitened by its own Laplace fit
        rounds += 1
        proposal = proposal.adapted(theta, comp, weights)
        cand = proposal.ratios(model, target, n_prop, rng)
        cand_weights, cand_k = psis(cand[2])
        if cand_k >= k_hat:
            break
        (theta, comp, log_r), weights, k_hat = cand, cand_weights, cand_k
    idx = rng.permutation(systematic_resample(weights, draws, rng))
    jitter = rng.uniform(-0.5, 0.5, (draws, steps.size)) * steps
    return {
        "theta": theta[idx],
        "tau": np.exp(log_tau[comp[idx]] + jitter),
        "k_hat": k_hat,
        "ess": float(1.0 / np.sum(weights**2)),
        "grid_points": int(np.count_nonzero(pi)),
        "adapt_rounds": rounds,
    }


@dataclass(frozen=True)
class _Proposal:
    """Mixture of Student-t around the grid points' modes, with a shared affine correction."""

    modes: FloatArray
    chol: FloatArray
    pi: FloatArray
    shift: FloatArray
    affine: FloatArray  # lower triangular
    df: float

    def ratios(
        self,
        model: DenseModel,
        target: tuple[FloatArray, FloatArray],
        n: int,
        rng: np.random.Generator,
    ) -> tuple[FloatArray, IntArray, FloatArray]:
        """Draws, their grid points and log ratios (exact joint / proposal)."""
        prec, log_norm = target
        P, df = model.n_params, self.df
        comp = rng.choice(self.pi.size, size=n, p=self.pi)
        counts = np.bincount(comp, minlength=self.pi.size)
        z = rng.standard_normal((n, P)) / np.sqrt(rng.chisquare(df, n) / df)[:, None]
        theta = self.modes[comp] + _upper_solve(self.chol, self.shift + z @ self.affine.T, comp)
        log_q = (
            math.lgamma((df + P) / 2.0)
            - math.lgamma(df / 2.0)
            - 0.5 * P * math.log(df * math.pi)
            + 0.5 * _logdet_chol(self.chol)[comp]
            - float(np.log(np.diagonal(self.affine)).sum())
            - 0.5 * (df + P) * np.log1p(np.einsum("ip,ip->i", z, z) / df)
            + np.log(counts[comp] / n)
        )
        log_p = _log_joint(model, theta, comp, prec) + log_norm[comp]
        return theta, comp, log_p - 0.5 * P * math.log(2.0 * math.pi) - log_q

    def adapted(self, theta: FloatArray, comp: IntArray, weights: FloatArray) -> _Proposal:
        """The proposal with the weighted mean and covariance of the whitened draws."""
        white = np.einsum("ipq,ip->iq", self.chol[comp], theta - self.modes[comp])
        mean = weights @ white
        dev = white - mean
        cov = dev.T @ (dev * weights[:, None]) * (self.df - 2.0) / self.df
        affine = np.linalg.cholesky(cov + 1e-9 * np.eye(mean.size))
        return _Proposal(self.modes, self.chol, self.pi, mean, affine, self.df)


def _upper_solve(chol: FloatArray, z: FloatArray, comp: IntArray) -> FloatArray:
    """``L_c^{-T} z`` for each draw with the factor of its grid point ``c``."""
    out = np.empty_like(z)
    for g in np.unique(comp):
        rows = comp == g
        out[rows] = np.linalg.solve(chol[g].T, z[rows].T).T
    return out


def _log_joint(
    model: DenseModel, theta: FloatArray, comp: IntArray, prec: FloatArray
) -> FloatArray:
    """Log-likelihood plus the Gaussian prior quadratic of each draw (its grid point's Q)."""
    out = np.empty(theta.shape[0])
    for start in range(0, theta.shape[0], _BLOCK_DRAWS):
        rows = slice(start, start + _BLOCK_DRAWS)
        dev = theta[rows] - model.center
        quad = np.einsum("gp,gpq,gq->g", dev, prec[comp[rows]], dev)
        out[rows] = model.loglik(theta[rows]) - 0.5 * quad
    return out
