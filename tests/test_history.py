"""nnopt_lib.history.History: one record for surface runs and training runs."""

import math

import numpy as np

from nnopt_lib import trajectory
from nnopt_lib.history import History


def _surface_run(losses, diverged_at=None):
    losses = np.asarray(losses, dtype=float)
    k = len(losses) - 1
    return History(
        loss=losses, lr=np.full(k, 0.1), grad_norm=np.ones(k), diverged_at=diverged_at,
        points=np.zeros((k + 1, 2)),
    )  # fmt: skip


def _fit_run(epoch_metrics, steps=6, diverged_at=None):
    return History(
        loss=np.linspace(1.0, 0.5, steps), lr=np.full(steps, 0.1), grad_norm=np.ones(steps),
        diverged_at=diverged_at, epoch_metrics=epoch_metrics, batches_per_epoch=3,
    )  # fmt: skip


def test_surface_run_status_and_summary():
    run = _surface_run([2.5, 1.0, 1.2e-8])
    assert run.steps == 2 and not run.diverged
    assert run.final_loss == 1.2e-8
    assert run.status() == "reached f=1.2e-08 in 2 steps"
    assert _surface_run([2.5, 3.1e10]).status() == "f grew from 2.5 to 3.1e+10 in 1 steps"
    assert _surface_run([2.5]).status() == "reached f=2.5 in 0 steps"
    diverged = _surface_run([2.5, 7.0, math.inf], diverged_at=2)
    assert diverged.diverged and diverged.status() == "diverged at step 2"
    assert run.epoch_metrics == {} and run.train_loss is None and run.val_acc is None


def test_fit_run_status_and_epoch_metrics():
    metrics = {"train_loss": np.array([0.9, 0.61234]), "val_loss": np.array([1.0, 0.7])}
    hist = _fit_run(metrics)
    assert hist.steps == 6 and hist.points is None
    assert hist.status() == "2 epochs (6 steps): train loss 0.6123, val loss 0.7"
    np.testing.assert_array_equal(hist.val_loss, [1.0, 0.7])
    assert hist.train_acc is None and hist.val_acc is None
    metrics["val_acc"] = np.array([0.5, 0.9512])
    assert _fit_run(metrics).status().endswith(", val acc 0.951")
    assert _fit_run({"train_loss": np.empty(0)}, steps=0).status() == "0 epochs (0 steps)"
    assert _fit_run({}, steps=0).status() == "0 epochs (0 steps)"
    assert _fit_run({}, steps=0).final_loss != _fit_run({}, steps=0).final_loss  # NaN
    assert _fit_run(metrics, diverged_at=4).status() == "diverged at step 4"


def test_trajectory_is_a_deprecated_alias_of_history():
    assert trajectory.Trajectory is History
