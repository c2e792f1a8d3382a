"""Exercises of notebook 02 (gradient descent and the learning rate).

On a quadratic f(θ) = ½ θᵀAθ (A symmetric positive definite, eigenvalues μ = λ_min ≤ … ≤ L = λ_max)
gradient descent θ ← θ − η·Aθ multiplies the component along eigenvector i by (1 − ηλ_i) per step.

* ``gradient_descent(grad, theta0, lr, steps)``: the iterates θ_0 … θ_steps as a (steps+1, d) array.
* ``max_stable_lr(A)``: 2/L, the learning rate above which gradient descent diverges.
* ``optimal_lr(A)``: 2/(L + μ), the fixed learning rate with the fastest worst-case rate.
* ``contraction_rate(A, lr)``: max_i |1 − lr·λ_i|, the factor by which the distance to the
  minimum shrinks per step in the worst case ((κ−1)/(κ+1) at the optimal learning rate).

References: Cauchy (1847); Y. Nesterov, Introductory Lectures on Convex Optimization (2004),
theorem 2.1.15; Nocedal & Wright, Numerical Optimization (2006), section 3.3.
"""

from __future__ import annotations

import numpy as np

from nnopt_lib.exercises.core import Exercise, register

# --------------------------------------------------------------------------- references


def _gradient_descent(grad, theta0, lr, steps):
    thetas = [np.array(theta0, dtype=float)]
    for _ in range(steps):
        thetas.append(thetas[-1] - lr * grad(thetas[-1]))
    return np.stack(thetas)


def _max_stable_lr(A):
    return 2.0 / np.linalg.eigvalsh(A)[-1]


def _optimal_lr(A):
    eigenvalues = np.linalg.eigvalsh(A)  # ascending: μ first, L last
    return 2.0 / (eigenvalues[0] + eigenvalues[-1])


def _contraction_rate(A, lr):
    return float(np.max(np.abs(1.0 - lr * np.linalg.eigvalsh(A))))


# --------------------------------------------------------------------------- cases


def _spd_matrix(rng, d):
    """A random symmetric positive definite matrix with condition number between 1 and 200."""
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    eigenvalues = np.exp(rng.uniform(np.log(0.05), np.log(10.0), size=d))
    return (q * eigenvalues) @ q.T


class _QuadraticGradient:
    """grad(θ) = A θ − b, the gradient of ½ θᵀAθ − bᵀθ, with a readable repr."""

    def __init__(self, A, b):
        self.A, self.b = A, b

    def __call__(self, theta):
        return self.A @ theta - self.b

    def __repr__(self):
        return (f"grad(θ) = A @ θ − b with A = {np.array2string(self.A, precision=3)}, "
                f"b = {np.array2string(self.b, precision=3)}")


def _gradient_descent_cases(rng):
    cases = []
    for d, steps in [(1, 5), (2, 10), (2, 1), (3, 20), (2, 0), (4, 15)]:
        A = _spd_matrix(rng, d)
        lr = rng.uniform(0.2, 1.8) / np.linalg.eigvalsh(A)[-1]  # stable: below 2/L
        cases.append((_QuadraticGradient(A, rng.normal(size=d)), rng.normal(size=d), lr, steps))
    return cases


def _matrix_cases(rng):
    cases = [(np.array([[4.0]]),), (np.diag([1.0, 10.0]),), (np.diag([3.0, 3.0]),)]
    cases += [(_spd_matrix(rng, d),) for d in (2, 2, 3, 5, 8)]
    return cases


def _rate_cases(rng):
    cases = [(np.diag([1.0, 10.0]), 2.0 / 11.0), (np.diag([1.0, 10.0]), 0.25),
             (np.diag([1.0, 10.0]), 0.01)]
    for d in (2, 3, 5):
        A = _spd_matrix(rng, d)
        top = np.linalg.eigvalsh(A)[-1]
        cases += [(A, factor / top) for factor in (0.1, 1.0, 1.9, 2.5)]
    return cases


register(Exercise(
    name="gradient_descent",
    reference=_gradient_descent,
    cases=_gradient_descent_cases,
    hint="Start the list with θ_0 itself, then append θ_{t+1} = θ_t − lr·grad(θ_t) `steps` times "
         "(never update θ in place: the array you appended would change too) and np.stack "
         "the list into shape (steps + 1, d).",
    rtol=1e-10, atol=1e-12,
))

register(Exercise(
    name="max_stable_lr",
    reference=_max_stable_lr,
    cases=_matrix_cases,
    hint="Along the eigenvector with the largest eigenvalue L one step multiplies the component "
         "by (1 − lr·L); it must stay inside (−1, 1). np.linalg.eigvalsh returns the eigenvalues "
         "of a symmetric matrix in ascending order.",
))

register(Exercise(
    name="optimal_lr",
    reference=_optimal_lr,
    cases=_matrix_cases,
    hint="The slowest directions are the smallest eigenvalue μ (factor 1 − lr·μ) and the largest "
         "L (factor 1 − lr·L). The best fixed lr makes their sizes equal: 1 − lr·μ = lr·L − 1.",
))

register(Exercise(
    name="contraction_rate",
    reference=_contraction_rate,
    cases=_rate_cases,
    hint="Each eigen-direction i is multiplied by (1 − lr·λ_i) per step; the worst case is the "
         "largest absolute value over all eigenvalues (it is > 1 when lr > 2/L).",
))
