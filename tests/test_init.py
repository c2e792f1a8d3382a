"""nnopt_lib.init against the formulas and against torch.nn.init's samples."""

import math
import re

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
