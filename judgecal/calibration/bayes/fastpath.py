r"""The numpy fast path of the binary Bayesian calibrator (no PyMC).

Model: :math:`y \sim \text{Bernoulli}(\sigma(a_j + b_j f))` in stage :math:`j`,
:math:`a_j \sim N(\mu_a, \tau_a^2)`, :math:`b_j \sim N(\mu_b, \tau_b^2)`,
:math:`\mu_a \sim N(m_a, s_a^2)`, :math:`\mu_b \sim N(m_b, s_b^2)` and
half-normal group scales :math:`\tau_a, \tau_b`.

The scales are integrated over a log-spaced grid; at each grid point the
conditional posterior of :math:`\theta = (a_{1..S}, b_{1..S}, \mu_a, \mu_b)` is
fitted by Newton's method (a Laplace approximation, as in INLA: Rue, Martino
and Chopin, 2009). Draws from the mixture of those fits (Student-t around each
mode) are importance-weighted against the exact posterior and Pareto-smoothed
(:func:`psis`; Vehtari et al., 2024).

Cost in the number of stages :math:`S`
--------------------------------------
The Hessian of the conditional posterior couples :math:`a_j` only with
:math:`b_j` and the two population means: it is block-diagonal with 2x2 blocks
plus a border of two rows (an arrowhead matrix). Its Cholesky factor, in the
order :math:`(a_{1..S}, b_{1..S}, \mu_a, \mu_b)`, has the same shape, and
:class:`ArrowFactor` computes it with per-stage 2x2 arithmetic and a 2x2 Schur
complement. Fitting, the log-determinants and the draws are therefore linear in
:math:`S` in time and memory (a dense solver is cubic in time and quadratic in
memory: 100 stages took 17 s and 0.8 GB). What remains is the posterior itself,
``draws x S`` numbers per coefficient; :data:`MAX_DRAW_STAGES` bounds it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from judgecal._validation import FloatArray, IntArray
from judgecal.calibration.base import sigmoid

__all__ = ["MAX_DRAW_STAGES", "ArrowFactor", "laplace_binary", "psis"]

# draws x stages above this would make a posterior of more than ~1.6 GB in memory (several
# copies while fitting) and a saved file of several GB: fit() refuses it with advice.
MAX_DRAW_STAGES = 10_000_000
# Elements of one (draws x distinct rows) block when evaluating the exact log density.
_BLOCK = 1 << 21


def softplus(t: Any) -> Any:
    """``log(1 + exp(t))``, computed stably."""
    return np.logaddexp(0.0, t)


# --------------------------------------------------------------------------------------
# PSIS
# --------------------------------------------------------------------------------------
def _gpd_fit(x: FloatArray) -> tuple[float, float]:
    """Generalized Pareto fit (shape k, scale sigma) by Zhang and Stephens (2009), as in PSIS."""
    n = x.size
    m = 30 + int(np.sqrt(n))
    prior = 3.0
    q1 = x[int(n / 4.0 + 0.5) - 1]
    if not q1 > 0:
        pos = x[x > 0]
        if pos.size == 0:
            return 0.0, 1.0
        q1 = float(pos[0])
    bs = 1.0 - np.sqrt(m / (np.arange(1, m + 1) - 0.5))
    bs /= prior * q1
    bs += 1.0 / x[-1]
    ks = np.log1p(-bs[:, None] * x).mean(axis=1)
    L = n * (np.log(-(bs / ks)) - ks - 1.0)
    w = 1.0 / np.exp(L - L[:, None]).sum(axis=1)
    b = float(np.sum(bs * w))
    k = float(np.log1p(-b * x).mean())
    sigma = -k / b
    k = (n * k + 10 * 0.5) / (n + 10)  # weakly informative prior on k, as in PSIS
    return k, sigma


def _smooth_tail(lw: FloatArray, m: int) -> tuple[FloatArray, float]:
    """Replace the ``m`` largest log weights by Pareto quantiles; returns them and k-hat."""
    order = np.argsort(lw)
    tail_idx = order[-m:]
    cutoff = lw[order[-m - 1]]
    tail = np.exp(lw[tail_idx])
    exp_cut = math.exp(cutoff)
    if not np.ptp(tail) > 1e-12 * tail.max():
        return lw, 0.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        k_hat, sigma = _gpd_fit(np.sort(tail) - exp_cut)
    if np.isfinite(k_hat) and sigma > 0:
        p = (np.arange(1, m + 1) - 0.5) / m
        if abs(k_hat) > 1e-10:
            q = sigma * (np.power(1.0 - p, -k_hat) - 1.0) / k_hat
        else:  # pragma: no cover - exponential tail
            q = -sigma * np.log1p(-p)
        lw = lw.copy()
        lw[tail_idx] = np.log(np.minimum(q + exp_cut, 1.0))
    return lw, k_hat


def psis(log_w: FloatArray) -> tuple[FloatArray, float]:
    """Pareto-smoothed importance weights (normalised) and the Pareto ``k-hat``.

    Vehtari, Simpson, Gelman, Yao and Gabry (2024), "Pareto smoothed importance
    sampling", JMLR 25(72). ``k-hat < 0.7`` means the weights are reliable.

    Examples
    --------
    >>> w, k = psis(np.zeros(1000))
    >>> bool(np.allclose(w, 1e-3)), k < 0.5
    (True, True)
    """
    lw = np.asarray(log_w, dtype=np.float64) - np.max(log_w)
    m = int(min(0.2 * lw.size, 3.0 * np.sqrt(lw.size)))
    k_hat = -np.inf
    if m >= 5:
        lw, k_hat = _smooth_tail(lw, m)
    if np.isnan(k_hat):
        k_hat = np.inf
    w = np.exp(lw - np.max(lw))
    return w / w.sum(), float(k_hat)


def systematic_resample(w: FloatArray, n: int, rng: np.random.Generator) -> IntArray:
    """``n`` indices drawn in proportion to the weights ``w`` (systematic resampling)."""
    cdf = np.cumsum(w)
    cdf[-1] = 1.0
    u = (rng.random() + np.arange(n)) / n
    idx: IntArray = np.searchsorted(cdf, u).astype(np.int64)
    return idx


def data_order(g: Any, w: Any, y: Any, x: Any, n_stages: int) -> Any:
    """Rank of each stage when stages are ordered by their data rather than their names.

    The random draws of the fast path follow the order of the stages. Ordering
    them by a summary of their data (count, weights, agreement, score moments;
    names only break exact ties) makes the posterior draws, and so every
    prediction, unchanged when stages are renamed or rows are permuted.
    """
    summary = np.stack(
        [
            np.bincount(g, minlength=n_stages).astype(np.float64),
            np.bincount(g, weights=w, minlength=n_stages),
            np.bincount(g, weights=w * y, minlength=n_stages),
            np.bincount(g, weights=w * x, minlength=n_stages),
            np.bincount(g, weights=w * x * y, minlength=n_stages),
        ],
        axis=1,
    )
    order = sorted(range(n_stages), key=lambda k: (*np.round(summary[k], 9).tolist(), k))
    rank = np.empty(n_stages, dtype=np.int64)
    rank[order] = np.arange(n_stages)
    return rank


# --------------------------------------------------------------------------------------
# The model: sufficient statistics, prior precisions, density
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Model:
    """Sufficient statistics per distinct (stage, feature) row and the prior on one grid."""

    stage: IntArray  # (R,) stage of each distinct row
    feature: FloatArray  # (R,)
    weight: FloatArray  # (R,) total weight W
    agree: FloatArray  # (R,) weighted agreement Y
    n_stages: int
    center: FloatArray  # (2,) prior means of mu_a, mu_b
    hyper_precision: FloatArray  # (2,) 1 / sd_a^2, 1 / sd_b^2
    precision_a: FloatArray  # (G,) 1 / tau_a^2 per grid point
    precision_b: FloatArray  # (G,)

    @property
    def n_params(self) -> int:
        return 2 * self.n_stages + 2

    def eta(self, theta: FloatArray) -> FloatArray:
        """Linear predictor (rows of theta, R)."""
        S = self.n_stages
        a, b = theta[:, :S], theta[:, S : 2 * S]
        out: FloatArray = a[:, self.stage] + b[:, self.stage] * self.feature
        return out

    def prior_quadratic(self, theta: FloatArray, grid: IntArray) -> FloatArray:
        """``(theta - m)' Q (theta - m)`` for each row, with Q of that row's grid point."""
        S = self.n_stages
        mu = theta[:, 2 * S :]
        dev_a = theta[:, :S] - mu[:, :1]
        dev_b = theta[:, S : 2 * S] - mu[:, 1:]
        hyper = ((mu - self.center) ** 2) @ self.hyper_precision
        out: FloatArray = (
            self.precision_a[grid] * np.einsum("ij,ij->i", dev_a, dev_a)
            + self.precision_b[grid] * np.einsum("ij,ij->i", dev_b, dev_b)
            + hyper
        )
        return out

    def logdet_prior(self) -> FloatArray:
        """``log det Q`` per grid point (Q: the prior precision of theta)."""
        S = self.n_stages
        out: FloatArray = (
            S * np.log(self.precision_a)
            + S * np.log(self.precision_b)
            + float(np.log(self.hyper_precision).sum())
        )
        return out

    def neg_log_post(self, theta: FloatArray) -> FloatArray:
        """Negative log conditional posterior (up to constants), one per grid point."""
        eta = self.eta(theta)
        grid = np.arange(theta.shape[0])
        out: FloatArray = (
            softplus(eta) @ self.weight - eta @ self.agree + 0.5 * self.prior_quadratic(theta, grid)
        )
        return out

    def stage_sums(self, values: FloatArray) -> FloatArray:
        """Per-stage sums of ``values`` (G, R) -> (G, S)."""
        G = values.shape[0]
        S = self.n_stages
        idx = (np.arange(G)[:, None] * S + self.stage[None, :]).ravel()
        sums = np.bincount(idx, weights=values.ravel(), minlength=G * S)
        return np.asarray(sums, dtype=np.float64).reshape(G, S)

    def gradient(self, theta: FloatArray) -> FloatArray:
        """Gradient of :meth:`neg_log_post` (G, P)."""
        S = self.n_stages
        resid = self.weight * sigmoid(self.eta(theta)) - self.agree
        mu = theta[:, 2 * S :]
        dev_a = (theta[:, :S] - mu[:, :1]) * self.precision_a[:, None]
        dev_b = (theta[:, S : 2 * S] - mu[:, 1:]) * self.precision_b[:, None]
        grad = np.empty_like(theta)
        grad[:, :S] = self.stage_sums(resid) + dev_a
        grad[:, S : 2 * S] = self.stage_sums(resid * self.feature) + dev_b
        grad[:, 2 * S] = -dev_a.sum(axis=1) + self.hyper_precision[0] * (mu[:, 0] - self.center[0])
        grad[:, 2 * S + 1] = -dev_b.sum(axis=1) + self.hyper_precision[1] * (
            mu[:, 1] - self.center[1]
        )
        return grad

    def factor(self, theta: FloatArray) -> ArrowFactor:
        """Cholesky factor of the Hessian of :meth:`neg_log_post` at ``theta``."""
        p = sigmoid(self.eta(theta))
        h = self.weight * p * (1.0 - p)
        return ArrowFactor.from_blocks(
            self.stage_sums(h) + self.precision_a[:, None],
            self.stage_sums(h * self.feature),
            self.stage_sums(h * self.feature**2) + self.precision_b[:, None],
            self.precision_a,
            self.precision_b,
            self.n_stages * np.column_stack([self.precision_a, self.precision_b])
            + self.hyper_precision,
        )


# --------------------------------------------------------------------------------------
# The arrowhead Cholesky factor
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ArrowFactor:
    r"""Lower Cholesky factor ``L`` of a batch of arrowhead Hessians (one per grid point).

    Variables in the order :math:`(a_{1..S}, b_{1..S}, \mu_a, \mu_b)`. The Hessian
    has ``H[a_j, a_j]``, ``H[a_j, b_j]``, ``H[b_j, b_j]`` per stage, the border
    ``H[a_j, mu_a] = -p_a`` and ``H[b_j, mu_b] = -p_b`` and a diagonal corner. ``L``
    has, per stage, ``L[a_j, a_j] = l11``, ``L[b_j, a_j] = l21``,
    ``L[b_j, b_j] = l22``; border rows ``L[mu_a, a_j] = e_aa``,
    ``L[mu_a, b_j] = e_ab``, ``L[mu_b, b_j] = e_bb`` (``L[mu_b, a_j] = 0``); and the
    2x2 Cholesky factor ``corner`` of the Schur complement. All arrays are (G, S),
    ``corner`` (G, 2, 2).

    Examples
    --------
    >>> f = ArrowFactor.from_blocks(
    ...     np.array([[2.0]]), np.array([[0.5]]), np.array([[3.0]]),
    ...     np.array([1.0]), np.array([1.0]), np.array([[2.0, 2.0]]))
    >>> H = np.array([[2, 0.5, -1, 0], [0.5, 3, 0, -1], [-1, 0, 2, 0], [0, -1, 0, 2]])
    >>> bool(np.allclose(f.solve(np.ones((1, 4))), np.linalg.solve(H, np.ones(4))))
    True
    >>> bool(np.isclose(f.logdet()[0], np.linalg.slogdet(H)[1]))
    True
    """

    l11: FloatArray
    l21: FloatArray
    l22: FloatArray
    e_aa: FloatArray
    e_ab: FloatArray
    e_bb: FloatArray
    corner: FloatArray

    @classmethod
    def from_blocks(
        cls,
        haa: FloatArray,
        hab: FloatArray,
        hbb: FloatArray,
        border_a: FloatArray,
        border_b: FloatArray,
        corner_diag: FloatArray,
    ) -> ArrowFactor:
        """Factor from stage blocks (G, S), border precisions (G,) and corner diagonal (G, 2)."""
        l11 = np.sqrt(haa)
        l21 = hab / l11
        l22 = np.sqrt(hbb - l21**2)
        e_aa = -border_a[:, None] / l11
        e_ab = -e_aa * l21 / l22
        e_bb = -border_b[:, None] / l22
        schur = np.zeros((haa.shape[0], 2, 2))
        schur[:, 0, 0] = corner_diag[:, 0] - np.einsum("gs,gs->g", e_aa, e_aa) - (e_ab**2).sum(1)
        schur[:, 1, 1] = corner_diag[:, 1] - np.einsum("gs,gs->g", e_bb, e_bb)
        schur[:, 0, 1] = schur[:, 1, 0] = -np.einsum("gs,gs->g", e_ab, e_bb)
        corner = np.asarray(np.linalg.cholesky(schur), dtype=np.float64)
        return cls(l11, l21, l22, e_aa, e_ab, e_bb, corner)

    def logdet(self) -> FloatArray:
        """``log det H`` per grid point."""
        diag = np.log(self.l11).sum(axis=1) + np.log(self.l22).sum(axis=1)
        corner = np.log(np.diagonal(self.corner, axis1=1, axis2=2)).sum(axis=1)
        out: FloatArray = 2.0 * (diag + corner)
        return out

    def solve_lower(self, rhs: FloatArray) -> FloatArray:
        """``L^{-1} rhs`` for rhs (G, P)."""
        S = self.l11.shape[1]
        ya = rhs[:, :S] / self.l11
        yb = (rhs[:, S : 2 * S] - self.l21 * ya) / self.l22
        border = rhs[:, 2 * S :] - np.stack(
            [
                np.einsum("gs,gs->g", self.e_aa, ya) + np.einsum("gs,gs->g", self.e_ab, yb),
                np.einsum("gs,gs->g", self.e_bb, yb),
            ],
            axis=1,
        )
        ymu = np.linalg.solve(self.corner, border[..., None])[..., 0]
        return np.concatenate([ya, yb, ymu], axis=1)

    def solve_upper(self, rhs: FloatArray, rows: Any = slice(None)) -> FloatArray:
        """``L^{-T} rhs`` for rhs (n, P), row ``i`` using the factor of grid point ``rows[i]``."""
        S = self.l11.shape[1]
        corner_t = np.transpose(self.corner[rows], (0, 2, 1))
        xmu = np.linalg.solve(corner_t, rhs[:, 2 * S :, None])[..., 0]
        xb = (
            rhs[:, S : 2 * S] - self.e_ab[rows] * xmu[:, :1] - self.e_bb[rows] * xmu[:, 1:]
        ) / self.l22[rows]
        xa = (rhs[:, :S] - self.l21[rows] * xb - self.e_aa[rows] * xmu[:, :1]) / self.l11[rows]
        return np.concatenate([xa, xb, xmu], axis=1)

    def solve(self, rhs: FloatArray) -> FloatArray:
        """``H^{-1} rhs`` for rhs (G, P)."""
        return self.solve_upper(self.solve_lower(rhs))


# --------------------------------------------------------------------------------------
# Newton's method at every grid point, then the importance-sampling step
# --------------------------------------------------------------------------------------
def _newton_modes(model: _Model, start: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Modes of the conditional posteriors (batched Newton with step halving) and their values."""
    theta = start.copy()
    fval = model.neg_log_post(theta)
    active = np.ones(theta.shape[0], dtype=bool)
    for _ in range(100):
        step = model.factor(theta).solve(model.gradient(theta))
        step[~active] = 0.0
        cand, fc, t = _halve_steps(model, theta, fval, step)
        done = (np.abs(fval - fc) < 1e-10 * (1.0 + np.abs(fval))) | (
            np.max(np.abs(t[:, None] * step), axis=1) < 1e-9
        )
        improved = fc <= fval + 1e-12
        theta = np.where(improved[:, None], cand, theta)
        fval = np.where(improved, fc, fval)
        active &= ~done & improved
        if not active.any():
            break
    return theta, fval


def _halve_steps(
    model: _Model, theta: FloatArray, fval: FloatArray, step: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Backtracking: halve each grid point's step until its objective does not rise."""
    t = np.ones(theta.shape[0])
    cand = theta - step
    fc = model.neg_log_post(cand)
    for _ in range(30):
        worse = fc > fval + 1e-12
        if not worse.any():
            break
        t[worse] *= 0.5
        cand[worse] = theta[worse] - t[worse, None] * step[worse]
        fc = np.where(worse, model.neg_log_post(cand), fc)
    return cand, fc, t


def _grid_weights(log_m: FloatArray) -> FloatArray:
    """Normalised mixture weights of the grid points, negligible ones set to 0."""
    pi = np.exp(log_m - log_m.max())
    pi /= pi.sum()
    pi = np.where(pi > 1e-6 * pi.max(), pi, 0.0)
    out: FloatArray = pi / pi.sum()
    return out


def _student_proposals(
    theta: FloatArray,
    factor: ArrowFactor,
    comp: IntArray,
    df: float,
    rng: np.random.Generator,
) -> tuple[FloatArray, FloatArray]:
    """Student-t draws around the modes of grid points ``comp``, and their squared norms."""
    n, P = comp.size, theta.shape[1]
    z = rng.standard_normal((n, P)) / np.sqrt(rng.chisquare(df, n) / df)[:, None]
    th = np.empty((n, P))
    step = max(1, _BLOCK // P)
    for start in range(0, n, step):
        rows = slice(start, start + step)
        th[rows] = theta[comp[rows]] + factor.solve_upper(z[rows], comp[rows])
    return th, np.einsum("ip,ip->i", z, z)


def _log_density(model: _Model, th: FloatArray, comp: IntArray) -> FloatArray:
    """Joint log density of the draws (up to the grid prior), in blocks of draws."""
    out = np.empty(th.shape[0])
    step = max(1, _BLOCK // max(1, model.stage.size))
    for start in range(0, th.shape[0], step):
        rows = slice(start, start + step)
        eta = model.eta(th[rows])
        out[rows] = (
            eta @ model.agree
            - softplus(eta) @ model.weight
            - 0.5 * model.prior_quadratic(th[rows], comp[rows])
        )
    return out


def _sufficient_stats(
    f: FloatArray, y: FloatArray, w: FloatArray, g: IntArray
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
    """Stage, feature, total weight and weighted agreement per distinct (stage, feature)."""
    key = np.column_stack([g.astype(np.float64), f])
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    inv = inv.ravel()
    weight = np.asarray(np.bincount(inv, weights=w, minlength=uniq.shape[0]), dtype=np.float64)
    agree = np.asarray(np.bincount(inv, weights=w * y, minlength=uniq.shape[0]), np.float64)
    return uniq[:, 0].astype(np.int64), np.asarray(uniq[:, 1], dtype=np.float64), weight, agree


def _log_scale_grid(
    prior: dict[str, float], grid: int
) -> tuple[FloatArray, FloatArray, float, float]:
    """Log tau_a and log tau_b at every grid point, and the grid steps."""
    la = np.log(prior["tau_a"]) + np.linspace(np.log(0.02), np.log(3.0), grid)
    lb = np.log(prior["tau_b"]) + np.linspace(np.log(0.02), np.log(3.0), grid)
    lta, ltb = (m.ravel() for m in np.meshgrid(la, lb, indexing="ij"))
    return lta, ltb, float(la[1] - la[0]), float(lb[1] - lb[0])


def _log_prior_scales(lta: FloatArray, ltb: FloatArray, prior: dict[str, float]) -> FloatArray:
    """Normalised half-normal log densities of the scales times the log-grid Jacobian."""
    out: FloatArray = (
        -0.5 * np.exp(2 * lta) / prior["tau_a"] ** 2
        + lta
        - 0.5 * np.exp(2 * ltb) / prior["tau_b"] ** 2
        + ltb
        + 2.0 * (math.log(2.0) - 0.5 * math.log(2.0 * math.pi))
        - math.log(prior["tau_a"])
        - math.log(prior["tau_b"])
    )
    return out


def _log_student(df: float, P: int, logdet_h: FloatArray, sq_norm: FloatArray) -> FloatArray:
    """Log density of a multivariate Student-t draw with precision-scale determinant."""
    out: FloatArray = (
        math.lgamma((df + P) / 2.0)
        - math.lgamma(df / 2.0)
        - 0.5 * P * math.log(df * math.pi)
        + 0.5 * logdet_h
        - 0.5 * (df + P) * np.log1p(sq_norm / df)
    )
    return out


def laplace_binary(
    f: FloatArray,
    y: FloatArray,
    w: FloatArray,
    g: IntArray,
    n_stages: int,
    prior: dict[str, float],
    *,
    draws: int = 2000,
    grid: int = 9,
    rng: np.random.Generator,
    df: float = 6.0,
) -> dict[str, Any]:
    r"""Posterior draws of the hierarchical binary model without PyMC.

    The group scales :math:`(\tau_a, \tau_b)` are integrated over a ``grid`` x
    ``grid`` log-spaced grid (2% to 3x their prior scales). At each grid point
    the conditional posterior of :math:`(a_{1..S}, b_{1..S}, \mu_a, \mu_b)` is
    approximated by a Laplace fit, and the grid point is weighted by its
    Laplace marginal likelihood times the prior of the scales. Draws from that
    mixture (multivariate Student-t with ``df`` degrees of freedom around each
    mode) are importance-weighted against the exact joint density,
    Pareto-smoothed (:func:`psis`) and resampled. Time and memory are linear in
    ``n_stages`` (see the module notes).

    Returns a dict with ``a`` and ``b`` of shape (draws, n_stages), ``mu_a``,
    ``mu_b``, ``tau_a``, ``tau_b`` of shape (draws,), and diagnostics
    ``k_hat`` (PSIS) and ``ess`` (importance-sampling effective sample size).
    """
    stage, feature, weight, agree = _sufficient_stats(f, y, w, g)
    lta, ltb, step_a, step_b = _log_scale_grid(prior, grid)
    model = _Model(
        stage,
        feature,
        weight,
        agree,
        n_stages,
        np.array([prior["mu_a"], prior["mu_b"]]),
        np.array([1.0 / prior["sd_a"] ** 2, 1.0 / prior["sd_b"] ** 2]),
        np.exp(-2.0 * lta),
        np.exp(-2.0 * ltb),
    )
    center = np.repeat(
        [prior["mu_a"], prior["mu_b"], prior["mu_a"], prior["mu_b"]], [n_stages, n_stages, 1, 1]
    ).astype(np.float64)
    theta, fval = _newton_modes(model, np.tile(center, (lta.size, 1)))
    factor = model.factor(theta)
    log_prior_tau = _log_prior_scales(lta, ltb, prior)
    log_m = -fval + 0.5 * model.logdet_prior() - 0.5 * factor.logdet() + log_prior_tau
    pi = _grid_weights(log_m)
    th, comp, log_r = _importance_ratios(
        model, theta, factor, pi, log_prior_tau, max(2 * draws, 2000), df, rng
    )
    weights, k_hat = psis(log_r)
    # Marginal likelihood of the model: the mean raw importance ratio times the grid cell volume.
    r_max = float(np.max(log_r))
    log_evidence = (
        r_max + math.log(float(np.mean(np.exp(log_r - r_max)))) + math.log(step_a * step_b)
    )
    idx = rng.permutation(systematic_resample(weights, draws, rng))
    jit = rng.uniform(-0.5, 0.5, (draws, 2))
    out = _split_draws(th[idx], n_stages)
    out.update(
        tau_a=np.exp(lta[comp[idx]] + jit[:, 0] * step_a),
        tau_b=np.exp(ltb[comp[idx]] + jit[:, 1] * step_b),
        k_hat=k_hat,
        ess=float(1.0 / np.sum(weights**2)),
        grid_points=int(np.count_nonzero(pi)),
        log_evidence=log_evidence,
        # the "raw judge is calibrated" model (a = 0, b = 1 in every stage) has no parameter
        log_evidence_identity=float(feature @ agree - softplus(feature) @ weight),
    )
    return out


def _importance_ratios(
    model: _Model,
    theta: FloatArray,
    factor: ArrowFactor,
    pi: FloatArray,
    log_prior_tau: FloatArray,
    n_prop: int,
    df: float,
    rng: np.random.Generator,
) -> tuple[FloatArray, IntArray, FloatArray]:
    """Student-t mixture proposals, their grid points and log ratios exact / proposal density."""
    comp = rng.choice(pi.size, size=n_prop, p=pi)
    counts = np.bincount(comp, minlength=pi.size)
    th, sq_norm = _student_proposals(theta, factor, comp, df, rng)
    P = model.n_params
    log_q = _log_student(df, P, factor.logdet()[comp], sq_norm) + np.log(counts[comp] / n_prop)
    log_p = (
        _log_density(model, th, comp)
        + 0.5 * model.logdet_prior()[comp]
        - 0.5 * P * math.log(2.0 * math.pi)
        + log_prior_tau[comp]
    )
    return th, comp, log_p - log_q


def _split_draws(th: FloatArray, n_stages: int) -> dict[str, Any]:
    S = n_stages
    return {
        "a": th[:, :S].copy(),
        "b": th[:, S : 2 * S].copy(),
        "mu_a": th[:, 2 * S].copy(),
        "mu_b": th[:, 2 * S + 1].copy(),
    }
