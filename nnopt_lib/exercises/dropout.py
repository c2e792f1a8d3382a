"""Exercises of notebook 13 (dropout).

Notation: ``p`` is the probability of DROPPING a unit (torch's convention), ``keep`` a
boolean array with ``True`` where the unit is kept, ``m = keep`` as 0/1 numbers.

* ``dropout_forward(x, keep, p)``: inverted dropout with a given mask,
  ``y = x * m / (1 - p)``; for ``p = 1`` every unit is dropped and the result is zeros (as in
  torch), not ``0 / 0 = nan``. The cases include ``p = 0`` and ``p = 1``.
* ``dropout_preactivation_moments(W, x, p)``: the mean and variance, over the random mask,
  of ``z = W @ y`` with ``y`` the inverted dropout of the vector ``x``. Each ``y_j`` has mean
  ``x_j`` and variance ``x_j^2 p / (1 - p)`` and the ``y_j`` are independent, so
  ``E[z] = W @ x`` and ``Var[z_i] = p / (1 - p) * sum_j W_ij^2 x_j^2``. Returns the pair
  ``(mean, variance)`` of two arrays of shape ``(out,)``; ``0 <= p < 1``.
* ``scaled_test_weights(W, b, p)``: the ORIGINAL dropout of Hinton et al. (2012) does not
  rescale during training (``y = x * m``); at test time the next layer's weights are
  multiplied by the keep probability instead. Return ``(W * (1 - p), b)``: the bias is not
  multiplied, because it is not fed by a dropped unit.
* ``mc_average_probabilities(logit_samples)``: Monte-Carlo dropout's prediction. Given the
  logits of ``K`` forward passes with different masks, shape ``(K, N, C)``, return the mean
  over the ``K`` passes of the softmax probabilities, shape ``(N, C)``. Some cases have logits
  of order 1000, so the softmax must subtract the row maximum before ``exp``; averaging the
  logits first (a different thing: the geometric-mean ensemble) fails the check.
* ``dropout_ridge_penalty(X, w, p)``: for a linear model ``f(x) = w . x`` with inverted
  dropout on its inputs, the squared error averaged over masks is the plain squared error
  plus ``p / (1 - p) * sum_j w_j^2 * mean_i X_ij^2`` -- an L2 penalty that weighs each weight
  by the mean square of its input feature (Wager, Wang & Liang 2013; Srivastava et al. 2014,
  section 9.1). Return that penalty, a float.

Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov, "Dropout: a simple way to
prevent neural networks from overfitting", JMLR 15, 2014.
"""

from __future__ import annotations

import numpy as np

from nnopt_lib.exercises.core import Exercise, register

# --------------------------------------------------------------------------- references


def _dropout_forward(x, keep, p):
    if p == 1:
        return np.zeros_like(x)  # everything dropped; 1 / (1 - p) would give 0 * inf = nan
    return x * keep / (1 - p)


def _dropout_preactivation_moments(W, x, p):
    # the mask entries are independent, so the variances of the terms W_ij y_j add up
    mean = W @ x
    variance = p / (1 - p) * (W**2 @ x**2)
    return mean, variance


def _scaled_test_weights(W, b, p):
    # E[x_j m_j] = (1 - p) x_j: scaling the weights by the keep probability gives the next
    # layer the input it saw on average during training; the bias term has no mask
    return W * (1 - p), b.copy()


def _mc_average_probabilities(logit_samples):
    shifted = logit_samples - logit_samples.max(axis=-1, keepdims=True)  # no overflow in exp
    e = np.exp(shifted)
    return (e / e.sum(axis=-1, keepdims=True)).mean(axis=0)


def _dropout_ridge_penalty(X, w, p):
    return float(p / (1 - p) * np.sum(w**2 * np.mean(X**2, axis=0)))


# --------------------------------------------------------------------------- cases


def _forward_cases(rng):
    cases = []
    for shape, p in [((5,), 0.5), ((3, 4), 0.2), ((2, 6), 0.7), ((4, 3), 0.1),
                     ((6,), 0.9), ((3, 3), 0.35), ((2, 2, 3), 0.5)] * 2:
        x = rng.normal(size=shape) * float(rng.uniform(0.5, 3.0))
        cases.append((x, rng.random(shape) >= p, p))
    cases.append((rng.normal(size=(3, 4)), np.ones((3, 4), dtype=bool), 0.0))  # identity
    cases.append((rng.normal(size=(3, 4)), np.zeros((3, 4), dtype=bool), 1.0))  # all dropped
    return cases


def _moments_cases(rng):
    cases = []
    for n_out, n_in, p in [(1, 3, 0.5), (2, 5, 0.2), (4, 4, 0.7), (3, 8, 0.1), (5, 2, 0.9),
                           (2, 6, 0.0), (3, 10, 0.3), (1, 1, 0.5)] * 2:
        cases.append((rng.normal(size=(n_out, n_in)), rng.normal(size=n_in) * 2.0, p))
    return cases


def _weights_cases(rng):
    cases = []
    for n_out, n_in, p in [(2, 3, 0.5), (4, 2, 0.2), (3, 5, 0.8), (1, 4, 0.0), (5, 5, 0.3)] * 2:
        cases.append((rng.normal(size=(n_out, n_in)), rng.normal(size=n_out), p))
    return cases


def _mc_cases(rng):
    cases = []
    for k, n, c, scale in [(1, 3, 4, 1.0), (5, 2, 3, 2.0), (10, 4, 5, 0.5), (3, 1, 10, 3.0),
                           (20, 3, 2, 1.0), (4, 2, 3, 1000.0), (6, 3, 4, 300.0)]:
        cases.append((rng.normal(size=(k, n, c)) * scale,))
    return cases


def _ridge_cases(rng):
    cases = []
    for n, d, p in [(10, 3, 0.5), (20, 5, 0.2), (8, 2, 0.8), (15, 4, 0.0), (30, 6, 0.3),
                    (5, 1, 0.5)] * 2:
        # features with different scales, so that the per-feature weighting matters
        X = rng.normal(size=(n, d)) * rng.uniform(0.2, 5.0, size=d) + rng.normal(size=d)
        cases.append((X, rng.normal(size=d), p))
    return cases


# --------------------------------------------------------------------------- registration

register(Exercise(
    name="dropout_forward",
    reference=_dropout_forward,
    cases=_forward_cases,
    hint="Multiply by the mask (True counts as 1, False as 0) and divide by the keep "
         "probability 1 − p, so that the mean of y is x. When p = 1 every unit is dropped: "
         "return zeros of x's shape (np.zeros_like) instead of dividing by 0.",
))

register(Exercise(
    name="dropout_preactivation_moments",
    reference=_dropout_preactivation_moments,
    cases=_moments_cases,
    hint="Each y_j has mean x_j and variance x_j² · p / (1 − p), independently of the others. "
         "z_i = Σ_j W_ij y_j, so E[z] = W @ x and Var[z_i] = Σ_j W_ij² Var[y_j] = "
         "p / (1 − p) · (W**2 @ x**2). Return the pair (mean, variance).",
))

register(Exercise(
    name="scaled_test_weights",
    reference=_scaled_test_weights,
    cases=_weights_cases,
    hint="Without rescaling during training, each input of the layer is on average (1 − p) "
         "times its full value. At test time all inputs are present, so multiply the WEIGHTS "
         "by (1 − p); the bias is not fed by a dropped unit, so return it unchanged.",
))

register(Exercise(
    name="mc_average_probabilities",
    reference=_mc_average_probabilities,
    cases=_mc_cases,
    hint="Softmax each pass separately over the last axis (the classes), subtracting each "
         "row's maximum before np.exp so that logits of order 1000 do not overflow; then "
         "average the K probability tables (axis 0). Averaging the logits first is not the "
         "same thing.",
))

register(Exercise(
    name="dropout_ridge_penalty",
    reference=_dropout_ridge_penalty,
    cases=_ridge_cases,
    hint="For one example, the error term w·x − y gains the variance of Σ_j w_j x_j m_j/(1 − p), "
         "which is p/(1 − p) · Σ_j w_j² x_j². Average it over the rows of X: "
         "p/(1 − p) · Σ_j w_j² · mean_i X_ij². Return a float.",
))
