"""nnopt_lib.search.bayes_opt: the loop, what it stores for an explorer, and that it beats
random search."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnopt_lib import search
from nnopt_lib.search import Categorical, Integer, Real

BOX = {"x": Real(-2.0, 2.0), "y": Real(-2.0, 2.0)}


def _bowl(config):
    return (config["x"] - 0.5) ** 2 + (config["y"] + 1.0) ** 2


def _branin(config):
    # The Branin function (Dixon & Szego 1978), a standard BO benchmark; minimum 0.397887.
    x, y = config["x"], config["y"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (y - b * x**2 + c * x - 6) ** 2 + 10 * (1 - t) * math.cos(x) + 10


BRANIN = {"x": Real(-5.0, 10.0), "y": Real(0.0, 15.0)}


def test_loop_records_trials_and_one_step_per_model_based_choice():
    result = search.bayes_opt(_bowl, BOX, budget=12, n_initial=4, seed=0)
    assert result.method == "bayes_opt" and len(result) == 12
    assert [t.info["phase"] for t in result.trials] == ["initial"] * 4 + ["bayes"] * 8
    assert len(result.steps) == 8
    # the initial trials are exactly random search's first draws with the same seed
    rand = search.random_search(_bowl, BOX, budget=4, seed=0)
    assert [t.config for t in result.trials[:4]] == [t.config for t in rand.trials]
    for i, step in enumerate(result.steps):
        assert isinstance(step, search.BayesOptStep) and step.iteration == i
        assert step.X.shape == (4 + i, 2) and step.y.shape == (4 + i,)
        assert np.array_equal(step.y, result.values()[: 4 + i])
        # the step's chosen cube point is the config evaluated next
        assert search.from_unit(BOX, step.chosen) == result.trials[4 + i].config
    assert np.array_equal(result.best_so_far(), np.minimum.accumulate(result.values()))


def test_steps_recompute_the_posterior_and_ei_in_the_objectives_units():
    result = search.bayes_opt(_bowl, BOX, budget=10, n_initial=4, seed=1, noise=1e-6)
    step = result.steps[-1]
    mean, std = step.posterior(step.X)
    assert mean == pytest.approx(step.y, abs=1e-3)  # nearly noise-free: it interpolates its data
    assert np.all(std < 1e-2)
    grid = np.stack(np.meshgrid(np.linspace(0, 1, 21), np.linspace(0, 1, 21)), -1).reshape(-1, 2)
    ei = step.acquisition(grid)
    assert ei.shape == (441,) and np.all(ei >= 0)
    # EI at the chosen point is the stored maximum, and the maximum over many candidates
    # beats (or ties) a coarse grid
    assert step.acquisition(step.chosen[None, :])[0] == pytest.approx(step.chosen_ei, rel=1e-9)
    assert step.chosen_ei >= ei.max() * 0.9
    assert (
        step.acquisition(step.X).max() <= 1e-3 * step.chosen_ei + 1e-12
    )  # nothing to gain where it looked


def test_deterministic_per_seed():
    a = search.bayes_opt(_bowl, BOX, budget=8, n_initial=3, seed=5)
    b = search.bayes_opt(_bowl, BOX, budget=8, n_initial=3, seed=5)
    c = search.bayes_opt(_bowl, BOX, budget=8, n_initial=3, seed=6)
    assert [t.config for t in a.trials] == [t.config for t in b.trials]
    assert [t.config for t in a.trials] != [t.config for t in c.trials]


@pytest.mark.parametrize("kernel", ["matern52", "rbf"])
def test_beats_random_search_at_equal_budget(kernel):
    # Branin in 20 trials over 5 seeds: BO's median best is far below random search's, and close
    # to the true minimum 0.398.
    bo = [
        search.bayes_opt(_branin, BRANIN, budget=20, n_initial=5, seed=s, kernel=kernel).best_value
        for s in range(5)
    ]
    rand = [search.random_search(_branin, BRANIN, budget=20, seed=s).best_value for s in range(5)]
    assert np.median(bo) < 0.5 * np.median(rand)
    assert np.median(bo) < 1.5
    assert sum(b < r for b, r in zip(bo, rand, strict=True)) >= 4


def test_mixed_space_and_diverged_trials():
    space = {
        "lr": Real(1e-4, 1.0, log=True),
        "width": Integer(8, 128, log=True),
        "opt": Categorical(["sgd", "adam"]),
    }

    def objective(config):
        if config["lr"] > 0.3:
            return float("nan")  # diverged
        penalty = 0.0 if config["opt"] == "adam" else 0.5
        return (
            (math.log10(config["lr"]) + 2) ** 2
            + (math.log2(config["width"]) - 5) ** 2 / 10
            + penalty
        )

    result = search.bayes_opt(objective, space, budget=18, n_initial=5, seed=2)
    assert len(result) == 18 and np.isfinite(result.best_value)
    assert isinstance(result.best_config["width"], int) and result.best_config["opt"] in (
        "sgd",
        "adam",
    )
    random = search.random_search(objective, space, budget=18, seed=2)
    assert result.best_value <= random.best_value
    assert all(np.all(np.isfinite(step.y)) for step in result.steps)  # NaN replaced for the GP


def test_argument_errors():
    with pytest.raises(ValueError, match="n_initial"):
        search.bayes_opt(_bowl, BOX, budget=5, n_initial=0, seed=0)
    with pytest.raises(ValueError, match="n_initial"):
        search.bayes_opt(_bowl, BOX, budget=5, n_initial=6, seed=0)
    with pytest.raises(ValueError, match="budget"):
        search.bayes_opt(_bowl, BOX, budget=0, n_initial=1, seed=0)
    with pytest.raises(ValueError, match="kernel must be one of"):
        search.bayes_opt(_bowl, BOX, budget=3, n_initial=2, seed=0, kernel="linear")
