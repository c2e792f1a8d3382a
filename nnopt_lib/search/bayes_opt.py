r"""Bayesian optimisation: a Gaussian process models the objective, expected improvement picks
the next config to try.

The loop (Snoek, Larochelle & Adams 2012; Shahriari et al. 2016, "Taking the Human Out of the
Loop"):

1. evaluate ``n_initial`` random configs;
2. fit a GP to all results so far (in the unit cube of :mod:`~nnopt_lib.search.space`, values
   standardised to mean 0 and std 1 because the GP's prior mean is 0; hyperparameters -- one
   length scale per dimension, signal and noise variance -- by maximum marginal likelihood,
   :func:`fit_gaussian_process`);
3. score ``n_candidates`` random cube points by expected improvement and evaluate the best one;
4. repeat 2-3 until ``budget`` trials.

Maximising EI over random candidates instead of with a gradient optimiser keeps the loop short and
handles integer and categorical dimensions the same way as real ones. Each iteration is stored as a
:class:`BayesOptStep` in ``result.steps``; it can recompute the GP's mean and std and the EI on any
grid of cube points, which is what an explorer plots.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnopt_lib.search.acquisition import expected_improvement
from nnopt_lib.search.basic import _check_budget
from nnopt_lib.search.gaussian_process import GaussianProcess, fit_gaussian_process
from nnopt_lib.search.result import SearchResult
from nnopt_lib.search.space import Dimension, from_unit, sample, to_unit


@dataclass
class BayesOptStep:
    """One iteration: the data the GP saw, the GP, and the point EI chose.

    ``X`` are cube points (n, d), ``y`` the values (a non-finite one replaced by the worst finite
    value); the GP was fitted to ``(y - y_mean) / y_scale``. :meth:`posterior` and
    :meth:`acquisition` answer in the objective's units.
    """

    iteration: int
    X: np.ndarray
    y: np.ndarray
    y_mean: float
    y_scale: float
    gp: GaussianProcess
    xi: float
    chosen: np.ndarray  # the cube point evaluated next
    chosen_ei: float

    @property
    def best(self) -> float:
        return float(np.min(self.y))

    def posterior(self, U) -> tuple[np.ndarray, np.ndarray]:
        """GP mean and std at cube points ``U`` (m, d), in the objective's units."""
        mean, std = self.gp.predict(U, return_std=True)
        return self.y_mean + self.y_scale * mean, self.y_scale * std

    def acquisition(self, U) -> np.ndarray:
        """Expected improvement at cube points ``U``, in the objective's units (EI scales with
        the values, so it is the GP's EI times ``y_scale``)."""
        mean, std = self.posterior(U)
        return expected_improvement(mean, std, self.best, xi=self.xi * self.y_scale)


def bayes_opt(
    objective: Callable[[dict[str, Any]], float],
    space: Mapping[str, Dimension],
    *,
    budget: int,
    n_initial: int,
    seed: int,
    kernel: str = "matern52",
    n_candidates: int = 2000,
    xi: float = 0.01,
    noise: float | None = None,
    ard: bool = True,
) -> SearchResult:
    """Minimise ``objective(config)`` with GP + expected improvement; ``budget`` trials in all.

    ``xi`` is in standardised units (a fraction of the values' std); ``noise=None`` fits the GP's
    noise variance by marginal likelihood (training runs are noisy), a float fixes it; ``ard=True``
    fits one length scale per hyperparameter, so one that barely matters (a long length scale) does
    not blur the model of one that does.
    Non-finite values (a diverged run) are recorded as they are but given the worst finite value
    seen when fitting the GP, so the search is steered away from them.
    """
    _check_budget(budget)
    if not 1 <= n_initial <= budget:
        raise ValueError(f"n_initial must be between 1 and budget={budget}, got {n_initial!r}")
    if n_candidates < 1:
        raise ValueError(f"n_candidates must be positive, got {n_candidates!r}")
    rng = np.random.default_rng(seed)
    result = SearchResult("bayes_opt")

    for _ in range(n_initial):
        config = sample(space, rng)
        result.add(config, objective(config), phase="initial")

    while len(result) < budget:
        X = np.array([to_unit(space, t.config) for t in result.trials])
        y = result.values()
        finite = np.isfinite(y)
        if not finite.any():
            config = sample(space, rng)  # nothing to model yet
            result.add(config, objective(config), phase="initial")
            continue
        y_fit = np.where(finite, y, np.max(y[finite]))
        y_mean, y_scale = float(np.mean(y_fit)), float(np.std(y_fit))
        y_scale = y_scale if y_scale > 0 else 1.0
        gp = fit_gaussian_process(
            X, (y_fit - y_mean) / y_scale, kernel=kernel, noise=noise, ard=ard, n_starts=3
        )

        candidates = rng.random((n_candidates, len(space)))
        mean, std = gp.predict(candidates, return_std=True)
        ei = expected_improvement(mean, std, float(np.min((y_fit - y_mean) / y_scale)), xi=xi)
        pick = int(np.argmax(ei))
        step = BayesOptStep(
            iteration=len(result.steps),
            X=X,
            y=y_fit,
            y_mean=y_mean,
            y_scale=y_scale,
            gp=gp,
            xi=xi,
            chosen=candidates[pick],
            chosen_ei=float(ei[pick]) * y_scale,
        )
        result.steps.append(step)
        config = from_unit(space, candidates[pick])
        result.add(config, objective(config), phase="bayes", step=step.iteration)
    return result
