"""The same objective and space through Optuna (Akiba et al., "Optuna: A Next-generation
Hyperparameter Optimization Framework", KDD 2019), to check the from-scratch searches against a
real tool.

:func:`optuna_study` translates a space of :mod:`nnopt_lib.search.space` dimensions into
``trial.suggest_*`` calls, runs Optuna's TPE sampler (seeded) in this process with in-memory
storage, and returns the study together with a :class:`SearchResult` of the same trials.

Parallel workers: pass ``storage="sqlite:///study.db"`` and a ``study_name``; every process that
runs the same call with that storage loads the same study (``load_if_exists=True``) and adds
its trials to it -- Optuna coordinates them through the database. Each process's
``SearchResult`` holds only its own trials; ``study.trials`` holds all of them. (With several
workers the order of trials, hence the result, is no longer reproducible from the seed.)

Optuna is imported inside the function, so the rest of the library works without it.
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable, Mapping
from typing import Any

from nnopt_lib.search.result import SearchResult
from nnopt_lib.search.space import Categorical, Integer, Real

__all__ = ["optuna_study", "suggest"]


def suggest(trial: Any, space: Mapping[str, Any]) -> dict[str, Any]:
    """The config an Optuna ``trial`` proposes for ``space``: ``Real`` -> ``suggest_float``,
    ``Integer`` -> ``suggest_int`` (both with ``log=``), ``Categorical`` ->
    ``suggest_categorical`` (choices must be None, bool, int, float or str for Optuna)."""
    config = {}
    for name, dim in space.items():
        if isinstance(dim, Real):
            config[name] = trial.suggest_float(name, dim.low, dim.high, log=dim.log)
        elif isinstance(dim, Integer):
            config[name] = trial.suggest_int(name, dim.low, dim.high, log=dim.log)
        elif isinstance(dim, Categorical):
            config[name] = trial.suggest_categorical(name, list(dim.choices))
        else:
            raise TypeError(f"space[{name!r}] must be Real, Integer or Categorical, got {dim!r}")
    return config


def _accepts_report(objective: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(objective).parameters
    except (TypeError, ValueError):
        return False
    return "report" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def optuna_study(objective: Callable[..., float], space: Mapping[str, Any], *, budget: int,
                 seed: int, pruner: Any = None, storage: str | None = None,
                 study_name: str | None = None) -> tuple[Any, SearchResult]:
    """Minimise ``objective(config)`` over ``space`` with Optuna's TPE sampler.

    Args:
        budget: the number of trials this call runs.
        seed: seeds ``optuna.samplers.TPESampler(seed=seed)``; in-process runs are repeatable.
        pruner: an Optuna pruner (``optuna.pruners.MedianPruner()``, ...), or ``None``.
        storage, study_name: see the module docstring (parallel workers); ``None`` keeps the
            study in memory.

    Intermediate values: an objective that takes a ``report`` keyword (as
    :class:`~nnopt_lib.search.MLPObjective` does) is called as
    ``objective(config, report=report)`` and calls ``report(epoch, val_loss)`` after each
    epoch; that goes to ``trial.report``, and ``report`` returns ``True`` when the pruner
    says to stop. A stopped trial is marked PRUNED in the study (its value is the last one
    reported). With a pruner the objective must take ``report`` (TypeError otherwise).

    The :class:`SearchResult` (``method="optuna_tpe"``) lists the trials in order; a trial's
    cost is the number of epochs it reported (1.0 for an objective without ``report``), and
    its ``info`` holds ``pruned`` and ``number`` (Optuna's trial number). The study is
    returned as well, for Optuna's own analysis and plots.

    A NaN value is recorded as it is here, and Optuna marks that trial FAIL (with a warning)
    and leaves it out of TPE's model; :class:`~nnopt_lib.search.MLPObjective` never returns
    NaN (a diverged run gives its finite ``diverged_value``).
    """
    import optuna  # lazily: an optional dependency of the library

    if isinstance(budget, bool) or not isinstance(budget, numbers.Integral) or budget < 1:
        raise ValueError(f"budget must be an integer >= 1 (the number of trials), got {budget!r}")
    reports = _accepts_report(objective)
    if pruner is not None and not reports:
        raise TypeError("optuna_study: a pruner needs intermediate values, so the objective must "
                        "accept a report= keyword (report(epoch, value) -> stop?)")
    result = SearchResult("optuna_tpe")

    def run(trial: Any) -> float:
        config = suggest(trial, space)
        if not reports:
            value = float(objective(config))
            result.add(config, value, cost=1.0, pruned=False, number=trial.number)
            return value
        epochs: list[int] = []
        state = {"pruned": False}

        def report(epoch: int, value: float) -> bool:
            epochs.append(epoch)
            trial.report(float(value), int(epoch))
            state["pruned"] = bool(trial.should_prune())
            return state["pruned"]

        value = float(objective(config, report=report))
        cost = float(len(epochs)) if epochs else 1.0
        result.add(config, value, cost=cost, pruned=state["pruned"], number=trial.number)
        if state["pruned"]:
            raise optuna.TrialPruned()
        return value

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one INFO line per trial is noise
    try:
        study = optuna.create_study(
            direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=pruner if pruner is not None else optuna.pruners.NopPruner(),
            storage=storage, study_name=study_name, load_if_exists=storage is not None)
        study.optimize(run, n_trials=budget)
    finally:
        optuna.logging.set_verbosity(verbosity)
    return study, result
