r"""Exercises of notebook 15 (early stopping).

* ``stopping_epochs(values, patience, min_delta, mode)``: replay the early-stopping rule of
  Keras, Lightning and :class:`nnopt_lib.training.EarlyStopping` over a recorded sequence of
  epoch metrics. An epoch *improves* when its value beats the best so far by MORE than
  ``min_delta`` (``value < best - min_delta`` for ``mode="min"``, ``value > best + min_delta``
  for ``mode="max"``; the first finite value always does, NaN never does). Training stops
  after ``patience`` epochs in a row without improvement (``patience = 0``: at the first one).
  Returns ``(best_epoch, stopped_epoch)``: the 0-based epoch of the last improvement (the
  weights that are restored; ``None`` if no epoch improved) and the epoch after which
  training stopped (``None`` if it ran through the whole sequence). The cases contain exact
  ties, which do not improve, and a NaN (a diverged epoch).
* ``gd_least_squares(X, y, lr, steps)``: ``steps`` full-batch gradient-descent steps on
  :math:`L(w) = \frac{1}{2n}\lVert Xw - y\rVert^2` from :math:`w_0 = 0`, i.e.
  :math:`w \leftarrow w - \eta X^\top (Xw - y)/n`; returns :math:`w_t`.
* ``ridge_least_squares(X, y, lam)``: the minimiser of
  :math:`\frac{1}{2n}\lVert Xw - y\rVert^2 + \frac{\lambda}{2}\lVert w\rVert^2`, i.e.
  :math:`w_\lambda = (X^\top X/n + \lambda I)^{-1} X^\top y / n`.
* ``shrinkage_factors(h, lr, steps)``: for the eigenvalues ``h`` of the Hessian
  :math:`H = X^\top X / n`, the factors by which gradient descent and ridge shrink the
  least-squares solution along each eigenvector: ``(1 - (1 - lr h)^steps, h / (h + lam))``
  with ``lam = 1 / (lr * steps)`` -- the pair that makes early stopping look like L2.

L. Prechelt, "Early Stopping -- But When?", in Neural Networks: Tricks of the Trade, 1998;
C. M. Bishop, "Regularization and complexity control in feed-forward networks", ICANN 1995.
"""

from __future__ import annotations

import math

import numpy as np

from nnopt_lib.exercises.core import Exercise, register

# --------------------------------------------------------------------------- references


def _stopping_epochs(values, patience, min_delta, mode):
    best = math.inf if mode == "min" else -math.inf
    best_epoch, wait = None, 0
    for epoch, value in enumerate(values):
        # strict comparisons: a tie is no improvement, and NaN compares False (never improves)
        if mode == "min":
            improves = value < best - min_delta
        else:
            improves = value > best + min_delta
        if improves:
            best, best_epoch, wait = value, epoch, 0
            continue
        wait += 1
        if wait >= patience:
            return best_epoch, epoch
    return best_epoch, None


def _gd_least_squares(X, y, lr, steps):
    n = len(y)
    w = np.zeros(X.shape[1])
    for _ in range(steps):
        w = w - lr * X.T @ (X @ w - y) / n
    return w


def _ridge_least_squares(X, y, lam):
    n, d = X.shape
    # solve, not inv: cheaper and more accurate
    return np.linalg.solve(X.T @ X / n + lam * np.eye(d), X.T @ y / n)


def _shrinkage_factors(h, lr, steps):
    lam = 1.0 / (lr * steps)
    return 1.0 - (1.0 - lr * h) ** steps, h / (h + lam)


# --------------------------------------------------------------------------- cases


def _curve(rng, length):
    """A noisy validation-loss-like curve: falls, then rises (a U), plus noise."""
    epochs = np.arange(length)
    bottom = rng.uniform(0.2, 0.7) * length
    curve = 1.0 + 0.8 * np.exp(-epochs / rng.uniform(1.0, 4.0)) + 0.002 * (epochs - bottom) ** 2
    return curve + rng.normal(scale=rng.uniform(0.0, 0.05), size=length)


def _stopping_cases(rng):
    cases = []
    for _ in range(24):
        length = int(rng.integers(3, 40))
        values = np.round(_curve(rng, length), 3)  # rounding makes exact ties happen
        # min_delta off the 0.001 grid of the values: `value < best - min_delta` and
        # `best - value > min_delta` then agree despite rounding
        mode = "min"
        if rng.random() < 0.3:  # an accuracy-like metric, watched with mode="max"
            values, mode = 2.0 - values, "max"
        patience = int(rng.integers(0, 8))
        min_delta = float(rng.choice([0.0, 0.0, 0.0045, 0.0175, 0.0955]))
        cases.append((values, patience, min_delta, mode))
    cases += [
        (np.array([3.0, 2.0, 2.0, 2.0, 1.0]), 2, 0.0, "min"),  # ties do not improve
        (np.array([3.0, 2.0, 1.96, 1.92, 1.88, 1.84]), 2, 0.1, "min"),  # slow drift: stops
        (np.array([1.0, 0.9, 0.8, 0.7]), 0, 0.0, "min"),  # improves to the end: (3, None)
        (np.array([2.0, 1.5, np.nan, 1.4, 1.3]), 1, 0.0, "min"),  # a NaN epoch
        (np.array([0.3, 0.5, 0.5, 0.4, 0.6]), 1, 0.0, "max"),
    ]
    return cases


def _least_squares_problem(rng):
    n, d = int(rng.integers(5, 30)), int(rng.integers(1, 8))
    X = rng.normal(size=(n, d)) * rng.uniform(0.3, 3.0, size=d)  # unequal feature scales
    y = X @ rng.normal(size=d) + rng.normal(scale=0.5, size=n)
    return X, y


def _gd_cases(rng):
    cases = []
    for steps in [0, 1, 2, 5, 10, 30, 100] * 3:
        X, y = _least_squares_problem(rng)
        h_max = float(np.linalg.eigvalsh(X.T @ X / len(y)).max())
        cases.append((X, y, float(rng.uniform(0.2, 1.5)) / h_max, steps))
    return cases


def _ridge_cases(rng):
    cases = []
    for lam in [0.0, 1e-3, 0.1, 1.0, 10.0, 1e3] * 3:
        X, y = _least_squares_problem(rng)
        if lam == 0.0 and X.shape[1] > X.shape[0]:  # keep the problem solvable
            lam = 1e-2
        cases.append((X, y, lam))
    return cases


def _shrinkage_cases(rng):
    cases = []
    for steps in [1, 2, 10, 100, 1000] * 3:
        lr = float(10 ** rng.uniform(-2, 0))
        h = np.sort(10 ** rng.uniform(-4, 0, size=int(rng.integers(3, 12)))) / lr  # lr h <= 1
        cases.append((h, lr, steps))
    return cases


# --------------------------------------------------------------------------- registration

register(Exercise(
    name="stopping_epochs",
    reference=_stopping_epochs,
    cases=_stopping_cases,
    hint="Keep best (start at +inf for 'min', -inf for 'max'), best_epoch = None and wait = 0. "
         "For each epoch: if it improves (value < best - min_delta, or value > best + "
         "min_delta for 'max'), update best and best_epoch and set wait = 0; otherwise "
         "wait += 1 and stop (return best_epoch, epoch) once wait >= patience. If the loop "
         "ends, return (best_epoch, None).",
))

register(Exercise(
    name="gd_least_squares",
    reference=_gd_least_squares,
    cases=_gd_cases,
    rtol=1e-9,
    hint="Start from w = np.zeros(d). The gradient of (1/2n)·||Xw − y||² is Xᵀ(Xw − y)/n; "
         "take `steps` steps w ← w − lr · gradient (zero steps: return the zeros).",
))

register(Exercise(
    name="ridge_least_squares",
    reference=_ridge_least_squares,
    cases=_ridge_cases,
    rtol=1e-8,
    hint="Set the gradient (1/n)·Xᵀ(Xw − y) + λw to zero: (XᵀX/n + λI) w = Xᵀy/n. Solve it "
         "with np.linalg.solve (mind the 1/n on both sides).",
))

register(Exercise(
    name="shrinkage_factors",
    reference=_shrinkage_factors,
    cases=_shrinkage_cases,
    rtol=1e-9,
    hint="Return a tuple of two arrays: gradient descent keeps the fraction 1 − (1 − lr·h)^steps "
         "of the least-squares solution along an eigenvector with eigenvalue h; ridge keeps "
         "h / (h + λ). Use λ = 1 / (lr · steps).",
))
