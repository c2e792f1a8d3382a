"""nnopt_lib.search: spaces, the unit cube, SearchResult, random and grid search."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnopt_lib import search
from nnopt_lib.search import Categorical, Integer, Real

SPACE = {
    "lr": Real(1e-4, 1e-1, log=True),
    "momentum": Real(0.0, 0.99),
    "width": Integer(16, 256, log=True),
    "depth": Integer(1, 4),
    "optimizer": Categorical(["sgd", "adam", "adamw"]),
}


# ------------------------------------------------------------------------------ dimensions


def test_real_maps_linearly_or_in_log_space():
    r = Real(2.0, 6.0)
    assert r.from_unit(0.0) == 2.0 and r.from_unit(1.0) == 6.0 and r.from_unit(0.25) == 3.0
    assert r.to_unit(5.0) == 0.75
    lr = Real(1e-4, 1e-1, log=True)
    # the ends are exact (not exp(log(1e-4)), which is off by an ulp) and the middle is geometric
    assert lr.from_unit(0.0) == 1e-4 and lr.from_unit(1.0) == 1e-1
    assert lr.from_unit(0.5) == pytest.approx(math.sqrt(1e-4 * 1e-1))
    assert lr.from_unit(1 / 3) == pytest.approx(1e-3)
    assert lr.to_unit(1e-2) == pytest.approx(2 / 3)


def test_log_sampling_is_log_uniform():
    rng = np.random.default_rng(0)
    lrs = np.array(
        [search.sample({"lr": Real(1e-4, 1e-1, log=True)}, rng)["lr"] for _ in range(6000)]
    )
    decade_counts = np.histogram(np.log10(lrs), bins=[-4, -3, -2, -1])[0]
    assert np.all(np.abs(decade_counts / 6000 - 1 / 3) < 0.03)  # each decade a third of the samples
    assert lrs.min() >= 1e-4 and lrs.max() <= 1e-1


def test_integer_values_each_own_an_equal_slice():
    depth = Integer(1, 4)
    rng = np.random.default_rng(1)
    values = [search.sample({"d": depth}, rng)["d"] for _ in range(8000)]
    counts = np.bincount(values, minlength=5)[1:]
    assert np.all(np.abs(counts / 8000 - 0.25) < 0.02)
    for v in range(1, 5):
        assert depth.from_unit(depth.to_unit(v)) == v
        assert isinstance(depth.from_unit(depth.to_unit(v)), int)
    assert depth.from_unit(0.0) == 1 and depth.from_unit(1.0) == 4
    width = Integer(16, 256, log=True)
    assert width.from_unit(0.0) == 16 and width.from_unit(1.0) == 256
    assert width.from_unit(0.5) == pytest.approx(64, abs=1)


def test_categorical_uses_one_index_coordinate():
    opt = Categorical(["sgd", "adam", "adamw"])
    assert [opt.to_unit(c) for c in opt.choices] == pytest.approx([1 / 6, 1 / 2, 5 / 6])
    assert [opt.from_unit(u) for u in (0.0, 0.33, 0.34, 0.99, 1.0)] == [
        "sgd",
        "sgd",
        "adam",
        "adamw",
        "adamw",
    ]
    with pytest.raises(ValueError, match="not one of the choices"):
        opt.to_unit("rmsprop")


def test_to_unit_and_from_unit_round_trip():
    rng = np.random.default_rng(2)
    for _ in range(50):
        config = search.sample(SPACE, rng)
        u = search.to_unit(SPACE, config)
        assert u.shape == (5,) and np.all((u >= 0) & (u <= 1))
        back = search.from_unit(SPACE, u)
        assert back.keys() == config.keys()
        for name in config:
            assert (
                back[name] == pytest.approx(config[name])
                if name in ("lr", "momentum")
                else back[name] == config[name]
            )
    # points outside the cube are clipped onto it
    assert search.from_unit({"m": Real(0.0, 1.0)}, [1.5]) == {"m": 1.0}


def test_sample_is_reproducible_per_seed():
    a = [search.sample(SPACE, np.random.default_rng(7)) for _ in range(2)]
    assert a[0] == a[1]
    assert search.sample(SPACE, np.random.default_rng(8)) != a[0]


def test_grid_is_the_product_of_the_axes():
    configs = search.grid(SPACE, points=3)
    # lr, momentum: 3 each; width 16, 64, 256; depth 1, 2(.5 rounds to 2), 4; optimizer: 3 choices
    assert len(configs) == 3 * 3 * 3 * 3 * 3
    assert sorted({c["lr"] for c in configs}) == pytest.approx([1e-4, math.sqrt(1e-5), 1e-1])
    assert sorted({c["width"] for c in configs}) == [16, 64, 256]
    assert sorted({c["optimizer"] for c in configs}) == ["adam", "adamw", "sgd"]
    assert len({tuple(c.values()) for c in configs}) == len(configs)
    # a dict gives per-dimension counts (missing numeric dimensions get one, middle value)
    few = search.grid(SPACE, points={"lr": 4, "momentum": 2})
    assert len(few) == 4 * 2 * 1 * 1 * 3
    assert {c["depth"] for c in few} == {Integer(1, 4).from_unit(0.5)}
    # rounding can merge integer grid values
    assert search.grid({"d": Integer(1, 3)}, points=10) == [{"d": 1}, {"d": 2}, {"d": 3}]


def test_clear_errors_name_the_bad_argument():
    with pytest.raises(ValueError, match="low must be below high"):
        Real(1.0, 1.0)
    with pytest.raises(ValueError, match="log=True needs low > 0"):
        Real(0.0, 1.0, log=True)
    with pytest.raises(ValueError, match="whole numbers"):
        Integer(1.5, 4)
    with pytest.raises(ValueError, match="must not be empty"):
        Categorical([])
    with pytest.raises(TypeError, match="list or tuple"):
        Categorical("abc")
    with pytest.raises(TypeError, match=r"space\['x'\] must be Real"):
        search.sample({"x": (0, 1)}, np.random.default_rng(0))
    with pytest.raises(TypeError, match="numpy Generator"):
        search.sample(SPACE, 0)
    with pytest.raises(KeyError, match="lacks"):
        search.to_unit(SPACE, {"lr": 0.01})
    with pytest.raises(ValueError, match="coordinates"):
        search.from_unit(SPACE, [0.5, 0.5])
    with pytest.raises(ValueError, match="points for 'lr'"):
        search.grid(SPACE, points=0)


# ------------------------------------------------------------------------------ results


def test_search_result_summaries():
    result = search.SearchResult("demo")
    with pytest.raises(ValueError, match="no trials"):
        result.best_so_far()
    for value, cost in [(3.0, 1.0), (float("nan"), 2.0), (1.0, 3.0), (2.0, 1.0), (1.0, 1.0)]:
        result.add({"x": value}, value, cost)
    assert np.array_equal(result.best_so_far(), [3.0, 3.0, 1.0, 1.0, 1.0])  # NaN never lowers it
    assert np.array_equal(result.cumulative_cost(), [1.0, 3.0, 6.0, 7.0, 8.0])
    assert result.best_value == 1.0 and result.best_index() == 2  # first of the ties
    assert result.best_config == {"x": 1.0}
    assert isinstance(result.trials[0], search.Trial) and len(result) == 5
    assert "best_value=1" in repr(result)


# ------------------------------------------------------------------------ random and grid search


def _valley(config):
    # only lr matters (the situation of Bergstra & Bengio 2012); optimum at lr = 10**-2.5
    return (math.log10(config["lr"]) + 2.5) ** 2 + 1e-3 * config["momentum"]


def test_random_search_is_seeded_and_counts_trials():
    space = {"lr": SPACE["lr"], "momentum": SPACE["momentum"]}
    a = search.random_search(_valley, space, budget=16, seed=3)
    b = search.random_search(_valley, space, budget=16, seed=3)
    assert a.method == "random" and len(a) == 16
    assert [t.config for t in a.trials] == [t.config for t in b.trials]
    assert np.array_equal(a.cumulative_cost(), np.arange(1, 17))
    with pytest.raises(ValueError, match="budget"):
        search.random_search(_valley, space, budget=0, seed=0)


def test_grid_search_tries_every_grid_point_and_random_wins_when_one_dimension_matters():
    space = {"lr": SPACE["lr"], "momentum": SPACE["momentum"]}
    g = search.grid_search(_valley, space, points=4)
    assert g.method == "grid" and len(g) == 16
    assert [t.config for t in g.trials] == search.grid(space, points=4)
    # 16 grid trials try only 4 learning rates; 16 random trials try 16. Over seeds random is
    # better almost always, and better on the median.
    random_best = [
        search.random_search(_valley, space, budget=16, seed=s).best_value for s in range(20)
    ]
    assert np.median(random_best) < g.best_value
    assert np.mean(np.array(random_best) < g.best_value) >= 0.8
