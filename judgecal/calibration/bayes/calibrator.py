r"""Bayesian calibration with partial pooling across stages and credible intervals.

:class:`BayesianCalibrator` maps a judge's score to the probability that a
human agrees, like the other calibrators, but keeps a posterior: every
prediction comes with a credible interval, and a stage with few labels borrows
strength from the others (partial pooling) instead of falling back to a pooled
fit.

Model kinds
-----------
``binary``
    :math:`P(\text{agree}\mid s, \text{stage } j) = \sigma(a_j + b_j f(s))` with
    :math:`a_j \sim N(\mu_a, \tau_a^2)`, :math:`b_j \sim N(\mu_b, \tau_b^2)`.
    Soft labels and weights enter the Bernoulli log-likelihood directly.
    A judge panel (``X`` of shape (n, k)) has one monotone slope per judge,
    :math:`\sigma(a_j + \sum_m \operatorname{softplus}(u_{jm}) f_m(s_m))`
    (:mod:`judgecal.calibration.bayes.panel`).
``monotone``
    "Bayesian isotonic" for discrete judge scales: one probability per judge
    level, :math:`\operatorname{logit} p_{j,1} = c_j`,
    :math:`\operatorname{logit} p_{j,k} = \operatorname{logit} p_{j,k-1} + e^{g_{j,k}}`
    (positive increments, so non-decreasing), with :math:`c_j` and every
    :math:`g_{j,k}` pooled across stages.
``ordinal``
    Human Likert labels ``1..K``: cumulative logit
    :math:`P(Y \ge k+1 \mid s) = \sigma(a_j + b_j f(s) - \kappa_k)` with ordered
    cut points :math:`\kappa` shared by the stages and :math:`a_j, b_j` pooled.
``pairwise``
    Human preferences ``second < tie < first`` as a three-level ordinal model on
    the judge's verdict or score difference (ordered logit, Agresti 2010).

The score feature :math:`f(s)` is the standardized score, or, when
``score_range=(low, high)`` is given, :math:`\operatorname{logit}` of the score
rescaled to ``[eps, 1 - eps]``. In the latter case the ``binary`` prior is
centred on :math:`a = 0, b = 1`, which *is* the raw judge read as a
probability: with few labels the calibrator stays near the raw judge and moves
away only as far as the labels push it ("do no harm").

Fitting paths
-------------
``method="laplace"`` never imports PyMC (``method="auto"``, the default, uses it
and falls back to NUTS with a warning when its diagnostics are poor: Pareto
:math:`\hat k > 0.7` or an importance-sampling ESS below 100). For ``binary`` it
integrates the two group scales :math:`(\tau_a, \tau_b)` over a log-spaced grid
and, at each grid point, fits the conditional posterior of all intercepts and
slopes by Newton's method (a Laplace approximation; Rue, Martino and Chopin,
2009, "INLA"). Draws from that mixture are then importance-weighted against the
exact posterior with Pareto smoothing (PSIS; Vehtari et al., 2024), whose
:math:`\hat k` is stored and checked. The other kinds take the same route with a
dense Hessian (:mod:`judgecal.calibration.bayes.grid_laplace`,
:mod:`judgecal.calibration.bayes.fast_models`), plus up to three rounds of
importance-weighted moment matching of the proposal. ``method="nuts"`` samples the same model
with PyMC's NUTS (in :mod:`judgecal.calibration.bayes._pymc_backend`, imported only then), and
checks r-hat, effective sample size and divergences.

Prediction never needs PyMC: it uses stored posterior draws with numpy, once
per distinct score (judge scales are discrete), in blocks of at most 2**21
draw-score values (16 MiB). Inputs with more than 4096 distinct scores
(continuous judges) are summarised on a 4096-point grid, plus the model's
kinks, and interpolated linearly: the posterior mean and quantiles are smooth
in the score, so this changes them by less than 1e-4 while a million
continuous scores take a second instead of minutes.
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from judgecal._exceptions import (
    ConvergenceWarning,
    InputError,
    InputTypeError,
)
from judgecal._validation import (
    FloatArray,
    IntArray,
    as_float_1d,
    check_choice,
    check_float,
    check_int,
    check_probability_targets,
    check_same_length,
    check_stages,
    check_weights,
    make_rng,
)
from judgecal.calibration.base import (
    CalibratorBase,
    check_panel,
    is_panel,
    scale_weights,
    sigmoid,
)
from judgecal.calibration.bayes.fast_models import new_stage_cuts, ordinal_model, split_ordinal
from judgecal.calibration.bayes.fastpath import (
    MAX_DRAW_STAGES,
    data_order,
    laplace_binary,
    psis,
)
from judgecal.calibration.bayes.flexible import STRUCTURES, flexible_posterior
from judgecal.calibration.bayes.grid_laplace import grid_posterior
from judgecal.calibration.bayes.panel import laplace_panel, new_stage_panel, panel_model
from judgecal.calibration.bayes.projection import isotonic_rows
from judgecal.calibration.bayes.state import (
    NewStage,
    check_header,
    decode_draws,
    decode_n_judges,
    decode_score_levels,
    expected_draws,
)
from judgecal.persist import register
from judgecal.vocabulary import PAIRWISE_CODES, check_ties

__all__ = ["BayesianCalibrator", "laplace_binary", "prior_predictive", "psis"]

KINDS = ("binary", "monotone", "ordinal", "pairwise")
#: ``parametric``: logistic in the feature; ``flexible``: plus a random walk over score levels;
#: ``auto``: ``flexible`` for ``binary`` on a discrete scale of FLEX_LEVELS levels, else parametric.
LINKS = ("auto", "parametric", "flexible")
#: Distinct judge scores for which ``link="auto"`` picks the flexible link (fewer: every
#: level would get its own free logit; more: the scale is continuous).
FLEX_LEVELS = (5, 40)
METHODS = ("auto", "laplace", "nuts")
# The model reads pairwise outcomes as ordinal levels 1..3; the boundary speaks the one
# vocabulary coding (second=0, tie=1, first=2) and the words: level = code + 1.
_PAIRWISE_LEVEL: dict[str | int, int] = {
    **{word: code + 1 for word, code in PAIRWISE_CODES.items()},
    **{code: code + 1 for code in PAIRWISE_CODES.values()},
}
#: Key of the draws for a stage never seen in ``fit`` (not a string: no stage name collides).
NEW_STAGE = NewStage()
# Elements of one (draws x scores) block in prediction: 2**21 doubles = 16 MiB.
_BLOCK = 1 << 21
_MAX_MONOTONE_LEVELS = 40
# More distinct scores than this are summarised on a grid of this many points and
# interpolated (the summaries are smooth in the score; error < 1e-4, see the tests).
_GRID = 4096

State = dict[str, Any]


# --------------------------------------------------------------------------------------
# Priors
# --------------------------------------------------------------------------------------
def default_prior(kind: str, identity: bool) -> dict[str, float]:
    """Default prior hyper-parameters of a model kind (see :class:`BayesianCalibrator`)."""
    if kind in ("binary", "monotone"):  # monotone: the flexible link's prior, projected
        if identity:
            return {
                "mu_a": 0.0,
                "sd_a": 1.0,
                "mu_b": 1.0,
                "sd_b": 0.75,
                "tau_a": 0.5,
                "tau_b": 0.25,
                "p_identity": 0.0,
            }
        return {
            "mu_a": 0.0,
            "sd_a": 2.0,
            "mu_b": 0.0,
            "sd_b": 2.0,
            "tau_a": 2.0,
            "tau_b": 1.0,
            "p_identity": 0.0,
        }
    # ordinal / pairwise: the wide group scales of the binary kind (0.5 / 0.25 covered
    # 0.78-0.86 on stages whose slopes differ 3x; benchmarks/bench_bayes_coverage_kinds.py)
    return {
        "mu_b": 1.0 if identity else 0.0,
        "sd_b": 1.0 if identity else 2.0,
        "tau_a": 2.0,
        "tau_b": 1.0,
        "sd_cut": 3.0,
        "tau_cut": 1.0,
        "tau_r": 1.0,
    }


#: The fast path is trusted when PSIS k-hat is at most this (Vehtari et al., 2024) ...
K_HAT_MAX = 0.7
#: ... and the importance-sampling effective sample size is at least this.
ESS_MIN = 100.0
#: ``method="auto"`` falls back to NUTS only up to this many stages (beyond, NUTS takes
#: hours); the fast path's draws are then kept with a warning.
NUTS_MAX_STAGES = 50


def _trusted(diag: dict[str, Any]) -> bool:
    """Whether the fast path's diagnostics say its draws stand for the posterior."""
    return bool(diag["k_hat"] <= K_HAT_MAX and diag["ess"] >= ESS_MIN)


def _warn_fallback(diag: dict[str, Any]) -> None:
    reason = (
        f"Pareto k-hat {diag['k_hat']:.2f}, limit {K_HAT_MAX}; importance-sampling ESS "
        f"{diag['ess']:.0f}, minimum {ESS_MIN:.0f}"
    )
    warnings.warn(
        f"The fast path's diagnostics are poor ({reason}): falling back to NUTS (PyMC), "
        "which takes seconds to minutes.",
        ConvergenceWarning,
        stacklevel=4,
    )


# --------------------------------------------------------------------------------------
# Prediction from draws (numpy only)
# --------------------------------------------------------------------------------------
def _interp_logit(levels: FloatArray, theta: FloatArray, u: FloatArray) -> FloatArray:
    """Logits at scores ``u`` from per-level logits ``theta`` (draws, J): linear between levels."""
    J = levels.size
    if J == 1:
        return np.repeat(theta[:, :1], u.size, axis=1)
    uc = np.clip(u, levels[0], levels[-1])
    hi = np.clip(np.searchsorted(levels, uc, side="left"), 1, J - 1)
    lo = hi - 1
    frac = (uc - levels[lo]) / (levels[hi] - levels[lo])
    out: FloatArray = theta[:, lo] * (1.0 - frac) + theta[:, hi] * frac
    return out


def _thin(total: int, wanted: int) -> IntArray:
    """Indices of ``min(wanted, total)`` draws evenly spaced over ``range(total)``."""
    if wanted >= total:
        return np.arange(total)
    return np.linspace(0, total - 1, wanted).round().astype(np.int64)


def _unique_inverse(x: FloatArray) -> tuple[FloatArray, IntArray]:
    """``np.unique(x, return_inverse=True)``, fast when ``x`` takes few distinct values.

    Judge scales are discrete: distinct values are found on a sample and every
    score is located by binary search; only when some score is not among them
    does it fall back to sorting everything.
    """
    if x.size > 65536:
        cand = np.unique(x[:: max(1, x.size // 8192)])
        if cand.size == 1:
            if (x == cand[0]).all():
                return cand, np.zeros(x.size, dtype=np.int64)
        elif cand.size <= 256:
            gaps = np.diff(cand)
            if np.allclose(gaps, gaps[0], rtol=1e-9, atol=0.0):  # an evenly spaced scale
                idx = np.rint((x - cand[0]) * (1.0 / gaps[0])).astype(np.int64)
                np.clip(idx, 0, cand.size - 1, out=idx)
            elif cand.size <= 16:
                idx = np.zeros(x.size, dtype=np.int64)
                for c in cand[1:]:
                    idx += x >= c
            else:
                idx = np.minimum(np.searchsorted(cand, x), cand.size - 1)
            if np.array_equal(cand[idx], x):
                return cand, idx
    u, inv = np.unique(x, return_inverse=True)
    return u, inv.ravel().astype(np.int64)


def _panel_majority(margin: FloatArray, state: State, what: str) -> FloatArray:
    """Per-draw P(more than half of a panel says yes), raters' offsets drawn per draw.

    ``margin`` (draws, n) is the typical rater's logit of a yes. Each draw gets
    its own panel of offsets (a fixed seed: predictions are deterministic); the
    count of yes is Poisson-binomial, computed by its recursion.
    """
    size = int(what[5:])
    z = np.random.default_rng(0).standard_normal((margin.shape[0], size))
    offsets = np.asarray(state["tau_r"])[:, None] * z  # (D, m)
    count = np.zeros((size + 1, *margin.shape))
    count[0] = 1.0
    for k in range(size):
        p = sigmoid(margin + offsets[:, k : k + 1])
        count[1:] = count[1:] * (1.0 - p) + count[:-1] * p
        count[0] = count[0] * (1.0 - p)
    return count[size // 2 + 1 :].sum(axis=0)  # type: ignore[no-any-return]


class BayesianCalibrator(CalibratorBase):
    r"""Bayesian calibrator: partial pooling across stages and credible intervals.

    ``predict_proba`` returns posterior means; ``predict_interval`` returns
    equal-tailed credible intervals; both run on stored posterior draws with
    numpy (no PyMC at prediction time, also after :func:`judgecal.load`).

    What is modelled, by ``kind``:

    * ``binary``/``monotone``: ``y`` holds 0/1 or soft labels in [0, 1];
      ``predict_agreement`` is P(a human rates positively | score).
    * ``ordinal``: ``y`` holds integer human levels ``1..levels``, one row per
      rating (several raters per item enter one rating at a time);
      ``predict_proba`` is the full distribution over levels and
      ``predict_agreement`` is P(level >= ``threshold``), or with
      ``threshold=None`` the expected level rescaled to [0, 1].
    * ``pairwise``: ``y`` holds ``"second"``/``"tie"``/``"first"`` (or their
      codes 0/1/2), one row per rating; ``predict_proba`` has columns
      ``[second, tie, first]`` and ``predict_agreement`` is
      P(first) + P(tie) / 2 (ties count half).

    :meth:`fit_judgments` builds all of that from a :class:`~judgecal.JudgmentSet`.

    Priors (all on the logit scale; why they are what they are):

    * ``binary`` with ``score_range``: :math:`\mu_a \sim N(0, 1)`,
      :math:`\mu_b \sim N(1, 0.75^2)`: centred on the raw judge, so that with
      few labels the calibrator does no harm; a slope of 0 (judge useless) or
      2.5 (judge twice as sharp) is still within 2 prior sd.
      Without ``score_range`` the score is standardized and
      :math:`\mu_a, \mu_b \sim N(0, 2^2)`, weakly informative (Gelman et al.,
      2008).
    * Group scales, without ``score_range``: :math:`\tau_a \sim \text{HalfNormal}(2)`,
      :math:`\tau_b \sim \text{HalfNormal}(1)`. Stages of a pipeline differ for real
      (extraction, selection and generation do), and the narrower scales of judgecal 0.1
      over-shrank them: 90% intervals covered 0.86 on stages whose slopes differ 1.75x
      (0.90 now; ``tests/test_bayes_coverage.py``). The fast path integrates the
      scales over a grid, so wide scales cost nothing there.
    * Group scales with ``score_range`` (``binary``, parametric link):
      :math:`\tau_a \sim \text{HalfNormal}(0.5)`,
      :math:`\tau_b \sim \text{HalfNormal}(0.25)`: stages of one pipeline
      judged by one judge differ by a fraction of the overall effect; these
      scales rule out the wild between-stage spreads that, with 3 stages, make
      the hierarchy's funnel hard to sample (divergences) while leaving a
      factor-of-2 change in odds between stages well inside the prior. Stages
      enter non-centred: :math:`a_j = \mu_a + \tau_a z_j`.
    * ``p_identity`` (``binary`` with ``score_range``; default 0): prior
      probability of a spike at the raw judge (``a = 0, b = 1`` in every stage),
      averaged with the hierarchical model by their evidence; the posterior
      weight is ``diagnostics_["p_identity"]``. It limits the harm of
      calibrating a judge that is already calibrated, but 50 labels often
      cannot tell a mediocre judge from a calibrated one, so it is off unless
      asked for (measured numbers in ``docs/bayesian.md``).
    * ``monotone``: the flexible link's prior (below); its posterior draws are
      projected onto non-decreasing curves (:mod:`~judgecal.calibration.bayes.projection`).
    * ``ordinal``/``pairwise``: group scales as for ``binary`` on the raw
      score, HalfNormal(2)/(1) (0.5/0.25 covered 0.77-0.85 with ten small
      stages whose slopes differ 3x); slope :math:`\mu_b \sim N(0, 2^2)`
      (:math:`N(1, 1)` with ``score_range``). Every stage has its own ordered cut
      points: a shared first cut :math:`N(0, 3^2)` (prior key ``sd_cut``; the
      stage intercepts shift it) and log-gaps
      :math:`g_{j,k} \sim N(\gamma_k, \tau_{cut}^2)`,
      :math:`\gamma_k \sim N(\log 1.5, 1)`, :math:`\tau_{cut} \sim
      \text{HalfNormal}(1)` (key ``tau_cut``). One set of cut points for every
      stage was judgecal 0.2's model; on HANNA's six criteria it made the
      intervals miss the held-out rates (``benchmarks/bench_bayes_kinds_real.py``).

    Override any of them with ``prior={"tau_a": 1.0, ...}``; see
    :func:`prior_predictive` to look at what a prior implies.

    Parameters
    ----------
    kind : {"binary", "monotone", "ordinal", "pairwise"}
        Model kind (see above).
    method : {"auto", "laplace", "nuts"}
        ``laplace``: the fast path without PyMC. ``nuts``: PyMC's NUTS.
        ``auto``: the fast path, falling back to NUTS (with a
        ``ConvergenceWarning``) when its diagnostics are poor and there are at
        most 50 stages.
    score_range : (float, float), optional
        The judge scale's ``(low, high)``. When given, the score enters as the
        logit of the rescaled score and the prior is centred on the raw judge.
    levels : int, optional
        Number of human levels (``ordinal``); inferred from ``y`` when omitted.
    threshold : int, optional
        ``ordinal`` only: ``predict_agreement`` is P(level >= threshold).
    prior : dict, optional
        Overrides of the default prior hyper-parameters.
    draws : int
        Posterior draws kept for prediction (also what is saved).
    tune, chains, target_accept : int, int, float
        NUTS settings.
    random_state : int, optional
        Seed; the same seed gives the same posterior draws.
    link : {"auto", "parametric", "flexible"}
        ``binary`` only. ``flexible`` adds to each stage's logit a first-order
        random walk over the judge's score levels,
        :math:`r_{j,1} \sim N(0, \tau_r^2)`, :math:`r_{j,l} - r_{j,l-1} \sim
        N(0, \tau_r^2)`, :math:`\tau_r \sim \text{HalfNormal}(1)` (prior key
        ``tau_r``), and with ``score_range`` a second backbone slope on the
        rescaled score (prior sd ``sd_c``), so a truth whose link is not the
        parametric one (a step, or logistic in the raw score) is still covered;
        with few labels the evidence keeps :math:`\tau_r` small. No
        ``p_identity``. ``auto`` (default) is ``flexible`` for ``binary`` on one
        judge with 5 to 40 distinct scores (with ``score_range``, its ends are
        levels too), at most 50 stages and no ``p_identity``, else
        ``parametric``; ``link_`` says which was used.

    Attributes
    ----------
    stages_ : list of str
        Stages seen in ``fit`` (``"default"`` when none were given).
    draws_ : dict
        Posterior draws per stage, the prediction's only input.
    diagnostics_ : dict
        ``method``, ``seconds`` and, for NUTS, ``max_rhat``, ``min_ess_bulk``,
        ``divergences``; for the Laplace path ``k_hat`` and ``ess``; for the
        flexible link ``structure_weights`` (evidence of a random walk over the
        levels against independent levels).
    link_ : {"parametric", "flexible"}
        The link ``fit`` used (what ``link="auto"`` chose).
    inference_data_ : arviz.InferenceData
        The posterior (built on first access for the Laplace path).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> s = rng.integers(1, 6, 300).astype(float)
    >>> stage = np.where(rng.random(300) < 0.8, "selection", "generation")
    >>> y = (rng.random(300) < 1 / (1 + np.exp(-(s - 3)))).astype(float)
    >>> cal = BayesianCalibrator(score_range=(1, 5), random_state=0)
    >>> cal = cal.fit(s, y, stages=stage)
    >>> cal.link_  # five distinct scores: the flexible link
    'flexible'
    >>> cal.predict_proba([1, 3, 5], stages="generation")[:, 1].round(1)
    array([0.1, 0.5, 0.9])
    >>> lo, hi = cal.predict_interval([5], stages="generation")[0]
    >>> bool(lo < 0.88 < hi)
    True
    """

    _estimator_name: ClassVar[str] = "bayesian"

    _fitted_attribute = "draws_"

    @property
    def _non_deterministic(self) -> bool:
        return self.random_state is None

    def __init__(
        self,
        *,
        kind: str = "binary",
        method: str = "auto",
        score_range: tuple[float, float] | None = None,
        levels: int | None = None,
        threshold: int | None = None,
        prior: dict[str, float] | None = None,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 2,
        target_accept: float = 0.9,
        random_state: int | None = None,
        link: str = "auto",
    ) -> None:
        self.kind = kind
        self.method = method
        self.score_range = score_range
        self.levels = levels
        self.threshold = threshold
        self.prior = prior
        self.draws = draws
        self.tune = tune
        self.chains = chains
        self.target_accept = target_accept
        self.random_state = random_state
        self.link = link

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> tuple[str, dict[str, float]]:
        where = "BayesianCalibrator.fit"
        check_choice(self.kind, "kind", KINDS, where=where)
        check_choice(self.method, "method", METHODS, where=where)
        method = self.method
        check_choice(self.link, "link", LINKS, where=where)
        if self.link == "flexible" and self.kind != "binary":
            raise InputError(
                "link", "'auto' or 'parametric' unless kind='binary'", self.link, where=where
            )
        if self.score_range is not None:
            try:
                lo, hi = (float(v) for v in self.score_range)
            except (TypeError, ValueError):
                raise InputTypeError(
                    "score_range", "a pair (low, high) of numbers", self.score_range, where=where
                ) from None
            if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
                raise InputError(
                    "score_range",
                    "finite (low, high) with low < high",
                    self.score_range,
                    where=where,
                )
        if self.levels is not None:
            check_int(self.levels, "levels", low=2, high=100, where=where)
        if self.threshold is not None:
            if self.kind != "ordinal":
                raise InputError(
                    "threshold", "None unless kind='ordinal'", self.threshold, where=where
                )
            check_int(self.threshold, "threshold", low=2, where=where)
        check_int(self.draws, "draws", low=10, high=100_000, where=where)
        check_int(self.tune, "tune", low=0, high=100_000, where=where)
        check_int(self.chains, "chains", low=1, high=16, where=where)
        check_float(
            self.target_accept, "target_accept", low=0.5, high=1.0, high_open=True, where=where
        )
        if self.random_state is not None:
            check_int(self.random_state, "random_state", low=0, where=where)
        return method, self._checked_prior(where)

    def _checked_prior(self, where: str) -> dict[str, float]:
        """The default prior of this kind and link, with the user's overrides checked."""
        prior = default_prior(self.kind, self.score_range is not None)
        flexible = self.kind == "monotone" or (self.kind == "binary" and self.link != "parametric")
        if flexible:
            prior["tau_r"] = 1.0
            if self.score_range is not None:
                prior["sd_c"] = 1.0
            if self.link == "flexible" or self.kind == "monotone":
                del prior["p_identity"]
        if self.prior is None:
            return prior
        if not isinstance(self.prior, dict):
            raise InputTypeError("prior", "a dict of hyper-parameters", self.prior, where=where)
        for k, v in self.prior.items():
            if k not in prior:
                raise InputError("prior", f"keys among {sorted(prior)}", k, where=where)
            if k == "p_identity":
                hi = 1.0 if self.score_range is not None else 0.0
                prior[k] = check_float(
                    v, "prior['p_identity']", low=0.0, high=hi, high_open=hi > 0, where=where
                )
                continue
            low_open = not k.startswith("mu")
            prior[k] = check_float(
                v, f"prior[{k!r}]", low=0.0 if low_open else None, low_open=low_open, where=where
            )
        return prior

    # ------------------------------------------------------------------ features
    def _feature(self, x: FloatArray) -> FloatArray:
        fp: dict[str, Any] = self.feature_
        if fp["type"] == "logit":
            u = (x - fp["low"]) / (fp["high"] - fp["low"])
            u = np.clip(u, fp["eps"], 1.0 - fp["eps"])
            out: FloatArray = np.log(u) - np.log1p(-u)
            return out
        out = (x - np.asarray(fp["center"])) / np.asarray(fp["spread"])
        return out

    def _set_feature(self, x: FloatArray, w: FloatArray) -> None:
        if self.score_range is not None:
            lo, hi = (float(v) for v in self.score_range)
            self.feature_ = {"type": "logit", "low": lo, "high": hi, "eps": 0.05}
        elif x.ndim == 2:  # a panel: each judge's column standardized on its own
            ws = float(w.sum())
            centers = w @ x / ws
            spreads = np.sqrt(w @ (x - centers) ** 2 / ws)
            self.feature_ = {
                "type": "standardized",
                "center": [float(v) for v in centers],
                "spread": [float(v) if v > 0 else 1.0 for v in spreads],
            }
        else:
            ws = float(w.sum())
            c = float(np.dot(w, x) / ws)
            sd = float(np.sqrt(np.dot(w, (x - c) ** 2) / ws))
            self.feature_ = {"type": "standardized", "center": c, "spread": sd if sd > 0 else 1.0}

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        *,
        stages: Any = None,
        raters: Any = None,
    ) -> BayesianCalibrator:
        """Fit the posterior to judge scores ``X`` and human labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n,), (n, 1) or, for ``kind="binary"``, (n, k)
            Judge scores (one row per rating when several raters labelled an item).
            A judge panel (k columns, one per judge) gets one non-negative slope
            per judge, pooled across stages (:mod:`judgecal.calibration.bayes.panel`);
            predict with the same k columns.
        y : array-like of shape (n,)
            ``binary``/``monotone``: 0/1 or soft labels in [0, 1]. ``ordinal``:
            integer levels ``1..levels``. ``pairwise``: ``"second"``, ``"tie"``,
            ``"first"`` or their codes ``0, 1, 2`` (:mod:`judgecal.vocabulary`).
        sample_weight : array-like of shape (n,), optional
            Non-negative weights (e.g. the number of raters behind a soft label).
        stages : str or array-like of shape (n,), optional
            Stage of each row; stages are partially pooled.
        raters : array-like of shape (n,), optional
            ``ordinal`` only: who gave each rating. Each rater gets an offset
            r_i ~ N(0, tau_r^2) on the logit scale (partial pooling,
            so raters who rated few items borrow from the others; a rater need not
            rate every item). :meth:`predict_agreement` is then P(agree) for a
            typical rater (:math:`r = 0`) and :meth:`predict_panel_agreement`
            the probability that the majority of a panel of new raters agrees.

        Returns
        -------
        self
        """
        where = "BayesianCalibrator.fit"
        method, prior = self._check_params()
        self._rater_rows = self._check_raters(raters, where)
        if self._rater_rows is None and hasattr(self, "raters_"):
            del self.raters_  # from an earlier fit with raters
        x, yy, w, g = self._fit_data(X, y, sample_weight, stages, where)
        self.prior_ = self._link_prior(prior)
        rng = np.random.default_rng(self.random_state)
        t0 = time.perf_counter()
        self._idata = None
        self._structure_weights: dict[str, float] | None = None
        if x.ndim == 2:
            return self._fit_panel(x, yy, w, g, method, rng, t0)
        if method in ("laplace", "auto"):
            draws, hyper, diag, evidence = self._fit_fast(x, yy, w, g, rng)
            few_stages = len(self.stages_) <= NUTS_MAX_STAGES
            if method == "auto" and not _trusted(diag) and few_stages:
                _warn_fallback(diag)
                draws, hyper, diag = self._fit_nuts(x, yy, w, g)
                diag["fallback_from"] = "laplace"
                evidence = None
        else:
            draws, hyper, diag = self._fit_nuts(x, yy, w, g)
            evidence = None
        if self.kind == "binary" and prior.get("p_identity", 0.0) > 0:
            if evidence is None:
                evidence = laplace_binary(
                    self._feature(x),
                    yy,
                    w,
                    g,
                    len(self.stages_),
                    prior,
                    draws=200,
                    rng=np.random.default_rng(self.random_state),
                )
            diag["p_identity"] = self._mix_identity(
                draws, hyper, prior["p_identity"], evidence, rng
            )
        diag["seconds"] = time.perf_counter() - t0
        self.diagnostics_ = diag
        self.draws_ = self._stage_draws(draws, hyper, rng)
        if self.kind == "monotone":
            self._project(x, w, g)
        self._warn_diagnostics()
        return self

    def _project(self, x: FloatArray, w: FloatArray, g: IntArray) -> None:
        """Each stage's draws onto non-decreasing curves (:mod:`~.bayes.projection`).

        Weighted by the stage's labels per level plus a half; a new stage by the
        stages' mean.
        """
        counts = np.zeros((len(self.stages_), self.score_levels_.size))
        np.add.at(counts, (g, self._level_index(x)), w)
        for j, stage in enumerate(self.stages_):
            theta = self.draws_[stage]["theta"]
            self.draws_[stage]["theta"] = isotonic_rows(theta, counts[j] + 0.5)
        new = self.draws_[NEW_STAGE]["theta"]
        self.draws_[NEW_STAGE]["theta"] = isotonic_rows(new, counts.mean(axis=0) + 0.5)

    def _fit_panel(
        self,
        x: FloatArray,
        y: FloatArray,
        w: FloatArray,
        g: IntArray,
        method: str,
        rng: np.random.Generator,
        t0: float,
    ) -> BayesianCalibrator:
        """A judge panel: one non-negative slope per judge (:mod:`~.bayes.panel`)."""
        if self.prior_.get("p_identity", 0.0) > 0:
            raise InputError(
                "prior['p_identity']",
                "0 for a judge panel (the raw judge is one judge)",
                self.prior_["p_identity"],
                where="BayesianCalibrator.fit",
            )
        f = self._feature(x)
        post: dict[str, Any] = {}
        if method in ("laplace", "auto"):
            model = panel_model(f, y, w, g, len(self.stages_), self.prior_)
            post, diag = laplace_panel(model, draws=int(self.draws), rng=rng)
        few_stages = len(self.stages_) <= NUTS_MAX_STAGES
        if method == "nuts" or (method == "auto" and not _trusted(diag) and few_stages):
            if method == "auto":
                _warn_fallback(diag)
            post, diag = self._panel_nuts(f, y, w, g, fallback=method == "auto")
        diag["seconds"] = time.perf_counter() - t0
        self.diagnostics_ = diag
        self.draws_ = {
            s: {"a": post["a"][:, j].copy(), "b": post["b"][:, j, :].copy()}
            for j, s in enumerate(self.stages_)
        }
        self.draws_[NEW_STAGE] = new_stage_panel(post["mu_a"], post["mu_u"], self.prior_, rng)
        self._warn_diagnostics()
        return self

    def _panel_nuts(
        self, f: FloatArray, y: FloatArray, w: FloatArray, g: IntArray, *, fallback: bool
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The panel model sampled with PyMC's NUTS."""
        data = {"y": y, "w": w, "g": g, "f": f, "n_stages": len(self.stages_)}
        res, diag = self._sample_nuts("panel", data)
        if fallback:
            diag["fallback_from"] = "laplace"
        return {**res["draws"], **res["hyper"]}, diag

    def _fit_data(
        self, X: Any, y: Any, sample_weight: Any, stages: Any, where: str
    ) -> tuple[FloatArray, FloatArray, FloatArray, IntArray]:
        """Checked rows of positive weight, their stage indices, and the fitted scale attributes."""
        x = self._scores(X, where)
        n = x.shape[0]
        w = scale_weights(check_weights(sample_weight, n, where=where))
        yy = self._check_targets(y, n, where)
        st = np.full(n, "default") if stages is None else check_stages(stages, n, where=where)
        keep = w > 0
        x, yy, w, st = x[keep], yy[keep], w[keep], st[keep]
        if self._rater_rows is not None:
            check_same_length(
                x.size + int((~keep).sum()), self._rater_rows.size, "raters", where=where
            )
            names_r, self._rater_rows = np.unique(self._rater_rows[keep], return_inverse=True)
            self.raters_ = [str(r) for r in names_r]
        names, g = np.unique(st, return_inverse=True)
        self._check_size(names.size, where)
        self.stages_ = [str(s) for s in names]
        counts = np.bincount(g, minlength=names.size)
        self.stage_counts_ = {s: int(c) for s, c in zip(self.stages_, counts, strict=True)}
        self.classes_ = self._classes()
        self.n_features_in_ = 1 if x.ndim == 1 else int(x.shape[1])
        self._set_feature(x, w)
        self.link_ = self._resolve_link(x, where)
        if self.link_ == "flexible":
            self.score_levels_ = self._flexible_levels(x, where)
        return x, yy, w, g.astype(np.int64)

    def _resolve_link(self, x: FloatArray, where: str) -> str:
        """``parametric`` or ``flexible``: what ``link`` means for these scores."""
        if self.kind == "monotone":  # the flexible link, projected onto monotone curves
            return "flexible"
        if self.link == "flexible":
            if x.ndim == 2:
                raise InputError("link", "'parametric' for a judge panel", self.link, where=where)
            return "flexible"
        asked_identity = (self.prior or {}).get("p_identity", 0.0)
        if self.link == "parametric" or self.kind != "binary" or x.ndim == 2 or asked_identity:
            return "parametric"
        n_levels, n_stages = np.unique(x).size, len(self.stages_)
        discrete = FLEX_LEVELS[0] <= n_levels <= FLEX_LEVELS[1]
        return "flexible" if discrete and n_stages <= NUTS_MAX_STAGES else "parametric"

    def _flexible_levels(self, x: FloatArray, where: str) -> FloatArray:
        """The scores the flexible link has a logit for: those seen, and the scale's ends."""
        levels = self._monotone_levels(x, where)
        if self.score_range is None:
            return levels
        lo, hi = (float(v) for v in self.score_range)
        return np.unique(np.concatenate([levels, [lo, hi]]))

    def _link_prior(self, prior: dict[str, float]) -> dict[str, float]:
        """The prior of the link in use: the other link's keys dropped."""
        if self.kind not in ("binary", "monotone"):
            return prior
        drop = ("p_identity",) if self.link_ == "flexible" else ("tau_r", "sd_c")
        return {k: v for k, v in prior.items() if k not in drop}

    def _level_index(self, x: FloatArray) -> IntArray:
        """Index of each score in ``score_levels_`` (monotone kind, flexible link)."""
        return np.searchsorted(self.score_levels_, x).astype(np.int64)

    def _is_flexible(self) -> bool:
        """Per-level logits of the flexible link: ``binary`` with it, and ``monotone``."""
        if self.kind == "monotone":
            return True
        return self.kind == "binary" and getattr(self, "link_", self.link) == "flexible"

    def _scores(self, X: Any, where: str, *, allow_empty: bool = False) -> FloatArray:
        """One judge's scores (n,), or a panel (n, k) for ``kind='binary'``, checked against fit."""
        fitted = getattr(self, "n_features_in_", None) if not where.endswith(".fit") else None
        if not is_panel(X):
            x = as_float_1d(X, "X", where=where, allow_empty=allow_empty)
            if fitted is not None and fitted != 1:
                raise self._width_error(1, fitted, where)
            return x
        if self.kind != "binary":
            raise InputError(
                "X",
                f"one judge's scores, shape (n,) or (n, 1), for kind={self.kind!r}: only "
                "kind='binary' takes a judge panel of shape (n, k)",
                f"shape {np.shape(X)}",
                where=where,
            )
        arr = check_panel(X, where, allow_empty=allow_empty)
        if fitted is not None and arr.shape[1] != fitted:
            raise self._width_error(arr.shape[1], fitted, where)
        return arr

    @staticmethod
    def _width_error(width: int, fitted: int, where: str) -> InputError:
        shape = "(n,)" if fitted == 1 else f"(n, {fitted})"
        return InputError(
            "X",
            f"judge scores of shape {shape}, one column per judge as in fit",
            f"{width} column(s)",
            where=where,
        )

    def _check_raters(self, raters: Any, where: str) -> Any:
        """Rater ids as strings (None without raters); only ``ordinal`` models them."""
        if raters is None:
            return None
        if self.kind != "ordinal":
            raise InputError("raters", "None unless kind='ordinal'", "rater ids", where=where)
        arr = np.asarray(raters, dtype=object).ravel()
        if any(r is None for r in arr.tolist()):
            raise InputError("raters", "a rater id for every row", "None", where=where)
        return arr.astype(str)

    def _check_size(self, n_stages: int, where: str) -> None:
        if int(self.draws) * max(1, n_stages) > MAX_DRAW_STAGES:
            raise InputError(
                "stages",
                f"at most {MAX_DRAW_STAGES // int(self.draws)} distinct stages with "
                f"draws={self.draws} (the posterior keeps draws x stages numbers per "
                f"coefficient, at most {MAX_DRAW_STAGES:.0e}): merge rare stages into a shared "
                "one, or lower draws",
                f"{n_stages} stages",
                where=where,
            )

    @staticmethod
    def _monotone_levels(x: FloatArray, where: str) -> FloatArray:
        levels = np.unique(x)
        if levels.size > _MAX_MONOTONE_LEVELS:
            raise InputError(
                "X",
                f"a discrete judge scale (at most {_MAX_MONOTONE_LEVELS} distinct scores) for "
                "kind='monotone'; use kind='binary' for continuous scores",
                f"{levels.size} distinct scores",
                where=where,
            )
        return levels

    def _fit_fast(
        self, x: FloatArray, y: FloatArray, w: FloatArray, g: IntArray, rng: np.random.Generator
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any] | None]:
        """The numpy fast path of any kind: draws, population draws, diagnostics, evidence."""
        if self.kind == "binary" and not self._is_flexible():
            return self._fit_laplace(x, y, w, g, rng)
        rank = data_order(g, w, y, x, len(self.stages_))
        if self._is_flexible():
            draws, hyper, post = self._fit_flexible(x, y, w, g, rank, rng)
        else:
            draws, hyper, post = self._fit_ordinal(x, y, w, g, rank, rng)
        diag: dict[str, Any] = {
            "method": "laplace",
            "k_hat": post["k_hat"],
            "ess": post["ess"],
            "grid_points": post["grid_points"],
        }
        if "structure_weights" in post:  # the flexible link: evidence of walk vs levels
            diag["structure_weights"] = post["structure_weights"]
            self._structure_weights = post["structure_weights"]
        return draws, hyper, diag, None

    def _fit_flexible(
        self,
        x: FloatArray,
        y: FloatArray,
        w: FloatArray,
        g: IntArray,
        rank: IntArray,
        rng: np.random.Generator,
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """Binary with the flexible link (:mod:`~.bayes.flexible`): draws, hyper, posterior."""
        S = len(self.stages_)
        lvl = self._level_index(x)
        features = self._flexible_features(self.score_levels_)
        # the cost is linear in stages x grid points: a coarser grid for very many stages
        points = 7 if S <= NUTS_MAX_STAGES else 5 if S <= 1000 else 3
        post = flexible_posterior(
            lvl, features, y, w, rank[g], S, self.prior_, draws=int(self.draws), rng=rng,
            points=points,
        )  # fmt: skip
        draws = {"theta": post["theta"][:, rank]}
        hyper = {k: post[k] for k in ("mu_a", "mu_b", "tau_a", "tau_b", "tau_r", "walk")}
        return draws, hyper, post

    def _fit_ordinal(
        self,
        x: FloatArray,
        y: FloatArray,
        w: FloatArray,
        g: IntArray,
        rank: IntArray,
        rng: np.random.Generator,
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """Ordinal and pairwise (cumulative logit) by nested Laplace: draws, hyper, posterior."""
        rater = getattr(self, "_rater_rows", None)
        model, lik = ordinal_model(
            self._feature(x),
            y,
            w,
            rank[g],
            len(self.stages_),
            int(self.levels_),
            self.prior_,
            rater,
            0 if rater is None else int(rater.max()) + 1,
        )
        # the grid has points ** scales nodes: coarser with more scales
        points = {1: 9, 2: 9, 3: 7}.get(model.scale_priors.size, 5)
        post = grid_posterior(model, draws=int(self.draws), rng=rng, points=points)
        draws, hyper = split_ordinal(post, lik)
        for key in ("a", "b", "cut"):
            draws[key] = draws[key][:, rank]
        return draws, hyper, post

    def _fit_laplace(
        self, x: FloatArray, y: FloatArray, w: FloatArray, g: IntArray, rng: np.random.Generator
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
        """Draws, population draws, diagnostics and the raw posterior of the binary fast path."""
        rank = data_order(g, w, y, x, len(self.stages_))
        post = laplace_binary(
            self._feature(x),
            y,
            w,
            rank[g],
            len(self.stages_),
            self.prior_,
            draws=int(self.draws),
            rng=rng,
        )
        # back from the data order to the stages_ order (see data_order)
        draws = {"a": post["a"][:, rank], "b": post["b"][:, rank]}
        hyper = {k: post[k] for k in ("mu_a", "mu_b", "tau_a", "tau_b")}
        diag: dict[str, Any] = {
            "method": "laplace",
            "k_hat": post["k_hat"],
            "ess": post["ess"],
            "grid_points": post["grid_points"],
        }
        return draws, hyper, diag, post

    def _fit_nuts(
        self, x: FloatArray, y: FloatArray, w: FloatArray, g: IntArray
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """Draws, population draws and diagnostics from PyMC's NUTS."""
        if self._is_flexible():
            return self._fit_nuts_flexible(x, y, w, g)
        res, diag = self._sample_nuts(self.kind, self._backend_data(x, y, w, g))
        return res["draws"], res["hyper"], diag

    def _fit_nuts_flexible(
        self, x: FloatArray, y: FloatArray, w: FloatArray, g: IntArray
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """NUTS on each structure of the flexible link, mixed by the fast path's evidence."""
        if self._structure_weights is None:  # method="nuts": the cheap fast path weighs them
            self._fit_fast(x, y, w, g, np.random.default_rng(self.random_state))
        assert self._structure_weights is not None  # the flexible fast path always sets them
        share = dict(self._structure_weights)
        n_levels = round(share["levels"] * int(self.draws))
        counts = {"walk": int(self.draws) - n_levels, "levels": n_levels}
        runs = [self._nuts_structure(x, y, w, g, st, counts[st]) for st in STRUCTURES]
        parts = [p for p in runs if p is not None]
        draws = {"theta": np.concatenate([p[0]["theta"] for p in parts])}
        hyper = {k: np.concatenate([p[1][k] for p in parts]) for k in parts[0][1]}
        diags = [p[2] for p in parts]
        diag = {
            "method": "nuts",
            "max_rhat": max(d.get("max_rhat", 1.0) for d in diags),
            "min_ess_bulk": min(d.get("min_ess_bulk", np.inf) for d in diags),
            "divergences": sum(d.get("divergences", 0) for d in diags),
            "structure_weights": share,
        }
        self._idata = None  # one run per structure: inference_data_ is built from the mix
        return draws, hyper, diag

    def _nuts_structure(
        self, x: FloatArray, y: FloatArray, w: FloatArray, g: IntArray, structure: str, n: int
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None:
        """``n`` evenly spread NUTS draws of one structure of the flexible link."""
        if n == 0:
            return None
        res, diag = self._sample_nuts(
            "flexible", {**self._backend_data(x, y, w, g), "structure": structure}
        )
        idx = np.linspace(0, res["draws"]["theta"].shape[0] - 1, n).round().astype(np.int64)
        hyper = {k: v[idx] for k, v in res["hyper"].items()}
        hyper["walk"] = np.full(n, structure == "walk")
        return {"theta": res["draws"]["theta"][idx]}, hyper, diag

    def _sample_nuts(
        self, model: str, data: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """One NUTS run of ``model`` with this calibrator's settings; keeps the InferenceData."""
        from judgecal.calibration.bayes import _pymc_backend

        res = _pymc_backend.sample(
            model,
            data,
            self.prior_,
            draws=int(self.draws),
            tune=int(self.tune),
            chains=int(self.chains),
            target_accept=float(self.target_accept),
            seed=self.random_state,
        )
        self._idata = res["idata"]
        diag = dict(res["diagnostics"])
        diag["method"] = "nuts"
        return res, diag

    @staticmethod
    def _mix_identity(
        draws: dict[str, Any],
        hyper: dict[str, Any],
        p0: float,
        ev: dict[str, Any],
        rng: np.random.Generator,
    ) -> float:
        """Bayesian model averaging with "the raw judge is calibrated" (a = 0, b = 1 everywhere).

        Its posterior probability is ``p0 L0 / (p0 L0 + (1 - p0) Z)``, with ``L0``
        the likelihood of the raw judge and ``Z`` the evidence of the full model;
        that share of the draws is replaced by the identity mapping (in place).
        """
        lo = math.log(p0) + ev["log_evidence_identity"] - math.log1p(-p0) - ev["log_evidence"]
        post = 1.0 / (1.0 + math.exp(-lo)) if lo > -700 else 0.0
        D = draws["a"].shape[0]
        k = round(post * D)
        if k:
            idx = rng.choice(D, size=k, replace=False)
            draws["a"][idx] = 0.0
            draws["b"][idx] = 1.0
            for name, value in (("mu_a", 0.0), ("mu_b", 1.0), ("tau_a", 0.0), ("tau_b", 0.0)):
                hyper[name][idx] = value
        return post

    def _classes(self) -> Any:
        if self.kind == "pairwise":
            return np.array(["second", "tie", "first"])
        if self.kind == "ordinal":
            return np.arange(1, self.levels_ + 1)
        return np.array([0, 1])

    def _check_targets(self, y: Any, n: int, where: str) -> FloatArray:
        if self.kind in ("binary", "monotone"):
            yy = check_probability_targets(y, "y", where=where)
            check_same_length(n, yy.size, "y", where=where)
            self.levels_ = 2
            return yy
        if self.kind == "pairwise":
            arr = np.asarray(y, dtype=object).ravel()
            check_same_length(n, arr.size, "y", where=where)
            codes = np.empty(n)
            for i, v in enumerate(arr.tolist()):
                key = v.strip().lower() if isinstance(v, str) else v
                if isinstance(key, float) and key.is_integer():
                    key = int(key)
                if isinstance(key, bool) or key not in _PAIRWISE_LEVEL:
                    raise InputError(
                        "y",
                        "'second', 'tie', 'first' or their codes 0, 1, 2 (judgecal.vocabulary; "
                        "0.1's signed codes -1/0/1 are no longer read)",
                        f"{v!r} at index {i}",
                        where=where,
                    )
                codes[i] = _PAIRWISE_LEVEL[key]
            self.levels_ = 3
            return codes
        yy = as_float_1d(y, "y", where=where)
        check_same_length(n, yy.size, "y", where=where)
        bad = (yy != np.round(yy)) | (yy < 1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                "y",
                "integer levels 1..levels for kind='ordinal'",
                f"{yy[i]!r} at index {i}",
                where=where,
            )
        K = int(self.levels) if self.levels is not None else max(int(yy.max()), 2)
        if yy.max() > K:
            raise InputError("y", f"levels in 1..{K}", f"{int(yy.max())}", where=where)
        if self.threshold is not None and self.threshold > K:
            raise InputError("threshold", f"a level in 2..{K}", self.threshold, where=where)
        self.levels_ = K
        return yy

    def _backend_data(
        self, x: FloatArray, y: FloatArray, w: FloatArray, g: IntArray
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"y": y, "w": w, "g": g, "n_stages": len(self.stages_)}
        if self._is_flexible():
            data["lvl"] = self._level_index(x)
            data["F"] = self._flexible_features(self.score_levels_)
        else:
            data["f"] = self._feature(x)
        if self.kind in ("ordinal", "pairwise"):
            data["n_levels"] = self.levels_
        rater = getattr(self, "_rater_rows", None)
        if rater is not None:
            data["rater"] = rater.astype(np.int64)
            data["n_raters"] = int(rater.max()) + 1
        return data

    def _stage_draws(
        self, draws: dict[str, Any], hyper: dict[str, Any], rng: np.random.Generator
    ) -> dict[Any, State]:
        """Split draws per stage and simulate a new stage from the population."""
        out: dict[Any, State] = {}
        S = len(self.stages_)
        D = next(iter(draws.values())).shape[0]
        if self._is_flexible():
            return self._flexible_stage_draws(draws, hyper, rng)
        a = np.asarray(draws["a"]).reshape(D, S)
        b = np.asarray(draws["b"]).reshape(D, S)
        for j, s in enumerate(self.stages_):
            out[s] = {"a": a[:, j].copy(), "b": b[:, j].copy()}
        mu_a = np.asarray(hyper.get("mu_a", np.zeros(D)))
        out[NEW_STAGE] = {
            "a": mu_a + np.asarray(hyper["tau_a"]) * rng.standard_normal(D),
            "b": np.asarray(hyper["mu_b"]) + np.asarray(hyper["tau_b"]) * rng.standard_normal(D),
        }
        if self.kind in ("ordinal", "pairwise"):
            cut = np.asarray(draws["cut"])  # (D, S, K - 1): every stage's cut points
            for j, s in enumerate(self.stages_):
                out[s]["cut"] = cut[:, j].copy()
            out[NEW_STAGE]["cut"] = new_stage_cuts(hyper, rng)
            for stage_draws in out.values():
                if "tau_r" in hyper:
                    stage_draws["tau_r"] = np.asarray(hyper["tau_r"], dtype=np.float64)
        return out

    def _flexible_stage_draws(
        self, draws: dict[str, Any], hyper: dict[str, Any], rng: np.random.Generator
    ) -> dict[Any, State]:
        """Per-level logits per stage, and a new stage's: a, b and a random walk from the prior."""
        theta = np.asarray(draws["theta"])  # (D, S, J)
        out: dict[Any, State] = {s: {"theta": theta[:, j, :]} for j, s in enumerate(self.stages_)}
        D, J = theta.shape[0], theta.shape[2]
        features = self._flexible_features(self.score_levels_)
        mu_b = np.asarray(hyper["mu_b"]).reshape(D, -1)
        a = hyper["mu_a"] + hyper["tau_a"] * rng.standard_normal(D)
        b = mu_b + hyper["tau_b"][:, None] * rng.standard_normal(mu_b.shape)
        steps = hyper["tau_r"][:, None] * rng.standard_normal((D, J))
        # the deviations of a new stage follow the structure of each draw (NUTS: the walk)
        walk = np.where(hyper.get("walk", True)[..., None], np.cumsum(steps, axis=1), steps)
        out[NEW_STAGE] = {"theta": a[:, None] + b @ features.T + walk}
        return out

    def _flexible_features(self, levels: FloatArray) -> FloatArray:
        """The flexible link's backbone features at the score levels, (J, K).

        The calibrator's feature and, with ``score_range``, the rescaled score
        ``4 (u - 1/2)`` (slope 1 at the middle of the scale, as the logit's), so
        that both a judge calibrated on its own scale and a truth logistic in the
        raw score are inside the backbone.
        """
        f = self._feature(levels)
        if self.score_range is None:
            return f[:, None]
        lo, hi = (float(v) for v in self.score_range)
        u = np.clip((levels - lo) / (hi - lo), 0.0, 1.0)
        return np.column_stack([f, 4.0 * (u - 0.5)])

    def _warn_diagnostics(self) -> None:
        d = self.diagnostics_
        problems = []
        if d["method"] == "laplace":
            if not _trusted(d):
                problems.append(
                    f"Pareto k-hat {d['k_hat']:.2f} (limit {K_HAT_MAX}), importance-sampling "
                    f"ESS {d['ess']:.0f} (minimum {ESS_MIN:.0f}): the Laplace approximation is "
                    "far from the posterior. Refit with method='nuts'"
                )
        else:
            if d.get("divergences", 0) > 0:
                problems.append(
                    f"{d['divergences']} divergent transitions: raise target_accept "
                    "(e.g. 0.95 or 0.99) or tighten the group-scale priors "
                    "(prior={'tau_a': ..., 'tau_b': ...})"
                )
            if d.get("max_rhat", 1.0) > 1.01:
                problems.append(
                    f"max r-hat {d['max_rhat']:.3f} > 1.01: raise tune and draws, use more chains"
                )
            if d.get("min_ess_bulk", np.inf) < 100 * int(self.chains):
                problems.append(
                    f"min bulk ESS {d['min_ess_bulk']:.0f} < {100 * int(self.chains)}: raise draws"
                )
        if problems:
            warnings.warn(
                "Posterior diagnostics are poor: " + "; ".join(problems) + ".",
                ConvergenceWarning,
                stacklevel=3,
            )

    # ------------------------------------------------------------------ prediction
    def _stage_groups(self, stages: Any, n: int, where: str) -> list[tuple[State, Any]]:
        if stages is None:
            key: Any = self.stages_[0] if len(self.stages_) == 1 else NEW_STAGE
            return [(self.draws_[key], slice(None))]
        if isinstance(stages, str):
            check_stages(stages, 1, where=where)
            key = stages if stages in self.draws_ else NEW_STAGE
            return [(self.draws_[key], slice(None))]
        st = check_stages(stages, n, where=where)
        names, inv = np.unique(st, return_inverse=True)
        out: list[tuple[State, Any]] = []
        for k, name in enumerate(names.tolist()):
            state = self.draws_.get(name, self.draws_[NEW_STAGE])
            out.append((state, inv == k))
        return out

    def _quantity(self, state: State, u: FloatArray, what: str) -> FloatArray:
        """Per-draw values (draws, len(u)) of the predicted quantity at scores u."""
        if "theta" in state:  # monotone, or binary with link="flexible"
            return sigmoid(_interp_logit(self.score_levels_, state["theta"], u))  # type: ignore[no-any-return]
        f = self._feature(u)
        if f.ndim == 2:  # a panel: rows of k judges' scores, b of shape (draws, k)
            eta = state["a"][:, None] + state["b"] @ f.T
        else:
            eta = state["a"][:, None] + state["b"][:, None] * f[None, :]
        if self.kind == "binary":
            return sigmoid(eta)  # type: ignore[no-any-return]
        cut = state["cut"]  # (D, K-1)
        K = cut.shape[1] + 1
        if what.startswith("panel"):
            threshold = int(self.threshold or 2)
            return _panel_majority(eta - cut[:, threshold - 2][:, None], state, what)
        if what.startswith("ge"):  # P(Y >= k)
            k = int(what[2:])
            return sigmoid(eta - cut[:, k - 2][:, None])  # type: ignore[no-any-return]
        if what.startswith("p"):  # P(Y == k)
            k = int(what[1:])
            up = sigmoid(eta - cut[:, k - 2][:, None]) if k >= 2 else 1.0
            down = sigmoid(eta - cut[:, k - 1][:, None]) if k <= K - 1 else 0.0
            return np.asarray(up - down)
        # agreement
        if self.kind == "ordinal" and self.threshold is not None:
            return sigmoid(eta - cut[:, int(self.threshold) - 2][:, None])  # type: ignore[no-any-return]
        tot = np.zeros_like(eta)
        for k in range(K - 1):
            tot += sigmoid(eta - cut[:, k][:, None])
        return tot / (K - 1)  # type: ignore[no-any-return]

    def _summarise(
        self,
        X: Any,
        stages: Any,
        where: str,
        what: str,
        reducer: Callable[[FloatArray], FloatArray],
        width: int,
    ) -> FloatArray:
        x = self._scores(X, where, allow_empty=True)
        out = np.empty((x.shape[0], width))
        for state, mask in self._stage_groups(stages, x.shape[0], where):
            xs = x[mask]
            if xs.shape[0] == 0:
                continue
            # Judge scales are discrete: summarise once per distinct score, then index.
            if xs.ndim == 2:
                u, inv = np.unique(xs, axis=0, return_inverse=True)
                inv = inv.ravel()
            else:
                u, inv = _unique_inverse(xs)
            grid = u if u.shape[0] <= _GRID or u.ndim == 2 else self._grid(u)
            table = np.empty((grid.shape[0], width))
            D = next(iter(state.values())).shape[0]
            step = max(1, _BLOCK // D)
            for start in range(0, grid.shape[0], step):
                q = self._quantity(state, grid[start : start + step], what)
                table[start : start + step] = reducer(q)
            if grid is not u:  # continuous scores: interpolate the smooth summaries
                table = np.column_stack([np.interp(u, grid, table[:, c]) for c in range(width)])
            if isinstance(mask, slice):
                out = table[inv]
            else:
                out[mask] = table[inv]
        return out

    def _grid(self, u: FloatArray) -> FloatArray:
        """Summary grid for many distinct scores: evenly spaced plus every kink of the model."""
        pts = [np.linspace(u[0], u[-1], _GRID)]
        fp: dict[str, Any] = self.feature_
        if fp["type"] == "logit":
            span = fp["high"] - fp["low"]
            pts.append(np.array([fp["low"] + fp["eps"] * span, fp["high"] - fp["eps"] * span]))
        if self._is_flexible():
            pts.append(self.score_levels_)
        g = np.unique(np.concatenate(pts))
        out: FloatArray = g[(g >= u[0]) & (g <= u[-1])]
        return out

    def predict_agreement(self, X: Any, *, stages: Any = None) -> FloatArray:
        """Posterior mean of P(a human rates positively | score), shape (n,).

        ``stages=None`` uses the only stage when ``fit`` saw one, otherwise a new
        stage drawn from the population (wider intervals, honest for unseen stages).
        """
        where = "BayesianCalibrator.predict_agreement"
        self._check_fitted("predict_agreement")
        return self._summarise(X, stages, where, "agree", lambda q: q.mean(axis=0)[:, None], 1)[
            :, 0
        ]

    def predict_agreement_draws(
        self, X: Any, *, stages: Any = None, n_draws: int | None = None
    ) -> FloatArray:
        """Posterior draws of P(a human rates positively | score), shape (draws, n).

        Row ``d`` is the calibration curve of posterior draw ``d`` evaluated at
        every score, so any summary of the calibrated judge (a rate over many
        items, a difference between two judges) gets its posterior by applying
        it row by row. :meth:`predict_agreement` is the mean over the rows.

        Parameters
        ----------
        X : array-like of shape (n,)
            Judge scores.
        stages : str or array-like of shape (n,), optional
            As in :meth:`predict_agreement`.
        n_draws : int, optional
            Return this many draws, evenly spaced over the stored ones (all
            stored draws when ``None`` or larger than their number).

        Returns
        -------
        ndarray of shape (draws, n)

        Notes
        -----
        Unlike the other ``predict_*`` methods this one materializes the whole
        ``draws x n`` array: ``8 * draws * n`` bytes (1000 draws of 10^5 scores
        are 800 MB). The model is evaluated once per distinct score; pass
        ``n_draws`` or predict in chunks of ``X`` to bound memory.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> s = rng.integers(1, 6, 200)
        >>> y = rng.random(200) < s / 6
        >>> cal = BayesianCalibrator(random_state=0).fit(s, y)
        >>> draws = cal.predict_agreement_draws([1, 3, 5], n_draws=100)
        >>> draws.shape
        (100, 3)
        >>> bool(np.allclose(draws.mean(axis=0), cal.predict_agreement([1, 3, 5]), atol=0.05))
        True
        """
        where = "BayesianCalibrator.predict_agreement_draws"
        self._check_fitted("predict_agreement_draws")
        total = self._n_draws()
        if n_draws is not None:
            check_int(n_draws, "n_draws", low=1, where=where)
        keep = _thin(total, total if n_draws is None else int(n_draws))
        table = self._summarise(
            X, stages, where, "agree", lambda q: np.asarray(q[keep]).T, keep.size
        )
        return np.ascontiguousarray(table.T)

    def _n_draws(self) -> int:
        state = next(iter(self.draws_.values()))
        return int(next(iter(state.values())).shape[0])

    def predict_proba(self, X: Any, *, stages: Any = None) -> FloatArray:
        """Posterior mean class probabilities.

        ``binary``/``monotone``: shape (n, 2), column 1 is P(agree | score).
        ``ordinal``: shape (n, levels), column k-1 is P(level == k).
        ``pairwise``: shape (n, 3), columns ``[second, tie, first]``.
        """
        where = "BayesianCalibrator.predict_proba"
        self._check_fitted("predict_proba")
        if self.kind in ("binary", "monotone"):
            p = self.predict_agreement(X, stages=stages)
            return np.column_stack([1.0 - p, p])
        cols = [
            self._summarise(X, stages, where, f"p{k}", lambda q: q.mean(axis=0)[:, None], 1)[:, 0]
            for k in range(1, self.levels_ + 1)
        ]
        out = np.clip(np.column_stack(cols), 0.0, 1.0)
        return out / out.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]

    def predict_at_least(self, X: Any, k: int, *, stages: Any = None) -> FloatArray:
        """``ordinal``/``pairwise``: posterior mean of P(human level >= k), shape (n,)."""
        where = "BayesianCalibrator.predict_at_least"
        self._check_fitted("predict_at_least")
        if self.kind not in ("ordinal", "pairwise"):
            raise InputError(
                "kind", "'ordinal' or 'pairwise' for predict_at_least", self.kind, where=where
            )
        check_int(k, "k", low=2, high=self.levels_, where=where)
        return self._summarise(X, stages, where, f"ge{k}", lambda q: q.mean(axis=0)[:, None], 1)[
            :, 0
        ]

    def predict_interval(self, X: Any, *, stages: Any = None, level: float = 0.9) -> FloatArray:
        """Equal-tailed credible interval of :meth:`predict_agreement`, shape (n, 2).

        Parameters
        ----------
        X : array-like of shape (n,)
            Judge scores.
        stages : str or array-like, optional
            As in :meth:`predict_agreement`.
        level : float
            Credible level in (0, 1).
        """
        where = "BayesianCalibrator.predict_interval"
        self._check_fitted("predict_interval")
        check_float(level, "level", low=0.0, high=1.0, low_open=True, high_open=True, where=where)
        qs = [(1.0 - level) / 2.0, (1.0 + level) / 2.0]

        def reducer(q: FloatArray) -> FloatArray:
            return np.quantile(q, qs, axis=0).T  # type: ignore[no-any-return]

        return self._summarise(X, stages, where, "agree", reducer, 2)

    def predict_panel_agreement(
        self, X: Any, *, stages: Any = None, panel_size: int = 3, level: float | None = None
    ) -> FloatArray:
        """P(the majority of a panel of new raters rates >= ``threshold`` | score).

        ``ordinal`` fitted with ``raters`` and a ``threshold``. The panel's raters
        are new: their offsets are drawn from the fitted population
        N(0, tau_r^2), and given the item they rate independently. A
        majority is more than half of ``panel_size``. :meth:`predict_agreement`
        is the same for one typical rater (offset 0).

        Returns the posterior mean, shape (n,), or with ``level`` the
        equal-tailed credible interval, shape (n, 2).

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> s = np.repeat(rng.integers(1, 6, 200), 3).astype(float)
        >>> who = np.tile(["ann", "bob", "cy"], 200)
        >>> strict = np.where(who == "cy", -1.0, 0.0)
        >>> y = np.clip(np.round(s + strict + rng.normal(0, 0.8, 600)), 1, 5)
        >>> cal = BayesianCalibrator(kind="ordinal", threshold=4, random_state=0)
        >>> cal = cal.fit(s, y, raters=who)
        >>> one, panel = cal.predict_agreement([5.0]), cal.predict_panel_agreement([5.0])
        >>> bool(panel[0] > one[0] > 0.5)
        True
        """
        where = "BayesianCalibrator.predict_panel_agreement"
        self._check_fitted("predict_panel_agreement")
        if (
            self.kind != "ordinal"
            or self.threshold is None
            or "tau_r" not in self.draws_[NEW_STAGE]
        ):
            raise InputError(
                "self",
                "an ordinal calibrator fitted with raters= and a threshold",
                f"kind={self.kind!r}, threshold={self.threshold!r}",
                where=where,
            )
        check_int(panel_size, "panel_size", low=1, high=101, where=where)
        what = f"panel{int(panel_size)}"
        if level is None:
            return self._summarise(X, stages, where, what, lambda q: q.mean(axis=0)[:, None], 1)[
                :, 0
            ]
        check_float(level, "level", low=0.0, high=1.0, low_open=True, high_open=True, where=where)
        qs = [(1.0 - level) / 2.0, (1.0 + level) / 2.0]
        return self._summarise(X, stages, where, what, lambda q: np.quantile(q, qs, axis=0).T, 2)

    def predict(self, X: Any, *, stages: Any = None) -> Any:
        """Most probable class (``binary``: 1 where P(agree) >= 0.5)."""
        if self.kind in ("binary", "monotone"):
            return (self.predict_agreement(X, stages=stages) >= 0.5).astype(np.int64)
        return self.classes_[np.argmax(self.predict_proba(X, stages=stages), axis=1)]

    # ------------------------------------------------------------------ judgments
    def fit_judgments(
        self,
        judgments: Any,
        *,
        threshold: int | None = None,
        ties: str = "half",
        weight: str = "item",
        raters: bool = False,
    ) -> BayesianCalibrator:
        """Fit on a :class:`~judgecal.JudgmentSet`, one likelihood term per human rating.

        Only scored, labelled judgments are used; stages come from the set, and
        ``score_range`` defaults to the set's judge scale (it is set on ``self``
        when it was ``None``). ``binary``/``monotone`` on ordinal labels need
        ``threshold`` (a rating >= threshold is positive); on pairwise labels a
        tie counts ``ties="half"`` (0.5) or ``"loss"`` (0; 0.1's ``"negative"``).

        ``weight="item"`` gives every item a total weight of 1, shared by its
        ratings; ``weight="rating"`` gives every rating weight 1, which treats the
        raters of one item as independent. Raters of one item agree far more
        than chance (they read the same text), so ``"rating"`` overstates the
        evidence: on PandaLM (3 raters, 10 pairings as stages, 50 labelled
        items) it made held-out Brier worse (0.153 vs 0.138) and 90% intervals
        too narrow. ``"item"`` is the default.

        ``raters=True`` (``kind="ordinal"``) passes each rating's rater to
        :meth:`fit` (rater offsets; ratings of unknown raters share one offset).

        Examples
        --------
        >>> from judgecal import load_pandalm
        >>> js = load_pandalm()
        >>> cal = BayesianCalibrator(random_state=0).fit_judgments(js)
        >>> cal.predict_agreement([0, 1, 2], stages=js.stages()[0]).round(2).tolist()
        [0.16, 0.38, 0.67]
        """
        from judgecal.records.core import JudgmentSet

        where = "BayesianCalibrator.fit_judgments"
        if not isinstance(judgments, JudgmentSet):
            raise InputTypeError(
                "judgments", "a JudgmentSet", type(judgments).__name__, where=where
            )
        ties = check_ties(ties, allowed=("half", "loss"), where=where)
        check_choice(weight, "weight", ("item", "rating"), where=where)
        js = judgments.scored().labelled()
        if len(js) == 0:
            raise InputError(
                "judgments", "at least one scored, labelled judgment", "none", where=where
            )
        item, val, who = js.ratings_long()
        per_item = np.bincount(item, minlength=len(js)).astype(np.float64)
        sw = 1.0 / per_item[item] if weight == "item" else np.ones(item.size)
        scores = js.scores()[item]
        stages = js.stages()[item]
        if self.score_range is None:
            self.score_range = (float(js.scale.low), float(js.scale.high))
        kind = js.label_kind
        if self.kind in ("binary", "monotone"):
            if kind == "ordinal":
                if threshold is None:
                    raise InputError(
                        "threshold",
                        "a level for binary targets from ordinal labels",
                        None,
                        where=where,
                    )
                y = (val >= threshold).astype(np.float64)
            elif kind == "pairwise":
                tie_value = 0.5 if ties == "half" else 0.0
                y = np.select(
                    [val == PAIRWISE_CODES["first"], val == PAIRWISE_CODES["tie"]],
                    [1.0, tie_value],
                    0.0,
                )
            else:
                y = val.astype(np.float64)
            return self.fit(scores, y, sw, stages=stages)
        if self.kind == "pairwise":
            if kind != "pairwise":
                raise InputError(
                    "judgments", "pairwise labels for kind='pairwise'", kind, where=where
                )
            return self.fit(scores, val, sw, stages=stages)
        if kind != "ordinal":
            raise InputError("judgments", "ordinal labels for kind='ordinal'", kind, where=where)
        if self.levels is None:
            self.levels = js.levels
        return self.fit(scores, val, sw, stages=stages, raters=who if raters else None)

    # ------------------------------------------------------------------ posterior
    @property
    def inference_data_(self) -> Any:
        """The posterior as ArviZ ``InferenceData`` (imports ArviZ on first access)."""
        self._check_fitted("inference_data_")
        if getattr(self, "_idata", None) is None:
            from judgecal.calibration.bayes import _pymc_backend

            self._idata = _pymc_backend.to_inference_data(self)
        return self._idata

    # ------------------------------------------------------------------ persistence
    def _get_state(self) -> State:
        self._check_fitted("save")
        state: State = {
            "stages": self.stages_,
            "stage_counts": self.stage_counts_,
            "feature": self.feature_,
            "levels": self.levels_,
            "prior": self.prior_,
            "diagnostics": dict(self.diagnostics_),
            "draws": {s: self.draws_[s] for s in self.stages_},
            "new_stage": self.draws_[NEW_STAGE],
        }
        if self._is_flexible():
            state["score_levels"] = self.score_levels_
        if self.n_features_in_ != 1:  # a panel; one judge keeps 0.1's state
            state["n_judges"] = int(self.n_features_in_)
        return state

    def _set_state(self, state: State) -> None:
        """Restore a saved state, refusing one that ``fit`` could not have produced."""
        if not isinstance(state, dict):
            raise ValueError(f"a Bayesian state must be a mapping, got {type(state).__name__}")
        kind = str(self.kind)
        if kind not in KINDS:
            raise ValueError(f"'kind' must be one of {KINDS}, got {kind!r}")
        n_judges = decode_n_judges(state, kind)
        stages, counts, feature, levels = check_header(state, kind, n_judges)
        # a flexible link's draws are per-level logits, as the monotone kind's; a binary
        # state holds score levels exactly when its link was flexible
        flexible = kind == "binary" and "score_levels" in state
        if self.link == "flexible" and kind == "binary" and not flexible:
            raise ValueError("link='flexible' but the state has no score levels")
        draws_kind = "flexible" if flexible else kind
        score_levels = decode_score_levels(state, draws_kind)
        n_draws = expected_draws(self.get_params(), state["diagnostics"].get("method"))
        self.draws_ = decode_draws(
            state, stages, draws_kind, levels, score_levels, n_draws, n_judges
        )
        self.stages_, self.stage_counts_, self.feature_ = stages, counts, feature
        self.levels_ = levels
        self.prior_ = {k: float(v) for k, v in state["prior"].items()}
        self.diagnostics_ = dict(state["diagnostics"])
        if score_levels is not None:
            self.score_levels_ = score_levels
        self.link_ = "flexible" if flexible or kind == "monotone" else "parametric"
        self.classes_ = self._classes()
        self.n_features_in_ = n_judges
        self._idata = None

    def score(self, X: Any, y: Any, sample_weight: Any = None, *, stages: Any = None) -> float:
        """Mean accuracy of :meth:`predict` (scikit-learn's classifier ``score``)."""
        pred = self.predict(X, stages=stages)
        if self.kind in ("binary", "monotone"):
            truth = check_probability_targets(y, "y", where="BayesianCalibrator.score") >= 0.5
            hit = (pred == truth).astype(np.float64)
        else:
            hit = (np.asarray(pred).astype(str) == np.asarray(y).astype(str)).astype(np.float64)
        w = check_weights(sample_weight, hit.size, where="BayesianCalibrator.score")
        return float(np.dot(w, hit) / w.sum())


register(BayesianCalibrator)


def prior_predictive(
    calibrator: BayesianCalibrator,
    scores: Any,
    *,
    n: int = 1000,
    random_state: int | None = None,
) -> FloatArray:
    """Draws of P(agree | score) implied by the prior alone, shape (n, len(scores)).

    A prior predictive check: look at what the prior says before any label, e.g.
    that it spreads the agreement probability over (0, 1) instead of piling it at
    0 and 1. Supports ``kind="binary"`` (numpy only, no PyMC).

    Examples
    --------
    >>> cal = BayesianCalibrator(score_range=(1, 5))
    >>> draws = prior_predictive(cal, [1, 3, 5], random_state=0)
    >>> np.round(np.median(draws, axis=0), 2)  # the raw judge, rescaled to [0.05, 0.95]
    array([0.05, 0.5 , 0.95])
    """
    where = "prior_predictive"
    if not isinstance(calibrator, BayesianCalibrator):
        raise InputTypeError(
            "calibrator", "a BayesianCalibrator", type(calibrator).__name__, where=where
        )
    if calibrator.kind != "binary":
        raise InputError(
            "calibrator", "a calibrator of kind='binary'", calibrator.kind, where=where
        )
    if isinstance(n, numbers.Integral):
        check_int(n, "n", low=1, high=10_000_000, where=where)
    else:
        raise InputTypeError("n", "an integer", n, where=where)
    x = as_float_1d(scores, "scores", where=where)
    _, prior = calibrator._check_params()
    rng = make_rng(random_state, "random_state", where="prior_predictive")
    est = BayesianCalibrator(score_range=calibrator.score_range)
    if calibrator.score_range is None:
        est.feature_ = {
            "type": "standardized",
            "center": float(x.mean()),
            "spread": float(x.std()) or 1.0,
        }
    else:
        est._set_feature(x, np.ones_like(x))
    f = est._feature(x)
    mu_a = prior["mu_a"] + prior["sd_a"] * rng.standard_normal(n)
    mu_b = prior["mu_b"] + prior["sd_b"] * rng.standard_normal(n)
    a = mu_a + np.abs(prior["tau_a"] * rng.standard_normal(n)) * rng.standard_normal(n)
    b = mu_b + np.abs(prior["tau_b"] * rng.standard_normal(n)) * rng.standard_normal(n)
    spike = rng.random(n) < prior["p_identity"]  # "the raw judge is calibrated"
    a[spike], b[spike] = 0.0, 1.0
    return sigmoid(a[:, None] + b[:, None] * f[None, :])  # type: ignore[no-any-return]
