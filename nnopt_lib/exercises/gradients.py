"""Exercises of notebook 01 (loss functions and gradients).

* ``ridge_gradient(X, y, w, lam)``: gradient of the mean squared error of a linear model
  plus the L2 penalty ``lam·‖w‖²`` (ridge regression).
* ``log_sum_exp(z)``: log Σ exp over the last axis, without overflow or underflow.
* ``softmax_cross_entropy_gradient(logits, labels)``: gradient of the mean cross-entropy
  with respect to the logits, ``(softmax(Z) − onehot(y)) / n``.
* ``central_difference_gradient(f, w, h)``: the numerical gradient used for gradient checking,
  for a parameter array of any shape.
"""

from __future__ import annotations

import numpy as np

from nnopt_lib.exercises.core import Exercise, register

# --------------------------------------------------------------------------- references


def _ridge_gradient(X, y, w, lam):
    # L(w) = (1/n)·‖Xw − y‖² + λ·‖w‖²  =>  ∇L = (2/n)·Xᵀ(Xw − y) + 2λw
    return 2.0 / len(y) * X.T @ (X @ w - y) + 2.0 * lam * w


def _log_sum_exp(z):
    # Shift by the row maximum m: log Σ exp(z) = m + log Σ exp(z − m); every z − m <= 0,
    # so nothing overflows, and the largest term is exp(0) = 1, so the sum never underflows.
    m = np.max(z, axis=-1, keepdims=True)
    return (m + np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True)))[..., 0]


def _softmax_cross_entropy_gradient(logits, labels):
    # L = (1/n)·Σ_i [logsumexp(z_i) − z_{i,y_i}]  =>  ∂L/∂z_ik = (p_ik − [k = y_i]) / n
    n = logits.shape[0]
    p = np.exp(logits - _log_sum_exp(logits)[:, None])
    p[np.arange(n), labels] -= 1.0
    return p / n


def _central_difference_gradient(f, w, h):
    # g_i ≈ (f(w + h·e_i) − f(w − h·e_i)) / (2h), one coordinate at a time.
    g = np.zeros_like(w, dtype=float)
    for i in range(w.size):
        step = np.zeros_like(w, dtype=float)
        step.flat[i] = h
        g.flat[i] = (f(w + step) - f(w - step)) / (2 * h)
    return g


# --------------------------------------------------------------------------- test functions


class _Smooth:
    """A smooth test function with a readable repr (the checker prints its inputs)."""

    def __init__(self, kind: str, a: np.ndarray):
        self.kind, self.a = kind, a

    def __call__(self, w):
        if self.kind == "quadratic+sin":
            return float(0.5 * np.sum(self.a * w**2) + np.sum(np.sin(w)))
        if self.kind == "logsumexp":
            return float(_log_sum_exp(np.ravel(self.a * w)))  # over all entries, any shape
        return float(np.sum(np.log1p(np.exp(self.a * w))))  # softplus

    def __repr__(self):
        formula = {"quadratic+sin": "½·Σ a_i w_i² + Σ sin(w_i)",
                   "logsumexp": "log Σ exp(a_i w_i)",
                   "softplus": "Σ log(1 + exp(a_i w_i))"}[self.kind]
        a = " ".join(np.array2string(self.a, precision=3, separator=", ").split())  # one line
        return f"f(w) = {formula}, a = {a}"


def _log_sum_exp_cases(rng):
    cases = [(rng.normal(size=5),), (rng.normal(size=(3, 4)),)]
    # large and very negative logits: the naive formula overflows / underflows here
    cases += [(np.array([1000.0, 1001.0, 1002.0]),), (np.array([-1000.0, -1001.0, -1002.0]),),
              (np.array([[800.0, -800.0], [0.0, 0.0]]),)]
    cases += [(rng.normal(scale=300.0, size=(4, 6)),) for _ in range(5)]
    return cases


def _cross_entropy_cases(rng):
    cases = []
    for n, k in [(1, 2), (4, 3), (8, 5), (16, 10)]:
        for scale in (1.0, 50.0, 1000.0):  # 1000: the naive softmax overflows
            cases.append((rng.normal(scale=scale, size=(n, k)), rng.integers(0, k, size=n)))
    return cases


def _central_difference_cases(rng):
    cases = []
    for kind in ("quadratic+sin", "logsumexp", "softplus"):
        for shape in ((1,), (3,), (6,), (2, 3)):  # (2, 3): a weight matrix, not just a vector
            a = np.round(rng.uniform(0.5, 2.0, size=shape), 3)
            cases.append((_Smooth(kind, a), rng.normal(size=shape), 1e-5))
    return cases


register(Exercise(
    name="ridge_gradient",
    reference=_ridge_gradient,
    cases=lambda rng: [(rng.normal(size=(n, d)), rng.normal(size=n), rng.normal(size=d), lam)
                       for n, d in [(5, 3), (1, 1), (8, 2), (20, 4)]
                       for lam in (0.0, 0.01, 0.5, 3.0)],
    hint="Two terms add up. The data term: with the residual r = Xw − y, the gradient of "
         "(1/n)·Σ r_i² is (2/n)·Xᵀr (the 2 from the square, the 1/n from the mean). The penalty "
         "λ·‖w‖² = λ·Σ w_j² has gradient 2λw (not λ·w/‖w‖, which is the gradient of the "
         "plain norm).",
))

register(Exercise(
    name="log_sum_exp",
    reference=_log_sum_exp,
    cases=_log_sum_exp_cases,
    hint="Subtract the maximum m of each row (axis=-1, keepdims=True) before exponentiating "
         "and add it back after the log: log Σ exp(z) = m + log Σ exp(z − m). "
         "The result has one value per row (the last axis disappears).",
    rtol=1e-10, atol=1e-10,
))

register(Exercise(
    name="softmax_cross_entropy_gradient",
    reference=_softmax_cross_entropy_gradient,
    cases=_cross_entropy_cases,
    hint="Compute the softmax probabilities P stably (subtract the row maximum), subtract 1 at "
         "each row's true class (P − one-hot), and divide by the number of rows n because the "
         "loss is a mean.",
    rtol=1e-8, atol=1e-12,
))

register(Exercise(
    name="central_difference_gradient",
    reference=_central_difference_gradient,
    cases=_central_difference_cases,
    hint="For each entry i of w, nudge only that entry by +h and by −h (on copies of w, never "
         "in place) and take (f(w + h·e_i) − f(w − h·e_i)) / (2h). The result has w's shape. "
         "For a w with several axes, w.flat[i] (or np.ndindex(w.shape)) visits every entry.",
    rtol=1e-6, atol=1e-8,
))
