"""nnopt_lib.init against the formulas and against torch.nn.init's samples."""

import math
import re
import typing
import warnings

import numpy as np
import pytest
import torch

from nnopt_lib import init

SHAPE = (500, 800)  # fan_in = 800, fan_out = 500; 400k samples: std error ~0.1%
CONV_SHAPE = (64, 32, 5, 5)  # fan_in = 32*25 = 800, fan_out = 64*25 = 1600


@pytest.mark.parametrize(
    ("nonlinearity", "param", "expected"),
    [
        ("linear", None, 1.0),
        ("conv2d", None, 1.0),
        ("conv_transpose3d", None, 1.0),
        ("sigmoid", None, 1.0),
        ("tanh", None, 5 / 3),
        ("relu", None, math.sqrt(2)),
        ("leaky_relu", None, math.sqrt(2 / (1 + 0.01**2))),
        ("leaky_relu", 0.2, math.sqrt(2 / (1 + 0.04))),
        ("leaky_relu", 0, math.sqrt(2)),
        ("leaky_relu", math.sqrt(5), math.sqrt(1 / 3)),
        ("selu", None, 0.75),
    ],
)
def test_calculate_gain_matches_torch(nonlinearity, param, expected):
    ours = init.calculate_gain(nonlinearity, param)
    assert ours == pytest.approx(expected, rel=1e-15)
    assert ours == torch.nn.init.calculate_gain(nonlinearity, param)


# every nonlinearity torch's calculate_gain lists (its _NonlinearityType), with param variants:
# torch ignores param except for leaky_relu, which takes an int or a float (numpy float64 is a
# float; bool and numpy ints are refused)
TORCH_NONLINEARITIES = typing.get_args(torch.nn.init._NonlinearityType)
PARAMS = [None, 0, 1, 0.2, math.sqrt(5), np.float64(0.3), -0.5, 10]


@pytest.mark.parametrize("nonlinearity", TORCH_NONLINEARITIES)
@pytest.mark.parametrize("param", PARAMS, ids=repr)
def test_calculate_gain_equals_torch_for_every_listed_nonlinearity(nonlinearity, param):
    assert len(TORCH_NONLINEARITIES) == 12  # torch 2.13's list; a new one needs a look here
    theirs = torch.nn.init.calculate_gain(nonlinearity, param)
    ours = init.calculate_gain(nonlinearity, param)
    assert ours == theirs and type(ours) is type(theirs)


@pytest.mark.parametrize("param", [True, "abc", np.int64(1), np.float32(0.2), [0.1]], ids=repr)
def test_calculate_gain_refuses_the_params_torch_refuses(param):
    with pytest.raises(ValueError, match="not a valid number"):
        torch.nn.init.calculate_gain("leaky_relu", param)
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", param)


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (64, 32, 5, 5), (8, 4, 3), (6, 5, 2, 3, 4),
                                   (16, 1, 1, 1), (3, 0), (0, 4, 3, 3)], ids=str)
def test_fans_of_conv_shaped_weights_equal_torchs(shape):
    ours = init._calculate_fan_in_and_fan_out(np.empty(shape))
    theirs = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert ours == theirs
    for mode, fan in zip(("fan_in", "fan_out"), ours, strict=True):
        assert init._calculate_correct_fan(np.empty(shape), mode) == fan


def test_calculate_gain_validation():
    with pytest.raises(ValueError, match="softmax"):
        init.calculate_gain("softmax")
    with pytest.raises(ValueError, match="True"):
        init.calculate_gain("leaky_relu", True)
    with pytest.raises(ValueError, match="abc"):
        init.calculate_gain("leaky_relu", "abc")


def _torch_sample(fn, shape, **kwargs):
    generator = torch.Generator().manual_seed(0)
    return fn(torch.empty(shape, dtype=torch.float64), generator=generator, **kwargs).numpy()


# (our function, torch's, keywords, shape, theoretical std, uniform bound or None)
# fmt: off
CASES = [
    (init.xavier_uniform_, torch.nn.init.xavier_uniform_, {}, SHAPE,
     math.sqrt(2 / 1300), math.sqrt(6 / 1300)),
    (init.xavier_uniform_, torch.nn.init.xavier_uniform_, {"gain": 5 / 3}, CONV_SHAPE,
     5 / 3 * math.sqrt(2 / 2400), 5 / 3 * math.sqrt(6 / 2400)),
    (init.xavier_normal_, torch.nn.init.xavier_normal_, {}, SHAPE,
     math.sqrt(2 / 1300), None),
    (init.kaiming_uniform_, torch.nn.init.kaiming_uniform_, {"nonlinearity": "relu"}, SHAPE,
     math.sqrt(2 / 800), math.sqrt(6 / 800)),
    (init.kaiming_uniform_, torch.nn.init.kaiming_uniform_, {"a": math.sqrt(5)}, SHAPE,
     1 / math.sqrt(3 * 800), 1 / math.sqrt(800)),  # torch's nn.Linear default
    (init.kaiming_normal_, torch.nn.init.kaiming_normal_, {"nonlinearity": "relu"}, SHAPE,
     math.sqrt(2 / 800), None),  # He normal: sqrt(2 / fan_in), NOT sqrt(2 / (in + out))
    (init.kaiming_normal_, torch.nn.init.kaiming_normal_,
     {"mode": "fan_out", "nonlinearity": "relu"}, CONV_SHAPE, math.sqrt(2 / 1600), None),
    (init.kaiming_normal_, torch.nn.init.kaiming_normal_,
     {"a": 0.2, "nonlinearity": "leaky_relu"}, CONV_SHAPE,
     math.sqrt(2 / 1.04) / math.sqrt(800), None),
]
# fmt: on


@pytest.mark.parametrize(("ours", "theirs", "kwargs", "shape", "std", "bound"), CASES)
def test_initialiser_statistics_match_theory_and_torch(ours, theirs, kwargs, shape, std, bound):
    w = np.full(shape, np.nan)
    out = ours(w, rng=np.random.default_rng(0), **kwargs)
    assert out is w  # in place, returned like torch
    torch_w = _torch_sample(theirs, shape, **kwargs)
    for sample in (w, torch_w):
        assert abs(sample.std() - std) < 0.01 * std
        assert abs(sample.mean()) < 0.01 * std
    if bound is not None:
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.999 * bound  # the whole interval is used
        # a uniform variable has no tails: about 1/3 of the mass beyond 2/3 of the bound
        assert abs(np.mean(np.abs(w) > 2 / 3 * bound) - 1 / 3) < 0.01
    else:
        # normal: about 4.55% of the mass beyond two standard deviations
        assert abs(np.mean(np.abs(w) > 2 * std) - 0.0455) < 0.003


def test_he_is_not_the_seed_texts_formula():
    # The seed texts give sqrt(2 / (n_in + n_out)); for an 800 -> 500 layer that std is 22%
    # too small.
    w = init.kaiming_normal_(np.empty(SHAPE), nonlinearity="relu", rng=np.random.default_rng(1))
    assert abs(w.std() - math.sqrt(2 / 800)) < 0.01 * math.sqrt(2 / 800)
    assert w.std() > 1.2 * math.sqrt(2 / 1300)


def test_deterministic_by_rng_and_zeros():
    a = init.xavier_normal_(np.empty((3, 4)), rng=np.random.default_rng(5))
    b = init.xavier_normal_(np.empty((3, 4)), rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    z = init.zeros_(a)
    assert z is a and not a.any()


def test_validation_like_torch():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="fan_avg"):
        init.kaiming_normal_(np.empty((3, 4)), mode="fan_avg", rng=rng)
    with pytest.raises(ValueError, match="swish"):
        init.kaiming_uniform_(np.empty((3, 4)), nonlinearity="swish", rng=rng)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(np.empty(5), rng=rng)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        torch.nn.init.xavier_uniform_(torch.empty(5))


RANDOM_INITIALISERS = [
    (init.xavier_uniform_, torch.nn.init.xavier_uniform_),
    (init.xavier_normal_, torch.nn.init.xavier_normal_),
    (init.kaiming_uniform_, torch.nn.init.kaiming_uniform_),
    (init.kaiming_normal_, torch.nn.init.kaiming_normal_),
]


@pytest.mark.parametrize(("ours", "theirs"), RANDOM_INITIALISERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_integer_arrays_are_refused_like_torch(ours, theirs, dtype):
    # numpy would round every weight to 0 (or True) without a word; torch refuses
    array = np.ones((3, 4), dtype=dtype)
    with pytest.raises(NotImplementedError, match=f"dtype {np.dtype(dtype)}"):
        ours(array, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(array, np.ones((3, 4), dtype=dtype))  # untouched
    with pytest.raises(NotImplementedError):
        theirs(torch.ones((3, 4), dtype=torch.int64 if dtype != np.bool_ else torch.bool))


@pytest.mark.parametrize(("ours", "theirs"), RANDOM_INITIALISERS, ids=lambda f: f.__name__)
def test_low_precision_arrays_keep_their_dtype(ours, theirs):
    for dtype in (np.float32, np.float16):
        w = ours(np.zeros((30, 40), dtype=dtype), rng=np.random.default_rng(0))
        assert w.dtype == dtype and np.all(np.isfinite(w)) and w.std() > 0


def test_bad_arguments():
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        init.xavier_uniform_(np.empty((3, 4)), rng=0)
    with pytest.raises(TypeError, match="numpy array"):
        init.kaiming_normal_([[1.0, 2.0]], rng=np.random.default_rng(0))
    # zeros_ fills any dtype, as torch's does
    np.testing.assert_array_equal(init.zeros_(np.ones((2, 2), dtype=np.int64)), 0)


@pytest.mark.parametrize("fn", [init.kaiming_uniform_, init.kaiming_normal_])
def test_zero_element_arrays_warn_like_torch(fn):
    with pytest.warns(UserWarning, match="zero-element"):
        assert fn(np.empty((3, 0)), rng=np.random.default_rng(0)).shape == (3, 0)
    torch_fn = getattr(torch.nn.init, fn.__name__)
    with pytest.warns(UserWarning, match="zero-element"):
        torch_fn(torch.empty((3, 0)))
    # xavier's fan_in + fan_out is still positive: it fills nothing, without a warning
    assert init.xavier_normal_(np.empty((3, 0)), rng=np.random.default_rng(0)).shape == (3, 0)


@pytest.mark.parametrize(
    ("name", "keyword", "value"),
    [
        ("xavier_uniform_", "gain", math.nan),
        ("xavier_uniform_", "gain", math.inf),
        ("xavier_uniform_", "gain", -1.0),
        ("xavier_uniform_", "gain", 1e308),  # finite bound, but 2 * bound overflows
        ("xavier_normal_", "gain", math.nan),
        ("xavier_normal_", "gain", -1.0),
        ("kaiming_uniform_", "a", math.nan),
        ("kaiming_normal_", "a", math.nan),
    ],
)
def test_bad_gain_or_slope_raises_runtime_error_like_torch(name, keyword, value):
    # numpy filled NaN silently (normal) or raised OverflowError / "high - low < 0" (uniform)
    array = np.zeros((3, 2))
    expected = re.escape(f"{name}: {keyword}={value}") + rf".*\b{keyword}\b.* must be"
    with pytest.raises(RuntimeError, match=expected):
        getattr(init, name)(array, rng=np.random.default_rng(0), **{keyword: value})
    np.testing.assert_array_equal(array, 0.0)  # untouched
    with pytest.raises(RuntimeError):
        getattr(torch.nn.init, name)(torch.zeros((3, 2), dtype=torch.float64), **{keyword: value})


def test_edge_gains_that_torch_accepts_still_work():
    rng = np.random.default_rng(0)
    assert not init.xavier_uniform_(np.ones((3, 2)), gain=0.0, rng=rng).any()
    # an infinite standard deviation is accepted by torch (it fills +-inf); so here
    assert np.all(np.isinf(init.xavier_normal_(np.zeros((3, 2)), gain=math.inf, rng=rng)))
    # a = inf makes the leaky-ReLU gain 0: zeros, as in torch
    assert not init.kaiming_uniform_(np.ones((3, 2)), a=math.inf, rng=rng).any()


# --------------------------------------------------------------------------- orthogonal_


ORTHOGONAL_SHAPES = [(6, 6), (8, 5), (5, 8), (8, 3, 2, 2), (3, 4, 5), (1, 7), (7, 1)]


@pytest.mark.parametrize("gain", [1.0, 2.5, init.calculate_gain("relu")], ids=repr)
@pytest.mark.parametrize("shape", ORTHOGONAL_SHAPES, ids=str)
def test_orthogonal_rows_or_columns_are_orthonormal_times_gain(shape, gain):
    w = np.full(shape, np.nan)
    assert init.orthogonal_(w, gain, rng=np.random.default_rng(0)) is w
    matrix = w.reshape(shape[0], -1)  # torch's view: rows = shape[0], the rest flattened
    rows, cols = matrix.shape
    gram = matrix @ matrix.T if rows < cols else matrix.T @ matrix
    np.testing.assert_allclose(gram, gain**2 * np.eye(min(rows, cols)), atol=1e-12)
    # torch's matrix has the same property (its own draw)
    theirs = torch.nn.init.orthogonal_(torch.empty(shape, dtype=torch.float64), gain)
    theirs = theirs.reshape(shape[0], -1).numpy()
    their_gram = theirs @ theirs.T if rows < cols else theirs.T @ theirs
    np.testing.assert_allclose(their_gram, gain**2 * np.eye(min(rows, cols)), atol=1e-12)
    # every singular value is the gain: the property that keeps a deep linear net's signal
    np.testing.assert_allclose(np.linalg.svd(matrix, compute_uv=False), abs(gain), rtol=1e-12)


def _orthogonal_samples(fill, draws):
    """``draws`` 3 x 3 matrices from ``fill(array)``, stacked."""
    out = np.empty((draws, 3, 3))
    for k in range(draws):
        out[k] = fill(k)
    return out


def test_orthogonal_is_haar_distributed_like_torchs():
    # Each column of a uniformly (Haar) distributed 3 x 3 orthogonal matrix is uniform on the
    # sphere, so each entry is uniform on [-1, 1] (Archimedes). Without the sign fix, QR's
    # convention makes the diagonal entries all negative instead.
    rng = np.random.default_rng(1)
    ours = _orthogonal_samples(lambda k: init.orthogonal_(np.empty((3, 3)), rng=rng), 4000)
    generator = torch.Generator().manual_seed(1)
    theirs = _orthogonal_samples(lambda k: torch.nn.init.orthogonal_(  # torch's are slower
        torch.empty((3, 3), dtype=torch.float64), generator=generator).numpy(), 1000)
    levels = np.array([0.1, 0.25, 0.5, 0.75, 0.9])
    exact = 2 * levels - 1  # quantiles of U(-1, 1)
    for sample in (ours, theirs):
        # a quantile's standard error is at most 1 / sqrt(draws): allow four of them
        tolerance = 4 / math.sqrt(len(sample))
        for i, j in ((0, 0), (1, 1), (2, 0), (0, 2)):
            np.testing.assert_allclose(np.quantile(sample[:, i, j], levels), exact,
                                       atol=tolerance)
        assert abs(sample.mean()) < tolerance / 3  # the 9 entries of each draw are dependent
    np.testing.assert_allclose(np.quantile(ours[:, 0, 0], levels),
                               np.quantile(theirs[:, 0, 0], levels), atol=0.16)


def test_orthogonal_validation_and_dtypes_like_torch():
    rng = np.random.default_rng(2)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(np.empty(5), rng=rng)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        torch.nn.init.orthogonal_(torch.empty(5))
    with pytest.raises(NotImplementedError, match="int64"):
        init.orthogonal_(np.ones((3, 3), dtype=np.int64), rng=rng)
    with pytest.raises(NotImplementedError):
        torch.nn.init.orthogonal_(torch.ones((3, 3), dtype=torch.int64))
    empty = np.empty((0, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a silent no-op, as in torch
        assert init.orthogonal_(empty, rng=rng) is empty
    for bad in (math.nan, math.inf):
        with pytest.raises(RuntimeError, match=f"gain={bad}"):
            init.orthogonal_(np.zeros((3, 3)), gain=bad, rng=rng)
    with pytest.raises(TypeError, match="gain"):
        init.orthogonal_(np.zeros((3, 3)), gain="2", rng=rng)
    with pytest.raises(TypeError, match="rng"):
        init.orthogonal_(np.zeros((3, 3)), rng=0)
    for dtype in (np.float32, np.float16):
        w = init.orthogonal_(np.zeros((6, 4), dtype=dtype), rng=rng)
        assert w.dtype == dtype
        np.testing.assert_allclose(w.T.astype(np.float64) @ w, np.eye(4),
                                   atol=1e-6 if dtype == np.float32 else 3e-3)
    a = init.orthogonal_(np.empty((4, 4)), gain=-1, rng=np.random.default_rng(5))
    b = init.orthogonal_(np.empty((4, 4)), rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a, -b)  # reproducible; a negative gain is accepted


# --------------------------------------------------------------------------- trunc_normal_


def _phi(z):
    return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def _cdf(z):
    return 0.5 * math.erfc(-z / math.sqrt(2))


def _truncated_moments(mean, std, a, b):
    """The exact mean and standard deviation of N(mean, std^2) truncated to [a, b]."""
    alpha, beta = (a - mean) / std, (b - mean) / std
    mass = _cdf(beta) - _cdf(alpha) if alpha <= 0 else _cdf(-alpha) - _cdf(-beta)
    shift = (_phi(alpha) - _phi(beta)) / mass
    var = 1 + (alpha * _phi(alpha) - (beta * _phi(beta) if math.isfinite(beta) else 0)) / mass
    return mean + std * shift, std * math.sqrt(var - shift**2), mass


def _truncated_cdf(x, mean, std, a, b):
    alpha, beta, z = (a - mean) / std, (b - mean) / std, (x - mean) / std
    if alpha > 0:  # the upper tail, by symmetry, where erfc keeps its digits
        return (_cdf(-alpha) - _cdf(-z)) / (_cdf(-alpha) - _cdf(-beta))
    return (_cdf(z) - _cdf(alpha)) / (_cdf(beta) - _cdf(alpha))


# (mean, std, a, b, torch's sample size): torch's defaults; a small std with the default
# (absolute!) bounds, which cut nothing; a narrow cut (P = 0.38, the normal-rejection branch);
# both bounds above the mean (P = 0.14) and far above it (P = 3e-7), a mean outside [a, b]
# and a tiny interval, which take the uniform-proposal branch. torch proposes uniformly over
# all of [5, 100] and accepts about 1 in 500 (minutes for 200k values): not sampled there.
TRUNC_CASES = [(0.0, 1.0, -2.0, 2.0, 200_000), (0.0, 0.02, -2.0, 2.0, 200_000),
               (0.0, 1.0, -0.5, 0.5, 50_000), (0.0, 1.0, 1.0, 2.0, 50_000),
               (0.0, 1.0, 5.0, 100.0, 0), (3.0, 0.5, -1.0, 1.0, 20_000),
               (1.0, 2.0, 0.0, 0.0 + 1e-3, 50_000)]


@pytest.mark.parametrize(("mean", "std", "a", "b", "n_torch"), TRUNC_CASES, ids=str)
def test_trunc_normal_has_the_exact_truncated_distribution_like_torch(mean, std, a, b,
                                                                      n_torch):
    n = 200_000
    w = np.full((400, n // 400), np.nan)
    assert init.trunc_normal_(w, mean, std, a, b, rng=np.random.default_rng(3)) is w
    samples = [w.ravel()]
    if n_torch:
        generator = torch.Generator().manual_seed(3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns for a mean far from [a, b]
            samples.append(torch.nn.init.trunc_normal_(
                torch.empty(n_torch, dtype=torch.float64), mean, std, a, b,
                generator=generator).numpy())
    exact_mean, exact_std, _ = _truncated_moments(mean, std, a, b)
    for sample in samples:
        size = len(sample)
        assert sample.min() >= a and sample.max() <= b
        # five standard errors of the mean (exact_std / sqrt(size)), and of the std (roughly
        # the same relative size, a little more for a skewed, long-tailed truncation)
        assert abs(sample.mean() - exact_mean) < 5 * exact_std / math.sqrt(size)
        assert abs(sample.std() - exact_std) < 5 * exact_std / math.sqrt(size)
        # the empirical CDF at five sample quantiles (standard error <= 0.5 / sqrt(size))
        for q in np.quantile(sample, [0.1, 0.25, 0.5, 0.75, 0.9]):
            level = np.mean(sample <= q)
            assert abs(_truncated_cdf(q, mean, std, a, b) - level) < 2.5 / math.sqrt(size)


def test_trunc_normal_bounds_are_absolute_not_in_standard_deviations():
    # the usual slip: trunc_normal_(w, std=0.02) keeps [-2, 2], 100 standard deviations
    rng = np.random.default_rng(4)
    loose = init.trunc_normal_(np.empty(100_000), std=0.02, rng=rng)
    theirs = torch.nn.init.trunc_normal_(torch.empty(100_000, dtype=torch.float64), std=0.02)
    for sample in (loose, theirs.numpy()):
        assert np.abs(sample).max() > 3 * 0.02  # nothing was cut at two sigma
        assert abs(sample.std() - 0.02) < 0.0005
    cut = init.trunc_normal_(np.empty(100_000), std=0.02, a=-0.04, b=0.04, rng=rng)
    assert np.abs(cut).max() <= 0.04
    assert abs(cut.std() - _truncated_moments(0, 0.02, -0.04, 0.04)[1]) < 0.0005  # 0.88 std


def test_trunc_normal_validation_like_torch():
    rng = np.random.default_rng(5)
    with pytest.raises(RuntimeError, match="a <= b"):
        init.trunc_normal_(np.empty(3), a=2.0, b=1.0, rng=rng)
    with pytest.raises(RuntimeError):
        torch.nn.init.trunc_normal_(torch.empty(3), a=2.0, b=1.0)
    with pytest.raises(ValueError, match="std must be > 0"):
        init.trunc_normal_(np.empty(3), std=0.0, rng=rng)
    with pytest.raises(ZeroDivisionError):  # torch divides by it
        torch.nn.init.trunc_normal_(torch.empty(3), std=0.0)
    for name in ("mean", "std", "a", "b"):
        with pytest.raises(ValueError, match=f"Invalid {name}: nan"):
            init.trunc_normal_(np.empty(3), rng=rng, **{name: math.nan})
    with pytest.raises(NotImplementedError, match="int64"):
        init.trunc_normal_(np.ones(3, dtype=np.int64), rng=rng)
    with pytest.raises(NotImplementedError):
        torch.nn.init.trunc_normal_(torch.ones(3, dtype=torch.int64))
    np.testing.assert_array_equal(init.trunc_normal_(np.empty(4), a=0.5, b=0.5, rng=rng), 0.5)
    assert init.trunc_normal_(np.empty((0, 3)), rng=rng).shape == (0, 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_trunc_normal_stays_within_the_bounds_after_rounding(dtype):
    # 0.1 and 0.3 are not float16 numbers: rounding a sample near a bound could cross it
    w = init.trunc_normal_(np.empty(50_000, dtype=dtype), mean=0.2, std=1.0, a=0.1, b=0.3,
                           rng=np.random.default_rng(6))
    assert w.dtype == dtype
    assert w.astype(np.float64).min() >= 0.1 and w.astype(np.float64).max() <= 0.3
    assert abs(w.astype(np.float64).mean() - 0.2) < 0.002
