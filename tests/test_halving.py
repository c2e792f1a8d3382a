"""Successive halving and Hyperband (Li et al. 2018): rung sizes, promotions, cost, brackets."""

import numpy as np
import pytest

from nnopt_lib import search
from nnopt_lib.search import Categorical, Integer, Real

SPACE = {"x": Real(-1.0, 1.0), "k": Integer(1, 5), "c": Categorical(["a", "b"])}


def toy(config, budget):
    """Lower is better; more budget lowers every value a little (like more epochs)."""
    return (config["x"] - 0.3) ** 2 + 0.1 * config["k"] + (config["c"] == "b") + 1.0 / budget


def test_halving_keeps_the_top_third_each_rung_and_costs_the_formula():
    result = search.successive_halving(toy, SPACE, n_configs=27, min_budget=1, max_budget=27,
                                       eta=3, seed=0)
    rungs = search.halving_schedule(27, min_budget=1, max_budget=27, eta=3)
    assert rungs == [(27, 1), (9, 3), (3, 9), (1, 27)]
    assert [len(step["config_ids"]) for step in result.steps] == [27, 9, 3, 1]
    assert [step["budget"] for step in result.steps] == [1, 3, 9, 27]
    for step, following in zip(result.steps, result.steps[1:], strict=False):
        values = np.asarray(step["values"])
        best = [step["config_ids"][j] for j in np.argsort(values, kind="stable")[:len(values) // 3]]
        assert step["promoted"] == best == following["config_ids"]
    assert result.cumulative_cost()[-1] == search.halving_cost(rungs) == 27 * 4
    assert len(result) == 27 + 9 + 3 + 1
    assert all(t.cost == t.info["budget"] for t in result.trials)
    # the survivor is the best of the first rung's configs under the toy objective
    first = result.steps[0]
    assert result.steps[-1]["config_ids"] == [first["config_ids"][int(np.argmin(first["values"]))]]


def test_hyperband_brackets_match_li_et_al_table_1():
    brackets = search.hyperband_brackets(min_budget=1, max_budget=81, eta=3)
    assert brackets == [
        [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
        [(34, 3), (11, 9), (3, 27), (1, 81)],
        [(15, 9), (5, 27), (1, 81)],
        [(8, 27), (2, 81)],
        [(5, 81)],
    ]
    assert search.hyperband_brackets(min_budget=1, max_budget=9, eta=3) == [
        [(9, 1), (3, 3), (1, 9)], [(5, 3), (1, 9)], [(3, 9)]]


def test_hyperband_runs_every_bracket_and_is_deterministic():
    a = search.hyperband(toy, SPACE, min_budget=1, max_budget=9, eta=3, seed=1)
    b = search.hyperband(toy, SPACE, min_budget=1, max_budget=9, eta=3, seed=1)
    c = search.hyperband(toy, SPACE, min_budget=1, max_budget=9, eta=3, seed=2)
    assert a.method == "hyperband" and [t.config for t in a.trials] == [t.config for t in b.trials]
    assert a.values().tolist() == b.values().tolist() != c.values().tolist()
    assert [t.info["bracket"] for t in a.trials] == [2] * 13 + [1] * 6 + [0] * 3
    expected = sum(search.halving_cost(r) for r in search.hyperband_brackets(
        min_budget=1, max_budget=9, eta=3))
    assert a.cumulative_cost()[-1] == expected == 27 + 24 + 27
    assert len({t.info["config_id"] for t in a.trials}) == 9 + 5 + 3


def test_nan_values_are_never_promoted():
    def nan_for_negative(config, budget):
        return np.nan if config["x"] < 0 else config["x"]

    result = search.successive_halving(nan_for_negative, {"x": Real(-1.0, 1.0)}, n_configs=9,
                                       min_budget=1, max_budget=9, seed=0)
    for step in result.steps[1:]:
        assert all(t.value >= 0 for t in result.trials if t.info["config_id"]
                   in step["config_ids"] and t.info["rung"] == step["rung"])


@pytest.mark.parametrize("kwargs, match", [
    (dict(min_budget=0, max_budget=9), "min_budget"),
    (dict(min_budget=10, max_budget=9), "max_budget"),
    (dict(min_budget=1, max_budget=9, eta=1), "eta"),
])
def test_bad_arguments_name_themselves(kwargs, match):
    with pytest.raises(ValueError, match=match):
        search.hyperband(toy, SPACE, seed=0, **kwargs)
    with pytest.raises(ValueError, match="n_configs"):
        search.successive_halving(toy, SPACE, n_configs=0, min_budget=1, max_budget=9, seed=0)
