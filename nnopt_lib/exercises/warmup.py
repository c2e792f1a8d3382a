"""Warm-up exercises of the welcome notebook: numpy reductions and a first gradient.

``mean_of_squares(x) -> float``
    The mean of the squared entries of an array of any shape,
    m(x) = (1/n) Σ_i x_i², over all n entries. (The mean squared error is this
    function applied to the residuals.)

``gradient_of_quadratic(x, A) -> array of shape (n,)``
    The gradient at x (shape (n,)) of the quadratic f(x) = ½ xᵀA x for a square,
    not necessarily symmetric, matrix A (shape (n, n)). Writing
    f(x) = ½ Σ_ij x_i A_ij x_j and differentiating with respect to x_k, x_k appears
    once as a row index and once as a column index, so
    ∇f(x) = ½ (A + Aᵀ) x, which equals A x only when A is symmetric.
"""

import numpy as np

from nnopt_lib.exercises.core import Exercise, register


def _mean_of_squares(x):
    return float(np.mean(np.square(x)))


def _mean_of_squares_cases(rng):
    # 1-D, 2-D and 3-D arrays, so an answer that averages over one axis only is caught.
    shapes = [(1,), (5,), (12,), (3, 4), (6, 2), (2, 3, 4)]
    return [(rng.normal(scale=rng.uniform(0.5, 3.0), size=shapes[i % len(shapes)]),)
            for i in range(18)]


def _gradient_of_quadratic(x, A):
    return 0.5 * (A + A.T) @ x


def _gradient_of_quadratic_cases(rng):
    # Non-symmetric A on purpose: the tempting answer A @ x is right only for symmetric A.
    cases = []
    for n in (1, 2, 2, 3, 3, 4, 5, 5, 6, 8):
        cases.append((rng.normal(size=n), rng.normal(size=(n, n))))
    return cases


register(Exercise(
    name="mean_of_squares",
    reference=_mean_of_squares,
    cases=_mean_of_squares_cases,
    hint="Square every entry, then average over all of them: the result is one number, "
         "whatever the shape of x. np.mean without an axis averages over every entry.",
))

register(Exercise(
    name="gradient_of_quadratic",
    reference=_gradient_of_quadratic,
    cases=_gradient_of_quadratic_cases,
    hint="Write f(x) = ½ Σ_ij x_i A_ij x_j and take ∂f/∂x_k: x_k appears both as x_i (row k "
         "of A) and as x_j (column k of A). A is not symmetric here, so the answer is not "
         "simply A @ x. The result has the shape of x.",
))
