"""Hyperparameter search, built from scratch: spaces, random and grid search, a Gaussian process
with expected improvement (Bayesian optimisation), early-stopping methods, evolution, and a bridge
to Optuna for checking against the real tool.

Every method minimises, and returns a :class:`SearchResult`. scikit-learn and Optuna are only used
by tests and the bridge, imported inside functions.
"""

from nnopt_lib.search.acquisition import expected_improvement
from nnopt_lib.search.basic import grid_search, random_search
from nnopt_lib.search.bayes_opt import BayesOptStep, bayes_opt
from nnopt_lib.search.gaussian_process import GaussianProcess, fit_gaussian_process
from nnopt_lib.search.result import SearchResult, Trial
from nnopt_lib.search.space import Categorical, Integer, Real, from_unit, grid, sample, to_unit

__all__ = [
    "BayesOptStep",
    "Categorical",
    "GaussianProcess",
    "Integer",
    "Real",
    "SearchResult",
    "Trial",
    "bayes_opt",
    "expected_improvement",
    "fit_gaussian_process",
    "from_unit",
    "grid",
    "grid_search",
    "random_search",
    "sample",
    "to_unit",
]

# --- S2: early stopping, evolution, objectives, Optuna
from nnopt_lib.search.evolution import mutate_one, regularized_evolution  # noqa: E402
from nnopt_lib.search.halving import (  # noqa: E402
    halving_cost,
    halving_schedule,
    hyperband,
    hyperband_brackets,
    successive_halving,
)
from nnopt_lib.search.objectives import MLPObjective  # noqa: E402
from nnopt_lib.search.optuna_bridge import optuna_study, suggest  # noqa: E402

__all__ += [
    "MLPObjective",
    "halving_cost",
    "halving_schedule",
    "hyperband",
    "hyperband_brackets",
    "mutate_one",
    "optuna_study",
    "regularized_evolution",
    "successive_halving",
    "suggest",
]
