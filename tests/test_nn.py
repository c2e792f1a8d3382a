"""nnopt_lib.nn: every hand-written backward pass against torch.autograd (float64)."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nnopt_lib import nn

TOL = 1e-10


def _t(a):
    return torch.tensor(a, dtype=torch.float64)


def _close(a, b, tol=TOL):
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else b
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def _compare(layer, torch_layer, x, params=()):
    """Forward output, input gradient and the gradients of ``params`` (pairs of
    (nnopt gradient getter, torch parameter)) for a random upstream gradient."""
    rng = np.random.default_rng(1)
    out = layer.forward(x)
    xt = _t(x).requires_grad_(True)
    out_t = torch_layer(xt)
    _close(out, out_t)
    grad_out = rng.standard_normal(out.shape)
    grad_in = layer.backward(grad_out)
    out_t.backward(_t(grad_out))
    _close(grad_in, xt.grad)
    for ours, theirs in zip(layer.gradients(), params, strict=True):
        _close(ours, theirs.grad)


def _copy_linear(ours, theirs):
    with torch.no_grad():
        theirs.weight.copy_(_t(ours.weight))
        if ours.bias is not None:
            theirs.bias.copy_(_t(ours.bias))


@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(bias):
    rng = np.random.default_rng(0)
    layer = nn.Linear(5, 3, bias=bias, rng=rng)
    torch_layer = torch.nn.Linear(5, 3, bias=bias, dtype=torch.float64)
    _copy_linear(layer, torch_layer)
    x = rng.standard_normal((7, 5))
    _compare(layer, torch_layer, x, list(torch_layer.parameters()))
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


ACTIVATIONS = [
    (nn.ReLU(), torch.nn.ReLU()),
    (nn.LeakyReLU(), torch.nn.LeakyReLU()),
    (nn.LeakyReLU(negative_slope=0.2), torch.nn.LeakyReLU(negative_slope=0.2)),
    (nn.ELU(), torch.nn.ELU()),
    (nn.ELU(alpha=0.5), torch.nn.ELU(alpha=0.5)),
    (nn.GELU(), torch.nn.GELU()),
    (nn.Sigmoid(), torch.nn.Sigmoid()),
    (nn.Tanh(), torch.nn.Tanh()),
]


@pytest.mark.parametrize(("layer", "torch_layer"), ACTIVATIONS, ids=lambda m: repr(m))
def test_activation_matches_torch(layer, torch_layer):
    x = 3 * np.random.default_rng(0).standard_normal((6, 8))
    x[0, :3] = [0.0, -40.0, 40.0]  # the kink and the saturated tails
    _compare(layer, torch_layer, x)
    assert layer.parameters() == [] and layer.gradients() == []


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


@pytest.mark.parametrize(
    "make", [lambda: nn.GELU(), lambda: nn.ELU(), lambda: nn.BatchNorm1d(4)], ids=repr
)
def test_backward_matches_central_differences(make):
    rng = np.random.default_rng(2)
    layer = make()
    if isinstance(layer, nn.BatchNorm1d):
        layer.weight[...] = rng.standard_normal(4)
        layer.bias[...] = rng.standard_normal(4)
    x = rng.standard_normal((5, 4))
    grad_out = rng.standard_normal((5, 4))
    layer.forward(x)
    analytic = layer.backward(grad_out)
    numeric = _numeric_input_grad(lambda z: make_like(layer)(z), x, grad_out)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-7)


def make_like(layer):
    """A forward function with the same parameters that leaves ``layer`` untouched."""
    if isinstance(layer, nn.BatchNorm1d):
        twin = nn.BatchNorm1d(layer.num_features)
        twin.weight[...] = layer.weight
        twin.bias[...] = layer.bias
        return twin.forward
    return type(layer)().forward


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


def _torch_bn(bn, num_features, momentum):
    torch_bn = torch.nn.BatchNorm1d(num_features, momentum=momentum, dtype=torch.float64)
    with torch.no_grad():
        torch_bn.weight.copy_(_t(bn.weight))
        torch_bn.bias.copy_(_t(bn.bias))
    return torch_bn


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batchnorm_train_eval_and_running_stats_match_torch(momentum):
    rng = np.random.default_rng(4)
    bn = nn.BatchNorm1d(3, momentum=momentum)
    bn.weight[...] = rng.uniform(0.5, 2.0, 3)
    bn.bias[...] = rng.standard_normal(3)
    torch_bn = _torch_bn(bn, 3, momentum)
    for _ in range(4):
        x = 2 + 3 * rng.standard_normal((8, 3))
        _compare(bn, torch_bn, x, [torch_bn.weight, torch_bn.bias])
        torch_bn.zero_grad()
    _close(bn.running_mean, torch_bn.running_mean)
    _close(bn.running_var, torch_bn.running_var)
    assert bn.num_batches_tracked == int(torch_bn.num_batches_tracked) == 4
    bn.eval()
    torch_bn.eval()
    running = bn.running_mean.copy()
    _compare(bn, torch_bn, rng.standard_normal((5, 3)), [torch_bn.weight, torch_bn.bias])
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
    torch_model = torch.nn.Sequential(
        torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.BatchNorm1d(6), torch.nn.Linear(6, 2)
    ).double()
    _copy_linear(layers[0], torch_model[0])
    _copy_linear(layers[3], torch_model[3])
    x = rng.standard_normal((9, 4))
    _compare(model, torch_model, x, list(torch_model.parameters()))
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


def test_cross_entropy_matches_torch():
    rng = np.random.default_rng(9)
    logits = rng.standard_normal((10, 4))
    target = rng.integers(0, 4, 10)
    loss_fn = nn.CrossEntropyLoss()
    loss = loss_fn(logits, target)
    logits_t = _t(logits).requires_grad_(True)
    loss_t = F.cross_entropy(logits_t, torch.tensor(target))
    loss_t.backward()
    assert isinstance(loss, float)
    assert abs(loss - loss_t.item()) < TOL
    _close(loss_fn.backward(), logits_t.grad)


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 1e4], [3e4, 3e4, 3e4]])
    target = np.array([1, 2, 0])
    loss_fn = nn.CrossEntropyLoss()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = loss_fn(logits, target)
        grad = loss_fn.backward()
    expected = F.cross_entropy(_t(logits), torch.tensor(target)).item()
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    assert abs(loss - expected) < 1e-9 * abs(expected)
    assert abs(loss - (1e4 + np.log(2) + np.log(3)) / 3) < 1e-9


def test_cross_entropy_validation():
    loss_fn = nn.CrossEntropyLoss()
    with pytest.raises(IndexError, match="Target 7"):
        loss_fn(np.zeros((2, 3)), np.array([0, 7]))
    with pytest.raises(RuntimeError, match="float64"):
        loss_fn(np.zeros((2, 3)), np.array([0.0, 1.0]))


def test_mse_matches_torch_and_rejects_broadcasting():
    rng = np.random.default_rng(10)
    pred = rng.standard_normal((6, 2))
    target = rng.standard_normal((6, 2))
    loss_fn = nn.MSELoss()
    loss = loss_fn(pred, target)
    pred_t = _t(pred).requires_grad_(True)
    loss_t = F.mse_loss(pred_t, _t(target))
    loss_t.backward()
    assert abs(loss - loss_t.item()) < TOL
    _close(loss_fn.backward(), pred_t.grad)
    with pytest.raises(ValueError, match=r"\(6,\)"):
        loss_fn(pred[:, :1], target[:, 0])
