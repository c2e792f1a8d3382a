"""Regularized evolution (Real et al. 2019): aging, tournaments, one-dimension mutations."""

import numpy as np
import pytest

from nnopt_lib import search
from nnopt_lib.search import Categorical, Integer, Real

SPACE = {"x": Real(1e-3, 1.0, log=True), "k": Integer(1, 8), "c": Categorical(["a", "b", "c"])}


def toy(config):
    return (np.log10(config["x"]) + 1) ** 2 + abs(config["k"] - 5) + (config["c"] != "b")


def test_population_ages_out_the_oldest():
    result = search.regularized_evolution(toy, SPACE, population=6, sample_size=3, cycles=30,
                                          seed=0)
    assert len(result) == 30 and result.method == "regularized_evolution"
    assert len(result.steps) == 30 - 6
    alive = list(range(6))
    for step in result.steps:
        assert step["parent"] in alive
        alive.append(step["child"])
        assert step["removed"] == alive.pop(0) == min(alive + [step["removed"]])
        assert step["population"] == alive and len(alive) == 6
    # aging removes good configs too: the best trial of the initial population dies
    best_initial = int(np.argmin(result.values()[:6]))
    assert any(step["removed"] == best_initial for step in result.steps)


def test_children_differ_from_their_parent_in_one_dimension():
    result = search.regularized_evolution(toy, SPACE, population=5, sample_size=2, cycles=40,
                                          seed=3)
    for trial in result.trials[5:]:
        parent = result.trials[trial.info["parent"]].config
        assert sum(parent[k] != trial.config[k] for k in SPACE) == 1
    assert all(t.info["parent"] is None for t in result.trials[:5])


def test_tournament_picks_the_best_of_its_sample_and_evolution_improves():
    result = search.regularized_evolution(toy, SPACE, population=10, sample_size=10, cycles=60,
                                          seed=1)
    values = result.values()
    for step in result.steps:  # S = P: the parent is the best of the whole population
        before = [step["removed"]] + step["population"][:-1]
        assert values[step["parent"]] == min(values[i] for i in before)
    assert result.best_value < values[:10].min()


def test_deterministic_per_seed_and_custom_mutation():
    a = search.regularized_evolution(toy, SPACE, population=4, sample_size=2, cycles=12, seed=5)
    b = search.regularized_evolution(toy, SPACE, population=4, sample_size=2, cycles=12, seed=5)
    assert [t.config for t in a.trials] == [t.config for t in b.trials]

    def to_b(config, space, rng):
        return {**config, "c": "b"}

    c = search.regularized_evolution(toy, SPACE, population=4, sample_size=2, cycles=12, seed=5,
                                     mutate=to_b)
    assert all(t.config["c"] == "b" for t in c.trials[4:])


@pytest.mark.parametrize("kwargs, match", [
    (dict(population=1, sample_size=1, cycles=5), "population"),
    (dict(population=4, sample_size=5, cycles=5), "sample_size"),
    (dict(population=4, sample_size=2, cycles=3), "cycles"),
])
def test_bad_arguments_name_themselves(kwargs, match):
    with pytest.raises(ValueError, match=match):
        search.regularized_evolution(toy, SPACE, seed=0, **kwargs)
