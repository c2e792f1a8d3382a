"""Exercises of notebook 11 (activation functions).

* ``dead_unit_fraction(z)``: ``z`` holds the pre-activations of one ReLU layer, shape
  ``(N, H)`` (one row per example, one column per unit). A unit is *dead* on these examples
  when ``z <= 0`` in every row: its ReLU output is 0 and its derivative is 0 (torch's ReLU
  has derivative 0 at exactly 0) for all of them, so no gradient reaches its weights. Return
  the fraction of dead units, a float in ``[0, 1]``. One case has a column of exact zeros
  (dead) and one a column that is positive in a single row (alive).
* ``mish(x)``: Mish (Misra 2019), ``x * tanh(softplus(x))`` with
  ``softplus(x) = log(1 + exp(x))``, elementwise. The cases reach ``|x| = 40``.
* ``mish_grad(x)``: its derivative, from the product and chain rules,
  ``tanh(s) + x * (1 - tanh(s)^2) * sigmoid(x)`` with ``s = softplus(x)``
  (``softplus' = sigmoid``).
* ``hardswish_grad(x)``: the derivative of hard-swish (Howard et al. 2019, MobileNetV3),
  ``x * relu6(x + 3) / 6``: 0 for ``x < -3``, ``(2x + 3) / 6`` for ``-3 < x < 3``, 1 for
  ``x > 3``. The cases avoid the two kinks (where torch takes the middle formula).
* ``dead_after_sgd_step(X, W, b, grad_W, grad_b, lr)``: one SGD step on a ReLU layer
  ``relu(X @ W.T + b)`` (``W`` of shape ``(H, D)``, ``b`` of shape ``(H,)``, torch's layout),
  ``W - lr * grad_W`` and ``b - lr * grad_b``; return the fraction of the ``H`` units that are
  dead on ``X`` after the step (pre-activation ``<= 0`` for every row). The same gradient
  kills more units the larger ``lr`` is: the cases have small and large learning rates.

Papers: D. Misra, "Mish: a self regularized non-monotonic activation function", BMVC 2020;
A. Howard et al., "Searching for MobileNetV3", ICCV 2019.
"""

from __future__ import annotations

import numpy as np

from nnopt_lib.exercises.core import Exercise, register

# --------------------------------------------------------------------------- references


def _sigmoid(x):
    # (1 + tanh(x/2)) / 2 is the sigmoid without exp overflow for very negative x
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _dead_unit_fraction(z):
    # a unit is dead when no row makes it positive
    return float(np.mean(np.all(np.asarray(z) <= 0, axis=0)))


def _mish(x):
    # logaddexp(0, x) = log(1 + e^x) without overflow for large x
    return x * np.tanh(np.logaddexp(0.0, x))


def _mish_grad(x):
    t = np.tanh(np.logaddexp(0.0, x))
    return t + x * (1.0 - t * t) * _sigmoid(x)


def _hardswish_grad(x):
    return np.where(x < -3.0, 0.0, np.where(x > 3.0, 1.0, (2.0 * x + 3.0) / 6.0))


def _dead_after_sgd_step(X, W, b, grad_W, grad_b, lr):
    z = X @ (W - lr * grad_W).T + (b - lr * grad_b)
    return _dead_unit_fraction(z)


# --------------------------------------------------------------------------- cases


def _dead_cases(rng):
    cases = []
    for n, h in [(5, 4), (20, 8), (50, 16), (3, 10), (100, 32)] * 3:
        z = rng.normal(size=(n, h))
        # push a random subset of units below zero for every row: those are dead
        dead = rng.random(h) < rng.uniform(0.1, 0.7)
        z[:, dead] = -np.abs(z[:, dead]) - 0.1
        cases.append((z,))
    z = -np.abs(rng.normal(size=(6, 4)))
    z[:, 1] = 0.0  # exact zeros: ReLU output 0, derivative 0 -> dead
    z[3, 2] = 0.5  # positive in one row only -> alive
    cases.append((z,))
    return cases


def _activation_cases(rng):
    cases = [(np.linspace(-8.0, 8.0, 33),), (np.array([-40.0, -20.0, 0.0, 20.0, 40.0]),)]
    for shape in [(5,), (3, 4), (10,), (2, 2, 3)] * 3:
        cases.append((rng.normal(scale=float(rng.uniform(0.5, 6.0)), size=shape),))
    return cases


def _hardswish_cases(rng):
    cases = [(np.array([-5.0, -2.5, -1.5, 0.0, 1.5, 2.5, 5.0]),)]
    for shape in [(6,), (3, 4), (12,)] * 4:
        x = rng.uniform(-6.0, 6.0, size=shape)
        x[np.abs(np.abs(x) - 3.0) < 1e-3] = 1.0  # stay away from the kinks at ±3
        cases.append((x,))
    return cases


def _step_cases(rng):
    cases = []
    for n, d, h in [(20, 3, 8), (50, 5, 16), (10, 2, 4), (100, 8, 32)] * 4:
        X = rng.normal(size=(n, d))
        W = rng.normal(scale=1 / np.sqrt(d), size=(h, d))
        b = rng.normal(scale=0.1, size=h)
        # a gradient that pushes the biases up (so a step DOWN the gradient lowers them)
        grad_W = rng.normal(scale=0.5, size=(h, d))
        grad_b = np.abs(rng.normal(size=h)) + 0.5
        cases.append((X, W, b, grad_W, grad_b, float(rng.choice([0.01, 0.1, 1.0, 5.0]))))
    return cases


# --------------------------------------------------------------------------- registration

register(Exercise(
    name="dead_unit_fraction",
    reference=_dead_unit_fraction,
    cases=_dead_cases,
    hint="Reduce over the rows (axis 0): a unit (column) is dead when z <= 0 in EVERY row "
         "(np.all). Then average those booleans over the columns. A column of exact zeros "
         "counts as dead (ReLU's derivative at 0 is 0); one positive entry makes it alive.",
))

register(Exercise(
    name="mish",
    reference=_mish,
    cases=_activation_cases,
    hint="mish(x) = x · tanh(softplus(x)) with softplus(x) = log(1 + e^x). For large x, "
         "np.exp overflows; np.logaddexp(0, x) computes log(e^0 + e^x) safely.",
))

register(Exercise(
    name="mish_grad",
    reference=_mish_grad,
    cases=_activation_cases,
    hint="Product rule: d/dx [x · t(x)] = t + x · t', with t = tanh(s), s = softplus(x). "
         "Chain rule: t' = (1 − tanh(s)²) · s', and s' = sigmoid(x). Compute sigmoid as "
         "(1 + tanh(x/2)) / 2 to avoid overflow.",
))

register(Exercise(
    name="hardswish_grad",
    reference=_hardswish_grad,
    cases=_hardswish_cases,
    hint="Three pieces: below −3 the function is 0, above 3 it is x, in between it is "
         "x(x + 3)/6, whose derivative is (2x + 3)/6. np.where (twice) picks the piece.",
))

register(Exercise(
    name="dead_after_sgd_step",
    reference=_dead_after_sgd_step,
    cases=_step_cases,
    hint="Take the step first: W_new = W − lr·grad_W, b_new = b − lr·grad_b (new arrays; "
         "leave the inputs unchanged). The pre-activations are z = X @ W_new.T + b_new, one "
         "column per unit; a unit is dead when its column is <= 0 in every row.",
))
