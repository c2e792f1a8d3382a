"""Regularized ("aging") evolution (Real, Aggarwal, Huang & Le, "Regularized Evolution for Image
Classifier Architecture Search", AAAI 2019, Algorithm 1).

A population of ``P`` configs starts at random. Each cycle draws ``S`` members at random
(tournament selection), copies the best of them (the parent), changes ONE of its
hyperparameters (mutation), evaluates the child and appends it to the population -- and then
removes the OLDEST member, not the worst. That aging is the "regularization": a config survives
only by having good descendants, so one lucky evaluation (a noisy validation loss) cannot
dominate the population forever.

As in the paper, ``cycles`` is the total number of configs evaluated, the ``P`` initial ones
included (``while |history| < C``).
"""

from __future__ import annotations

import numbers
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from nnopt_lib.search.result import SearchResult
from nnopt_lib.search.space import Categorical, Integer, Real, sample

__all__ = ["mutate_one", "regularized_evolution"]


def mutate_one(config: Mapping[str, Any], space: Mapping[str, Any], rng: np.random.Generator,
               *, scale: float = 0.2) -> dict[str, Any]:
    """A copy of ``config`` with ONE dimension changed (the default mutation).

    The dimension is drawn uniformly among those that can change. A categorical one takes a
    different choice, uniformly; a numeric one moves by a normal step of standard deviation
    ``scale`` in the unit cube (log dimensions in log space), reflected at the ends, and an
    integer that rounds back to its old value moves by one instead.
    """
    child = dict(config)
    names = [name for name, dim in space.items() if _can_change(dim)]
    if not names:
        return child
    name = names[int(rng.integers(len(names)))]
    dim, old = space[name], config[name]
    if isinstance(dim, Categorical):
        others = [c for c in dim.choices if c != old]
        child[name] = others[int(rng.integers(len(others)))]
        return child
    u = dim.to_unit(old) + scale * rng.standard_normal()
    u = abs(u) % 2.0  # reflect into [0, 1]: ... -0.2 -> 0.2, 1.2 -> 0.8
    u = 2.0 - u if u > 1.0 else u
    new = dim.from_unit(u)
    if isinstance(dim, Integer) and new == old:
        new = old + 1 if old < dim.high and (old == dim.low or rng.random() < 0.5) else old - 1
    child[name] = new
    return child


def _can_change(dim: Any) -> bool:
    if isinstance(dim, Categorical):
        return len(dim.choices) > 1
    if isinstance(dim, Real | Integer):
        return dim.high > dim.low
    raise TypeError(f"space dimensions must be Real, Integer or Categorical, got {dim!r}")


def regularized_evolution(objective: Callable[[dict[str, Any]], float],
                          space: Mapping[str, Any], *, population: int, sample_size: int,
                          cycles: int, seed: int,
                          mutate: Callable[..., dict[str, Any]] | None = None) -> SearchResult:
    """Regularized evolution minimising ``objective(config)`` over ``space``.

    Args:
        population: ``P``, the number of configs alive at any time (>= 2).
        sample_size: ``S``, the tournament size (1 <= S <= P; S = 1 is a random walk, S = P
            always mutates the best of the population).
        cycles: ``C``, the total number of evaluations, the ``P`` initial ones included (>= P).
        seed: fixes the initial configs, the tournaments and the mutations.
        mutate: ``mutate(config, space, rng) -> new config``; default :func:`mutate_one`.

    Each trial costs 1 and its ``info`` holds ``parent`` (the parent's trial index, ``None``
    for the initial population). ``result.steps`` has one dict per cycle after the initial
    population: ``parent``, ``child`` and ``removed`` (trial indices) and ``population``
    (the trial indices alive after the cycle, oldest first). A NaN value never wins a
    tournament (it counts as +inf).
    """
    for name, value, minimum in (("population", population, 2),
                                 ("sample_size", sample_size, 1), ("cycles", cycles, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if sample_size > population:
        raise ValueError(f"sample_size ({sample_size}) must be <= population ({population})")
    if cycles < population:
        raise ValueError(f"cycles ({cycles}) counts every evaluation, the initial population "
                         f"included, so it must be >= population ({population})")
    mutate = mutate_one if mutate is None else mutate
    if not callable(mutate):
        raise TypeError(f"mutate must be a function (config, space, rng) -> config, got {mutate!r}")
    rng = np.random.default_rng(seed)
    result = SearchResult("regularized_evolution")

    def score(index: int) -> float:
        value = result.trials[index].value
        return np.inf if np.isnan(value) else value

    alive: deque[int] = deque()  # trial indices, oldest on the left
    for _ in range(population):
        config = sample(space, rng)
        result.add(config, float(objective(config)), cost=1.0, parent=None)
        alive.append(len(result.trials) - 1)
    while len(result.trials) < cycles:
        members = rng.choice(len(alive), size=sample_size, replace=False)
        contenders = [alive[int(m)] for m in members]
        parent = min(contenders, key=lambda i: (score(i), i))  # ties: the older one
        child_config = mutate(dict(result.trials[parent].config), space, rng)
        result.add(child_config, float(objective(child_config)), cost=1.0, parent=parent)
        alive.append(len(result.trials) - 1)
        removed = alive.popleft()  # aging: the oldest dies, whatever its value
        result.steps.append({"parent": parent, "child": len(result.trials) - 1,
                             "removed": removed, "population": list(alive)})
    return result
