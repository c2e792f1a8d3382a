"""Successive halving and Hyperband: spend little on many configs, more on the survivors.

Successive halving (Jamieson & Talwalkar 2016) trains ``n`` random configs for a small budget
``r`` (epochs), keeps the best ``1/eta`` of them, trains those for ``eta`` times the budget, and
repeats until the budget reaches ``R``. Rung ``i`` (``i = 0 .. s``) holds

.. math:: n_i = \\lfloor n\\,\\eta^{-i} \\rfloor, \\qquad r_i = R\\,\\eta^{\\,i-s},

so the last rung trains with the full budget ``R`` and the first one with
``R eta^-s >= min_budget``, where ``s = floor(log_eta(R / min_budget))``.

Hyperband (Li et al., "Hyperband: A Novel Bandit-Based Approach to Hyperparameter
Optimization", JMLR 18, 2018) hedges over how aggressive to be: with
``s_max = floor(log_eta(R / r_min))`` it runs the brackets ``s = s_max, ..., 0``, bracket ``s``
being successive halving that starts ``n = ceil((s_max + 1) eta^s / (s + 1))`` configs at
budget ``r = R eta^-s`` (Algorithm 1 of the paper, its resource unit ``r_min`` = ``min_budget``).
Bracket ``s_max`` is the most aggressive, bracket 0 is plain random search at full budget.

Every evaluation here trains from scratch (``objective(config, budget)``), so its cost is its
budget and a run's cost is :math:`\\sum_i n_i r_i` (:func:`halving_cost`). (A variant that
resumes the survivors from their last checkpoint would cost less.) Random search and
Bayesian optimisation count 1 per full training: divide these costs by ``max_budget`` to put
both on one axis of "full trainings".

Values are minimised. A NaN value ranks last (as +inf); ties keep the earlier config.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from nnopt_lib.search.result import SearchResult
from nnopt_lib.search.space import sample

__all__ = ["halving_cost", "halving_schedule", "hyperband", "hyperband_brackets",
           "successive_halving"]


def _check_budgets(min_budget: Any, max_budget: Any, eta: Any) -> None:
    for name, value in (("min_budget", min_budget), ("max_budget", max_budget)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    if max_budget < min_budget:
        raise ValueError(f"max_budget ({max_budget!r}) must be >= min_budget ({min_budget!r})")
    if isinstance(eta, bool) or not isinstance(eta, numbers.Integral) or eta < 2:
        raise ValueError(f"eta must be an integer >= 2, got {eta!r}")


def _s_max(min_budget: float, max_budget: float, eta: int) -> int:
    """floor(log_eta(max / min)), computed by multiplying, so 81 / 1 with eta 3 gives 4, not 3."""
    s = 0
    while min_budget * eta ** (s + 1) <= max_budget * (1 + 1e-12):
        s += 1
    return s


def _budget(max_budget: float, eta: int, power: int, integral: bool) -> float:
    r = max_budget / eta**power
    return max(1, round(r)) if integral else r


def _integral(*values: Any) -> bool:
    return all(isinstance(v, numbers.Integral) for v in values)


def halving_schedule(n_configs: int, *, min_budget: float, max_budget: float,
                     eta: int = 3) -> list[tuple[int, float]]:
    """The rungs ``[(n_i, r_i), ...]`` of :func:`successive_halving` (see the module docstring).

    Budgets are whole epochs (rounded, at least 1) when ``min_budget`` and ``max_budget`` are
    integers. Rungs stop early once a single config is left.
    """
    _check_budgets(min_budget, max_budget, eta)
    if isinstance(n_configs, bool) or not isinstance(n_configs, numbers.Integral) or n_configs < 1:
        raise ValueError(f"n_configs must be an integer >= 1, got {n_configs!r}")
    s = _s_max(min_budget, max_budget, eta)
    integral = _integral(min_budget, max_budget)
    rungs = []
    for i in range(s + 1):
        n_i = n_configs // eta**i
        if n_i < 1:
            break
        rungs.append((int(n_i), _budget(max_budget, eta, s - i, integral)))
        if n_i == 1:
            break
    return rungs


def halving_cost(rungs: list[tuple[int, float]]) -> float:
    """Total budget of a halving run that trains every config from scratch: sum of n_i r_i."""
    return float(sum(n * r for n, r in rungs))


def hyperband_brackets(*, min_budget: float, max_budget: float,
                       eta: int = 3) -> list[list[tuple[int, float]]]:
    """Hyperband's brackets, most aggressive first: a list of rung lists ``[(n_i, r_i), ...]``.

    For ``min_budget=1, max_budget=81, eta=3`` this is Table 1 of Li et al. (2018):
    bracket s=4 has rungs (81, 1) (27, 3) (9, 9) (3, 27) (1, 81); s=3 starts 34 configs at 3
    epochs; s=2 starts 15 at 9; s=1 starts 8 at 27; s=0 runs 5 at 81.
    """
    _check_budgets(min_budget, max_budget, eta)
    s_max = _s_max(min_budget, max_budget, eta)
    integral = _integral(min_budget, max_budget)
    brackets = []
    for s in range(s_max, -1, -1):
        n = -(-((s_max + 1) * eta**s) // (s + 1))  # ceil with integers: no float round-off
        brackets.append([(n // eta**i, _budget(max_budget, eta, s - i, integral))
                         for i in range(s + 1)])
    return brackets


def _run_rungs(objective: Callable[..., float], configs: list[dict[str, Any]],
               rungs: list[tuple[int, float]], eta: int, result: SearchResult,
               bracket: int, first_id: int) -> None:
    """Evaluate ``configs`` through ``rungs``, recording trials and one step per rung."""
    alive = list(range(len(configs)))  # indices into configs
    for rung, (n_i, r_i) in enumerate(rungs):
        alive = alive[:n_i]
        values = []
        for index in alive:
            value = float(objective(configs[index], r_i))
            values.append(value)
            result.add(configs[index], value, cost=r_i, budget=r_i, bracket=bracket,
                       rung=rung, config_id=first_id + index)
        ranked = np.where(np.isnan(values), np.inf, values)
        order = np.argsort(ranked, kind="stable")  # ties keep the earlier config
        keep = rungs[rung + 1][0] if rung + 1 < len(rungs) else 0
        promoted = [alive[j] for j in order[:keep]]
        result.steps.append({
            "bracket": bracket, "rung": rung, "budget": r_i,
            "config_ids": [first_id + k for k in alive], "values": values,
            "promoted": [first_id + k for k in promoted],
        })
        alive = promoted


def successive_halving(objective: Callable[[dict[str, Any], float], float],
                       space: Mapping[str, Any], *, n_configs: int, min_budget: float,
                       max_budget: float, eta: int = 3, seed: int) -> SearchResult:
    """Successive halving over ``n_configs`` random configs of ``space``.

    ``objective(config, budget) -> value`` (minimised), ``budget`` in epochs. Each rung
    evaluates its configs at budget ``r_i`` and keeps the best ``n_{i+1} = floor(n_i / eta)``
    (:func:`halving_schedule`). Each trial's cost is its budget; ``info`` holds ``budget``,
    ``bracket`` (0), ``rung`` and ``config_id``. ``result.steps`` has one dict per rung
    (``config_ids``, ``values``, ``promoted``). ``best_value`` is the lowest value of any
    rung: look at ``steps[-1]`` for the winner at full budget.
    """
    rungs = halving_schedule(n_configs, min_budget=min_budget, max_budget=max_budget, eta=eta)
    rng = np.random.default_rng(seed)
    configs = [sample(space, rng) for _ in range(n_configs)]
    result = SearchResult("successive_halving")
    _run_rungs(objective, configs, rungs, eta, result, bracket=0, first_id=0)
    return result


def hyperband(objective: Callable[[dict[str, Any], float], float], space: Mapping[str, Any], *,
              min_budget: float, max_budget: float, eta: int = 3, seed: int) -> SearchResult:
    """Hyperband (Li et al. 2018): successive halving in every bracket of
    :func:`hyperband_brackets`, most aggressive first, each with fresh random configs.

    Trials record ``bracket`` (``s``), ``rung``, ``budget`` and ``config_id`` (unique over
    the whole run); ``result.steps`` has one dict per rung of every bracket.
    """
    brackets = hyperband_brackets(min_budget=min_budget, max_budget=max_budget, eta=eta)
    rng = np.random.default_rng(seed)
    result = SearchResult("hyperband")
    first_id = 0
    s_max = len(brackets) - 1
    for k, rungs in enumerate(brackets):
        configs = [sample(space, rng) for _ in range(rungs[0][0])]
        _run_rungs(objective, configs, rungs, eta, result, bracket=s_max - k, first_id=first_id)
        first_id += len(configs)
    return result

