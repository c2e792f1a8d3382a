"""nnopt_lib.nn: every hand-written backward pass against torch.autograd (float64), state
dicts with torch's keys in both directions, dtypes, the mlp builder, and bad input.

The comparisons with torch are ``crosscheck.compare_layer``'s (every layer case of the
cross-check matrix, then given inputs and built models through the same function) and
``crosscheck.compare_module_state``'s; this file adds structure, edge cases, validation and
low precision.
"""

import copy
import math
import pickle
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nnopt_lib import crosscheck, nn, optim

TOL = 1e-10
LOSS_NAMES = {cls.__name__ for cls in crosscheck.LOSS_TWINS}
LAYER_CASES = [case for case in crosscheck.LAYER_CASES if case[0] not in LOSS_NAMES]


def _t(a):
    return torch.tensor(a, dtype=torch.float64)


def compare(layer, x, mode="train"):
    """``crosscheck.compare_layer`` on a built layer and a given input, to ~1e-12."""
    result = crosscheck.compare_layer(layer, input=x, mode=mode).assert_ok()
    assert result.max_abs_diff <= result.tolerance / 100, result  # float64: ~1e-15
    return result


@pytest.mark.parametrize(("name", "options", "mode"), LAYER_CASES,
                         ids=[f"{n}-{o}-{m}" for n, o, m in LAYER_CASES])
def test_every_layer_case_matches_torch(name, options, mode):
    result = crosscheck.compare_layer_case(name, options, mode).assert_ok()
    assert result.max_abs_diff <= result.tolerance / 100


@pytest.mark.parametrize("bias", [True, False])
def test_linear_parameters(bias):
    layer = nn.Linear(5, 3, bias=bias, rng=np.random.default_rng(0))
    assert len(layer.parameters()) == len(layer.gradients()) == (2 if bias else 1)
    assert layer.weight.shape == (3, 5)


def test_linear_default_init_is_torchs():
    # kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(in), 1/sqrt(in)), bias the same bound
    fan_in = 400
    layer = nn.Linear(fan_in, 500, rng=np.random.default_rng(0))
    bound = 1 / np.sqrt(fan_in)
    torch.manual_seed(0)
    torch_weight = torch.nn.Linear(fan_in, 500).weight.detach().numpy()
    assert np.abs(layer.weight).max() <= bound
    assert np.abs(layer.bias).max() <= bound
    assert abs(layer.weight.std() - bound / np.sqrt(3)) < 0.01 * bound / np.sqrt(3)
    assert abs(layer.weight.std() - torch_weight.std()) < 0.01 * torch_weight.std()
    assert abs(layer.weight.mean()) < 0.01 * bound


def test_linear_rejects_wrong_width():
    layer = nn.Linear(3, 2, rng=np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="4 features"):
        layer(np.zeros((1, 4)))


ACTIVATIONS = [(name, options) for name, options, _ in LAYER_CASES
               if name in ("ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Softplus", "Sigmoid",
                           "Tanh")]


def _activation(name, options):
    return getattr(nn, name)(**options)


@pytest.mark.parametrize(("name", "options"), ACTIVATIONS, ids=lambda v: str(v))
def test_activation_at_its_kink_and_saturated_tails_matches_torch(name, options):
    x = 3 * np.random.default_rng(0).standard_normal((6, 8))
    x[0, :3] = [0.0, -40.0, 40.0]  # the kink and the saturated tails
    layer = _activation(name, options)
    compare(layer, x)
    assert layer.parameters() == [] and layer.gradients() == []


@pytest.mark.parametrize(("name", "options"), ACTIVATIONS, ids=lambda v: str(v))
def test_activation_at_nan_and_infinite_inputs_matches_torch(name, options):
    # torch's ReLU and ELU backward test x <= 0, so a NaN input gets slope 1 (LeakyReLU's
    # tests x > 0: slope negative_slope); a test written x > 0 gave ReLU and ELU slope 0.
    # (A comparison fails on NaN by design, so this one is by hand.)
    layer = _activation(name, options)
    x = np.array([[math.nan, -math.inf, math.inf, 0.0, -1.0, 1.0]])
    with np.errstate(all="ignore"):
        out = layer.forward(x)
        grad_in = layer.backward(np.ones_like(x))
    xt = _t(x).requires_grad_(True)
    out_t = crosscheck.torch_twin(layer)(xt)
    out_t.backward(torch.ones_like(out_t))
    # assert_allclose counts NaN as equal to NaN and inf as equal to inf of the same sign
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=TOL, atol=TOL)
    np.testing.assert_allclose(grad_in, xt.grad.numpy(), rtol=TOL, atol=TOL)


@pytest.mark.parametrize(
    ("make", "name"),
    [(lambda v: nn.ELU(alpha=v), "alpha"),
     (lambda v: nn.LeakyReLU(negative_slope=v), "negative_slope"),
     (lambda v: nn.Softplus(beta=v), "beta"), (lambda v: nn.Softplus(threshold=v), "threshold")],
)
def test_activation_parameters_must_be_numbers_like_torch(make, name):
    for bad in ("1.0", None, np.array([0.5, 0.5])):
        with pytest.raises(TypeError, match=f"{name} must be a number"):
            make(bad)
    torch_layer = {"alpha": lambda: torch.nn.ELU(alpha="1.0"),
                   "negative_slope": lambda: torch.nn.LeakyReLU("0.1"),
                   "beta": lambda: torch.nn.Softplus(beta="1.0"),
                   "threshold": lambda: torch.nn.Softplus(threshold="1.0")}[name]
    with pytest.raises(TypeError, match=f"argument '{name}'"):
        torch_layer()(torch.ones(2))
    for good in (1, np.float32(0.5), -1.0):  # numbers of any kind, as torch accepts them
        layer = make(good)
        assert type(getattr(layer, name)) is float and getattr(layer, name) == float(good)


BACKWARD_BEFORE_FORWARD = {
    "Linear": lambda: nn.Linear(3, 2, rng=np.random.default_rng(0)),
    **{cls.__name__: cls for cls in (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU,
                                     nn.Softplus, nn.Sigmoid, nn.Tanh, nn.LogSoftmax)},
    "Dropout": lambda: nn.Dropout(0.5, rng=np.random.default_rng(0)),
    "BatchNorm1d": lambda: nn.BatchNorm1d(2),
    "LayerNorm": lambda: nn.LayerNorm(2),
    "Sequential": lambda: nn.Sequential(nn.Linear(3, 2, rng=np.random.default_rng(0)),
                                        nn.ReLU()),
}


@pytest.mark.parametrize("make", BACKWARD_BEFORE_FORWARD.values(), ids=BACKWARD_BEFORE_FORWARD)
def test_backward_before_forward_is_a_clear_runtime_error(make):
    # it was an AttributeError about a missing cache ('ReLU' object has no attribute ...)
    layer = make()
    name = type(layer).__name__
    with pytest.raises(RuntimeError, match=rf"{name}\.backward\(\) called before forward\(\)"):
        layer.backward(np.ones((4, 2)))
    layer.forward(np.ones((4, 3)) if name in ("Linear", "Sequential") else np.ones((4, 2)))
    assert layer.backward(np.ones((4, 2))).shape[0] == 4  # and works once forward has run


def test_a_custom_module_gets_the_forward_check_too():
    class Double(nn.Module):
        """A learner's own layer: y = 2 x."""

        def forward(self, x):
            return 2 * x

        def backward(self, grad_out):
            return 2 * grad_out

    with pytest.raises(RuntimeError, match="Double.backward"):
        Double().backward(np.ones(2))
    layer = Double()
    layer(np.ones(2))
    np.testing.assert_array_equal(layer.backward(np.ones(2)), [2.0, 2.0])
    assert Double.forward.__doc__ is None and Double.backward.__name__ == "backward"
    # a copy made after a forward pass can go on with backward
    assert copy.deepcopy(layer).backward(np.ones(2)).tolist() == [2.0, 2.0]


def test_sigmoid_and_elu_do_not_overflow():
    x = np.array([[-1000.0, 0.0, 1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.allclose(nn.Sigmoid()(x), [[0.0, 0.5, 1.0]])
        assert np.allclose(nn.ELU()(x), [[-1.0, 0.0, 1000.0]])


def _numeric_input_grad(f, x, grad_out, h=1e-6):
    """Central differences of sum(f(x) * grad_out) with respect to every entry of x."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        grad[i] = np.sum((f(xp) - f(xm)) * grad_out) / (2 * h)
    return grad


CENTRAL_DIFFERENCE_LAYERS = {
    "GELU": lambda: nn.GELU(),
    "GELU(tanh)": lambda: nn.GELU(approximate="tanh"),
    "ELU": lambda: nn.ELU(),
    "SiLU": lambda: nn.SiLU(),
    "Softplus": lambda: nn.Softplus(),
    "Softplus(beta=3, threshold=2)": lambda: nn.Softplus(beta=3.0, threshold=2.0),
    "BatchNorm1d": lambda: nn.BatchNorm1d(4),
    "BatchNorm1d(affine=False)": lambda: nn.BatchNorm1d(4, affine=False),
    "BatchNorm1d(untracked, eval)": lambda: nn.BatchNorm1d(4, track_running_stats=False).eval(),
    "LayerNorm": lambda: nn.LayerNorm(4),
    "LayerNorm(bias=False)": lambda: nn.LayerNorm(4, bias=False),
    "LayerNorm(no affine)": lambda: nn.LayerNorm(4, elementwise_affine=False),
}


@pytest.mark.parametrize("make", CENTRAL_DIFFERENCE_LAYERS.values(),
                         ids=CENTRAL_DIFFERENCE_LAYERS)
def test_backward_matches_central_differences(make):
    # the torch-free check of every hand-written backward pass: the derivative itself
    rng = np.random.default_rng(2)
    layer = make()
    for array in layer.parameters():  # non-trivial weights, the same in the copy below
        array[...] = rng.standard_normal(array.shape)
    x = rng.standard_normal((5, 4))
    grad_out = rng.standard_normal((5, 4))
    layer.forward(x)
    analytic = layer.backward(grad_out)
    numeric = _numeric_input_grad(lambda z: copy.deepcopy(layer).forward(z), x, grad_out)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("make", [lambda: nn.BatchNorm1d(4, bias=False), lambda: nn.LayerNorm(4)],
                         ids=["BatchNorm1d", "LayerNorm"])
def test_normalisation_weight_gradient_matches_central_differences(make):
    rng = np.random.default_rng(21)
    layer = make()
    x, grad_out = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    layer.forward(x)
    layer.backward(grad_out)

    def f(w):
        probe = copy.deepcopy(layer)
        probe.weight[...] = w
        return probe.forward(x)

    numeric = _numeric_input_grad(f, layer.weight.copy(), grad_out)
    np.testing.assert_allclose(layer.grad_weight, numeric, rtol=1e-6, atol=1e-7)


def test_linear_weight_gradient_matches_central_differences():
    rng = np.random.default_rng(3)
    layer = nn.Linear(3, 2, rng=rng)
    x = rng.standard_normal((4, 3))
    grad_out = rng.standard_normal((4, 2))
    layer.forward(x)
    layer.backward(grad_out)
    w0 = layer.weight.copy()

    def f(w):
        layer.weight[...] = w
        return layer.forward(x)

    numeric = _numeric_input_grad(f, w0, grad_out)
    np.testing.assert_allclose(layer.grad_weight, numeric, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batchnorm_train_eval_and_running_stats_match_torch(momentum):
    # each comparison starts torch's twin from the nnopt layer's current statistics, so
    # four batches in a row check the running update (a cumulative mean for None) four times
    rng = np.random.default_rng(4)
    bn = nn.BatchNorm1d(3, momentum=momentum)
    bn.weight[...] = rng.uniform(0.5, 2.0, 3)
    bn.bias[...] = rng.standard_normal(3)
    for _ in range(4):
        compare(bn, 2 + 3 * rng.standard_normal((8, 3)))
    assert bn.num_batches_tracked == 4
    running = bn.running_mean.copy()
    compare(bn, rng.standard_normal((5, 3)), mode="eval")
    np.testing.assert_array_equal(bn.running_mean, running)  # eval leaves the stats alone


def test_batchnorm_validation():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="more than 1 value"):
        bn(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="3D"):
        bn(np.zeros((2, 3, 4)))


def test_sequential_matches_torch_and_flattens_parameters():
    rng = np.random.default_rng(5)
    layers = [nn.Linear(4, 6, rng=rng), nn.Tanh(), nn.BatchNorm1d(6), nn.Linear(6, 2, rng=rng)]
    model = nn.Sequential(*layers)
    compare(model, rng.standard_normal((9, 4)))
    assert [p.shape for p in model.parameters()] == [(6, 4), (6,), (6,), (6,), (2, 6), (2,)]
    assert all(p is q for p, q in zip(model.parameters(), layers[0].parameters(), strict=False))
    model.eval()
    assert not any(layer.training for layer in model.layers)
    model.train()
    assert all(layer.training for layer in model.layers)
    assert len(model) == 4 and model[1] is layers[1]


def test_dropout_train_statistics_and_eval_identity():
    p = 0.3
    drop = nn.Dropout(p, rng=np.random.default_rng(6))
    x = np.ones((400, 500))
    y = drop(x)
    kept = y != 0
    assert set(np.unique(y)) == {0.0, 1 / (1 - p)}
    assert abs(kept.mean() - (1 - p)) < 0.005  # 200k Bernoulli draws: sd ~ 0.001
    assert abs(y.mean() - 1.0) < 0.01  # inverted dropout preserves the mean
    g = np.random.default_rng(7).standard_normal(x.shape)
    np.testing.assert_allclose(drop.backward(g), g * kept / (1 - p), rtol=1e-15)
    drop.eval()
    z = np.random.default_rng(8).standard_normal((3, 4))
    assert drop(z) is z
    np.testing.assert_array_equal(drop.backward(g), g)


def test_dropout_edge_cases_and_validation():
    x = np.ones((3, 4))
    assert np.array_equal(nn.Dropout(1.0, rng=np.random.default_rng(0))(x), np.zeros((3, 4)))
    assert np.array_equal(nn.Dropout(0.0, rng=np.random.default_rng(0))(x), x)
    with pytest.raises(ValueError, match="1.5"):
        nn.Dropout(1.5, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="between 0 and 1, but got nan"):
        nn.Dropout(math.nan, rng=np.random.default_rng(0))  # torch raises at forward
    with pytest.raises(RuntimeError, match="between 0 and 1, but got nan"):
        torch.nn.Dropout(math.nan)(torch.ones(3))
    with pytest.raises(TypeError, match="number"):
        nn.Dropout("0.5", rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        nn.Dropout(0.5, rng=0)


def test_dropout_masks_have_the_input_dtype():
    drop = nn.Dropout(0.5, rng=np.random.default_rng(0))
    for dtype in (np.float32, np.float16):
        x = np.ones((4, 5), dtype=dtype)
        y = drop(x)
        assert y.dtype == dtype and drop.backward(x).dtype == dtype
        assert set(np.unique(y)) <= {0.0, 2.0}


# --------------------------------------------------------------------------- Linear, bad input


def test_linear_accepts_any_leading_dimensions_like_torch():
    rng = np.random.default_rng(11)
    layer = nn.Linear(5, 3, rng=rng)
    for shape in [(2, 4, 5), (2, 1, 3, 5), (5,)]:
        compare(layer, rng.standard_normal(shape))
    assert layer.grad_weight.shape == (3, 5) and layer.grad_bias.shape == (3,)
    with pytest.raises(RuntimeError, match="0-D"):
        layer(np.float64(1.0))


def test_linear_requires_a_generator():
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator.*int 0"):
        nn.Linear(3, 2, rng=0)
    with pytest.raises(TypeError, match="rng"):
        nn.Linear(3, 2, rng=np.random.RandomState(0))


def test_zero_width_linear_builds_like_torch():
    with pytest.warns(UserWarning, match="zero-element"):  # torch warns the same
        layer = nn.Linear(0, 3, rng=np.random.default_rng(0))
    with pytest.warns(UserWarning, match="zero-element"):
        torch_layer = torch.nn.Linear(0, 3, dtype=torch.float64)
    assert layer.weight.shape == tuple(torch_layer.weight.shape) == (3, 0)
    np.testing.assert_array_equal(layer.bias, torch_layer.bias.detach().numpy())  # both zero
    y = layer(np.empty((2, 0)))
    np.testing.assert_array_equal(y, np.zeros((2, 3)))
    assert layer.backward(np.ones((2, 3))).shape == (2, 0)
    np.testing.assert_array_equal(layer.grad_bias, [2.0, 2.0, 2.0])
    with pytest.warns(UserWarning, match="zero-element"):
        assert nn.Linear(3, 0, rng=np.random.default_rng(0))(np.ones((2, 3))).shape == (2, 0)


@pytest.mark.parametrize(
    ("size", "error"),
    [(-1, RuntimeError), (2.5, TypeError), (math.nan, TypeError), ("3", TypeError),
     (None, TypeError)],
)
def test_bad_layer_sizes_raise_torchs_exception(size, error):
    with pytest.raises(error):
        torch.nn.Linear(size, 3)
    with pytest.raises(error, match="in_features"):
        nn.Linear(size, 3, rng=np.random.default_rng(0))
    with pytest.raises(error):
        torch.nn.BatchNorm1d(size)
    with pytest.raises(error, match="num_features"):
        nn.BatchNorm1d(size)


def test_numpy_integer_sizes_are_accepted():
    layer = nn.Linear(np.int64(3), np.int32(2), rng=np.random.default_rng(0))
    assert layer.weight.shape == (2, 3) and type(layer.in_features) is int


# --------------------------------------------------------------------------- BatchNorm1d


def test_batchnorm_bad_settings():
    assert nn.BatchNorm1d(0).weight.shape == (0,)  # torch builds it too
    for eps in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="eps"):
            nn.BatchNorm1d(3, eps=eps)
    # torch accepts eps <= 0 here and refuses it with ValueError at the first forward pass
    with pytest.raises(ValueError, match="eps must be positive"):
        torch.nn.BatchNorm1d(3, eps=-1.0)(torch.zeros(4, 3))
    for momentum in (-0.1, 1.5, math.nan, "0.1"):
        with pytest.raises(ValueError, match=r"momentum must be None or a number in \[0, 1\]"):
            nn.BatchNorm1d(3, momentum=momentum)
    assert nn.BatchNorm1d(3, momentum=1).momentum == 1
    bn = nn.BatchNorm1d(3)
    with pytest.raises(RuntimeError, match="should contain 5 elements not 3"):
        bn(np.zeros((4, 5)))
    with pytest.raises(RuntimeError, match="should contain 5 elements not 3"):
        torch.nn.BatchNorm1d(3)(torch.zeros(4, 5))


def test_batchnorm_empty_batch_like_torch():
    bn = nn.BatchNorm1d(3)
    compare(bn, np.zeros((0, 3)))  # output, gradients and buffers (the counter moves)
    assert bn.num_batches_tracked == 1 and not bn.running_mean.any()


# --------------------------------------------------------------------------- LogSoftmax


@pytest.mark.parametrize(("shape", "dim"), [((6, 4), 1), ((6, 4), 0), ((6, 4), -1),
                                            ((2, 3, 4), 1), ((5,), 0), ((0, 4), 1)])
def test_log_softmax_matches_torch(shape, dim):
    rng = np.random.default_rng(12)
    x = 3 * rng.standard_normal(shape)
    if x.size:
        x.flat[0] = 500.0  # a logit whose exp would overflow without the max shift
    compare(nn.LogSoftmax(dim=dim), x)


def test_log_softmax_defaults_and_errors():
    assert nn.LogSoftmax().dim == 1
    with pytest.raises(IndexError, match=r"range of \[-2, 1\], but got 2"):
        nn.LogSoftmax(dim=2)(np.zeros((2, 3)))
    with pytest.raises(IndexError, match=r"range of \[-2, 1\], but got 2"):
        torch.nn.LogSoftmax(dim=2)(torch.zeros((2, 3)))
    with pytest.raises(TypeError, match="dim"):
        nn.LogSoftmax(dim=1.5)
    with pytest.raises(NotImplementedError, match="int64"):
        nn.LogSoftmax()(np.ones((2, 3), dtype=np.int64))
    with pytest.raises(NotImplementedError):
        torch.nn.LogSoftmax(dim=1)(torch.ones((2, 3), dtype=torch.long))
    assert repr(nn.LogSoftmax(dim=0)) == "LogSoftmax(dim=0)"


# --------------------------------------------------------------------------- mlp


def _twin_mlp(*layers):
    """A torch Sequential of ``layers`` in float64."""
    return torch.nn.Sequential(*layers).double()


T = torch.nn
# (mlp arguments, the torch Sequential it must equal: same layers, same order, same keys)
MLP_CASES = [
    (([4, 3],), {}, lambda: _twin_mlp(T.Linear(4, 3))),
    (([4, 6, 5, 3],), {}, lambda: _twin_mlp(T.Linear(4, 6), T.ReLU(), T.Linear(6, 5), T.ReLU(),
                                             T.Linear(5, 3))),
    (([4, 6, 3], "tanh"), {"batch_norm": True, "dropout": 0.3},
     lambda: _twin_mlp(T.Linear(4, 6), T.BatchNorm1d(6), T.Tanh(), T.Dropout(0.3),
                       T.Linear(6, 3))),
    (([4, 6, 5, 3], nn.GELU), {"batch_norm": True, "bias": False},
     lambda: _twin_mlp(T.Linear(4, 6, bias=False), T.BatchNorm1d(6), T.GELU(),
                       T.Linear(6, 5, bias=False), T.BatchNorm1d(5), T.GELU(),
                       T.Linear(5, 3, bias=False))),
    (([4, 6, 3], lambda: nn.LeakyReLU(0.2)), {"dropout": 0.5},
     lambda: _twin_mlp(T.Linear(4, 6), T.LeakyReLU(0.2), T.Dropout(0.5), T.Linear(6, 3))),
    (([4, 6, 3], None), {}, lambda: _twin_mlp(T.Linear(4, 6), T.Linear(6, 3))),
    (([4, 6, 5, 3], "silu"), {"batch_norm": True},
     lambda: _twin_mlp(T.Linear(4, 6), T.BatchNorm1d(6), T.SiLU(), T.Linear(6, 5),
                       T.BatchNorm1d(5), T.SiLU(), T.Linear(5, 3))),
    (([4, 6, 3], "softplus"), {}, lambda: _twin_mlp(T.Linear(4, 6), T.Softplus(), T.Linear(6, 3))),
    (([4, 6, 3], lambda: nn.GELU(approximate="tanh")), {},
     lambda: _twin_mlp(T.Linear(4, 6), T.GELU(approximate="tanh"), T.Linear(6, 3))),
]


@pytest.mark.parametrize(("args", "options", "make_twin"), MLP_CASES,
                         ids=[f"case{i}" for i in range(len(MLP_CASES))])
def test_mlp_equals_the_torch_sequential_in_keys_outputs_and_gradients(args, options,
                                                                          make_twin):
    model = nn.mlp(*args, rng=np.random.default_rng(13), **options)
    twin = make_twin()
    assert [type(m).__name__ for m in model] == [type(m).__name__ for m in twin]
    assert list(model.state_dict()) == list(twin.state_dict())
    assert [k for k, _ in model.named_parameters()] == [k for k, _ in twin.named_parameters()]
    assert [k for k, _ in model.named_buffers()] == [k for k, _ in twin.named_buffers()]
    assert str(crosscheck.torch_twin(model)) == str(twin)  # the same settings, layer by layer
    x = np.random.default_rng(14).standard_normal((7, 4))
    for mode in ("eval", "train"):  # Dropout differs from torch's masks: compare it in eval
        compare(model, x, mode="eval" if options.get("dropout") else mode)


def test_mlp_activation_names_and_shared_rng():
    for name, cls in nn.ACTIVATIONS.items():
        model = nn.mlp([2, 3, 3, 1], name, rng=np.random.default_rng(0))
        assert [type(m) for m in model] == [nn.Linear, cls, nn.Linear, cls, nn.Linear]
        assert model[1] is not model[3]  # one instance per block
    # the same generator, advanced layer by layer: equal to building the layers by hand
    rng = np.random.default_rng(5)
    by_hand = [nn.Linear(2, 3, rng=rng), nn.Linear(3, 1, rng=rng)]
    model = nn.mlp([2, 3, 1], rng=np.random.default_rng(5))
    np.testing.assert_array_equal(model[2].weight, by_hand[1].weight)


def test_mlp_validation():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="at least 2"):
        nn.mlp([3], rng=rng)
    with pytest.raises(ValueError, match=r"sizes must be >= 0, got -1"):
        nn.mlp([3, -1, 2], rng=rng)
    with pytest.raises(TypeError, match="sizes must be integers"):
        nn.mlp([3, 2.0], rng=rng)
    with pytest.raises(TypeError, match="sequence"):
        nn.mlp(3, rng=rng)
    with pytest.raises(ValueError, match=r"dropout must be a probability in \[0, 1\]"):
        nn.mlp([3, 4, 2], rng=rng, dropout=1.5)
    with pytest.raises(ValueError, match="dropout"):
        nn.mlp([3, 4, 2], rng=rng, dropout=math.nan)
    with pytest.raises(ValueError, match="unknown activation 'swish'.*relu, tanh"):
        nn.mlp([3, 4, 2], "swish", rng=rng)
    with pytest.raises(TypeError, match="not an instance"):
        nn.mlp([3, 4, 2], nn.Tanh(), rng=rng)
    with pytest.raises(TypeError, match="returned int"):
        nn.mlp([3, 4, 2], lambda: 3, rng=rng)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        nn.mlp([3, 4, 2], rng=0)
    with pytest.raises(RuntimeError, match="floating-point"):
        nn.mlp([3, 4, 2], rng=rng, dtype=np.int64)
    with pytest.warns(UserWarning, match="zero-element"):
        assert nn.mlp(np.array([3, 0, 2]), rng=rng)[0].weight.shape == (0, 3)


# --------------------------------------------------------------------------- state dicts


MODULE_CASES = [case for case in crosscheck.STATE_CASES if case[0] == "module"]


@pytest.mark.parametrize("case", MODULE_CASES, ids=[f"{c[1]}-{c[3]}" for c in MODULE_CASES])
def test_state_dicts_hand_over_between_nnopt_and_torch(case):
    # loaded, the two models agree in eval and training mode, and in the statistics after
    result = crosscheck.compare_state_case(*case).assert_ok()
    assert result.max_abs_diff <= result.tolerance / 100
    ours, theirs = result.final
    assert list(ours.state_dict()) == list(theirs.state_dict())
    if case[3] == "torch_to_nnopt":  # what loading a trained torch model's state reports
        model = crosscheck.MODULE_STATE_CASES[case[1]](np.random.default_rng(9))
        loaded = model.load_state_dict(crosscheck.numpy_state_dict(theirs.state_dict()))
        assert loaded.missing_keys == [] and loaded.unexpected_keys == []
        assert repr(loaded) == "<All keys matched successfully>"
        for layer in model:
            if isinstance(layer, nn.BatchNorm1d) and layer.track_running_stats:
                assert layer.num_batches_tracked == 4  # three steps and the training pass
                assert layer.num_batches_tracked.dtype == np.int64


def test_module_round_trips_cover_the_normalisation_switches():
    # a model with LayerNorm and an untracked BatchNorm1d travels too: parameters, no buffers
    layers = [layer for make in crosscheck.MODULE_STATE_CASES.values()
              for layer in make(np.random.default_rng(0))]
    assert any(isinstance(layer, nn.LayerNorm) for layer in layers)
    assert any(isinstance(layer, nn.BatchNorm1d) and not layer.track_running_stats
               for layer in layers)
    model = crosscheck.MODULE_STATE_CASES["LayerNorm, BatchNorm1d(track_running_stats=False)"](
        np.random.default_rng(0))
    assert "1.weight" in model.state_dict() and not list(model.named_buffers())


def test_state_dict_is_a_snapshot_and_loading_is_in_place():
    model = nn.mlp([3, 4, 2], rng=np.random.default_rng(4), batch_norm=True)
    snapshot = model.state_dict()
    assert all(snapshot[k] is not v for k, v in model.named_parameters())
    params = model.parameters()
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    x, labels = np.random.default_rng(5).standard_normal((6, 3)), np.array([0, 1, 0, 1, 1, 0])
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(3):
        loss_fn(model(x), labels)
        model.backward(loss_fn.backward())
        opt.step(model.gradients())
    assert not np.array_equal(model[0].weight, snapshot["0.weight"])  # training moved them
    model.load_state_dict(snapshot)
    assert all(p is q for p, q in zip(model.parameters(), params, strict=True))  # same arrays
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, snapshot[key])
    loss_fn(model(x), labels)
    model.backward(loss_fn.backward())
    before = model[0].weight.copy()
    opt.step(model.gradients())  # the optimizer still updates the model's arrays
    assert not np.array_equal(model[0].weight, before)


def test_load_state_dict_errors_are_torchs_and_leave_the_model_alone():
    model = nn.mlp([3, 4, 2], rng=np.random.default_rng(6), batch_norm=True)
    twin = _twin_mlp(T.Linear(3, 4), T.BatchNorm1d(4), T.ReLU(), T.Linear(4, 2))
    good = model.state_dict()
    bad = dict(good)
    del bad["0.weight"]
    bad["extra"] = np.zeros(1)
    bad["3.bias"] = np.zeros(5)
    with pytest.raises(RuntimeError) as ours:
        model.load_state_dict(bad)
    with pytest.raises(RuntimeError) as theirs:
        twin.load_state_dict({k: torch.from_numpy(v) for k, v in bad.items()})
    our_lines = str(ours.value).split("\n")
    their_lines = str(theirs.value).split("\n")
    assert our_lines[0] == their_lines[0] == "Error(s) in loading state_dict for Sequential:"
    assert our_lines[1:3] == their_lines[1:3]  # the missing and the unexpected keys
    assert our_lines[3] == "\tsize mismatch for 3.bias: copying a param with shape (5,) from " \
        "checkpoint, the shape in current model is (2,)."
    for key, value in model.state_dict().items():  # nothing was copied
        np.testing.assert_array_equal(value, good[key])
    # strict=False: missing and unexpected keys are reported, a size mismatch still raises
    bad["3.bias"] = good["3.bias"]
    result = model.load_state_dict(bad, strict=False)
    assert result == (["0.weight"], ["extra"])
    assert result == twin.load_state_dict({k: torch.from_numpy(v) for k, v in bad.items()},
                                          strict=False)
    with pytest.raises(RuntimeError, match="size mismatch for 1.num_batches_tracked"):
        model.load_state_dict({**good, "1.num_batches_tracked": np.array([1, 2])})
    with pytest.raises(RuntimeError, match='parameter named "0.bias"'):
        model.load_state_dict({**good, "0.bias": None})
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        model.load_state_dict([("0.weight", good["0.weight"])])


def test_state_dict_of_single_layers_and_nested_sequentials():
    rng = np.random.default_rng(7)
    inner = nn.Sequential(nn.Linear(2, 3, rng=rng), nn.BatchNorm1d(3))
    model = nn.Sequential(nn.Linear(3, 2, bias=False, rng=rng), nn.Tanh(), inner)
    twin = T.Sequential(T.Linear(3, 2, bias=False), T.Tanh(),
                        T.Sequential(T.Linear(2, 3), T.BatchNorm1d(3)))
    assert list(model.state_dict()) == list(twin.state_dict())
    assert [k for k, _ in model.named_parameters()] == [k for k, _ in twin.named_parameters()]
    assert list(nn.Linear(2, 2, rng=rng).state_dict()) == ["weight", "bias"]
    assert nn.ReLU().state_dict() == {} and nn.ReLU().parameters() == []
    assert [k for k, _ in model.named_parameters(prefix="net.", recurse=False)] == []
    assert "  (2): Sequential(\n    (0): Linear" in repr(model)


def test_deepcopy_and_pickle_keep_everything():
    model = nn.mlp([3, 5, 2], rng=np.random.default_rng(8), batch_norm=True, dropout=0.5)
    x = np.random.default_rng(9).standard_normal((6, 3))
    model(x)
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        for key, value in model.state_dict().items():
            np.testing.assert_array_equal(clone.state_dict()[key], value)
        assert clone[1].num_batches_tracked == 1
        # same dropout generator state: the next training pass draws the same masks
        np.testing.assert_array_equal(clone(x), copy.deepcopy(model)(x))
        assert clone[0].weight is not model[0].weight
    clone = copy.deepcopy(model)
    clone[0].weight += 1.0
    assert not np.array_equal(clone[0].weight, model[0].weight)


def test_train_mode_must_be_boolean_and_sequential_holds_modules():
    model = nn.mlp([2, 3, 1], rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        model.train("no")
    with pytest.raises(TypeError, match="list is not a Module subclass"):
        nn.Sequential([nn.ReLU()])
    assert list(iter(model)) == model.layers


# --------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize(("dtype", "tol"), [(np.float32, 1e-5), (np.float16, 2e-2)])
def test_low_precision_mlp_end_to_end(dtype, tol):
    # nnopt itself runs in low precision here, so this is by hand (a comparison's reference is
    # a float64 nnopt run)
    model = nn.mlp([4, 8, 3], rng=np.random.default_rng(10), batch_norm=True, dtype=dtype)
    twin = crosscheck.torch_twin(model, dtype=np.dtype(dtype).name)
    assert all(v.dtype == dtype for k, v in model.state_dict().items()
               if not k.endswith("num_batches_tracked"))
    x = np.random.default_rng(11).standard_normal((16, 4)).astype(dtype)
    labels = np.arange(16) % 3
    loss_fn = nn.CrossEntropyLoss()
    loss = loss_fn(model(x), labels)
    grad_in = model.backward(loss_fn.backward())
    assert model(x).dtype == dtype and grad_in.dtype == dtype
    assert all(g.dtype == dtype for g in model.gradients())
    xt = torch.from_numpy(x).requires_grad_(True)
    their_loss = F.cross_entropy(twin(xt), torch.from_numpy(labels))
    their_loss.backward()
    assert abs(loss - their_loss.item()) < tol
    for ours, theirs in zip(model.gradients(), twin.parameters(), strict=True):
        np.testing.assert_allclose(ours.astype(np.float64), theirs.grad.double().numpy(),
                                   rtol=10 * tol, atol=tol)
    # a step of an optimizer keeps the dtype of the parameters
    optim.SGD(model.parameters(), lr=0.1).step(model.gradients())
    assert all(p.dtype == dtype for p in model.parameters())


def test_input_dtype_must_match_the_layer_like_torch():
    layer = nn.Linear(3, 2, rng=np.random.default_rng(0), dtype=np.float32)
    with pytest.raises(RuntimeError, match=r"input dtype float64 differs.*astype\(np.float32\)"):
        layer(np.ones((4, 3)))
    with pytest.raises(RuntimeError, match="same dtype"):
        torch.nn.Linear(3, 2)(torch.ones(4, 3, dtype=torch.float64))
    with pytest.raises(RuntimeError, match="int64"):
        nn.Linear(3, 2, rng=np.random.default_rng(0))(np.ones((4, 3), dtype=np.int64))
    with pytest.raises(RuntimeError, match="dtype"):
        nn.BatchNorm1d(3)(np.ones((4, 3), dtype=np.float32))
    with pytest.raises(RuntimeError, match="floating-point"):
        nn.Linear(3, 2, rng=np.random.default_rng(0), dtype=np.int32)
    with pytest.raises(RuntimeError, match="floating point"):
        torch.nn.Linear(3, 2, dtype=torch.int32)
    # an upstream gradient of another dtype is cast, as torch's autograd does
    layer(np.ones((4, 3), dtype=np.float32))
    assert layer.backward(np.ones((4, 2))).dtype == np.float32
    assert layer.grad_weight.dtype == np.float32


def test_nn_keeps_the_loss_names():
    from nnopt_lib import losses

    assert nn.CrossEntropyLoss is losses.CrossEntropyLoss and nn.MSELoss is losses.MSELoss


# --------------------------------------------------------------------------- GELU, SiLU, Softplus


def test_gelu_approximations_differ_a_little_and_validate_like_torch():
    x = np.linspace(-6, 6, 2001)
    exact, approx = nn.GELU()(x), nn.GELU(approximate="tanh")(x)
    gap = np.abs(exact - approx).max()
    assert 1e-4 < gap < 5e-4  # different functions, but close everywhere
    assert repr(nn.GELU(approximate="tanh")) == repr(torch.nn.GELU(approximate="tanh"))
    assert repr(nn.GELU()) == repr(torch.nn.GELU()) == "GELU(approximate='none')"
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        nn.GELU(approximate="erf")
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        torch.nn.GELU(approximate="erf")(torch.ones(2))


def test_silu_and_softplus_shapes_and_reprs():
    x = np.linspace(-8, 8, 4001)
    silu = nn.SiLU()(x)
    assert abs(silu.min() - (-0.2785)) < 1e-3 and abs(x[silu.argmin()] + 1.2785) < 5e-3
    assert repr(nn.SiLU()) == repr(torch.nn.SiLU()) == "SiLU()"
    soft = nn.Softplus(beta=2.0, threshold=15.0)
    assert repr(soft) == repr(torch.nn.Softplus(beta=2.0, threshold=15.0))
    assert soft(np.zeros(1))[0] == pytest.approx(math.log(2) / 2, rel=1e-15)
    # the slope is sigmoid(beta x): 1/2 at 0; larger beta bends it towards ReLU
    soft(np.zeros(1))
    assert soft.backward(np.ones(1))[0] == 0.5
    assert np.abs(nn.Softplus(beta=50.0)(x) - np.maximum(x, 0)).max() < 0.02


def test_softplus_switches_to_the_identity_above_the_threshold_like_torch():
    # threshold=1, beta=2: beta x > 1 for x > 0.5, where torch returns x itself (a jump of
    # log(1 + exp(-1)) / 2 = 0.16 at the switch); the cross-check matrix covers it too
    x = np.array([0.49, 0.5, 0.51, 3.0, -3.0])
    layer = nn.Softplus(beta=2.0, threshold=1.0)
    y = layer(x)
    np.testing.assert_array_equal(y[2:4], x[2:4])
    assert y[1] == pytest.approx(math.log1p(math.e) / 2, rel=1e-15)  # 0.5 * 2 = 1: not above
    compare(layer, x.reshape(1, -1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow for huge inputs: exp is never taken there
        np.testing.assert_array_equal(nn.Softplus()(np.array([1e300, 800.0])), [1e300, 800.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("make", [nn.SiLU, nn.Softplus, lambda: nn.GELU(approximate="tanh")],
                         ids=["SiLU", "Softplus", "GELU(tanh)"])
def test_new_activations_keep_the_dtype(make, dtype):
    layer = make()
    x = np.linspace(-3, 3, 12, dtype=dtype).reshape(3, 4)
    assert layer(x).dtype == dtype and layer.backward(np.ones_like(x)).dtype == dtype


# --------------------------------------------------------------------------- Dropout's mask


def test_dropout_records_its_keep_mask():
    layer = nn.Dropout(0.3, rng=np.random.default_rng(0))
    x = np.ones((50, 40))
    y = layer(x)
    assert layer.mask.dtype == np.bool_ and layer.mask.shape == x.shape
    np.testing.assert_array_equal(layer.mask, y != 0)
    g = np.random.default_rng(1).standard_normal(x.shape)
    np.testing.assert_array_equal(layer.backward(g), g * layer.mask * (1 / 0.7))
    layer.eval()
    layer(x)
    assert layer.mask is None  # the identity has no mask
    zero = nn.Dropout(0.0, rng=np.random.default_rng(0))
    zero(x)
    assert zero.mask is None
    ones = nn.Dropout(1.0, rng=np.random.default_rng(0))
    assert not ones(x).any() and not ones.mask.any()


def test_dropout_applies_a_given_mask():
    rng = np.random.default_rng(2)
    layer = nn.Dropout(0.25, rng=np.random.default_rng(3))
    state = copy.deepcopy(layer.rng.bit_generator.state)
    x = rng.standard_normal((4, 6))
    keep = rng.random((4, 6)) > 0.25
    y = layer.forward(x, mask=keep)
    np.testing.assert_array_equal(y, np.where(keep, x * (1 / 0.75), 0.0))
    assert layer.rng.bit_generator.state == state  # nothing drawn
    g = rng.standard_normal((4, 6))
    np.testing.assert_array_equal(layer.backward(g), np.where(keep, g * (1 / 0.75), 0.0))
    keep[...] = False  # the layer keeps its own copy
    assert layer.mask.any()
    # replaying the recorded mask reproduces the random pass exactly
    y1 = layer(x)
    np.testing.assert_array_equal(layer.forward(x, mask=layer.mask), y1)
    # p=1 with a mask: zeros, as the random pass gives; p=0 with a mask: the mask, unscaled
    np.testing.assert_array_equal(
        nn.Dropout(1.0, rng=rng).forward(x, mask=np.ones(x.shape, bool)), 0.0)
    np.testing.assert_array_equal(nn.Dropout(0.0, rng=rng).forward(x, mask=keep), 0.0)


def test_dropout_given_torchs_mask_equals_torch():
    # the cross-check in miniature: read torch's mask off its output, hand it to ours
    x = np.random.default_rng(4).uniform(0.5, 2.0, (8, 5))  # no zeros
    torch.manual_seed(0)
    xt = _t(x).requires_grad_(True)
    yt = torch.nn.Dropout(0.4)(xt)
    g = np.random.default_rng(5).standard_normal(x.shape)
    yt.backward(_t(g))
    layer = nn.Dropout(0.4, rng=np.random.default_rng(0))
    y = layer.forward(x, mask=yt.detach().numpy() != 0)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(layer.backward(g), xt.grad.numpy(), rtol=1e-15)
    with pytest.raises(ValueError, match="no zeros"):
        crosscheck.compare_layer(nn.Dropout(0.5, rng=np.random.default_rng(0)),
                                 input=np.zeros((3, 2)))


def test_dropout_mask_validation():
    layer = nn.Dropout(0.5, rng=np.random.default_rng(0))
    x = np.ones((2, 3))
    with pytest.raises(TypeError, match="boolean"):
        layer.forward(x, mask=np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"shape \(3, 2\).*\(2, 3\)"):
        layer.forward(x, mask=np.ones((3, 2), bool))
    layer.eval()
    with pytest.raises(ValueError, match="evaluation mode"):
        layer.forward(x, mask=np.ones((2, 3), bool))


# --------------------------------------------------------------------------- BatchNorm switches


BN_SWITCHES = [{"affine": affine, "track_running_stats": track, "bias": bias}
               for affine in (True, False) for track in (True, False) for bias in (True, False)
               if affine or bias]


@pytest.mark.parametrize("switches", BN_SWITCHES, ids=str)
def test_batchnorm_switches_have_torchs_parameters_buffers_and_repr(switches):
    ours = nn.BatchNorm1d(5, momentum=None, **switches)
    theirs = torch.nn.BatchNorm1d(5, momentum=None, **switches).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()]
    assert [k for k, _ in ours.named_buffers()] == [k for k, _ in theirs.named_buffers()]
    assert repr(ours) == repr(theirs)
    assert len(ours.gradients()) == len(ours.parameters())
    x = np.random.default_rng(6).standard_normal((7, 5))
    for mode in ("train", "eval", "train"):
        compare(ours, x + (mode == "eval"), mode=mode)


def test_untracked_batchnorm_uses_the_batch_in_eval_mode_too():
    rng = np.random.default_rng(7)
    x = 3 + 2 * rng.standard_normal((6, 4))
    bn = nn.BatchNorm1d(4, track_running_stats=False)
    train_out = bn(x)
    bn.eval()
    np.testing.assert_array_equal(bn(x), train_out)
    np.testing.assert_allclose(train_out.mean(axis=0), 0.0, atol=1e-12)
    assert bn.running_mean is None and bn.num_batches_tracked is None
    with pytest.raises(ValueError, match="more than 1 value"):  # as torch, even in eval
        bn(x[:1])
    with pytest.raises(ValueError, match="more than 1 value"):
        torch.nn.BatchNorm1d(4, track_running_stats=False).eval()(_t(x[:1]))
    tracked = nn.BatchNorm1d(4).eval()
    assert tracked(x[:1]).shape == (1, 4)  # running statistics: one example is fine


def test_batchnorm_switches_must_be_booleans():
    for name in ("affine", "track_running_stats", "bias"):
        with pytest.raises(TypeError, match=f"{name} must be True or False"):
            nn.BatchNorm1d(3, **{name: "False"})
    assert nn.BatchNorm1d(3, affine=np.bool_(False)).affine is False


# --------------------------------------------------------------------------- LayerNorm


LN_SWITCHES = [{}, {"bias": False}, {"elementwise_affine": False},
               {"elementwise_affine": False, "bias": False}]


@pytest.mark.parametrize("switches", LN_SWITCHES, ids=str)
@pytest.mark.parametrize("shape", [5, (5,), (3, 5)], ids=str)
def test_layernorm_matches_torch_for_every_switch_and_shape(switches, shape):
    ours = nn.LayerNorm(shape, eps=1e-3, **switches)
    theirs = torch.nn.LayerNorm(shape, eps=1e-3, **switches).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(8)
    for array in ours.parameters():
        array[...] = rng.standard_normal(array.shape)
    trailing = ours.normalized_shape
    for leading in [(4,), (2, 3), ()]:  # any leading axes, a single example included
        x = 2 + 3 * rng.standard_normal(leading + trailing)
        compare(ours, x)
    compare(ours, rng.standard_normal((1,) + trailing), mode="eval")


def test_layernorm_is_per_example_and_the_same_in_train_and_eval():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((6, 8)) * rng.uniform(0.1, 10, (6, 1)) + rng.normal(size=(6, 1))
    ln = nn.LayerNorm(8)
    y = ln(x)
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=1), 1, rtol=1e-3)  # up to eps
    np.testing.assert_array_equal(ln(x[2:3]), y[2:3])  # independent of the other rows
    ln.eval()
    np.testing.assert_array_equal(ln(x), y)
    assert ln.buffers() == [] and [k for k, _ in ln.named_parameters()] == ["weight", "bias"]


def test_layernorm_validation_like_torch():
    with pytest.raises(RuntimeError) as ours:
        nn.LayerNorm(4)(np.ones((3, 5)))
    with pytest.raises(RuntimeError) as theirs:
        torch.nn.LayerNorm(4)(torch.ones((3, 5)))
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(RuntimeError, match=r"normalized_shape=\[2, 3\].*\[\*, 2, 3\]"):
        nn.LayerNorm((2, 3))(np.ones(3))
    for eps in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match="eps"):
            nn.LayerNorm(4, eps=eps)
    with pytest.raises(TypeError, match="normalized_shape"):
        nn.LayerNorm("4")
    with pytest.raises(TypeError, match="normalized_shape"):
        nn.LayerNorm((4, 2.5))
    with pytest.raises(TypeError, match="elementwise_affine must be True or False"):
        nn.LayerNorm(4, elementwise_affine=1)
    with pytest.raises(RuntimeError, match="dtype"):
        nn.LayerNorm(4)(np.ones((2, 4), dtype=np.float32))


@pytest.mark.parametrize(("dtype", "tol"), [(np.float32, 1e-5), (np.float16, 3e-3)])
def test_layernorm_low_precision_like_torch(dtype, tol):
    rng = np.random.default_rng(10)
    ln = nn.LayerNorm(6, dtype=dtype)
    ln.weight[...] = rng.uniform(0.5, 1.5, 6)
    x = (4 + rng.standard_normal((5, 6))).astype(dtype)
    g = rng.standard_normal((5, 6)).astype(dtype)
    y, grad_in = ln(x), ln.backward(g)
    assert y.dtype == grad_in.dtype == ln.grad_weight.dtype == dtype
    twin = crosscheck.torch_twin(ln, dtype="float32")
    xt = torch.from_numpy(x.astype(np.float32)).requires_grad_(True)
    yt = twin(xt)
    yt.backward(torch.from_numpy(g.astype(np.float32)))
    np.testing.assert_allclose(y.astype(np.float64), yt.detach().double().numpy(), atol=tol)
    np.testing.assert_allclose(grad_in.astype(np.float64), xt.grad.double().numpy(),
                               atol=10 * tol)


# --------------------------------------------------------------------------- mlp(init=...)


def test_mlp_init_fills_every_linear_weight_and_zeroes_the_biases():
    from nnopt_lib import init

    sizes = [40, 300, 300, 10]
    calls = []

    def he(weight, rng):
        calls.append(weight.shape)
        init.kaiming_normal_(weight, nonlinearity="relu", rng=rng)

    model = nn.mlp(sizes, "relu", rng=np.random.default_rng(11), batch_norm=True, init=he)
    assert calls == [(300, 40), (300, 300), (10, 300)]  # every Linear, the output one too
    linears = [layer for layer in model if isinstance(layer, nn.Linear)]
    for layer in linears:
        assert not layer.bias.any()
        std = math.sqrt(2 / layer.in_features)
        assert abs(layer.weight.std() - std) < 0.05 * std
    # the same as building the layers by hand with one generator: Linear, then init
    rng = np.random.default_rng(11)
    by_hand = nn.Linear(40, 300, rng=rng)
    init.kaiming_normal_(by_hand.weight, nonlinearity="relu", rng=rng)
    np.testing.assert_array_equal(linears[0].weight, by_hand.weight)
    # BatchNorm's weight is not a Linear weight: untouched
    assert np.array_equal(model[1].weight, np.ones(300))
    # the documented one-liner, and no biases at all
    lean = nn.mlp([4, 8, 2], rng=np.random.default_rng(0), bias=False,
                  init=lambda w, r: init.orthogonal_(w, rng=r))
    np.testing.assert_allclose(lean[0].weight.T @ lean[0].weight, np.eye(4), atol=1e-12)
    assert lean[0].bias is None
    with pytest.raises(TypeError, match="init must be None or a function"):
        nn.mlp([4, 8, 2], rng=np.random.default_rng(0), init="he")


def test_mlp_without_init_keeps_torchs_default():
    a = nn.mlp([4, 8, 2], rng=np.random.default_rng(1))
    b = nn.mlp([4, 8, 2], rng=np.random.default_rng(1), init=None)
    for key, value in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[key], value)
    assert a[0].bias.any()
