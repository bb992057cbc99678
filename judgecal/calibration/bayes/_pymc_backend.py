"""Everything that touches PyMC, PyTensor and ArviZ (imported only when NUTS is asked for).

No other judgecal module imports pymc, pytensor or arviz;
:mod:`judgecal.calibration.bayes.calibrator` imports this module lazily inside ``fit``
(``method="nuts"``) and ``inference_data_``. Posterior access is kept here too, so that ArviZ's move
from ``InferenceData`` to ``xarray.DataTree`` stays a change in one file.

Compiled models are reused across fits in a process: a model is built once per
(kind, number of stages, number of levels, prior) with ``pm.Data`` containers
for the data, and its NUTS step (the compiled log-density and gradient) is kept
next to it. A new fit swaps the data in with ``pm.set_data``, resets the step's
adaptation and samples; the result is the same as a fresh fit with the same seed.
"""

from __future__ import annotations

import math
import os
import threading
from typing import Any

import numpy as np

from judgecal._exceptions import MissingDependencyError
from judgecal._version import __version__

__all__ = ["build_model", "sample", "sample_plain", "to_inference_data"]

_CACHE: dict[tuple[Any, ...], tuple[Any, Any, Any]] = {}
_LOCK = threading.Lock()


def _import() -> tuple[Any, Any, Any]:
    try:
        os.environ.setdefault("PYTENSOR_FLAGS", "")
        import arviz as az
        import pymc as pm
        import pytensor.tensor as pt
    except ImportError as exc:  # pragma: no cover - pymc is a dependency
        raise MissingDependencyError(
            "method='nuts' needs PyMC and ArviZ: pip install 'pymc>=5.16' 'arviz>=0.18'"
        ) from exc
    return pm, pt, az


def _attrs() -> dict[str, str]:
    return {"created_by": "judgecal", "judgecal_version": __version__, "inference_library": "pymc"}


def build_model(kind: str, data: dict[str, Any], prior: dict[str, float]) -> Any:
    """A PyMC model of ``kind`` with ``pm.Data`` containers.

    The maths is written out in :mod:`judgecal.calibration.bayes.calibrator`.
    """
    if kind not in ("panel", "binary", "flexible", "ordinal", "pairwise"):
        raise ValueError(f"no PyMC model of kind {kind!r} (monotone samples 'flexible')")
    pm, pt, _ = _import()
    S = int(data["n_stages"])
    with pm.Model() as model:
        y = pm.Data("y", data["y"])
        w = pm.Data("w", data["w"])
        g = pm.Data("g", data["g"])
        if kind == "panel":
            _panel_loglik(pm, pt, S, data, prior, y, w, g)
        elif kind == "binary":
            f = pm.Data("f", data["f"])
            mu_a = pm.Normal("mu_a", prior["mu_a"], prior["sd_a"])
            mu_b = pm.Normal("mu_b", prior["mu_b"], prior["sd_b"])
            tau_a = pm.HalfNormal("tau_a", prior["tau_a"])
            tau_b = pm.HalfNormal("tau_b", prior["tau_b"])
            z_a = pm.Normal("z_a", 0.0, 1.0, shape=S)
            z_b = pm.Normal("z_b", 0.0, 1.0, shape=S)
            a = pm.Deterministic("a", mu_a + tau_a * z_a)
            b = pm.Deterministic("b", mu_b + tau_b * z_b)
            eta = a[g] + b[g] * f
            pm.Potential("loglik", pt.sum(w * (y * eta - pt.softplus(eta))))
        elif kind == "flexible":
            _flexible_logit(pm, pt, S, data, prior, y, w, g)
        else:  # ordinal / pairwise: cumulative logit
            K = int(data["n_levels"])
            f = pm.Data("f", data["f"])
            tau_a = pm.HalfNormal("tau_a", prior["tau_a"])
            mu_b = pm.Normal("mu_b", prior["mu_b"], prior["sd_b"])
            tau_b = pm.HalfNormal("tau_b", prior["tau_b"])
            z_a = pm.Normal("z_a", 0.0, 1.0, shape=S)
            z_b = pm.Normal("z_b", 0.0, 1.0, shape=S)
            a = pm.Deterministic("a", tau_a * z_a)
            b = pm.Deterministic("b", mu_b + tau_b * z_b)
            cut = _stage_cuts(pm, pt, S, K, prior)
            eta = a[g] + b[g] * f
            R = int(data.get("n_raters", 0))
            if R:  # rater offsets, partially pooled
                rater = pm.Data("rater", data["rater"])
                tau_r = pm.HalfNormal("tau_r", prior["tau_r"])
                z_r = pm.Normal("z_r", 0.0, 1.0, shape=R)
                eta = eta + (tau_r * z_r)[rater]
            # P(Y >= k) = sigmoid(eta - cut[k-2]); P(Y = k) = P(Y >= k) - P(Y >= k+1)
            big = pt.full((S, 1), 1e6)
            cuts = pt.concatenate([-big, cut, big], axis=1)  # (S, K + 1)
            yi = pt.cast(y, "int64")
            upper = pm.math.sigmoid(eta - cuts[g, yi - 1])
            lower = pm.math.sigmoid(eta - cuts[g, yi])
            pm.Potential("loglik", pt.sum(w * pt.log(pt.maximum(upper - lower, 1e-300))))
    return model


def _stage_cuts(pm: Any, pt: Any, S: int, K: int, prior: dict[str, float]) -> Any:
    """Every stage's cut points (S, K - 1): a shared first cut, pooled log-gaps (non-centred)."""
    from judgecal.calibration.bayes.fast_models import GAP_MEAN, GAP_SD

    d1 = pm.Normal("d1", 0.0, prior["sd_cut"], initval=-1.5)
    if K == 2:
        return pm.Deterministic("cut", d1 + pt.zeros((S, 1)))
    gap_mean = pm.Normal("gap_mean", GAP_MEAN, GAP_SD, shape=K - 2)
    tau_cut = pm.HalfNormal("tau_cut", prior["tau_cut"])
    z_g = pm.Normal("z_g", 0.0, 1.0, shape=(S, K - 2))
    rise = pt.cumsum(pt.exp(gap_mean[None, :] + tau_cut * z_g), axis=1)
    return pm.Deterministic("cut", d1 + pt.concatenate([pt.zeros((S, 1)), rise], axis=1))


def _flexible_logit(
    pm: Any, pt: Any, S: int, data: dict[str, Any], prior: dict[str, float], y: Any, w: Any, g: Any
) -> None:
    """Binary with ``link="flexible"``: backbone ``a_j + F b_j`` plus per-level deviations.

    ``data["structure"]``: ``"walk"`` (a random walk over the levels) or ``"levels"``
    (independent levels); the fast path averages the two by their evidence.
    """
    F = pm.Data("F", data["F"])
    lvl = pm.Data("lvl", data["lvl"])
    J, K = (int(v) for v in np.shape(data["F"]))
    center = np.zeros(K)
    center[0] = prior["mu_b"]
    sds = np.full(K, prior.get("sd_c", 1.0))
    sds[0] = prior["sd_b"]
    mu_a = pm.Normal("mu_a", prior["mu_a"], prior["sd_a"])
    mu_b = pm.Normal("mu_b", center, sds, shape=K)
    tau_a = pm.HalfNormal("tau_a", prior["tau_a"])
    tau_b = pm.HalfNormal("tau_b", prior["tau_b"])
    tau_r = pm.HalfNormal("tau_r", prior["tau_r"])
    z_a = pm.Normal("z_a", 0.0, 1.0, shape=S)
    z_b = pm.Normal("z_b", 0.0, 1.0, shape=(S, K))
    z_r = pm.Normal("z_r", 0.0, 1.0, shape=(S, J))
    a = mu_a + tau_a * z_a
    b = mu_b[None, :] + tau_b * z_b
    walk = pt.cumsum(tau_r * z_r, axis=1) if data["structure"] == "walk" else tau_r * z_r
    theta = pm.Deterministic("theta", a[:, None] + pt.dot(b, F.T) + walk)
    eta = theta[g, lvl]
    pm.Potential("loglik", pt.sum(w * (y * eta - pt.softplus(eta))))


def _panel_loglik(
    pm: Any, pt: Any, S: int, data: dict[str, Any], prior: dict[str, float], y: Any, w: Any, g: Any
) -> None:
    """The judge-panel model of :mod:`judgecal.calibration.bayes.panel` (fixed group scales)."""
    from judgecal.calibration.bayes.panel import SLOPE_CENTER, SLOPE_SD

    k = int(np.shape(data["f"])[1])
    f = pm.Data("f", data["f"])
    mu_a = pm.Normal("mu_a", prior["mu_a"], prior["sd_a"])
    mu_u = pm.Normal("mu_u", SLOPE_CENTER, SLOPE_SD, shape=k)
    z_a = pm.Normal("z_a", 0.0, 1.0, shape=S)
    z_u = pm.Normal("z_u", 0.0, 1.0, shape=(S, k))
    a = pm.Deterministic("a", mu_a + prior["tau_a"] * z_a)
    b = pm.Deterministic("b", pt.softplus(mu_u[None, :] + prior["tau_b"] * z_u))
    eta = a[g] + pt.sum(b[g] * f, axis=1)
    pm.Potential("loglik", pt.sum(w * (y * eta - pt.softplus(eta))))


def _key(kind: str, data: dict[str, Any], prior: dict[str, float]) -> tuple[Any, ...]:
    return (
        kind,
        int(data["n_stages"]),
        int(data.get("n_levels", 0)),
        int(data.get("n_raters", 0)),
        int(np.shape(data["f"])[1]) if kind == "panel" else 1,
        (np.shape(data["F"]), data["structure"]) if kind == "flexible" else (),
        tuple(sorted(prior.items())),
    )


def _set_data(pm: Any, model: Any, kind: str, data: dict[str, Any]) -> None:
    new = {"y": data["y"], "w": data["w"], "g": data["g"]}
    if kind == "flexible":
        new.update(lvl=data["lvl"], F=data["F"])
    else:
        new["f"] = data["f"]
    if data.get("n_raters", 0):
        new["rater"] = data["rater"]
    pm.set_data(new, model=model)


def _cached(
    kind: str, data: dict[str, Any], prior: dict[str, float], target_accept: float
) -> tuple[Any, Any, Any]:
    pm, _, _ = _import()
    key = (*_key(kind, data, prior), target_accept)
    hit = _CACHE.get(key)
    if hit is None:
        model = build_model(kind, data, prior)
        ip = model.initial_point()
        from pymc.blocking import DictToArrayBijection
        from pymc.step_methods.hmc import quadpotential

        mean = DictToArrayBijection.map({v.name: ip[v.name] for v in model.value_vars}).data
        n = mean.size
        # As PyMC's init="adapt_diag": a diagonal mass matrix adapted during tuning. The potential
        # must be given to the constructor: the leapfrog integrator keeps a reference to it.
        potential = quadpotential.QuadPotentialDiagAdapt(n, mean, np.ones(n), 10)
        step = pm.NUTS(model=model, target_accept=target_accept, potential=potential)
        hit = (model, step, ip)
        if len(_CACHE) > 16:
            _CACHE.clear()
        _CACHE[key] = hit
    return hit


def _jittered_initvals(ip: dict[str, Any], chains: int, seed: int | None) -> list[dict[str, Any]]:
    """Per-chain starting points: U(-1, 1) jitter in the unconstrained space (PyMC's default).

    Returned on the constrained scale keyed by variable name (what ``pm.sample(initvals=)`` takes);
    the models here only use log and ordered transforms.
    """
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(chains):
        vals: dict[str, Any] = {}
        for name, v in ip.items():
            z = np.asarray(v, dtype=np.float64) + rng.uniform(-1.0, 1.0, np.shape(v))
            if name.endswith("_log__"):
                vals[name[: -len("_log__")]] = np.exp(z)
            elif name.endswith("_ordered__"):
                vals[name[: -len("_ordered__")]] = np.concatenate(
                    [z[:1], z[0] + np.cumsum(np.exp(z[1:]))]
                )
            else:
                vals[name] = z
        out.append(vals)
    return out


def _posterior_arrays(idata: Any, names: list[str]) -> dict[str, np.ndarray]:
    post = idata.posterior
    out = {}
    for name in names:
        if name in post:
            arr = np.asarray(post[name].values)  # (chain, draw, ...)
            out[name] = arr.reshape(arr.shape[0] * arr.shape[1], *arr.shape[2:])
    return out


def _diagnostics(az: Any, idata: Any, free: list[str]) -> dict[str, float]:
    rhat = az.rhat(idata, var_names=free)
    ess = az.ess(idata, var_names=free, method="bulk")
    max_rhat = max(float(np.nanmax(rhat[v].values)) for v in free)
    min_ess = min(float(np.nanmin(ess[v].values)) for v in free)
    div = int(np.asarray(idata.sample_stats["diverging"].values).sum())
    return {
        "max_rhat": max_rhat if math.isfinite(max_rhat) else 1.0,
        "min_ess_bulk": min_ess,
        "divergences": div,
    }


_NAMES = {
    "binary": (["a", "b"], ["mu_a", "mu_b", "tau_a", "tau_b"]),
    "flexible": (["theta"], ["mu_a", "mu_b", "tau_a", "tau_b", "tau_r"]),
    "ordinal": (
        ["a", "b", "cut"],
        ["mu_b", "tau_a", "tau_b", "tau_r", "d1", "gap_mean", "tau_cut"],
    ),
    "panel": (["a", "b"], ["mu_a", "mu_u"]),
}


def sample(
    kind: str,
    data: dict[str, Any],
    prior: dict[str, float],
    *,
    draws: int,
    tune: int,
    chains: int,
    target_accept: float,
    seed: int | None,
) -> dict[str, Any]:
    """Sample the posterior with NUTS, reusing a cached compiled model.

    Returns ``idata`` (stamped ``InferenceData``), ``draws`` (per-stage
    parameters, first axis = draw), ``hyper`` (population parameters) and
    ``diagnostics`` (``max_rhat``, ``min_ess_bulk``, ``divergences``).
    """
    pm, _, az = _import()
    k = "ordinal" if kind == "pairwise" else kind
    per_chain = max(1, math.ceil(draws / chains))
    with _LOCK:
        model, step, ip = _cached(k, data, prior, target_accept)
        _set_data(pm, model, k, data)
        step.step_adapt.reset()
        step.reset()
        idata = pm.sample(
            draws=per_chain,
            tune=tune,
            chains=chains,
            cores=1,
            step=step,
            model=model,
            random_seed=seed,
            progressbar=False,
            compute_convergence_checks=False,
            return_inferencedata=True,
            initvals=_jittered_initvals(ip, chains, seed),
        )
    return _package(az, idata, k, draws)


def sample_plain(
    kind: str,
    data: dict[str, Any],
    prior: dict[str, float],
    *,
    draws: int,
    tune: int,
    chains: int,
    target_accept: float,
    seed: int | None,
) -> dict[str, Any]:
    """The same model built and sampled the plain PyMC way (no cache); for benchmarks."""
    pm, _, az = _import()
    k = "ordinal" if kind == "pairwise" else kind
    model = build_model(k, data, prior)
    idata = pm.sample(
        draws=max(1, math.ceil(draws / chains)),
        tune=tune,
        chains=chains,
        model=model,
        random_seed=seed,
        progressbar=False,
        target_accept=target_accept,
        compute_convergence_checks=False,
    )
    return _package(az, idata, k, draws)


def _package(az: Any, idata: Any, k: str, draws: int) -> dict[str, Any]:
    stage_names, hyper_names = _NAMES[k]
    for group in ("posterior", "sample_stats"):
        if hasattr(idata, group):
            getattr(idata, group).attrs.update(_attrs())
    free = [v for v in (*hyper_names, "z_a", "z_b", "z_g", "z_r", "z_u") if v in idata.posterior]
    diag = _diagnostics(az, idata, free)
    arrs = _posterior_arrays(idata, stage_names + hyper_names)
    D = next(iter(arrs.values())).shape[0]
    if draws < D:  # keep an evenly spread subset (thinning)
        idx = np.linspace(0, D - 1, draws).round().astype(np.int64)
        arrs = {key: v[idx] for key, v in arrs.items()}
    return {
        "idata": idata,
        "draws": {key: arrs[key] for key in stage_names},
        "hyper": {key: arrs[key] for key in hyper_names if key in arrs},
        "diagnostics": diag,
    }


def to_inference_data(cal: Any) -> Any:
    """ArviZ ``InferenceData`` of a calibrator's stored draws (one chain), stamped with judgecal."""
    _, _, az = _import()
    post: dict[str, np.ndarray] = {}
    dims: dict[str, list[str]] = {}
    stages = list(cal.stages_)
    for name in cal.draws_[stages[0]]:
        arr = np.stack([np.asarray(cal.draws_[s][name]) for s in stages], axis=1)  # (D, S, ...)
        post[name] = arr[None]
        dims[name] = ["stage"] + ([f"{name}_dim"] if arr.ndim == 3 else [])
    idata = az.from_dict(posterior=post, dims=dims, coords={"stage": stages})
    idata.posterior.attrs.update(
        {**_attrs(), "inference_library": f"judgecal ({cal.diagnostics_['method']})"}
    )
    return idata
