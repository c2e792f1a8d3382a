r"""Exercises of notebook 16 (hyperparameter search).

* ``matern52_kernel(A, B, length_scale, signal_variance)``: the Matérn covariance with
  :math:`\nu = 5/2` between every row of ``A`` (shape ``(n, d)``) and every row of ``B``
  (shape ``(m, d)``): with :math:`r = \lVert a - b\rVert / \ell`,
  :math:`k = \sigma_f^2\,(1 + \sqrt5\,r + \tfrac53 r^2)\,\exp(-\sqrt5\,r)`; returns ``(n, m)``.
  (Rasmussen & Williams 2006, eq. 4.17; the default kernel of ``search.bayes_opt``.)
* ``gp_log_marginal_likelihood(X, y, length_scale, signal_variance, noise)``: the log evidence
  of a zero-mean Gaussian process with the RBF kernel
  :math:`k(a, b) = \sigma_f^2 \exp(-\lVert a - b\rVert^2 / (2\ell^2))`: with
  :math:`K = k(X, X) + \text{noise}\,I`,
  :math:`\log p(y \mid X) = -\tfrac12 y^\top K^{-1} y - \tfrac12 \log\det K - \tfrac n2 \log 2\pi`
  (Rasmussen & Williams 2006, Algorithm 2.1).
* ``probability_of_improvement(mean, std, best, xi)``: for MINIMISATION,
  :math:`\mathrm{PI} = \Phi\big((b - \mu - \xi)/\sigma\big)` (Kushner 1964), and where
  :math:`\sigma = 0`: 1 if :math:`\mu < b - \xi`, else 0.
* ``successive_halving_rungs(n_configs, min_budget, max_budget, eta)``: the rungs
  ``[(n_i, r_i), ...]`` of one successive-halving bracket, as
  :func:`nnopt_lib.search.halving.halving_schedule` defines them (integer budgets):
  :math:`s = \lfloor \log_\eta(R/r) \rfloor`, rung :math:`i = 0..s` trains
  :math:`n_i = \lfloor n\,\eta^{-i} \rfloor` configurations for :math:`r_i = R\,\eta^{i-s}`
  epochs (rounded); the list stops before a rung with no configuration and after the first rung
  with a single one.

J. Bergstra and Y. Bengio, "Random Search for Hyper-Parameter Optimization", JMLR 2012;
D. R. Jones, M. Schonlau and W. J. Welch, "Efficient Global Optimization of Expensive
Black-Box Functions", J. Global Optimization 1998; C. E. Rasmussen and C. K. I. Williams,
"Gaussian Processes for Machine Learning", MIT Press 2006; K. Jamieson and A. Talwalkar,
"Non-stochastic Best Arm Identification and Hyperparameter Optimization", AISTATS 2016;
L. Li et al., "Hyperband: A Novel Bandit-Based Approach to Hyperparameter Optimization",
JMLR 2018.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

from nnopt_lib.exercises.core import Exercise, register
from nnopt_lib.search.halving import halving_schedule

# --------------------------------------------------------------------------- references


def _squared_distances(A, B):
    # |a|² + |b|² − 2 a·b without an (n, m, d) temporary, clipped at 0 because rounding can
    # make it slightly negative for equal points
    sq = (A**2).sum(1)[:, None] + (B**2).sum(1)[None, :] - 2.0 * A @ B.T
    return np.maximum(sq, 0.0)


def _matern52_kernel(A, B, length_scale, signal_variance):
    r = np.sqrt(5.0 * _squared_distances(A, B)) / length_scale  # this is √5·r
    return signal_variance * (1.0 + r + r**2 / 3.0) * np.exp(-r)


def _gp_log_marginal_likelihood(X, y, length_scale, signal_variance, noise):
    K = signal_variance * np.exp(-_squared_distances(X, X) / (2.0 * length_scale**2))
    K = K + noise * np.eye(len(X))
    L = np.linalg.cholesky(K)  # log det K = 2 Σ log L_ii, and two triangular solves
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, y))
    return float(-0.5 * y @ alpha - np.log(np.diag(L)).sum() - 0.5 * len(y) * math.log(2 * math.pi))


def _probability_of_improvement(mean, std, best, xi):
    mean, std = np.asarray(mean, float), np.asarray(std, float)
    improvement = best - mean - xi
    safe = np.where(std > 0, std, 1.0)  # avoid 0/0; those entries are decided below
    return np.where(std > 0, ndtr(improvement / safe), (improvement > 0).astype(float))


def _successive_halving_rungs(n_configs, min_budget, max_budget, eta):
    return [(int(n), int(r)) for n, r in halving_schedule(
        n_configs, min_budget=min_budget, max_budget=max_budget, eta=eta)]


# --------------------------------------------------------------------------- cases


def _points(rng):
    n, m, d = int(rng.integers(1, 12)), int(rng.integers(1, 15)), int(rng.integers(1, 4))
    return rng.uniform(size=(n, d)), rng.uniform(size=(m, d))


def _kernel_cases(rng):
    cases = []
    for _ in range(20):
        A, B = _points(rng)
        cases.append((A, B, float(10 ** rng.uniform(-1.5, 0.5)), float(rng.uniform(0.2, 3.0))))
    A = rng.uniform(size=(4, 2))
    cases.append((A, A.copy(), 0.3, 1.0))  # equal points: σ² on the diagonal
    return cases


def _likelihood_cases(rng):
    cases = []
    for _ in range(20):
        X, _ = _points(rng)
        y = np.sin(6 * X.sum(1)) + rng.normal(scale=0.1, size=len(X))
        cases.append((X, y, float(10 ** rng.uniform(-1, 0)), float(rng.uniform(0.5, 2.0)),
                      float(10 ** rng.uniform(-4, -1))))
    return cases


def _pi_cases(rng):
    cases = []
    for _ in range(20):
        m = int(rng.integers(1, 30))
        mean = rng.normal(size=m)
        std = rng.uniform(0, 1.5, size=m) * (rng.random(m) > 0.2)  # some exact zeros
        cases.append((mean, std, float(rng.normal()), float(rng.choice([0.0, 0.01, 0.1]))))
    return cases


def _rung_cases(rng):
    cases = [(27, 1, 27, 3), (81, 1, 81, 3), (10, 1, 9, 3), (8, 1, 8, 2), (5, 2, 10, 3),
             (1, 1, 27, 3), (9, 3, 3, 3), (20, 1, 30, 3)]
    for _ in range(10):
        eta = int(rng.choice([2, 3, 4]))
        r = int(rng.integers(1, 4))
        cases.append((int(rng.integers(1, 100)), r, int(r * rng.integers(1, 60)), eta))
    return cases


# --------------------------------------------------------------------------- registration

register(Exercise(
    name="matern52_kernel",
    reference=_matern52_kernel,
    cases=_kernel_cases,
    rtol=1e-9,
    atol=1e-12,
    hint="Distances between all rows: np.sqrt(((A[:, None, :] - B[None, :, :])**2).sum(-1)), "
         "shape (n, m); r = distance / length_scale. Then signal_variance * (1 + √5 r + 5/3 r²) "
         "* np.exp(-√5 r).",
))

register(Exercise(
    name="gp_log_marginal_likelihood",
    reference=_gp_log_marginal_likelihood,
    cases=_likelihood_cases,
    rtol=1e-7,
    atol=1e-8,
    hint="K = σ² exp(−|a−b|²/(2ℓ²)) + noise·I. With L = np.linalg.cholesky(K): "
         "α = K⁻¹y (two solves with L and L.T), log det K = 2·Σ log L_ii. Return "
         "−½ yᵀα − ½ log det K − (n/2) log 2π as a float.",
))

register(Exercise(
    name="probability_of_improvement",
    reference=_probability_of_improvement,
    cases=_pi_cases,
    rtol=1e-9,
    atol=1e-12,
    hint="For minimisation the improvement is best − mean − xi; PI = Φ(improvement / std) with "
         "Φ = scipy.special.ndtr (or 0.5·(1 + erf(z/√2))). Where std == 0 the outcome is certain: "
         "1.0 if improvement > 0, else 0.0 (divide by a safe std, then np.where).",
))

register(Exercise(
    name="successive_halving_rungs",
    reference=_successive_halving_rungs,
    cases=_rung_cases,
    hint="s is the largest integer with min_budget·eta**s <= max_budget (count it with a loop: "
         "floating-point logs can be off by one). For i = 0..s: n_i = n_configs // eta**i "
         "(stop before n_i == 0, and after n_i == 1), r_i = round(max_budget / eta**(s − i)). "
         "Return a list of (n_i, r_i) integer pairs.",
))
