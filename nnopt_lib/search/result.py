"""What a hyperparameter search returns: the trials it ran, in order, and summaries of them.

Every search method in :mod:`nnopt_lib.search` (random, grid, Bayesian optimisation, successive
halving, Hyperband, evolution, the Optuna bridge) returns a :class:`SearchResult`, so lessons can
plot "best value found so far" against "compute spent" for all of them on one set of axes.
Values are always MINIMISED (a validation loss, say).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Trial:
    """One evaluation of the objective.

    ``config`` is the hyperparameter dict that was tried, ``value`` the objective's result (lower
    is better), ``cost`` what it took: 1.0 for a full evaluation, or the budget (epochs) for
    methods that train for less than the full schedule. ``info`` holds anything method-specific
    (the budget, the bracket, the generation ...).
    """

    config: dict[str, Any]
    value: float
    cost: float = 1.0
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class SearchResult:
    """The trials of one search in the order they ran, plus method-specific extras.

    ``steps`` is free for the method to fill: Bayesian optimisation stores one record per iteration
    (the fitted surrogate and the acquisition), which lets an explorer replay the search.
    """

    method: str
    trials: list[Trial] = field(default_factory=list)
    steps: list[Any] = field(default_factory=list)

    def add(self, config: dict[str, Any], value: float, cost: float = 1.0, **info: Any) -> Trial:
        """Record a trial and return it."""
        trial = Trial(dict(config), float(value), float(cost), dict(info))
        self.trials.append(trial)
        return trial

    def __len__(self) -> int:
        return len(self.trials)

    def values(self) -> np.ndarray:
        """The objective values in trial order."""
        return np.array([t.value for t in self.trials], dtype=float)

    def costs(self) -> np.ndarray:
        """The cost of each trial in trial order."""
        return np.array([t.cost for t in self.trials], dtype=float)

    def _require_trials(self) -> None:
        if not self.trials:
            raise ValueError(f"SearchResult({self.method!r}) has no trials yet")

    def best_index(self) -> int:
        """Index of the lowest value (the first one on ties). NaN values never win."""
        self._require_trials()
        values = self.values()
        if np.all(np.isnan(values)):
            raise ValueError(f"SearchResult({self.method!r}): every trial's value is NaN")
        return int(np.nanargmin(values))

    @property
    def best_trial(self) -> Trial:
        return self.trials[self.best_index()]

    @property
    def best_config(self) -> dict[str, Any]:
        return dict(self.best_trial.config)

    @property
    def best_value(self) -> float:
        return self.best_trial.value

    def best_so_far(self) -> np.ndarray:
        """Running minimum of the values: entry ``i`` is the best value among trials ``0..i``.

        NaN (a diverged run) counts as +inf, so it never lowers the curve.
        """
        self._require_trials()
        values = np.where(np.isnan(self.values()), np.inf, self.values())
        return np.minimum.accumulate(values)

    def cumulative_cost(self) -> np.ndarray:
        """Running total of the costs, the x-axis for comparing methods at equal compute."""
        self._require_trials()
        return np.cumsum(self.costs())

    def __repr__(self) -> str:
        if not self.trials:
            return f"SearchResult(method={self.method!r}, no trials)"
        return (
            f"SearchResult(method={self.method!r}, trials={len(self.trials)}, "
            f"best_value={self.best_value:.4g}, total_cost={self.cumulative_cost()[-1]:.4g})"
        )
