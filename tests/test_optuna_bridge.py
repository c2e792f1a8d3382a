"""optuna_study: the same objective and space through Optuna's TPE sampler, with pruning."""

import numpy as np
import pytest

from nnopt_lib import data, search
from nnopt_lib.search import Categorical, Integer, Real

optuna = pytest.importorskip("optuna")

SPACE = {"x": Real(1e-3, 1.0, log=True), "k": Integer(1, 8), "c": Categorical(["a", "b"])}


def toy(config):
    return (np.log10(config["x"]) + 1) ** 2 + abs(config["k"] - 5) + (config["c"] != "b")


def test_tpe_study_is_seeded_and_mirrors_the_study():
    study, result = search.optuna_study(toy, SPACE, budget=40, seed=0)
    again = search.optuna_study(toy, SPACE, budget=40, seed=0)[1]
    assert [t.config for t in result.trials] == [t.config for t in again.trials]
    assert len(study.trials) == len(result) == 40 and result.method == "optuna_tpe"
    assert result.best_value == study.best_value and result.best_config == study.best_params
    assert all(SPACE["x"].low <= t.config["x"] <= SPACE["x"].high for t in result.trials)
    assert result.costs().tolist() == [1.0] * 40
    # after its 10 random start-up trials TPE finds better configs than they did
    assert result.best_value < result.values()[:10].min()


def test_a_pruner_prunes_an_mlp_objective():
    ds = data.load_mnist1d(n_samples=600, seed=0)
    objective = search.MLPObjective(X_train=ds.X[:400], y_train=ds.y[:400], X_val=ds.X[400:],
                                    y_val=ds.y[400:], epochs=6)
    space = {"lr": Real(1e-4, 1e-1, log=True), "width": Integer(8, 64, log=True)}
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    study, result = search.optuna_study(objective, space, budget=12, seed=0, pruner=pruner)
    pruned = [t for t in result.trials if t.info["pruned"]]
    states = [t.state for t in study.trials]
    assert pruned and states.count(optuna.trial.TrialState.PRUNED) == len(pruned)
    assert all(t.cost < 6 for t in pruned)
    assert all(t.cost == 6 for t in result.trials if not t.info["pruned"])
    assert result.cumulative_cost()[-1] == objective.epochs_trained < 12 * 6


def test_pruner_needs_a_report_hook_and_storage_works(tmp_path):
    with pytest.raises(TypeError, match="report"):
        search.optuna_study(toy, SPACE, budget=1, seed=0, pruner=optuna.pruners.MedianPruner())
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    search.optuna_study(toy, SPACE, budget=3, seed=0, storage=storage, study_name="s")
    study, result = search.optuna_study(toy, SPACE, budget=2, seed=1, storage=storage,
                                        study_name="s")
    assert len(study.trials) == 5 and len(result) == 2  # a second worker joined the same study
