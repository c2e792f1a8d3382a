"""Exercises of notebook 07 (gradient clipping).

* ``clip_by_value(g, c)``: clamp every coordinate of the gradient to ``[-c, c]`` (a new array).
  The cases contain large *negative* coordinates, so the seed text's ``min(g, c)``, which
  bounds the gradient from above only, fails.
* ``clip_by_global_norm(grads, max_norm)``: rescale a list of gradient arrays together so
  that their global L2 norm is at most ``max_norm``; returns a new list
  ``[g * min(1, c / N) for g in grads]`` with ``N = sqrt(sum_j ||g_j||^2)``. Torch's
  coefficient ``c / (N + 1e-6)`` is accepted too (the tolerance covers the 1e-6).
* ``chain_gradients(w, x)``: the gradient of ``L = w_D ... w_2 w_1 x`` with respect to every
  ``w_k``, i.e. ``x * prod_{j != k} w_j``. One case has a zero weight, so dividing the whole
  product by ``w_k`` fails; the backward pass of backpropagation does not.
* ``clipped_sgd_step(param, grad, lr, max_norm)``: one SGD step with the gradient clipped by
  its norm first, ``param - lr * grad * min(1, c / ||grad||)``.

Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural networks",
ICML 2013.
"""

from __future__ import annotations

import math

import numpy as np

from nnopt_lib.exercises.core import Exercise, register

# --------------------------------------------------------------------------- references


def _clip_by_value(g, c):
    # clamp from both sides: min(max(g, -c), c)
    return np.clip(g, -c, c)


def _clip_by_global_norm(grads, max_norm):
    # one norm for all arrays together, so every array is scaled by the same factor and
    # the concatenated gradient keeps its direction
    total = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
    coef = 1.0 if total == 0.0 else min(1.0, max_norm / total)
    return [g * coef for g in grads]


def _chain_gradients(w, x):
    # backpropagation: dL/dw_k = (dL/dh_k) * h_{k-1}, with h_k = w_k h_{k-1} and
    # dL/dh_{k-1} = w_k * dL/dh_k; no division, so a zero weight is harmless
    w = np.asarray(w, dtype=float)
    forward = [float(x)]
    for wk in w:
        forward.append(wk * forward[-1])
    grad = np.empty_like(w)
    upstream = 1.0  # dL/dh_D, since L = h_D
    for k in reversed(range(len(w))):
        grad[k] = upstream * forward[k]
        upstream *= w[k]
    return grad


def _clipped_sgd_step(param, grad, lr, max_norm):
    norm = float(np.linalg.norm(grad))
    coef = 1.0 if norm == 0.0 else min(1.0, max_norm / norm)
    return param - lr * coef * grad


# --------------------------------------------------------------------------- cases


def _value_cases(rng):
    cases = []
    for shape in [(3,), (5,), (2, 3), (4,), (3, 3), (6,)] * 3:
        # heavy tails: some coordinates far beyond ±c on both sides
        g = rng.standard_t(df=2, size=shape) * float(rng.uniform(0.5, 20.0))
        cases.append((g, float(rng.uniform(0.1, 3.0))))
    cases.append((np.array([-1000.0, 3.0, 0.5]), 1.0))  # the seed's min(g, c) keeps -1000
    return cases


def _norm_cases(rng):
    cases = []
    for _ in range(16):
        shapes = [tuple(int(n) for n in rng.integers(1, 5, size=int(rng.integers(1, 3))))
                  for _ in range(int(rng.integers(1, 4)))]
        scale = float(10 ** rng.uniform(-0.3, 2.0))
        grads = [scale * rng.normal(size=s) for s in shapes]
        total = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
        # half of the cases clip, half do not (max_norm above the norm)
        factor = float(rng.uniform(0.05, 0.9)) if rng.random() < 0.5 else float(rng.uniform(1.2, 3))
        cases.append((grads, factor * total))
    return cases


def _chain_cases(rng):
    cases = []
    for depth in [1, 2, 3, 5, 8, 12] * 2:
        w = rng.uniform(0.5, 1.5, size=depth) * rng.choice([-1.0, 1.0], size=depth)
        cases.append((w, float(rng.normal())))
    cases.append((np.array([1.3, 0.0, -0.7, 2.0]), 1.5))  # a zero weight: no division allowed
    return cases


def _sgd_cases(rng):
    cases = []
    for shape in [(2,), (3,), (5,), (2, 2)] * 4:
        grad = rng.normal(size=shape) * float(10 ** rng.uniform(-1.0, 2.0))
        cases.append((rng.normal(size=shape), grad, float(rng.uniform(0.001, 0.5)),
                      float(rng.uniform(0.1, 5.0))))
    return cases


# --------------------------------------------------------------------------- registration

register(Exercise(
    name="clip_by_value",
    reference=_clip_by_value,
    cases=_value_cases,
    hint="Clamp from BOTH sides: every coordinate below −c becomes −c and every one above c "
         "becomes c (np.clip). min(g, c) alone lets a huge negative coordinate through.",
))

register(Exercise(
    name="clip_by_global_norm",
    reference=_clip_by_global_norm,
    cases=_norm_cases,
    rtol=1e-5,  # accepts torch's coefficient c / (N + 1e-6) as well as c / N
    hint="N = sqrt of the sum of the squares of ALL entries of ALL arrays (one norm, not one "
         "per array). Multiply every array by the same factor min(1, c / N) and return the "
         "new list; leave the inputs unchanged.",
))

register(Exercise(
    name="chain_gradients",
    reference=_chain_gradients,
    cases=_chain_cases,
    hint="∂L/∂w_k = x · (product of all the other weights). Compute it as backpropagation "
         "does: a forward pass storing h_0 = x, h_k = w_k h_{k−1}, then a backward pass with "
         "upstream = 1 and, for k = D…1, grad_k = upstream · h_{k−1}; upstream *= w_k. "
         "Dividing the full product by w_k fails when a weight is 0.",
))

register(Exercise(
    name="clipped_sgd_step",
    reference=_clipped_sgd_step,
    cases=_sgd_cases,
    rtol=1e-5,
    atol=1e-8,  # accepts torch's coefficient c / (||g|| + 1e-6) too
    hint="First clip: g_clipped = g · min(1, c / ||g||) (np.linalg.norm). Then the SGD step "
         "param − lr · g_clipped. The step length is then at most lr · c.",
))
