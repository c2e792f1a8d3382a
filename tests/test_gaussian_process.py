"""nnopt_lib.search: the Gaussian process and expected improvement, by hand and against
scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import multivariate_normal, norm

from nnopt_lib import search
from nnopt_lib.search.gaussian_process import kernel_matrix


def _rbf(a, b, ell, s2):
    return s2 * math.exp(-0.5 * (a - b) ** 2 / ell**2)


# ------------------------------------------------------------------------------ closed forms


def test_kernels_by_hand():
    x = np.array([[0.0], [1.0]])
    K = kernel_matrix(x, x, kernel="rbf", length_scale=2.0, signal_variance=3.0)
    assert K == pytest.approx(np.array([[3.0, 3 * math.exp(-1 / 8)], [3 * math.exp(-1 / 8), 3.0]]))
    r = math.sqrt(5) / 2  # sqrt(5) * distance / length scale
    M = kernel_matrix(x, x, kernel="matern52", length_scale=2.0, signal_variance=3.0)
    assert M[0, 1] == pytest.approx(3 * (1 + r + r**2 / 3) * math.exp(-r))
    # per-dimension length scales divide each coordinate by its own scale
    K3 = kernel_matrix(
        np.array([[0.0, 0.0]]), np.array([[1.0, 2.0]]), kernel="rbf", length_scale=[1.0, 2.0]
    )
    assert K3[0, 0] == pytest.approx(math.exp(-0.5 * (1 + 1)))


def test_posterior_on_one_point_by_hand():
    ell, s2, noise = 0.7, 2.0, 0.1
    gp = search.GaussianProcess(kernel="rbf", length_scale=ell, signal_variance=s2, noise=noise)
    assert gp.fit([[0.3]], [1.5]) is gp
    xs = np.array([0.3, 1.0, 10.0])
    mean, std = gp.predict(xs[:, None], return_std=True)
    k = np.array([_rbf(0.3, x, ell, s2) for x in xs])
    assert mean == pytest.approx(k * 1.5 / (s2 + noise))
    assert std == pytest.approx(np.sqrt(s2 - k**2 / (s2 + noise)))
    assert mean[2] == pytest.approx(0.0, abs=1e-10) and std[2] == pytest.approx(
        math.sqrt(s2)
    )  # far: the prior


def test_posterior_on_two_points_by_hand_interpolates_without_noise():
    X, y = np.array([0.0, 1.0]), np.array([1.0, -1.0])
    gp = search.GaussianProcess(kernel="rbf", length_scale=1.0, noise=1e-10).fit(X, y)
    c = math.exp(-0.5)
    inv = np.array([[1.0, -c], [-c, 1.0]]) / (1 - c**2)  # inverse of [[1, c], [c, 1]]
    x = 0.5
    k = np.array([_rbf(0.0, x, 1, 1), _rbf(1.0, x, 1, 1)])
    mean, std = gp.predict([[x]], return_std=True)
    assert mean[0] == pytest.approx(k @ inv @ y, abs=1e-8) and mean[0] == pytest.approx(
        0.0, abs=1e-8
    )
    assert std[0] == pytest.approx(math.sqrt(1 - k @ inv @ k), rel=1e-6)
    # through the data: mean equals y, std is (almost) 0
    mean, std = gp.predict(X, return_std=True)
    assert mean == pytest.approx(y, abs=1e-8) and np.all(std < 1e-4)
    assert np.array_equal(gp.predict(X), mean)


@pytest.mark.parametrize("kernel", ["rbf", "matern52"])
def test_log_marginal_likelihood_is_the_gaussian_log_density(kernel):
    rng = np.random.default_rng(0)
    X, y = rng.uniform(-2, 2, (7, 2)), rng.normal(size=7)
    gp = search.GaussianProcess(
        kernel=kernel, length_scale=0.8, signal_variance=1.7, noise=0.05
    ).fit(X, y)
    cov = kernel_matrix(X, X, kernel=kernel, length_scale=0.8, signal_variance=1.7) + 0.05 * np.eye(
        7
    )
    direct = (
        -0.5 * y @ np.linalg.inv(cov) @ y
        - 0.5 * np.linalg.slogdet(cov)[1]
        - 3.5 * math.log(2 * math.pi)
    )
    assert gp.log_marginal_likelihood() == pytest.approx(direct, rel=1e-10)
    assert gp.log_marginal_likelihood() == pytest.approx(
        multivariate_normal(np.zeros(7), cov).logpdf(y)
    )


def test_posterior_samples_have_the_posterior_mean_and_std():
    gp = search.GaussianProcess(kernel="matern52", length_scale=0.5, noise=1e-4).fit(
        [0.0, 1.0], [0.5, -0.5]
    )
    xs = np.linspace(-1, 2, 7)
    draws = gp.sample_posterior(xs, n_samples=4000, rng=np.random.default_rng(0))
    mean, std = gp.predict(xs, return_std=True)
    assert draws.shape == (4000, 7)
    assert draws.mean(axis=0) == pytest.approx(mean, abs=0.05)
    assert draws.std(axis=0) == pytest.approx(std, abs=0.05)


# ------------------------------------------------------------------------- against scikit-learn


def _sklearn_gp(kernel, ell, s2, noise):
    pytest.importorskip("sklearn")
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, Matern

    base = RBF(ell) if kernel == "rbf" else Matern(ell, nu=2.5)
    return GaussianProcessRegressor(
        kernel=ConstantKernel(s2) * base, alpha=noise, optimizer=None, normalize_y=False
    )


@pytest.mark.parametrize("kernel", ["rbf", "matern52"])
@pytest.mark.parametrize("dims", [1, 3])
@pytest.mark.parametrize(
    ("ell", "s2", "noise"), [(0.3, 1.0, 1e-6), (1.0, 2.5, 1e-2), (3.0, 0.5, 0.3)]
)
def test_equals_scikit_learn(kernel, dims, ell, s2, noise):
    rng = np.random.default_rng(dims)
    X = rng.uniform(0, 1, (12, dims))
    y = np.sin(3 * X).sum(axis=1) + 0.1 * rng.normal(size=12)
    Xs = rng.uniform(-0.2, 1.2, (40, dims))
    ours = search.GaussianProcess(
        kernel=kernel, length_scale=ell, signal_variance=s2, noise=noise
    ).fit(X, y)
    theirs = _sklearn_gp(kernel, ell, s2, noise).fit(X, y)
    mean, std = ours.predict(Xs, return_std=True)
    ref_mean, ref_std = theirs.predict(Xs, return_std=True)
    assert mean == pytest.approx(ref_mean, rel=1e-6, abs=1e-8)
    assert std == pytest.approx(ref_std, rel=1e-5, abs=1e-6)
    assert ours.log_marginal_likelihood() == pytest.approx(
        theirs.log_marginal_likelihood_value_, rel=1e-8
    )


def test_per_dimension_length_scales_equal_scikit_learn():
    rng = np.random.default_rng(5)
    X, y = rng.uniform(0, 1, (10, 3)), rng.normal(size=10)
    Xs = rng.uniform(0, 1, (20, 3))
    ell = [0.2, 1.0, 5.0]
    ours = search.GaussianProcess(kernel="matern52", length_scale=ell, noise=1e-3).fit(X, y)
    theirs = _sklearn_gp("matern52", np.array(ell), 1.0, 1e-3).fit(X, y)
    for a, b in zip(
        ours.predict(Xs, return_std=True), theirs.predict(Xs, return_std=True), strict=True
    ):
        assert a == pytest.approx(b, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("kernel", ["rbf", "matern52"])
def test_fitted_hyperparameters_are_at_least_as_likely_as_scikit_learns(kernel):
    pytest.importorskip("sklearn")
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, Matern

    rng = np.random.default_rng(3)
    X = rng.uniform(0, 1, (15, 2))
    y = np.sin(4 * X[:, 0]) + X[:, 1] ** 2 + 0.05 * rng.normal(size=15)
    ours = search.fit_gaussian_process(X, y, kernel=kernel, noise=1e-4)
    base = RBF(1.0, (1e-2, 1e2)) if kernel == "rbf" else Matern(1.0, (1e-2, 1e2), nu=2.5)
    theirs = GaussianProcessRegressor(
        kernel=ConstantKernel(1.0, (1e-3, 1e3)) * base,
        alpha=1e-4,
        n_restarts_optimizer=5,
        random_state=0,
    ).fit(X, y)
    assert ours.log_marginal_likelihood() >= theirs.log_marginal_likelihood_value_ - 1e-4
    # and it is a (local) maximum: nudging either hyperparameter lowers the likelihood
    for factor in (0.9, 1.1):
        for name in ("length_scale", "signal_variance"):
            params = {"length_scale": ours.length_scale, "signal_variance": ours.signal_variance}
            params[name] *= factor
            nudged = search.GaussianProcess(kernel=kernel, noise=1e-4, **params).fit(X, y)
            assert nudged.log_marginal_likelihood() <= ours.log_marginal_likelihood() + 1e-8


def test_fitting_the_noise_finds_noisy_data_noisy():
    rng = np.random.default_rng(4)
    X = rng.uniform(0, 1, (40, 1))
    smooth = search.fit_gaussian_process(X, np.sin(3 * X[:, 0]), kernel="rbf", noise=None)
    noisy = search.fit_gaussian_process(
        X, np.sin(3 * X[:, 0]) + 0.3 * rng.normal(size=40), kernel="rbf", noise=None
    )
    assert smooth.noise < 1e-3 and 0.03 < noisy.noise < 0.3  # the true noise variance is 0.09


def test_gaussian_process_errors():
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite.*raise `noise`"):
        search.GaussianProcess(kernel="rbf", length_scale=1.0, noise=0.0).fit(
            [[0.0], [0.0]], [1.0, 2.0]
        )
    with pytest.raises(ValueError, match="kernel must be one of"):
        search.GaussianProcess(kernel="linear", length_scale=1.0)
    with pytest.raises(ValueError, match="length_scale must be positive"):
        search.GaussianProcess(length_scale=0.0)
    with pytest.raises(ValueError, match="noise must be"):
        search.GaussianProcess(length_scale=1.0, noise=-1.0)
    with pytest.raises(RuntimeError, match="call fit"):
        search.GaussianProcess(length_scale=1.0).predict([[0.0]])
    with pytest.raises(ValueError, match="NaN or inf"):
        search.GaussianProcess(length_scale=1.0).fit([[0.0]], [np.nan])
    with pytest.raises(ValueError, match="3 entries but X has 2 features"):
        search.GaussianProcess(length_scale=[1.0, 1.0, 1.0]).fit(np.zeros((2, 2)), [0.0, 1.0])
    # duplicates are fine with the default jitter
    search.GaussianProcess(length_scale=1.0).fit([[0.0], [0.0]], [1.0, 1.0])


# ------------------------------------------------------------------------- expected improvement


def test_expected_improvement_known_values():
    ei = search.expected_improvement
    assert ei(1.0, 1.0, 1.0) == pytest.approx(
        1 / math.sqrt(2 * math.pi)
    )  # mean at the best: sigma phi(0)
    assert ei(0.0, 1.0, 1.0) == pytest.approx(norm.cdf(1) + norm.pdf(1))  # 1.0833
    assert ei(0.0, 1.0, 1.0) == pytest.approx(1.0833154705876864)
    assert ei(2.0, 0.5, 1.0) == pytest.approx(-1 * norm.cdf(-2) + 0.5 * norm.pdf(-2))
    # xi shifts the target: EI(best, xi) = EI(best - xi)
    assert ei(0.3, 0.7, 1.0, xi=0.2) == pytest.approx(ei(0.3, 0.7, 0.8))


def test_expected_improvement_is_the_mean_improvement_of_the_normal():
    rng = np.random.default_rng(0)
    draws = 0.4 + 0.6 * rng.standard_normal(1_000_000)
    assert search.expected_improvement(0.4, 0.6, 0.5) == pytest.approx(
        np.mean(np.maximum(0.5 - draws, 0)), rel=5e-3
    )


def test_expected_improvement_without_uncertainty_and_for_tiny_std():
    ei = search.expected_improvement
    # std = 0 (an evaluated point of a noise-free GP): 0 by convention
    assert np.array_equal(ei(np.array([1.0, 2.0, 0.5]), np.zeros(3), 1.0), [0.0, 0.0, 0.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        tiny = ei(np.array([1.0 - 1e-3, 1.0, 1.0 + 1e-3, 1.0 + 50.0]), np.full(4, 1e-300), 1.0)
    # a tiny std: the limit max(best - mean, 0), no overflow
    assert tiny == pytest.approx([1e-3, 0.0, 0.0, 0.0], rel=1e-12, abs=1e-299)
    far = ei(np.array([40.0]), np.array([1.0]), 0.0)  # z = -40: underflows to 0, never negative
    assert far[0] >= 0.0 and far[0] < 1e-300
    # more uncertainty or a lower mean never lowers EI
    stds = np.linspace(0, 3, 50)
    assert np.all(np.diff(ei(np.full(50, 1.2), stds, 1.0)) >= 0)
    assert np.all(np.diff(ei(np.linspace(-2, 3, 50), np.ones(50), 1.0)) <= 0)
    with pytest.raises(ValueError, match="std must be non-negative"):
        ei(0.0, -1.0, 0.0)


@pytest.mark.parametrize("kernel", ["rbf", "matern52"])
@pytest.mark.parametrize("per_feature", [False, True])
def test_likelihood_gradient_equals_scikit_learn_and_finite_differences(kernel, per_feature):
    pytest.importorskip("sklearn")
    rng = np.random.default_rng(6)
    X, y = rng.uniform(0, 1, (9, 3)), rng.normal(size=9)
    ell = np.array([0.3, 0.8, 2.0]) if per_feature else 0.6
    ours = search.GaussianProcess(
        kernel=kernel, length_scale=ell, signal_variance=1.3, noise=0.02
    ).fit(X, y)
    grad = ours.log_marginal_likelihood_gradient(per_feature=per_feature)
    theirs = _sklearn_gp(kernel, ell, 1.3, 0.02).fit(X, y)
    _, ref = theirs.log_marginal_likelihood(
        theirs.kernel_.theta, eval_gradient=True
    )  # [log s2, log ell...]
    assert grad[:-2] == pytest.approx(ref[1:], rel=1e-6)
    assert grad[-2] == pytest.approx(ref[0], rel=1e-6)
    # the noise entry by central differences in log noise
    h = 1e-5
    lml = [
        search.GaussianProcess(
            kernel=kernel, length_scale=ell, signal_variance=1.3, noise=0.02 * math.exp(d)
        )
        .fit(X, y)
        .log_marginal_likelihood()
        for d in (h, -h)
    ]
    assert grad[-1] == pytest.approx((lml[0] - lml[1]) / (2 * h), rel=1e-5)


def test_per_feature_length_scales_find_the_irrelevant_feature():
    rng = np.random.default_rng(7)
    X = rng.uniform(0, 1, (30, 2))
    y = np.sin(6 * X[:, 0])  # the second feature does not matter
    gp = search.fit_gaussian_process(X, y, kernel="matern52", noise=1e-4, ard=True)
    assert gp.length_scale.shape == (2,)
    assert gp.length_scale[1] > 10 * gp.length_scale[0]
    shared = search.fit_gaussian_process(X, y, kernel="matern52", noise=1e-4)
    assert gp.log_marginal_likelihood() > shared.log_marginal_likelihood()
