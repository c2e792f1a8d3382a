"""MLPObjective: a config in, a validation loss out; deterministic, cheap, divergence-proof."""

import time

import numpy as np
import pytest

from nnopt_lib import data, nn, optim, search, training
from nnopt_lib.search.objectives import DEFAULTS


@pytest.fixture(scope="module")
def split():
    ds = data.load_mnist1d(n_samples=1000, seed=0)
    return dict(X_train=ds.X[:700], y_train=ds.y[:700], X_val=ds.X[700:], y_val=ds.y[700:])


def test_defaults_equal_a_hand_written_training(split):
    objective = search.MLPObjective(**split, epochs=3, seed=4)
    value = objective({})
    rng = np.random.default_rng(4)
    model = nn.mlp([40, 64, 64, 10], "relu", rng=rng)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    history = training.fit(model, nn.CrossEntropyLoss(), opt, split["X_train"],
                           split["y_train"], epochs=3, batch_size=64, X_val=split["X_val"],
                           y_val=split["y_val"], seed=4, progress=False)
    assert value == history.val_loss[-1]
    assert value < np.log(10)  # it learned something in 3 epochs
    assert objective.calls == 1 and objective.epochs_trained == 3


def test_deterministic_budget_and_cost(split):
    objective = search.MLPObjective(**split, epochs=4)
    config = {"lr": 3e-3, "width": 32, "depth": 1, "optimizer": "adamw", "dropout": 0.1,
              "batch_norm": True, "activation": "tanh", "weight_decay": 1e-3}
    assert objective(config) == objective(config)
    assert objective(config, 2) == objective(config, budget=2) != objective(config)
    assert objective.epochs_trained == 4 + 4 + 2 + 2 + 4 and objective.calls == 5
    objective(config)
    # a shorter budget is a prefix of the full run's validation curve
    full_curve = objective.last_history.val_loss
    assert objective(config, 3) == full_curve[2]
    assert 0.1 < objective.last_val_acc <= 1
    assert objective.last_val_acc == objective.last_history.val_acc[-1]
    other_seed = search.MLPObjective(**split, epochs=4, seed=1)
    assert other_seed(config) != objective(config)


def test_every_optimizer_and_the_report_hook(split):
    objective = search.MLPObjective(**split, epochs=3)
    for name in ("sgd", "adam", "adamw"):
        assert np.isfinite(objective({"optimizer": name, "lr": 1e-2}))
    seen = []
    value = objective({}, report=lambda epoch, loss: seen.append((epoch, loss)) or epoch == 2)
    assert [e for e, _ in seen] == [1, 2] and value == seen[-1][1]
    assert objective.epochs_trained == 3 * 3 + 2


def test_divergence_returns_the_finite_penalty(split):
    objective = search.MLPObjective(**split, epochs=3, diverged_value=7.5)
    value = objective({"optimizer": "sgd", "lr": 1e4, "momentum": 0.99})
    assert objective.last_history.diverged_at is not None and value == 7.5


def test_parameter_count(split):
    objective = search.MLPObjective(**split, epochs=1)
    assert objective.parameter_count({}) == 40 * 64 + 64 + 64 * 64 + 64 + 64 * 10 + 10
    assert objective.parameter_count({"depth": 0}) == 40 * 10 + 10
    assert objective.parameter_count({"width": 8, "depth": 1, "batch_norm": True}) == (
        40 * 8 + 8 + 2 * 8 + 8 * 10 + 10)


def test_cheap_enough_for_a_lesson(split):
    objective = search.MLPObjective(**split, epochs=10)
    objective({}, 1)  # warm up
    start = time.perf_counter()
    objective({"width": 64})
    assert time.perf_counter() - start < 1.0  # ~0.05 s here; generous for a busy CI machine


@pytest.mark.parametrize("config, match", [
    ({"learning_rate": 0.1}, "unknown config keys"),
    ({"optimizer": "lbfgs"}, "optimizer"),
    ({"width": 0}, "width"),
    ({"width": 2.5}, "width"),
    ({"lr": -1.0}, "lr"),
    ({"dropout": 1.5}, "dropout"),
    ({"activation": "swish"}, "activation"),
])
def test_bad_configs_name_the_key(split, config, match):
    with pytest.raises(ValueError, match=match):
        search.MLPObjective(**split, epochs=1)(config)


def test_bad_constructor_arguments(split):
    with pytest.raises(ValueError, match="epochs"):
        search.MLPObjective(**split, epochs=0)
    with pytest.raises(ValueError, match="y_val"):
        search.MLPObjective(**{**split, "y_val": split["y_val"][:-1]}, epochs=1)
    with pytest.raises(ValueError, match="budget"):
        search.MLPObjective(**split, epochs=1)({}, budget=0)
    assert set(DEFAULTS) >= {"lr", "weight_decay", "width", "depth", "optimizer", "activation",
                             "batch_norm", "dropout"}
