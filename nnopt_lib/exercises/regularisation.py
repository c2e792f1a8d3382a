"""Exercises of notebook 12 (L1 and L2 regularisation).

* ``soft_threshold(w, t)``: the proximal step of the L1 penalty,
  ``sign(w) * max(|w| - t, 0)`` elementwise (a new array). Every entry with ``|w| <= t``
  becomes exactly 0, the others move ``t`` towards 0. The cases contain entries equal to
  ``±t`` and to 0.
* ``proximal_l1_step(w, grad, lr, lam)``: one step of proximal gradient descent (ISTA) on
  ``L(w) + lam * sum|w|``: a plain gradient step on ``L``, then the soft threshold with
  ``t = lr * lam``: ``soft_threshold(w - lr * grad, lr * lam)``.
* ``penalised_gradient(w, grad, l1, l2)``: the gradient of
  ``L(w) + l1 * sum|w| + (l2 / 2) * sum w^2`` given ``grad = dL/dw``:
  ``grad + l1 * sign(w) + l2 * w``, with ``sign(0) = 0`` (the subgradient torch's autograd
  uses). This is what ``training.WeightPenalty(l1=..., l2=...)`` adds inside ``fit``.
* ``norm_penalty_gradient(W, lam)``: the gradient of ``lam * ||W||`` (the Frobenius norm,
  NOT squared -- what ``torch.norm(W, p=2)`` computes and one seed post adds to its loss as
  an "L2 penalty"): ``lam * W / ||W||``, and 0 for ``W = 0`` (as torch's autograd gives).
  Its norm is ``lam`` whatever the size of ``W``.
* ``decayed_names(shapes)``: ``shapes`` maps parameter names (``"0.weight"``, ``"0.bias"``,
  ``"1.weight"`` of a BatchNorm layer, ...) to their shapes, in the model's order. Return the
  list of the names that get weight decay under the practitioners' rule: every parameter
  with at least two dimensions (the weight matrices); vectors -- biases and the scales and
  shifts of normalisation layers -- are spared. Keep the given order.

Papers: R. Tibshirani, "Regression shrinkage and selection via the lasso", JRSS B 1996;
I. Daubechies, M. Defrise, C. De Mol, "An iterative thresholding algorithm for linear
inverse problems with a sparsity constraint", CPAM 2004; A. Krogh, J. Hertz, "A simple
weight decay can improve generalization", NeurIPS 1991.
"""

from __future__ import annotations

import math

import numpy as np

from nnopt_lib.exercises.core import Exercise, register

# --------------------------------------------------------------------------- references


def _soft_threshold(w, t):
    # np.where keeps the zeros exact (+0.0); the others move t towards 0
    return np.where(np.abs(w) > t, w - t * np.sign(w), 0.0)


def _proximal_l1_step(w, grad, lr, lam):
    # gradient step on the smooth part, then the prox of the non-smooth part
    return _soft_threshold(w - lr * grad, lr * lam)


def _penalised_gradient(w, grad, l1, l2):
    return grad + l1 * np.sign(w) + l2 * w


def _norm_penalty_gradient(W, lam):
    norm = math.sqrt(float(np.sum(W * W)))
    # ||W|| has no gradient at 0; 0 is what torch's autograd returns there
    return np.zeros_like(W) if norm == 0.0 else lam * W / norm


def _decayed_names(shapes):
    # vectors (biases, normalisation scales and shifts) are spared
    return [name for name, shape in shapes.items() if len(shape) >= 2]


# --------------------------------------------------------------------------- cases


def _with_ties(rng, shape, t):
    """A random array with some entries exactly 0, t and -t (where the formula has its kinks)."""
    w = rng.normal(size=shape) * float(rng.uniform(0.2, 3.0))
    flat = w.reshape(-1)
    picks = rng.choice(flat.size, size=min(3, flat.size), replace=False)
    for index, value in zip(picks, (0.0, t, -t), strict=False):
        flat[index] = value
    return w


def _threshold_cases(rng):
    cases = []
    for shape in [(5,), (8,), (3, 4), (2, 2, 3), (10,), (6, 2)] * 2:
        t = float(rng.uniform(0.05, 1.5))
        cases.append((_with_ties(rng, shape, t), t))
    cases.append((np.array([-2.0, -0.5, 0.0, 0.3, 0.5, 1.0]), 0.5))
    cases.append((rng.normal(size=6), 0.0))  # t = 0: nothing changes
    return cases


def _prox_cases(rng):
    cases = []
    for shape in [(4,), (7,), (3, 3), (2, 5)] * 3:
        w = rng.normal(size=shape)
        grad = rng.normal(size=shape)
        lr, lam = float(rng.uniform(0.01, 0.5)), float(10 ** rng.uniform(-2, 0.5))
        cases.append((w, grad, lr, lam))
    # a weight that a plain gradient step would carry just across zero ends at exactly 0
    cases.append((np.array([0.05, -0.02, 1.0]), np.array([1.0, -1.0, 0.0]), 0.1, 0.5))
    return cases


def _penalised_cases(rng):
    cases = []
    for shape in [(4,), (3, 2), (6,), (2, 2, 2)] * 3:
        w = rng.normal(size=shape)
        w.reshape(-1)[0] = 0.0  # sign(0) = 0: no L1 pull on an exact zero
        cases.append((w, rng.normal(size=shape), float(rng.uniform(0, 0.1)),
                      float(rng.uniform(0, 0.1))))
    cases.append((np.array([1.0, -2.0, 0.0]), np.zeros(3), 0.0, 0.1))  # L2 only
    cases.append((np.array([1.0, -2.0, 0.0]), np.zeros(3), 0.1, 0.0))  # L1 only
    return cases


def _norm_cases(rng):
    cases = []
    for shape in [(3, 4), (5,), (2, 6), (4, 4)] * 3:
        scale = float(10 ** rng.uniform(-2, 2))  # the gradient's size must not depend on it
        cases.append((scale * rng.normal(size=shape), float(rng.uniform(1e-3, 0.1))))
    cases.append((np.zeros((2, 3)), 0.01))
    return cases


def _names_cases(rng):
    cases = []
    for _ in range(10):
        sizes = [int(n) for n in rng.integers(2, 9, size=int(rng.integers(2, 5)))]
        shapes = {}
        index = 0
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            shapes[f"{index}.weight"] = (fan_out, fan_in)
            if rng.random() < 0.8:
                shapes[f"{index}.bias"] = (fan_out,)
            index += 1
            if rng.random() < 0.5:  # a BatchNorm1d layer: its weight is a vector too
                shapes[f"{index}.weight"] = (fan_out,)
                shapes[f"{index}.bias"] = (fan_out,)
                index += 1
            index += 1  # the activation has no parameters
        cases.append((shapes,))
    return cases


# --------------------------------------------------------------------------- registration

register(Exercise(
    name="soft_threshold",
    reference=_soft_threshold,
    cases=_threshold_cases,
    hint="Entries with |w| <= t become exactly 0; every other entry keeps its sign and loses "
         "t from its size (w − t·sign(w)). A size below zero is the case to clamp.",
))

register(Exercise(
    name="proximal_l1_step",
    reference=_proximal_l1_step,
    cases=_prox_cases,
    hint="Two parts: first the plain gradient step v = w − lr·grad (the penalty plays no part "
         "in it), then the soft threshold of v with t = lr·lam (not lam alone).",
))

register(Exercise(
    name="penalised_gradient",
    reference=_penalised_gradient,
    cases=_penalised_cases,
    hint="d/dw of l1·|w| is l1·sign(w) (np.sign gives 0 at 0), and d/dw of (l2/2)·w² is "
         "l2·w — the ½ cancels the 2. Add both to grad.",
))

register(Exercise(
    name="norm_penalty_gradient",
    reference=_norm_penalty_gradient,
    cases=_norm_cases,
    rtol=1e-9,
    hint="||W|| = sqrt(Σ W²), so d||W||/dW = W / ||W||: a unit-length direction whatever the "
         "size of W. Multiply by lam. For W = 0 return zeros (no division by zero).",
))

register(Exercise(
    name="decayed_names",
    reference=_decayed_names,
    cases=_names_cases,
    hint="Keep the names whose shape has two or more dimensions (len(shape) >= 2), in the "
         "order of the dict. A BatchNorm weight is a vector, like a bias: it is not decayed.",
))
