"""nnopt_lib.clip against torch.nn.utils.clip_grad_norm_ / clip_grad_value_ on float64.

The comparisons with torch are ``crosscheck.compare_clip``'s (the matrix's ``CLIP_CASES``,
then random gradients of every rank and scale through the same function); this file adds
exactness, non-finite gradients, validation and in-place semantics.
"""

import math

import numpy as np
import pytest
import torch
from torch.nn.utils import clip_grad_norm_ as torch_clip_norm
from torch.nn.utils import clip_grad_value_ as torch_clip_value

from nnopt_lib import clip, crosscheck


def _torch_params(grads):
    params = []
    for g in grads:
        p = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
        p.grad = torch.tensor(g, dtype=torch.float64)
        params.append(p)
    return params


def _random_grads(rng, allow_empty=True):
    """1-4 float64 arrays of random shapes (0-d included), scale 1e-4..1e4."""
    low = 0 if allow_empty else 1
    shapes = [
        tuple(rng.integers(low, 5, size=rng.integers(0, 3))) for _ in range(rng.integers(1, 5))
    ]
    scale = 10.0 ** rng.uniform(-4, 4)
    return [np.array(scale * rng.normal(size=s)) for s in shapes]


def _assert_close(result, rtol):
    """Each compared value within ``rtol`` of torch's (0: bit for bit): stricter than the
    cross-check's tolerance, which scales with the largest value."""
    result.assert_ok()
    np.testing.assert_allclose(result.ours, result.theirs, rtol=rtol, atol=0)


@pytest.mark.parametrize(("method", "kwargs"), crosscheck.CLIP_CASES,
                         ids=[f"{m}-{i}" for i, (m, _) in enumerate(crosscheck.CLIP_CASES)])
def test_matrix_cases_match_torch(method, kwargs):
    _assert_close(crosscheck.compare_clip(method, **kwargs), rtol=2e-14)


NORM_TYPES = [2.0, 1.0, math.inf, "inf", 3.0, 0.5, 1.5, 0.0, -math.inf]


@pytest.mark.parametrize("norm_type", NORM_TYPES)
def test_clip_grad_norm_matches_torch(norm_type):
    rng = np.random.default_rng(abs(hash(str(norm_type))) % 2**32)
    n_clipped = n_kept = 0
    for _ in range(150):
        # the max / min of an empty array is undefined (tested separately)
        grads = _random_grads(rng, allow_empty=norm_type not in (math.inf, "inf", -math.inf))
        total = clip.clip_grad_norm_([g.copy() for g in grads], np.inf, norm_type=norm_type)
        assert isinstance(total, float)
        # max_norm around the true total norm, so both regimes occur
        max_norm = total * 10.0 ** rng.uniform(-1, 1)
        exact = norm_type in (math.inf, "inf", -math.inf, 0.0)  # no summation: bit-exact
        result = crosscheck.compare_clip("norm", grads=grads, max_norm=max_norm,
                                         norm_type=norm_type)
        _assert_close(result, rtol=0 if exact else 2e-14)
        if max_norm < total:
            n_clipped += 1
        else:
            n_kept += 1
    assert n_clipped > 20 and n_kept > 20


def test_clip_grad_norm_keeps_direction_and_caps_length():
    rng = np.random.default_rng(3)
    grads = [rng.normal(size=(3, 4)) * 10, rng.normal(size=5) * 10]
    before = [g.copy() for g in grads]
    total = clip.clip_grad_norm_(grads, max_norm=1.0)
    np.testing.assert_allclose(total, np.sqrt(sum(np.sum(g**2) for g in before)), rtol=1e-14)
    after = np.sqrt(sum(np.sum(g**2) for g in grads))
    assert after <= 1.0 and after > 1.0 - 1e-5
    for g, b in zip(grads, before, strict=True):
        np.testing.assert_allclose(g, b * (1.0 / (total + 1e-6)), rtol=1e-15)
    # small gradients are multiplied by exactly 1
    small = [np.array([1e-3, -2e-3])]
    copy = small[0].copy()
    clip.clip_grad_norm_(small, max_norm=1.0)
    np.testing.assert_array_equal(small[0], copy)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("norm_type", [2.0, math.inf, 1.0])
def test_clip_grad_norm_nonfinite_like_torch(bad, norm_type):
    grads = [np.array([1.0, bad, -2.0]), np.array([3.0])]
    params = _torch_params(grads)
    expected = torch_clip_norm(params, 1.0, norm_type=norm_type).item()
    with np.errstate(all="raise"):  # must not emit floating-point warnings either
        total = clip.clip_grad_norm_(grads, 1.0, norm_type=norm_type)
    np.testing.assert_array_equal(total, expected)
    for g, p in zip(grads, params, strict=True):
        np.testing.assert_array_equal(g, p.grad.numpy())  # NaN positions agree too

    grads = [np.array([1.0, bad, -2.0])]
    with pytest.raises(RuntimeError, match="non-finite"):
        torch_clip_norm(_torch_params(grads), 1.0, norm_type=norm_type, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="non-finite"):
        clip.clip_grad_norm_(grads, 1.0, norm_type=norm_type, error_if_nonfinite=True)
    assert np.isnan(grads[0][1]) or np.isinf(grads[0][1])  # untouched when it raises


def test_clip_grad_value_matches_torch():
    rng = np.random.default_rng(1)
    for _ in range(100):
        grads = _random_grads(rng)
        clip_value = float(np.max(np.abs(np.concatenate([g.ravel() for g in grads] + [[1.0]]))))
        clip_value *= rng.choice([0.0, 0.1, 0.5, 1.0, 2.0])
        result = crosscheck.compare_clip("value", grads=grads, clip_value=clip_value)
        _assert_close(result, rtol=0)  # clamping is exact
    assert clip.clip_grad_value_([np.ones(2)], 0.5) is None
    # NaN passes through; the bound applies to both signs (unlike min(g, c))
    g = np.array([np.nan, -7.0, 7.0, 0.5])
    clip.clip_grad_value_(g, 1.0)
    np.testing.assert_array_equal(g, [np.nan, -1.0, 1.0, 0.5])


def test_inputs_and_validation_like_torch():
    # single array, None entries skipped, empty list
    g = np.array([3.0, 4.0])
    assert clip.clip_grad_norm_(g, 1.0) == 5.0
    np.testing.assert_allclose(g, np.array([3.0, 4.0]) * (1.0 / (5.0 + 1e-6)), rtol=0)
    assert clip.clip_grad_norm_([None, np.array([0.0, 2.0])], 1.0, norm_type="inf") == 2.0
    assert clip.clip_grad_norm_([], 1.0) == 0.0
    assert torch_clip_norm([], 1.0).item() == 0.0
    # float() conversion errors, as torch
    for kwargs, exc in [
        ({"max_norm": "big"}, ValueError),
        ({"max_norm": None}, TypeError),
        ({"max_norm": 1.0, "norm_type": "fro"}, ValueError),
        ({"max_norm": 1.0, "norm_type": None}, TypeError),
    ]:
        with pytest.raises(exc):
            torch_clip_norm(_torch_params([np.ones(2)]), **kwargs)
        with pytest.raises(exc):
            clip.clip_grad_norm_([np.ones(2)], **kwargs)
    with pytest.raises(ValueError):
        torch_clip_value(_torch_params([np.ones(2)]), "big")
    with pytest.raises(ValueError, match="big"):
        clip.clip_grad_value_([np.ones(2)], "big")
    # max / min of an empty gradient is undefined
    for p in [math.inf, -math.inf, -1.0]:
        with pytest.raises(RuntimeError):
            torch_clip_norm(_torch_params([np.ones(0)]), 1.0, norm_type=p)
        with pytest.raises(RuntimeError, match="empty"):
            clip.clip_grad_norm_([np.ones(0)], 1.0, norm_type=p)
    # clipping is in place, so plain lists are refused
    with pytest.raises(TypeError, match="list"):
        clip.clip_grad_norm_([[3.0, 4.0]], 1.0)


# --------------------------------------------------------------------------- bad input


def _torch_param_with_grad(grad):
    """A stand-in parameter whose ``.grad`` may have any dtype (a real torch parameter
    refuses an integer gradient at assignment)."""
    return type("Param", (), {"grad": grad})()


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
@pytest.mark.parametrize("function", ["clip_grad_norm_", "clip_grad_value_"])
def test_integer_gradients_raise_runtime_error_like_torch(function, dtype):
    grad = np.array([3, 4], dtype=dtype)
    with pytest.raises(RuntimeError):
        getattr(torch.nn.utils, function)([_torch_param_with_grad(torch.from_numpy(grad))], 1.0)
    ok = np.array([30.0, 40.0])
    with pytest.raises(RuntimeError, match=f"gradient 1 has dtype {np.dtype(dtype)}"):
        getattr(clip, function)([ok, grad], 1.0)
    # checked before anything is clipped: the float gradient is untouched
    np.testing.assert_array_equal(ok, [30.0, 40.0])
    np.testing.assert_array_equal(grad, np.array([3, 4], dtype=dtype))


def test_complex_gradients_clip_by_norm_like_torch():
    grad = np.array([3 + 4j, 1j, -2.0])
    param = torch.zeros(3, dtype=torch.complex128, requires_grad=True)
    param.grad = torch.from_numpy(grad.copy())
    expected = torch_clip_norm([param], 1.0).item()
    assert clip.clip_grad_norm_([grad], 1.0) == pytest.approx(expected, rel=1e-15)
    np.testing.assert_allclose(grad, param.grad.numpy(), rtol=1e-15)
    with pytest.raises(RuntimeError, match="complex128"):
        clip.clip_grad_value_([grad], 1.0)  # clamping has no meaning for complex numbers


@pytest.mark.parametrize(
    ("function", "kwargs", "message"),
    [
        ("clip_grad_norm_", {"max_norm": math.nan}, "max_norm: nan"),
        ("clip_grad_norm_", {"max_norm": -1.0}, "max_norm: -1.0"),
        ("clip_grad_norm_", {"max_norm": 1.0, "norm_type": math.nan}, "norm_type: nan"),
        ("clip_grad_norm_", {"max_norm": 1.0, "norm_type": "nan"}, "norm_type: 'nan'"),
        ("clip_grad_value_", {"clip_value": math.nan}, "clip_value: nan"),
        ("clip_grad_value_", {"clip_value": -0.5}, "clip_value: -0.5"),
    ],
)
def test_nan_and_negative_bounds_raise_where_torch_returns_garbage(function, kwargs, message):
    # torch accepts these and returns NaN gradients, or ones whose signs were flipped
    param = _torch_params([np.array([3.0, -4.0])])[0]
    getattr(torch.nn.utils, function)([param], *kwargs.values())
    garbage = param.grad.numpy()
    assert np.any(np.isnan(garbage) | (np.sign(garbage) != [1.0, -1.0]))
    grad = np.array([3.0, -4.0])
    with pytest.raises(ValueError, match=message):
        getattr(clip, function)([grad], **kwargs)
    np.testing.assert_array_equal(grad, [3.0, -4.0])


def test_infinite_and_zero_bounds_are_accepted_like_torch():
    for value in (math.inf, 0.0):
        params = _torch_params([np.array([3.0, -4.0])])
        torch_clip_norm(params, value)
        grad = np.array([3.0, -4.0])
        clip.clip_grad_norm_([grad], value)
        np.testing.assert_array_equal(grad, params[0].grad.numpy())
        params = _torch_params([np.array([3.0, -4.0])])
        torch_clip_value(params, value)
        grad = np.array([3.0, -4.0])
        clip.clip_grad_value_([grad], value)
        np.testing.assert_array_equal(grad, params[0].grad.numpy())


@pytest.mark.parametrize("function", ["clip_grad_norm_", "clip_grad_value_"])
def test_read_only_gradient_is_refused_before_anything_changes(function):
    first = np.array([30.0, 40.0])
    frozen = np.array([3.0, 4.0])
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="gradient 1 is read-only"):
        getattr(clip, function)([first, frozen], 1.0)
    np.testing.assert_array_equal(first, [30.0, 40.0])


@pytest.mark.parametrize("grads", [None, 3.0, [np.float64(3.0)], [torch.ones(2)]])
def test_non_array_gradients_raise_type_error(grads):
    with pytest.raises(TypeError):
        clip.clip_grad_norm_(grads, 1.0)
    with pytest.raises(TypeError):
        clip.clip_grad_value_(grads, 1.0)
