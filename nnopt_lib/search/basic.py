"""The two baselines every smarter search must beat: random search and grid search.

Bergstra & Bengio (2012, "Random Search for Hyper-Parameter Optimization") show why random beats
grid at equal budget when only a few hyperparameters matter: a grid of ``m`` points per dimension
tries only ``m`` distinct values of the one that matters, however many trials it spends, while
``n`` random trials try ``n`` distinct values of every dimension.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from nnopt_lib.search.result import SearchResult
from nnopt_lib.search.space import Dimension, grid, sample

Objective = Callable[[dict[str, Any]], float]


def _check_budget(budget: int) -> None:
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise ValueError(f"budget must be a positive number of trials, got {budget!r}")


def random_search(
    objective: Objective, space: Mapping[str, Dimension], *, budget: int, seed: int
) -> SearchResult:
    """Evaluate ``budget`` configs drawn independently by :func:`search.sample`; cost 1 each."""
    _check_budget(budget)
    rng = np.random.default_rng(seed)
    result = SearchResult("random")
    for _ in range(budget):
        config = sample(space, rng)
        result.add(config, objective(config))
    return result


def grid_search(
    objective: Objective, space: Mapping[str, Dimension], *, points: int | Mapping[str, int]
) -> SearchResult:
    """Evaluate every config of :func:`search.grid` (``points`` per numeric dimension).

    Cost 1 each, in the grid's order.
    """
    result = SearchResult("grid")
    for config in grid(space, points=points):
        result.add(config, objective(config))
    return result
