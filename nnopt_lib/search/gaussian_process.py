r"""Gaussian-process regression from scratch: the surrogate model of Bayesian optimisation.

A Gaussian process with zero prior mean and kernel :math:`k` puts a joint normal distribution on the
function values at any set of points. Given noisy observations :math:`y` at inputs :math:`X`
(:math:`n` rows), the posterior at new inputs :math:`X_*` is normal with

.. math::

    \mu_* = K_*^\top (K + \sigma_n^2 I)^{-1} y, \qquad
    \Sigma_* = K_{**} - K_*^\top (K + \sigma_n^2 I)^{-1} K_*,

with :math:`K = k(X, X)`, :math:`K_* = k(X, X_*)`, and the log marginal likelihood

.. math::

    \log p(y \mid X) = -\tfrac12 y^\top (K + \sigma_n^2 I)^{-1} y
                       - \tfrac12 \log\lvert K + \sigma_n^2 I\rvert - \tfrac n2 \log 2\pi

(Rasmussen & Williams 2006, *Gaussian Processes for Machine Learning*, Algorithm 2.1). Everything is
solved through the Cholesky factor :math:`L L^\top = K + \sigma_n^2 I`, never an explicit inverse:
:math:`\alpha = L^{-\top} L^{-1} y`, :math:`v = L^{-1} K_*`, :math:`\operatorname{var}_* =
\operatorname{diag} K_{**} - \sum v^2`, :math:`\log\lvert\cdot\rvert = 2 \sum \log L_{ii}`.

Kernels, with :math:`r = \lVert (x - x') / \ell \rVert` (one length scale, or one per input
dimension) and signal variance :math:`s^2`:

* ``"rbf"`` (squared exponential): :math:`s^2 \exp(-r^2 / 2)` -- infinitely smooth samples;
* ``"matern52"``: :math:`s^2 (1 + \sqrt5 r + \tfrac53 r^2) \exp(-\sqrt5 r)` -- twice
  differentiable samples, the usual choice for hyperparameter surfaces (Snoek, Larochelle & Adams
  2012, "Practical Bayesian Optimization of Machine Learning Algorithms").

The predicted ``std`` is that of the latent function (noise not added), as in scikit-learn:
:class:`GaussianProcess` equals ``GaussianProcessRegressor(kernel=ConstantKernel(s2) * RBF(l)``
(or ``Matern(l, nu=2.5)``) ``, alpha=noise, optimizer=None, normalize_y=False)``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import cho_solve, solve_triangular

KERNELS = ("rbf", "matern52")


def _scaled_squared_distances(A, length_scale, B=None) -> np.ndarray:
    """Squared distances between rows of ``A / length_scale`` and ``B / length_scale``."""
    ell = np.asarray(length_scale, dtype=float)
    A = np.asarray(A, dtype=float) / ell
    B = A if B is None else np.asarray(B, dtype=float) / ell
    # Expanded form, clipped at 0: rounding can make it slightly negative.
    sq = np.sum(A**2, axis=1)[:, None] + np.sum(B**2, axis=1)[None, :] - 2.0 * A @ B.T
    return np.maximum(sq, 0.0)


def kernel_matrix(
    A: np.ndarray, B: np.ndarray, *, kernel: str, length_scale, signal_variance: float = 1.0
) -> np.ndarray:
    """The kernel matrix :math:`k(A_i, B_j)` for rows of ``A`` (n, d) and ``B`` (m, d)."""
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    sq = _scaled_squared_distances(A, length_scale, B)
    if kernel == "rbf":
        return signal_variance * np.exp(-0.5 * sq)
    r = math.sqrt(5.0) * np.sqrt(sq)
    return signal_variance * (1.0 + r + r**2 / 3.0) * np.exp(-r)


def _as_2d(X, name: str) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]  # a 1-D array is n points of one feature
    if X.ndim != 2:
        raise ValueError(f"{name} must be (n_points, n_features), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} contains NaN or inf")
    return X


class GaussianProcess:
    """Exact GP regression with fixed hyperparameters (see the module docstring for the math).

    ``length_scale`` is a float, or one per input feature (automatic relevance determination);
    ``noise`` is the variance :math:`\\sigma_n^2` added to the diagonal of the training kernel
    matrix (observation noise, and the jitter that keeps the Cholesky factorisation stable).
    """

    def __init__(
        self,
        *,
        kernel: str = "rbf",
        length_scale=1.0,
        signal_variance: float = 1.0,
        noise: float = 1e-6,
    ) -> None:
        if kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
        ell = np.asarray(length_scale, dtype=float)
        if ell.ndim > 1 or not np.all(ell > 0) or not np.all(np.isfinite(ell)):
            raise ValueError(
                f"length_scale must be positive (a float or one per feature), got {length_scale!r}"
            )
        if not (signal_variance > 0 and math.isfinite(signal_variance)):
            raise ValueError(f"signal_variance must be positive, got {signal_variance!r}")
        if not (noise >= 0 and math.isfinite(noise)):
            raise ValueError(f"noise must be a non-negative variance, got {noise!r}")
        self.kernel = kernel
        self.length_scale = float(ell) if ell.ndim == 0 else ell.copy()
        self.signal_variance = float(signal_variance)
        self.noise = float(noise)
        self.X_: np.ndarray | None = None

    def __repr__(self) -> str:
        ell = np.round(self.length_scale, 4)
        return (
            f"GaussianProcess(kernel={self.kernel!r}, length_scale={ell}, "
            f"signal_variance={self.signal_variance:.4g}, noise={self.noise:.3g})"
        )

    def _k(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        return kernel_matrix(
            A,
            B,
            kernel=self.kernel,
            length_scale=self.length_scale,
            signal_variance=self.signal_variance,
        )

    def fit(self, X, y) -> GaussianProcess:
        """Condition on observations ``y`` at ``X``; returns ``self``."""
        X = _as_2d(X, "X")
        y = np.asarray(y, dtype=float).reshape(-1)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]} values")
        if not np.all(np.isfinite(y)):
            raise ValueError(
                "y contains NaN or inf (drop diverged trials or give them a finite value)"
            )
        ell = np.asarray(self.length_scale)
        if ell.ndim == 1 and ell.shape[0] != X.shape[1]:
            raise ValueError(
                f"length_scale has {ell.shape[0]} entries but X has {X.shape[1]} features"
            )
        K = self._k(X, X)
        K[np.diag_indices_from(K)] += self.noise
        try:
            L = np.linalg.cholesky(K)
        except np.linalg.LinAlgError:
            raise np.linalg.LinAlgError(
                f"the kernel matrix K + noise*I is not positive definite ({self!r}, "
                f"{X.shape[0]} points): duplicate or very close inputs with too little noise; "
                "raise `noise` (e.g. 1e-6 -> 1e-4) or shorten `length_scale`"
            ) from None
        self.X_, self.y_, self.L_ = X, y, L
        self.alpha_ = cho_solve((L, True), y)
        return self

    def _require_fit(self) -> None:
        if self.X_ is None:
            raise RuntimeError("call fit(X, y) before predict / log_marginal_likelihood")

    def predict(self, X, return_std: bool = False):
        """Posterior mean at ``X`` (and the std of the latent function with ``return_std=True``)."""
        self._require_fit()
        X = _as_2d(X, "X")
        if X.shape[1] != self.X_.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} features, the GP was fitted on {self.X_.shape[1]}"
            )
        Ks = self._k(self.X_, X)
        mean = Ks.T @ self.alpha_
        if not return_std:
            return mean
        v = solve_triangular(self.L_, Ks, lower=True)
        var = self.signal_variance - np.sum(v**2, axis=0)  # k(x, x) = s^2 for both kernels
        return mean, np.sqrt(np.maximum(var, 0.0))  # rounding can push var a hair below 0

    def sample_posterior(self, X, *, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        """``n_samples`` functions drawn from the posterior at ``X`` (rows: samples)."""
        self._require_fit()
        X = _as_2d(X, "X")
        Ks = self._k(self.X_, X)
        v = solve_triangular(self.L_, Ks, lower=True)
        cov = self._k(X, X) - v.T @ v
        cov[np.diag_indices_from(cov)] += (
            1e-9 * self.signal_variance
        )  # jitter for the factorisation
        Lc = np.linalg.cholesky(cov)
        return (Ks.T @ self.alpha_)[None, :] + rng.standard_normal((n_samples, X.shape[0])) @ Lc.T

    def log_marginal_likelihood(self) -> float:
        """:math:`\\log p(y \\mid X)` of the fitted data under these hyperparameters."""
        self._require_fit()
        n = self.y_.shape[0]
        return float(
            -0.5 * self.y_ @ self.alpha_
            - np.sum(np.log(np.diag(self.L_)))
            - 0.5 * n * math.log(2 * math.pi)
        )

    def log_marginal_likelihood_gradient(self, *, per_feature: bool = False) -> np.ndarray:
        r"""Gradient of :meth:`log_marginal_likelihood` in the LOG hyperparameters.

        Entries: d/d log length_scale (one per feature with ``per_feature=True``, which treats a
        shared length scale as one per feature), d/d log signal_variance, d/d log noise; from
        Rasmussen & Williams eq. 5.9, :math:`\tfrac12 \operatorname{tr}((\alpha\alpha^\top -
        (K + \sigma_n^2 I)^{-1}) \, \partial K / \partial\theta)`.
        """
        self._require_fit()
        X, n = self.X_, self.X_.shape[0]
        inner = np.outer(self.alpha_, self.alpha_) - cho_solve((self.L_, True), np.eye(n))
        K = self._k(X, X)
        sq = _scaled_squared_distances(X, self.length_scale)
        # d k / d log ell_j = g(r) * sq_j, sq_j = (x_j - x'_j)^2 / ell_j^2 (all of sq when shared)
        if self.kernel == "rbf":
            g = K
        else:
            a = math.sqrt(5.0) * np.sqrt(sq)
            g = self.signal_variance * (5.0 / 3.0) * (1.0 + a) * np.exp(-a)
        if per_feature:
            ell = np.broadcast_to(np.asarray(self.length_scale, dtype=float), (X.shape[1],))
            grads = [
                g * (X[:, j, None] - X[None, :, j]) ** 2 / ell[j] ** 2 for j in range(X.shape[1])
            ]
        else:
            grads = [g * sq]
        grads.append(K)  # d K / d log s^2 = K itself
        grads.append(self.noise * np.eye(n))  # d (noise I) / d log noise
        return np.array([0.5 * np.sum(inner * dK) for dK in grads])


def fit_gaussian_process(
    X,
    y,
    *,
    kernel: str = "matern52",
    noise: float | None = 1e-6,
    length_scale_bounds: tuple[float, float] = (1e-2, 1e2),
    signal_variance_bounds: tuple[float, float] = (1e-3, 1e3),
    noise_bounds: tuple[float, float] = (1e-6, 1.0),
    n_starts: int = 5,
    ard: bool = False,
) -> GaussianProcess:
    """A :class:`GaussianProcess` with hyperparameters that maximise the log marginal likelihood.

    Type-II maximum likelihood: one shared length scale (one per input feature with
    ``ard=True``, "automatic relevance determination": an irrelevant feature gets a long one), the
    signal variance and, when ``noise=None``, the noise variance are found by L-BFGS-B on their
    logarithms (with the analytic gradient), started from ``n_starts`` length scales spread evenly
    in log-space over the bounds (the likelihood has several local optima: a short length scale
    that "explains" every point as wiggle, a long one that calls it noise), keeping the best.
    Deterministic: no random starts.
    """
    from scipy.optimize import minimize

    X = _as_2d(X, "X")
    y = np.asarray(y, dtype=float).reshape(-1)
    if n_starts < 1:
        raise ValueError(f"n_starts must be at least 1, got {n_starts!r}")
    fit_noise = noise is None
    n_ell = X.shape[1] if ard else 1
    bounds = [tuple(np.log(length_scale_bounds))] * n_ell + [tuple(np.log(signal_variance_bounds))]
    if fit_noise:
        bounds.append(tuple(np.log(noise_bounds)))

    def build(theta: np.ndarray) -> GaussianProcess:
        ell = np.exp(theta[:n_ell])
        return GaussianProcess(
            kernel=kernel,
            length_scale=ell if ard else float(ell[0]),
            signal_variance=math.exp(theta[n_ell]),
            noise=math.exp(theta[n_ell + 1]) if fit_noise else noise,
        )

    def negative_lml(theta: np.ndarray) -> tuple[float, np.ndarray]:
        gp = build(theta)
        try:
            gp.fit(X, y)
        except np.linalg.LinAlgError:
            return 1e25, np.zeros_like(
                theta
            )  # a setting that cannot be factorised is a very bad one
        grad = gp.log_marginal_likelihood_gradient(per_feature=ard)
        return -gp.log_marginal_likelihood(), -(grad if fit_noise else grad[:-1])

    var0 = math.log(np.clip(np.mean(y**2), *signal_variance_bounds))
    best = None
    for log_ell in np.linspace(*bounds[0], n_starts + 2)[1:-1]:
        start = [log_ell] * n_ell + [var0] + ([math.log(1e-3)] if fit_noise else [])
        res = minimize(negative_lml, np.array(start), jac=True, method="L-BFGS-B", bounds=bounds)
        if best is None or res.fun < best.fun:
            best = res
    return build(best.x).fit(X, y)
