"""Exercises of notebook 03 (batch, stochastic and minibatch gradient descent).

* ``logistic_per_example_gradients(X, y, w)``: the (n, d) matrix whose row i is the gradient of
  example i's logistic loss, all at the same w.
* ``minibatch_gradient(X, y, w, idx)``: the gradient of the mean squared error over the examples
  ``idx`` only -- the mean of their per-example gradients at the same w.
* ``minibatch_variance(sigma2, batch_size, n, replacement)``: the expected squared distance
  between a minibatch gradient and the full gradient, σ²/B, times (n − B)/(n − 1) when the
  batch is drawn without replacement.
* ``steps_per_epoch(n, batch_size, drop_last)``: how many updates one pass over n examples
  makes, as ``torch.utils.data.DataLoader`` counts them.
"""

from __future__ import annotations

import math

import numpy as np

from nnopt_lib.exercises.core import Exercise, register

# --------------------------------------------------------------------------- references


def _logistic_per_example_gradients(X, y, w):
    # ℓ_i(w) = log(1 + exp(z_i)) − y_i z_i with z_i = x_iᵀw  =>  ∇ℓ_i = (σ(z_i) − y_i)·x_i.
    z = X @ w
    p = 0.5 * (1.0 + np.tanh(0.5 * z))  # σ(z) written so that it never overflows
    return (p - y)[:, None] * X


def _minibatch_gradient(X, y, w, idx):
    # L_B(w) = (1/|B|)·Σ_{i∈B} (x_iᵀw − y_i)²  =>  ∇L_B = (2/|B|)·X_Bᵀ(X_B w − y_B).
    Xb, yb = X[idx], y[idx]
    return 2.0 / len(idx) * Xb.T @ (Xb @ w - yb)


def _minibatch_variance(sigma2, batch_size, n, replacement):
    # With replacement the B draws are independent: Var = σ²/B. Without replacement they are
    # negatively correlated (a drawn example cannot come again), which removes the fraction
    # (B − 1)/(n − 1) of it: Var = σ²/B · (n − B)/(n − 1), zero when B = n.
    if replacement:
        return sigma2 / batch_size
    return sigma2 / batch_size * (n - batch_size) / (n - 1)


def _steps_per_epoch(n, batch_size, drop_last):
    # The last, smaller batch still makes an update unless it is dropped.
    return n // batch_size if drop_last else math.ceil(n / batch_size)


# --------------------------------------------------------------------------- cases


def _logistic_cases(rng):
    cases = []
    for n, d in [(1, 3), (5, 2), (8, 4), (20, 6)] * 3:
        X = rng.normal(size=(n, d))
        y = rng.integers(0, 2, size=n).astype(float)
        cases.append((X, y, rng.normal(scale=2.0, size=d)))
    # large logits, where σ saturates at 0 or 1
    X = rng.normal(scale=100.0, size=(6, 3))
    cases.append((X, rng.integers(0, 2, size=6).astype(float), rng.normal(size=3)))
    return cases


def _minibatch_cases(rng):
    cases = []
    for n, d, b in [(10, 3, 1), (10, 3, 4), (12, 2, 12), (30, 5, 7), (50, 4, 16)] * 3:
        X = rng.normal(size=(n, d))
        y = rng.normal(size=n)
        idx = rng.choice(n, size=b, replace=False)
        cases.append((X, y, rng.normal(size=d), idx))
    # an index array with repeats (sampling with replacement): each draw counts
    X, y = rng.normal(size=(6, 2)), rng.normal(size=6)
    cases.append((X, y, rng.normal(size=2), np.array([0, 0, 3, 5, 5, 5])))
    return cases


def _variance_cases(rng):
    cases = []
    for _ in range(16):
        n = int(rng.integers(2, 1000))
        b = int(rng.integers(1, n + 1))
        cases.append((float(rng.uniform(0.1, 10.0)), b, n, bool(rng.integers(0, 2))))
    cases += [(2.0, 50, 50, False), (2.0, 50, 50, True), (3.0, 1, 100, False)]
    return cases


def _steps_cases(rng):
    cases = [(569, 32, False), (569, 32, True), (64, 32, False), (64, 32, True),
             (10, 20, False), (10, 20, True), (1, 1, False)]
    for _ in range(12):
        cases.append((int(rng.integers(1, 2000)), int(rng.integers(1, 300)),
                      bool(rng.integers(0, 2))))
    return cases


# --------------------------------------------------------------------------- registration

register(Exercise(
    name="logistic_per_example_gradients",
    reference=_logistic_per_example_gradients,
    cases=_logistic_cases,
    hint="Row i is (σ(x_iᵀw) − y_i)·x_i, with σ(z) = 1/(1 + e^(−z)); compute all rows at once "
         "with broadcasting, (p − y)[:, None] * X. (np.exp(−z) warns about overflow for very "
         "negative z; 0.5·(1 + tanh(z/2)) is the same σ and never does.)",
))

register(Exercise(
    name="minibatch_gradient",
    reference=_minibatch_gradient,
    cases=_minibatch_cases,
    hint="Select the rows first (X[idx], y[idx]), then take the gradient of the MEAN squared "
         "error over those rows only: (2/|B|)·X_Bᵀ(X_B w − y_B). Divide by the batch size, "
         "not by n.",
))

register(Exercise(
    name="minibatch_variance",
    reference=_minibatch_variance,
    cases=_variance_cases,
    hint="Independent draws: σ²/B. Without replacement multiply by the finite-population "
         "correction (n − B)/(n − 1), which is 0 for B = n (the batch is then the whole set).",
))

register(Exercise(
    name="steps_per_epoch",
    reference=_steps_per_epoch,
    cases=_steps_cases,
    hint="n // B full batches; the leftover n mod B examples form one more, smaller batch "
         "unless drop_last is True (math.ceil(n / B) without dropping).",
))
