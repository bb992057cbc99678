r"""A small vectorized Hamiltonian Monte Carlo sampler with R-hat and ESS (numpy only).

Many chains move together as the rows of one array, so every leapfrog step is a
handful of numpy operations on a (chains, parameters) array, whatever the number
of chains. It is the fast path of posteriors that the nested Laplace
approximation (:mod:`judgecal.calibration.bayes.grid_laplace`) cannot represent,
such as the ``monotone`` kind on long judge scales (tens of parameters with
exponentiated increments), and it is tuned for the size of these models: tens
to a few hundred parameters, a log density whose gradient costs microseconds.

Warm-up follows Stan's windowed adaptation, pooled over chains: the step size by
dual averaging (Hoffman and Gelman, 2014) towards a mean acceptance rate of
0.8, and two windows that estimate a dense mass matrix from the pooled warm-up
draws of all chains (so a window of 40 iterations of 16 chains already has 640
draws). The sampler works in the coordinates whitened by that matrix. Each
iteration draws its number of leapfrog steps uniformly up to twice the number
that covers an integration time of 2 (whitened units; jittered trajectories
avoid the periodicities of a fixed length), and each chain jitters its step
size by up to 10%.

:func:`diagnostics` computes the rank-normalized split :math:`\hat R` (bulk and
folded) and the bulk effective sample size of Vehtari, Gelman, Simpson,
Carpenter and Bürkner (2021); :func:`trusted` says whether the draws stand for
the posterior, and the calibrator falls back to NUTS when they do not.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from judgecal._validation import FloatArray

__all__ = ["RHAT_MAX", "ESS_MIN", "diagnostics", "sample", "trusted"]

#: ``x (chains, D) -> (log density (chains,), gradient (chains, D))``
LogDensity = Callable[[FloatArray], tuple[FloatArray, FloatArray]]
#: ``(x, log density, rng) -> (x, log density)``: extra moves after each transition
Moves = Callable[[FloatArray, FloatArray, np.random.Generator], tuple[FloatArray, FloatArray]]

#: Draws are trusted when every rank-normalized split R-hat is at most this ...
RHAT_MAX = 1.05
#: ... every bulk effective sample size is at least this ...
ESS_MIN = 200.0
#: ... and at most this share of the transitions diverged.
DIVERGENT_MAX = 0.02
_TARGET_ACCEPT = 0.8
INTEGRATION_TIME = 2.0
_MAX_STEPS = 64
_DIVERGENCE = 1000.0  # energy error that counts as a divergent transition


class _DualAveraging:
    """Step-size adaptation of Hoffman and Gelman (2014), Algorithm 5."""

    def __init__(self, step: float) -> None:
        self.mu = math.log(10.0 * step)
        self.h_bar = 0.0
        self.log_step = math.log(step)
        self.log_bar = 0.0
        self.count = 0

    def update(self, accept: float) -> float:
        self.count += 1
        t = self.count
        self.h_bar += ((_TARGET_ACCEPT - accept) - self.h_bar) / (t + 10.0)
        self.log_step = self.mu - math.sqrt(t) / 0.05 * self.h_bar
        eta = t**-0.75
        self.log_bar = eta * self.log_step + (1.0 - eta) * self.log_bar
        return math.exp(self.log_step)

    @property
    def final(self) -> float:
        return math.exp(self.log_bar)


class _Whitened:
    """The log density in coordinates ``y`` with ``x = center + chol @ y``."""

    def __init__(self, log_density: LogDensity, center: FloatArray, chol: FloatArray) -> None:
        self.log_density, self.center, self.chol = log_density, center, chol

    def to_x(self, y: FloatArray) -> FloatArray:
        out: FloatArray = self.center + y @ self.chol.T
        return out

    def to_y(self, x: FloatArray) -> FloatArray:
        out: FloatArray = np.linalg.solve(self.chol, (x - self.center).T).T.astype(np.float64)
        return out

    def __call__(self, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        value, grad = self.log_density(self.to_x(y))
        out: FloatArray = grad @ self.chol
        return value, out


def _transition(
    target: _Whitened,
    state: tuple[FloatArray, FloatArray, FloatArray],
    step: FloatArray,
    n_steps: int,
    rng: np.random.Generator,
) -> tuple[tuple[FloatArray, FloatArray, FloatArray], FloatArray, FloatArray]:
    """One HMC transition of every chain: new state, acceptance probabilities, divergences."""
    y, value, grad = state
    momentum = rng.standard_normal(y.shape)
    h0 = value - 0.5 * np.einsum("cd,cd->c", momentum, momentum)
    yn, gn = y, grad
    p = momentum + 0.5 * step * gn
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(n_steps):
            yn = yn + step * p
            vn, gn = target(yn)
            gn = np.where(np.isfinite(gn), gn, 0.0)
            p = p + (step if k < n_steps - 1 else 0.5 * step) * gn
        h1 = vn - 0.5 * np.einsum("cd,cd->c", p, p)
        log_accept = np.where(np.isfinite(h1), np.minimum(0.0, h1 - h0), -np.inf)
    divergent = ~(log_accept > -_DIVERGENCE)
    accept = np.log(rng.random(y.shape[0])) < log_accept
    new = (
        np.where(accept[:, None], yn, y),
        np.where(accept, vn, value),
        np.where(accept[:, None], gn, grad),
    )
    return new, np.exp(log_accept), divergent.astype(np.float64)


def _mass_chol(window: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Mean and Cholesky factor of the regularised covariance of pooled draws (Stan's)."""
    flat = window.reshape(-1, window.shape[-1])
    n, dim = flat.shape
    dev = flat - flat.mean(axis=0)
    cov = dev.T @ dev / (n - 1.0)
    cov = (n / (n + 5.0)) * cov + 1e-3 * (5.0 / (n + 5.0)) * np.eye(dim)
    return flat.mean(axis=0), np.linalg.cholesky(cov)


def _hessian(log_density: LogDensity, x: FloatArray) -> tuple[float, FloatArray, FloatArray]:
    """Log density, gradient and (central-difference) Hessian at one point ``x`` (D,)."""
    dim, eps = x.size, 1e-5
    points = np.concatenate([x[None], x + eps * np.eye(dim), x - eps * np.eye(dim)])
    value, grad = log_density(points)
    hess = (grad[1 : dim + 1] - grad[dim + 1 :]) / (2.0 * eps)
    return float(value[0]), grad[0], 0.5 * (hess + hess.T)


def laplace_start(
    log_density: LogDensity, x0: FloatArray, chains: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Starting points, centre and Cholesky factor of a Laplace fit of the joint density.

    Damped Newton steps from ``x0`` to the mode; the inverse negative Hessian there
    (with a ridge when it is not positive definite) is the first metric, and the
    chains start at draws from it, so that warm-up only refines them.
    """
    x, dim = x0.astype(np.float64), x0.size
    value, grad, hess = _hessian(log_density, x)
    for _ in range(30):
        neg = -hess
        ridge = 0.0
        while True:
            try:
                chol_h = np.linalg.cholesky(neg + ridge * np.eye(dim))
                break
            except np.linalg.LinAlgError:
                ridge = max(1e-3, 10.0 * ridge)
        step = np.linalg.solve(chol_h.T, np.linalg.solve(chol_h, grad))
        t = 1.0
        while t > 1e-4:
            cand = x + t * step
            cand_value = float(log_density(cand[None])[0][0])
            if cand_value >= value:
                break
            t *= 0.5
        if t <= 1e-4:
            break
        x = cand
        value, grad, hess = _hessian(log_density, x)
        if float(np.max(np.abs(t * step))) < 1e-6:
            break
    # a hierarchical model's joint mode sits where a scale shrinks: the curvature there
    # can be tiny in some directions, so the variances are capped at the prior's order
    eigval, eigvec = np.linalg.eigh(chol_h @ chol_h.T)
    cov = (eigvec / np.clip(eigval, 1.0, None)) @ eigvec.T
    chol = np.linalg.cholesky(cov + 1e-10 * np.eye(dim))
    start = x + rng.uniform(-1.0, 1.0, (chains, dim)) @ chol.T
    return start, x, chol


def sample(
    log_density: LogDensity,
    start: FloatArray,
    rng: np.random.Generator,
    *,
    draws: int,
    warmup: int = 150,
    integration_time: float = INTEGRATION_TIME,
    metric: tuple[FloatArray, FloatArray] | None = None,
    enough: Callable[[FloatArray], bool] | None = None,
    rounds: int = 1,
    moves: Moves | None = None,
) -> dict[str, Any]:
    """Draws of every chain after warm-up, ``(chains, draws, D)``, with sampler statistics.

    Parameters
    ----------
    log_density : callable
        ``x (chains, D) -> (log density (chains,), gradient (chains, D))``, up to a
        constant; ``-inf`` where the density is zero.
    start : ndarray of shape (chains, D)
        Starting points (dispersed, so that R-hat can detect chains that disagree).
    rng : numpy.random.Generator
    draws : int
        Draws kept per chain.
    warmup : int
        Warm-up iterations per chain (at least 40). Without ``metric``, the mass
        matrix is estimated at 40% and 70% of them; with it, once at 60%.
    integration_time : float
        Mean trajectory length in whitened units.
    metric : (centre, Cholesky factor), optional
        A first guess of the posterior mean and covariance (:func:`laplace_start`).
    enough : callable, optional
        ``draws (chains, n, D) -> bool``: whether the draws so far suffice; while it
        says no, up to ``rounds - 1`` more rounds of ``draws`` per chain are added.
    rounds : int
        Rounds of draws at most.
    moves : callable, optional
        ``(x, log density, rng) -> (x, log density)``: extra Markov moves that leave
        the target invariant (e.g. Metropolis updates of group scales), made after
        every HMC transition.

    Returns
    -------
    dict
        ``draws`` (chains, draws, D), ``step_size``, ``divergences`` and ``gradients``
        (gradient evaluations per chain).

    Examples
    --------
    >>> def normal(x):
    ...     return -0.5 * (x**2).sum(1), -x
    >>> out = sample(normal, np.zeros((8, 3)), np.random.default_rng(0), draws=200)
    >>> out["draws"].shape, bool(abs(out["draws"].std() - 1.0) < 0.1)
    ((8, 200, 3), True)
    """
    chains, dim = start.shape
    warmup = max(40, warmup)
    # mass-matrix windows: (first, last) warm-up iterations whose draws estimate it
    windows: list[tuple[int, int]]
    if metric is None:
        target = _Whitened(log_density, np.zeros(dim), np.eye(dim))
        cut = int(0.4 * warmup)
        windows, step = [(int(0.2 * warmup), cut), (cut, int(0.7 * warmup))], 0.1
    else:
        target = _Whitened(log_density, *metric)
        windows, step = [(int(0.2 * warmup), int(0.6 * warmup))], 0.5
    ends = [end for _, end in windows]
    state = (target.to_y(start), *target(target.to_y(start)))
    history = np.empty((warmup, chains, dim))
    adapt = _DualAveraging(step)
    gradients = divergences = 0
    kept = np.empty((chains, draws * rounds, dim))
    total = warmup + draws
    it = 0
    while it < total:
        base = min(_MAX_STEPS, math.ceil(integration_time / step))
        n_steps = int(rng.integers(max(1, base // 2), base + base // 2 + 1))
        jitter = step * rng.uniform(0.9, 1.1, (chains, 1))
        state, accept, divergent = _transition(target, state, jitter, n_steps, rng)
        gradients += n_steps
        if moves is not None:
            x, _ = moves(target.to_x(state[0]), state[1], rng)
            y = target.to_y(x)
            state = (y, *target(y))
        if it < warmup:
            history[it] = target.to_x(state[0])
            step = adapt.update(float(np.mean(accept)))
            if it + 1 in ends:  # a new mass matrix from the window's draws
                begin = windows[ends.index(it + 1)][0]
                target = _Whitened(log_density, *_mass_chol(history[begin : it + 1]))
                y = target.to_y(history[it])
                state = (y, *target(y))
                adapt = _DualAveraging(step)
            elif it + 1 == warmup:
                step = adapt.final
        else:
            divergences += int(divergent.sum())
            kept[:, it - warmup] = target.to_x(state[0])
        it += 1
        done = it - warmup
        if it == total and done < draws * rounds and enough and not enough(kept[:, :done]):
            total += draws
    kept = kept[:, : total - warmup]
    return {
        "draws": kept,
        "step_size": step,
        "divergences": divergences,
        "gradients": gradients,
    }


# --------------------------------------------------------------------------------------
# Diagnostics (Vehtari et al., 2021)
# --------------------------------------------------------------------------------------
def _split(chains: FloatArray) -> FloatArray:
    """Each chain cut in two halves: (2 chains, draws // 2, D)."""
    half = chains.shape[1] // 2
    out: FloatArray = np.concatenate([chains[:, :half], chains[:, -half:]], axis=0)
    return out


# Rational approximation of the standard normal quantile (P. J. Acklam, 2003; relative
# error below 1.2e-9), so that the diagnostics need no scipy import (0.3-0.5 s).
_ACKLAM_A = (
    -39.69683028665376,
    220.9460984245205,
    -275.9285104469687,
    138.3577518672690,
    -30.66479806614716,
    2.506628277459239,
)
_ACKLAM_B = (
    -54.47609879822406,
    161.5858368580409,
    -155.6989798598866,
    66.80131188771972,
    -13.28068155288572,
)
_ACKLAM_C = (
    -0.007784894002430293,
    -0.3223964580411365,
    -2.400758277161838,
    -2.549732539343734,
    4.374664141464968,
    2.938163982698783,
)
_ACKLAM_D = (0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416)


def _poly(coef: tuple[float, ...], x: FloatArray) -> FloatArray:
    out = np.zeros_like(x)
    for c in coef:
        out = out * x + c
    return out


def normal_quantile(p: Any) -> FloatArray:
    """The standard normal quantile of probabilities strictly between 0 and 1.

    Examples
    --------
    >>> np.round(normal_quantile(np.array([0.025, 0.5, 0.95])), 6)
    array([-1.959964,  0.      ,  1.644854])
    """
    p = np.asarray(p, dtype=np.float64)
    low = np.minimum(p, 1.0 - p)  # the lower tail, by symmetry
    tail = low < 0.02425
    q = np.sqrt(-2.0 * np.log(np.where(tail, low, 0.02425)))
    out_tail = _poly(_ACKLAM_C, q) / (_poly(_ACKLAM_D, q) * q + 1.0)
    r = low - 0.5
    r2 = r * r
    out_mid = _poly(_ACKLAM_A, r2) * r / (_poly(_ACKLAM_B, r2) * r2 + 1.0)
    z = np.where(tail, out_tail, out_mid)  # quantile of the lower tail (negative)
    out: FloatArray = np.where(p < 0.5, z, -z)
    return out


def _rank_normal(chains: FloatArray) -> FloatArray:
    """Normal scores of the pooled ranks of every parameter."""
    flat = chains.reshape(-1, chains.shape[-1])
    ranks = np.argsort(np.argsort(flat, axis=0), axis=0) + 1.0
    out: FloatArray = normal_quantile((ranks - 0.375) / (flat.shape[0] + 0.25)).reshape(
        chains.shape
    )
    return out


def _rhat(chains: FloatArray) -> FloatArray:
    n = chains.shape[1]
    within = chains.var(axis=1, ddof=1).mean(axis=0)
    between = n * chains.mean(axis=1).var(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.sqrt(((n - 1.0) / n * within + between / n) / within)
    return np.where(within > 0, out, np.inf)


def _ess(chains: FloatArray) -> FloatArray:
    """Effective sample size with Geyer's initial monotone sequence, per parameter."""
    m, n, _ = chains.shape
    dev = chains - chains.mean(axis=1, keepdims=True)
    size = 2 ** math.ceil(math.log2(2 * n))
    spec = np.fft.rfft(dev, n=size, axis=1)
    acov = np.fft.irfft(spec * np.conj(spec), n=size, axis=1)[:, :n] / n  # (m, n, D)
    within = chains.var(axis=1, ddof=1).mean(axis=0)
    var_plus = (n - 1.0) / n * within + chains.mean(axis=1).var(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = 1.0 - (within - acov.mean(axis=0)) / var_plus  # (n, D)
    rho[0] = 1.0
    pairs = rho[: 2 * (n // 2)].reshape(n // 2, 2, -1).sum(axis=1)  # (n // 2, D)
    positive = np.cumprod(pairs > 0, axis=0).astype(bool)
    pairs = np.minimum.accumulate(np.where(positive, pairs, np.inf), axis=0)
    tau = -1.0 + 2.0 * np.where(positive, pairs, 0.0).sum(axis=0)
    tau = np.maximum(tau, 1.0 / math.log10(m * n))
    out: FloatArray = np.where(np.isfinite(var_plus) & (within > 0), m * n / tau, 0.0)
    return out


def diagnostics(chains: FloatArray) -> dict[str, float]:
    """Largest rank-normalized split R-hat (bulk and folded) and smallest bulk ESS.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = diagnostics(rng.standard_normal((8, 100, 2)))
    >>> bool(d["max_rhat"] < 1.01), bool(d["min_ess_bulk"] > 400)
    (True, True)
    """
    split = _split(chains)
    bulk = _rank_normal(split)
    folded = _rank_normal(np.abs(split - np.median(split.reshape(-1, split.shape[-1]), axis=0)))
    rhat = np.maximum(_rhat(bulk), _rhat(folded))
    return {"max_rhat": float(np.max(rhat)), "min_ess_bulk": float(np.min(_ess(bulk)))}


def trusted(diag: dict[str, Any]) -> bool:
    """Whether HMC draws stand for the posterior: R-hat, bulk ESS and divergences."""
    transitions = max(1, int(diag.get("transitions", 1)))
    return bool(
        diag["max_rhat"] <= RHAT_MAX
        and diag["min_ess_bulk"] >= ESS_MIN
        and diag["divergences"] <= DIVERGENT_MAX * transitions
    )


def untrusted_reason(diag: dict[str, Any]) -> str:
    """What made :func:`trusted` say no, in words."""
    return (
        f"HMC max R-hat {diag['max_rhat']:.3f} (limit {RHAT_MAX}), min bulk ESS "
        f"{diag['min_ess_bulk']:.0f} (minimum {ESS_MIN:.0f}), {diag['divergences']} "
        f"divergent transitions of {diag.get('transitions', 0)}"
    )
