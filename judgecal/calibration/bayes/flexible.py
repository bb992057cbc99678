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

Given the pooled means :math:`v = (\mu_a, \mu_b)`, each stage's cell logits
:math:`\eta_j = (\operatorname{logit} p_{j,l})_l` are Gaussian,
:math:`\eta_j \mid v \sim N(M v, \Sigma(\tau))` with :math:`M = [1, F]` and
:math:`\Sigma = \tau_a^2 11^\top + \tau_b^2 F F^\top + \tau_r^2 R^{-1}`
(:math:`R`: the random walk's precision), and the binomial likelihood of a cell
depends on its own logit only. The Hessian of the conditional posterior of
:math:`(\eta_1, \dots, \eta_S, v)` is therefore block-arrow: one
:math:`J \times J` block per stage, coupled only through :math:`v`. It is
factored block by block, so a fit costs :math:`O(S J^3)` per grid point of the
scales instead of the :math:`O(S^3 J^3)` of a dense Hessian. Otherwise the
method is :func:`~judgecal.calibration.bayes.grid_laplace.grid_posterior`'s:
Laplace at every point of a grid over :math:`\log \tau`, a Student-t mixture
proposal, importance weights against the exact joint density, Pareto-smoothed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from judgecal._exceptions import InputError
from judgecal._validation import FloatArray, IntArray
from judgecal.calibration.base import sigmoid
from judgecal.calibration.bayes.fast_models import softplus
from judgecal.calibration.bayes.fastpath import psis, systematic_resample
from judgecal.calibration.bayes.grid_laplace import _log_prior_scales, _safe_cholesky, _scale_grid

__all__ = ["flexible_posterior", "random_walk_precision"]

# Floats one array of per-stage blocks may hold while fitting (bounds memory; the grid
# of scales is processed in chunks of this many stage-blocks).
_CHUNK_FLOATS = 2_000_000
# Floats the importance-sampling proposal may hold (draws x parameters).
_PROPOSAL_FLOATS = 4_000_000
#: Most draws x stages x levels a flexible fit keeps (about 400 MB of float64).
MAX_FLEX_FLOATS = 50_000_000
_DF = 6.0  # Student-t degrees of freedom of the proposal


def random_walk_precision(J: int) -> FloatArray:
    """Precision of a first-order random walk over ``J`` levels started at N(0, 1).

    Examples
    --------
    >>> random_walk_precision(3)
    array([[ 2., -1.,  0.],
           [-1.,  2., -1.],
           [ 0., -1.,  1.]])
    """
    diff = np.diff(np.eye(J), axis=0)
    out: FloatArray = diff.T @ diff
    out[0, 0] += 1.0
    return out


@dataclass(frozen=True)
class _Cells:
    """Sufficient statistics per (stage, level): total weight and weight of agreement."""

    weight: FloatArray  # (S, J)
    agree: FloatArray  # (S, J)
    M: FloatArray  # (J, K + 1): the backbone's design, [1, F]
    center: FloatArray  # (K + 1,) prior means of the pooled (mu_a, mu_b_1..K)
    q0: FloatArray  # (K + 1, K + 1) their prior precision

    def loglik(self, eta: FloatArray) -> FloatArray:
        """Binomial log-likelihood of cell logits ``eta`` (..., S, J), summed per leading index."""
        # a Newton trial step far out, on huge weights, can overflow: it is then just "worse"
        with np.errstate(over="ignore", invalid="ignore"):
            out = np.sum(self.agree * eta - self.weight * softplus(eta), axis=(-2, -1))
        return np.where(np.isnan(out), -np.inf, out)


def _cells(
    lvl: IntArray,
    F: FloatArray,
    y: FloatArray,
    w: FloatArray,
    g: IntArray,
    S: int,
    prior: dict[str, float],
) -> _Cells:
    J, K = F.shape
    weight = np.zeros((S, J))
    agree = np.zeros((S, J))
    np.add.at(weight, (g, lvl), w)
    np.add.at(agree, (g, lvl), w * y)
    center = np.zeros(K + 1)
    center[0], center[1] = prior["mu_a"], prior["mu_b"]
    sds = np.full(K + 1, prior.get("sd_c", 1.0))
    sds[0], sds[1] = prior["sd_a"], prior["sd_b"]
    M = np.column_stack([np.ones(J), F])
    return _Cells(weight, agree, M, center, np.diag(1.0 / sds**2))


#: The two structures of the deviations from the backbone: a random walk over the levels
#: (neighbouring levels alike) or independent levels (a level may jump).
STRUCTURES = ("walk", "levels")


def _stage_precisions(
    F: FloatArray, tau: FloatArray, structure: str
) -> tuple[FloatArray, FloatArray]:
    """Per grid point, the precision of a stage's logits given ``v`` and its log-determinant."""
    J = F.shape[0]
    ones = np.ones((J, J))
    rw_cov = np.linalg.inv(random_walk_precision(J)) if structure == "walk" else np.eye(J)
    cov = (
        tau[:, 0, None, None] ** 2 * ones
        + tau[:, 1, None, None] ** 2 * (F @ F.T)[None]
        + tau[:, 2, None, None] ** 2 * rw_cov[None]
    )
    lam = np.asarray(np.linalg.inv(cov), dtype=np.float64)
    return lam, -np.asarray(np.linalg.slogdet(cov)[1], dtype=np.float64)


def _solve_lower(low: FloatArray, rhs: FloatArray) -> FloatArray:
    """``low^{-1} rhs`` for batched lower-triangular ``low`` (..., n, n) and vectors (..., n)."""
    out = np.linalg.solve(low, rhs[..., None])[..., 0]
    return np.asarray(out, dtype=np.float64)


def _solve_upper(low: FloatArray, rhs: FloatArray) -> FloatArray:
    """``low^{-T} rhs`` for batched lower-triangular ``low`` and vectors."""
    out = np.linalg.solve(np.swapaxes(low, -1, -2), rhs[..., None])[..., 0]
    return np.asarray(out, dtype=np.float64)


def _cholesky(mats: FloatArray) -> FloatArray:
    """Batched lower Cholesky factors; a block that is not positive definite gets a ridge."""
    try:
        return np.asarray(np.linalg.cholesky(mats), dtype=np.float64)
    except np.linalg.LinAlgError:
        n = mats.shape[-1]
        flat = mats.reshape(-1, n, n)
        return _safe_cholesky(flat).reshape(mats.shape)


@dataclass(frozen=True)
class _Arrow:
    """Cholesky factor of a block-arrow matrix, the pooled block last.

    ``L = [[diag(blocks_j), 0], [coupling_j, schur]]`` with ``H = L L^T``.
    """

    blocks: FloatArray  # (..., S, J, J)
    coupling: FloatArray  # (..., S, K1, J)
    schur: FloatArray  # (..., K1, K1)

    def logdet(self) -> FloatArray:
        """``log det H`` per leading index."""
        blocks = np.log(np.diagonal(self.blocks, axis1=-2, axis2=-1)).sum(axis=(-2, -1))
        schur = np.log(np.diagonal(self.schur, axis1=-2, axis2=-1)).sum(axis=-1)
        out: FloatArray = 2.0 * (blocks + schur)
        return out

    def solve(self, gj: FloatArray, gv: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``H^{-1} (gj, gv)``."""
        yj = _solve_lower(self.blocks, gj)
        yv = _solve_lower(self.schur, gv - np.einsum("...skj,...sj->...k", self.coupling, yj))
        return self.back(yj, yv)

    def back(self, zj: FloatArray, zv: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``L^{-T} (zj, zv)``: also turns standard draws into draws with precision ``H``."""
        xv = _solve_upper(self.schur, zv)
        xj = _solve_upper(self.blocks, zj - np.einsum("...skj,...k->...sj", self.coupling, xv))
        return xj, xv

    def take(self, g: int) -> _Arrow:
        """The factor of grid point ``g``, with a leading axis of 1 for broadcasting."""
        return _Arrow(self.blocks[g : g + 1], self.coupling[g : g + 1], self.schur[g : g + 1])


def _factor(lam: FloatArray, curv: FloatArray, cells: _Cells) -> _Arrow:
    """Factor of the negative log posterior's Hessian at every grid point (G leading)."""
    S, J = curv.shape[-2:]
    M = cells.M
    blocks = _cholesky(lam[:, None] + curv[..., None] * np.eye(J))
    h_jv = -(lam @ M)  # (G, J, K1), the same for every stage
    coupling = np.swapaxes(np.linalg.solve(blocks, h_jv[:, None]), -1, -2)  # (G, S, K1, J)
    h_vv = cells.q0 + S * np.einsum("jk,gjl,lm->gkm", M, lam, M)
    schur = _cholesky(h_vv - np.einsum("gskj,gslj->gkl", coupling, coupling))
    return _Arrow(blocks, coupling, schur)


def _neg_log_post(cells: _Cells, lam: FloatArray, eta: FloatArray, v: FloatArray) -> FloatArray:
    """Negative log conditional posterior (without constants) per leading index."""
    dev = eta - (v @ cells.M.T)[..., None, :]
    quad = np.einsum("...sj,...jk,...sk->...", dev, lam, dev)
    dv = v - cells.center
    out: FloatArray = (
        -cells.loglik(eta) + 0.5 * quad + 0.5 * np.einsum("...k,kl,...l->...", dv, cells.q0, dv)
    )
    return out


def _gradient(
    cells: _Cells, lam: FloatArray, eta: FloatArray, v: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Gradient (stage part, pooled part) and the likelihood's curvature per cell."""
    p = sigmoid(eta)
    dev = eta - (v @ cells.M.T)[:, None, :]
    lam_dev = np.einsum("gjk,gsk->gsj", lam, dev)
    gj = lam_dev - (cells.agree - cells.weight * p)
    gv = (v - cells.center) @ cells.q0 - np.einsum("jk,gsj->gk", cells.M, lam_dev)
    return gj, gv, cells.weight * p * (1.0 - p)


def _newton(cells: _Cells, lam: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, _Arrow]:
    """Modes (stage logits, pooled means), objective values and factors, per grid point."""
    G = lam.shape[0]
    S, J = cells.weight.shape
    v = np.tile(cells.center, (G, 1))
    eta = np.broadcast_to((cells.M @ cells.center)[None, None], (G, S, J)).copy()
    value = _neg_log_post(cells, lam, eta, v)
    active = np.ones(G, dtype=bool)
    for _ in range(60):
        gj, gv, curv = _gradient(cells, lam, eta, v)
        sj, sv = _factor(lam, curv, cells).solve(gj, gv)
        sj[~active], sv[~active] = 0.0, 0.0
        t = np.ones(G)
        cand_eta, cand_v = eta - sj, v - sv
        fc = _neg_log_post(cells, lam, cand_eta, cand_v)
        for _ in range(30):
            worse = ~(fc <= value + 1e-10)
            if not worse.any():
                break
            t[worse] *= 0.5
            cand_eta[worse] = eta[worse] - t[worse, None, None] * sj[worse]
            cand_v[worse] = v[worse] - t[worse, None] * sv[worse]
            fc = np.where(worse, _neg_log_post(cells, lam, cand_eta, cand_v), fc)
        improved = fc <= value + 1e-10
        step = np.maximum(np.abs(sj).max(axis=(1, 2)), np.abs(sv).max(axis=1)) * t
        done = (np.abs(value - fc) < 1e-10 * (1.0 + np.abs(value))) | (step < 1e-8)
        eta = np.where(improved[:, None, None], cand_eta, eta)
        v = np.where(improved[:, None], cand_v, v)
        value = np.where(improved, fc, value)
        active &= ~done & improved
        if not active.any():
            break
    _, _, curv = _gradient(cells, lam, eta, v)
    return eta, v, value, _factor(lam, curv, cells)


@dataclass(frozen=True)
class _Grid:
    """The Laplace fit at every grid point of the scales."""

    log_tau: FloatArray  # (G, 3)
    lam: FloatArray  # (G, J, J)
    log_norm: FloatArray  # (G,) prior normaliser and scale prior, minus the 2 pi terms
    eta: FloatArray  # (G, S, J) modes
    v: FloatArray  # (G, K1)
    factor: _Arrow
    log_marginal: FloatArray  # (G,)


def _fit_grid(
    cells: _Cells, F: FloatArray, priors: FloatArray, points: int, structure: str
) -> _Grid:
    """Laplace at every grid point, in chunks that bound memory."""
    log_tau, _ = _scale_grid(priors, points)
    lam, lam_logdet = _stage_precisions(F, np.exp(log_tau), structure)
    S, J = cells.weight.shape
    prior_logdet = S * lam_logdet + np.linalg.slogdet(cells.q0)[1]
    log_norm = 0.5 * prior_logdet + _log_prior_scales(log_tau, priors)
    chunk = max(1, _CHUNK_FLOATS // (S * J * J))
    parts = [_newton(cells, lam[i : i + chunk]) for i in range(0, lam.shape[0], chunk)]
    eta = np.concatenate([p[0] for p in parts])
    v = np.concatenate([p[1] for p in parts])
    value = np.concatenate([p[2] for p in parts])
    factor = _Arrow(*(np.concatenate([getattr(p[3], k) for p in parts]) for k in _ARROW_PARTS))
    log_m = -value + log_norm - 0.5 * factor.logdet()
    return _Grid(log_tau, lam, log_norm, eta, v, factor, log_m)


_ARROW_PARTS = ("blocks", "coupling", "schur")


def _proposal_draws(
    grid: _Grid, pi: FloatArray, n: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray, IntArray, FloatArray]:
    """Student-t mixture draws (logits, pooled means), their grid points and log densities."""
    G, S, J = grid.eta.shape
    K1 = grid.v.shape[1]
    P = S * J + K1
    comp = rng.choice(G, size=n, p=pi)
    counts = np.bincount(comp, minlength=G)
    scale = 1.0 / np.sqrt(rng.chisquare(_DF, n) / _DF)
    zj = rng.standard_normal((n, S, J)) * scale[:, None, None]
    zv = rng.standard_normal((n, K1)) * scale[:, None]
    eta, v = np.empty_like(zj), np.empty_like(zv)
    for g in np.flatnonzero(counts):
        rows = comp == g
        xj, xv = grid.factor.take(int(g)).back(zj[rows], zv[rows])
        eta[rows], v[rows] = grid.eta[g] + xj, grid.v[g] + xv
    sq = np.einsum("nsj,nsj->n", zj, zj) + np.einsum("nk,nk->n", zv, zv)
    log_q = (
        math.lgamma((_DF + P) / 2.0)
        - math.lgamma(_DF / 2.0)
        - 0.5 * P * math.log(_DF * math.pi)
        + 0.5 * grid.factor.logdet()[comp]
        - 0.5 * (_DF + P) * np.log1p(sq / _DF)
        + np.log(counts[comp] / n)
    )
    return eta, v, comp, log_q


def _log_joint(
    cells: _Cells, grid: _Grid, eta: FloatArray, v: FloatArray, comp: IntArray
) -> FloatArray:
    """Exact log joint density of each draw at its grid point's scales."""
    P = eta.shape[1] * eta.shape[2] + v.shape[1]
    out = np.empty(comp.size)
    for g in np.unique(comp):
        rows = comp == g
        out[rows] = -_neg_log_post(cells, grid.lam[g], eta[rows], v[rows])
    out += grid.log_norm[comp] - 0.5 * P * math.log(2.0 * math.pi)
    return out


def _importance(
    cells: _Cells, grid: _Grid, pi: FloatArray, n: int, rng: np.random.Generator
) -> tuple[tuple[FloatArray, FloatArray, IntArray], FloatArray, float, float]:
    """Proposal draws, their Pareto-smoothed importance weights, k-hat and log evidence."""
    eta, v, comp, log_q = _proposal_draws(grid, pi, n, rng)
    log_r = _log_joint(cells, grid, eta, v, comp) - log_q
    weights, k_hat = psis(log_r)
    top = float(log_r.max())
    log_evidence = top + math.log(float(np.mean(np.exp(log_r - top))))
    return (eta, v, comp), weights, k_hat, log_evidence


def _reweighted(pi: FloatArray, comp: IntArray, weights: FloatArray) -> FloatArray:
    """Grid weights moved toward the importance-weighted mass of each grid point.

    Where the Laplace evidence of a grid point is off, its draws' weights are off on
    average: the mass they carry is a better estimate of the point's posterior mass.
    Points without draws keep a share of their old weight (a defensive mixture).
    """
    mass = np.bincount(comp, weights=weights, minlength=pi.size)
    out = 0.5 * mass / mass.sum() + 0.5 * pi
    return np.asarray(out / out.sum(), dtype=np.float64)


def flexible_posterior(
    lvl: IntArray,
    F: FloatArray,
    y: FloatArray,
    w: FloatArray,
    g: IntArray,
    S: int,
    prior: dict[str, float],
    *,
    draws: int,
    rng: np.random.Generator,
    points: int = 7,
) -> dict[str, Any]:
    r"""Posterior draws of the flexible-link binary model.

    Parameters
    ----------
    lvl, g : (n,) level index (into the rows of ``F``) and stage index of each label.
    F : (J, K) backbone features at the score levels.
    y, w : (n,) labels in [0, 1] and their weights.
    S : number of stages.
    prior : ``mu_a, sd_a, mu_b, sd_b, tau_a, tau_b, tau_r`` and, for K > 1, ``sd_c``.
    draws : posterior draws to return.
    rng : random generator.
    points : grid points per scale.

    Returns
    -------
    dict
        ``theta`` (draws, S, J) logits per stage and level; ``mu_a`` (draws,),
        ``mu_b`` (draws, K), ``tau_a``, ``tau_b``, ``tau_r`` (draws,); ``k_hat``,
        ``ess`` and ``grid_points``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> lvl = rng.integers(0, 5, 400)
    >>> y = (rng.random(400) < np.where(lvl >= 2, 0.8, 0.2)).astype(float)
    >>> F = np.linspace(-2.0, 2.0, 5)[:, None]
    >>> prior = dict(mu_a=0.0, sd_a=2.0, mu_b=0.0, sd_b=2.0, tau_a=2.0, tau_b=1.0, tau_r=1.0)
    >>> post = flexible_posterior(lvl, F, y, np.ones(400), np.zeros(400, int), 1, prior,
    ...                           draws=200, rng=rng)
    >>> p = 1.0 / (1.0 + np.exp(-post["theta"].mean(axis=0)[0]))
    >>> bool(p[0] < 0.35 and p[3] > 0.65), bool(post["k_hat"] < 0.7)
    (True, True)
    """
    J = F.shape[0]
    if draws * S * J > MAX_FLEX_FLOATS:
        raise InputError(
            "draws",
            f"draws x stages x score levels at most {MAX_FLEX_FLOATS:.0e} for link='flexible' "
            "(fewer draws, rare stages merged, or link='parametric')",
            f"{draws} x {S} x {J}",
        )
    cells = _cells(lvl, F, y, w, g, S, prior)
    priors = np.array([prior["tau_a"], prior["tau_b"], prior["tau_r"]])
    fits = [_structure_fit(cells, F, priors, points, draws, st, rng) for st in STRUCTURES]
    log_ev = np.array([f["log_evidence"] for f in fits])
    share = np.exp(log_ev - log_ev.max())  # equal prior odds of the two structures
    share /= share.sum()
    counts = np.round(share * draws).astype(np.int64)
    counts[int(np.argmax(share))] += draws - int(counts.sum())
    used = [k for k in range(len(fits)) if counts[k] > 0]
    parts = [_resampled(fits[k], int(counts[k]), rng) for k in used]
    order = rng.permutation(draws)
    out: dict[str, Any] = {k: np.concatenate([p[k] for p in parts])[order] for k in parts[0]}
    out["walk"] = np.concatenate([np.full(int(counts[k]), STRUCTURES[k] == "walk") for k in used])[
        order
    ]
    out.update(
        k_hat=max(fits[k]["k_hat"] for k in used if share[k] >= 0.01),
        ess=min(fits[k]["ess"] for k in used if share[k] >= 0.01),
        grid_points=sum(fits[k]["grid_points"] for k in used),
        structure_weights={st: float(share[k]) for k, st in enumerate(STRUCTURES)},
    )
    return out


def _structure_fit(
    cells: _Cells,
    F: FloatArray,
    priors: FloatArray,
    points: int,
    draws: int,
    structure: str,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Weighted proposal draws of one structure, with its k-hat, ESS and log evidence."""
    S, J = cells.weight.shape
    grid = _fit_grid(cells, F, priors, points, structure)
    pi = np.exp(grid.log_marginal - grid.log_marginal.max())
    pi = np.where(pi > 1e-6 * pi.max(), pi, 0.0)
    pi /= pi.sum()
    P = S * J + grid.v.shape[1]
    n_prop = int(min(max(8 * draws, 8000), max(draws, _PROPOSAL_FLOATS // P)))
    (eta, v, comp), weights, k_hat, log_ev = _importance(cells, grid, pi, n_prop, rng)
    if k_hat > 0.5:  # one round re-weighting the grid points by their importance weights
        cand = _importance(cells, grid, _reweighted(pi, comp, weights), n_prop, rng)
        if cand[2] < k_hat:
            (eta, v, comp), weights, k_hat, log_ev = cand
    step = float(grid.log_tau[1, -1] - grid.log_tau[0, -1]) if points > 1 else 0.0
    return {
        "eta": eta,
        "v": v,
        "log_tau": grid.log_tau[comp],
        "step": step,
        "weights": weights,
        "k_hat": k_hat,
        "ess": float(1.0 / np.sum(weights**2)),
        "log_evidence": log_ev,
        "grid_points": int(np.count_nonzero(pi)),
    }


def _resampled(fit: dict[str, Any], n: int, rng: np.random.Generator) -> dict[str, FloatArray]:
    """``n`` posterior draws from one structure's weighted proposal draws."""
    idx = systematic_resample(fit["weights"], n, rng)
    jitter = rng.uniform(-0.5, 0.5, (n, 3)) * fit["step"]
    tau = np.exp(fit["log_tau"][idx] + jitter)
    return {
        "theta": fit["eta"][idx],
        "mu_a": fit["v"][idx, 0],
        "mu_b": fit["v"][idx, 1:],
        "tau_a": tau[:, 0],
        "tau_b": tau[:, 1],
        "tau_r": tau[:, 2],
    }
