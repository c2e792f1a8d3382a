"""nnopt_lib.diagnostics: layer statistics, dead units, update ratios, gradient noise scale."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from nnopt_lib import diagnostics, losses, nn, optim, training


def _model(**kwargs):
    return nn.mlp([6, 16, 16, 4], "relu", rng=np.random.default_rng(0), **kwargs)


def _data(n=64, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 6)), rng.integers(0, 4, n)


# --------------------------------------------------------------------------- layer statistics


def test_forward_statistics_equal_a_manual_layer_by_layer_pass():
    model = _model()
    X, _ = _data()
    stats = diagnostics.layer_statistics(model, X)
    assert [s.name for s in stats] == ["0", "1", "2", "3", "4"]
    assert [s.kind for s in stats] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    x = X
    for s, layer in zip(stats, model, strict=True):
        x = layer.forward(x)
        assert s.shape == x.shape
        assert s.mean == pytest.approx(x.mean(), rel=1e-12, abs=1e-15)
        assert s.std == pytest.approx(x.std(), rel=1e-12)
        assert s.zero_fraction == np.mean(x == 0)
        assert s.grad_std is s.grad_norm is s.weight_grad_norm is None  # no loss given
    assert stats[0].zero_fraction == 0 and 0.2 < stats[1].zero_fraction < 0.8  # ReLU zeros


def test_gradient_statistics_equal_torch_autograd():
    torch = pytest.importorskip("torch")
    from nnopt_lib import crosscheck

    model = _model(batch_norm=True)  # BatchNorm in training mode: its backward is the hard one
    X, y = _data()
    stats = diagnostics.layer_statistics(model, X, y=y, loss_fn=losses.CrossEntropyLoss())
    twin = crosscheck.torch_twin(model)
    outputs, x = [], torch.from_numpy(X)
    for layer in twin:
        x = layer(x)
        x.retain_grad()
        outputs.append(x)
    torch.nn.functional.cross_entropy(x, torch.from_numpy(y)).backward()
    for s, layer, out in zip(stats, twin, outputs, strict=True):
        g = out.grad.numpy()
        assert s.grad_norm == pytest.approx(np.linalg.norm(g), rel=1e-10), s.name
        assert s.grad_std == pytest.approx(g.std(), rel=1e-10), s.name
        if hasattr(layer, "weight"):
            w = layer.weight.grad.numpy()
            assert s.weight_grad_norm == pytest.approx(np.linalg.norm(w), rel=1e-10), s.name
            assert s.weight_grad_std == pytest.approx(w.std(), rel=1e-10), s.name
        else:
            assert s.weight_grad_norm is None and s.weight_grad_std is None
    assert stats[1].kind == "BatchNorm1d" and stats[1].weight_grad_norm is not None


def test_the_model_is_left_exactly_as_it_was():
    """A diagnostic between two steps changes nothing: the diagnosed run and an untouched
    copy train to the same weights (BatchNorm's running statistics and the dropout masks
    included)."""
    X, y = _data()
    model = _model(batch_norm=True, dropout=0.3)
    untouched = copy.deepcopy(model)
    before = model.state_dict()
    dropout_state = model[3].rng.bit_generator.state
    model.eval()
    stats = diagnostics.layer_statistics(model, X, y=y, loss_fn=losses.CrossEntropyLoss(),
                                         training=True)
    assert not model.training and not model[3].training  # mode kept
    model.train()
    diagnostics.dead_units(model, X, training=False)
    assert model.training
    assert model[3].rng.bit_generator.state == dropout_state  # no mask drawn from its rng
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)
    assert stats[3].kind == "Dropout" and stats[3].zero_fraction > stats[2].zero_fraction
    runs = []
    for net in (model, untouched):
        opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        training.fit(net, losses.CrossEntropyLoss(), opt, X, y, epochs=2, batch_size=16, seed=3)
        runs.append(net.state_dict())
    for key in runs[0]:
        np.testing.assert_array_equal(runs[0][key], runs[1][key], err_msg=key)


def test_training_switch_selects_batchnorm_statistics():
    model = _model(batch_norm=True)
    X, _ = _data()
    X = 5 + 3 * X  # far from the initial running statistics (mean 0, var 1)
    train = diagnostics.layer_statistics(model, X, training=True)
    evaluate = diagnostics.layer_statistics(model, X, training=False)
    assert abs(train[1].mean) < 1e-12 and train[1].std == pytest.approx(1, rel=1e-3)
    assert abs(evaluate[1].mean - train[1].mean) > 0.01  # running statistics: not normalised
    assert diagnostics.layer_statistics(model, X)[1] == train[1]  # default: the model's mode


def test_format_table():
    X, y = _data()
    table = diagnostics.format_table(
        diagnostics.layer_statistics(_model(), X, y=y, loss_fn=losses.CrossEntropyLoss()))
    lines = table.splitlines()
    assert len(lines) == 6 and "grad norm" in lines[0]
    assert "Linear" in lines[1] and lines[2].rstrip().endswith("-")  # ReLU has no weight
    no_grads = diagnostics.format_table(diagnostics.layer_statistics(_model(), X))
    assert no_grads.splitlines()[1].rstrip().endswith("-")


def test_layer_statistics_bad_input():
    X, y = _data()
    with pytest.raises(TypeError, match="must be an nnopt_lib.nn.Sequential"):
        diagnostics.layer_statistics(nn.Linear(6, 2, rng=np.random.default_rng(0)), X)
    with pytest.raises(ValueError, match="pass both y and loss_fn"):
        diagnostics.layer_statistics(_model(), X, y=y)
    with pytest.raises(ValueError, match="at least one example"):
        diagnostics.layer_statistics(_model(), np.zeros((0, 6)))
    with pytest.raises(TypeError, match="training must be True, False or None"):
        diagnostics.layer_statistics(_model(), X, training="eval")
    with pytest.raises(TypeError):
        diagnostics.layer_statistics(_model(), X, y, losses.CrossEntropyLoss())  # keywords


# ------------------------------------------------------------------------------- dead units


def test_dead_units_counts_units_that_never_fire():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(6, 10, rng=rng), nn.ReLU(), nn.Linear(10, 8, rng=rng),
                          nn.LeakyReLU(0.1), nn.Linear(8, 2, rng=rng), nn.Tanh())
    model[0].bias[:3] = -100.0  # 3 of 10 ReLU units can never fire on this data
    model[2].bias[:2] = -100.0  # 2 of 8 LeakyReLU units sit on the negative side
    X, _ = _data()
    dead = diagnostics.dead_units(model, X)
    assert dead == {"1": 0.3, "3": 0.25}  # Tanh is not ReLU-like: not listed
    # the definition: output <= 0 on EVERY row
    hidden = np.maximum(X @ model[0].weight.T + model[0].bias, 0)
    assert dead["1"] == np.mean(np.all(hidden <= 0, axis=0))
    # one example is not enough to call a unit dead: about half are off on any one row
    assert diagnostics.dead_units(model, X[:1])["1"] > dead["1"]
    for activation in ("gelu", "elu"):
        net = nn.mlp([6, 12, 2], activation, rng=np.random.default_rng(0))
        assert list(diagnostics.dead_units(net, X)) == ["1"]


def test_dead_units_bad_input():
    with pytest.raises(TypeError, match="Sequential"):
        diagnostics.dead_units(nn.ReLU(), np.ones((2, 2)))
    with pytest.raises(ValueError, match="at least one example"):
        diagnostics.dead_units(_model(), np.float64(1.0))


# ---------------------------------------------------------------------------- update ratios


def test_update_ratios_by_hand():
    before = {"0.weight": np.array([[3.0, 4.0]]), "0.bias": np.zeros(1),
              "1.running_mean": np.ones(2), "1.num_batches_tracked": np.array(3)}
    after = {"0.weight": np.array([[3.0, 4.5]]), "0.bias": np.array([0.1]),
             "1.running_mean": np.full(2, 2.0), "1.num_batches_tracked": np.array(4)}
    ratios = diagnostics.update_ratios(before, after)
    assert ratios == {"0.weight": 0.5 / 5.0, "0.bias": math.inf}  # buffers left out
    assert diagnostics.update_ratios(before, before) == {"0.weight": 0.0, "0.bias": 0.0}


def test_update_ratios_of_one_sgd_step_are_lr_times_grad_over_weight():
    model = _model(batch_norm=True)
    X, y = _data()
    loss = losses.CrossEntropyLoss()
    loss(model(X), y)
    model.backward(loss.backward())
    before = model.state_dict()
    optim.SGD(model.parameters(), lr=0.01).step(model.gradients())
    ratios = diagnostics.update_ratios(before, model.state_dict())
    names = [name for name, _ in model.named_parameters()]
    assert list(ratios) == names
    for name, g in zip(names, model.gradients(), strict=True):
        size = np.linalg.norm(before[name])
        if size == 0:  # BatchNorm's bias starts at zero
            assert ratios[name] == math.inf, name
            continue
        assert ratios[name] == pytest.approx(0.01 * np.linalg.norm(g) / size, rel=1e-9), name
    assert ratios["1.bias"] == math.inf and ratios["0.weight"] < 1


def test_update_ratios_bad_input():
    a = {"w": np.ones(2)}
    with pytest.raises(ValueError, match="same model"):
        diagnostics.update_ratios(a, {"v": np.ones(2)})
    with pytest.raises(ValueError, match=r"w: shape \(2,\) before but \(3,\) after"):
        diagnostics.update_ratios(a, {"w": np.ones(3)})
    with pytest.raises(TypeError, match="before must be a state dict"):
        diagnostics.update_ratios([np.ones(2)], a)


# ---------------------------------------------------------------------- gradient noise scale


def test_gradient_noise_scale_is_exact_on_exact_expectations():
    """If |G_B|^2 equals its expectation |G|^2 + tr(Sigma)/B, the estimators are exact."""
    grad_sq, trace = 2.0, 30.0
    norms = {b: math.sqrt(grad_sq + trace / b) for b in (4, 64)}
    direction = np.array([0.6, 0.0, -0.8])  # unit length
    trace_est, grad_sq_est, b_simple = diagnostics.gradient_noise_scale(
        norms[4] * direction, [norms[64] * direction], 4, 64)
    assert trace_est == pytest.approx(trace, rel=1e-12)
    assert grad_sq_est == pytest.approx(grad_sq, rel=1e-12)
    assert b_simple == pytest.approx(15.0, rel=1e-12)


def test_gradient_noise_scale_on_a_synthetic_problem_with_known_noise():
    """Per-example gradients g_i ~ N(G, Sigma): averaged over many pairs of minibatches, the
    two estimates converge to |G|^2 and tr(Sigma), and B_simple to their ratio."""
    rng = np.random.default_rng(0)
    G = np.array([1.0, -2.0, 0.5, 0.0, 1.5])  # |G|^2 = 7.5
    sigma = np.array([4.0, 1.0, 9.0, 0.25, 2.75])  # diagonal covariance, trace 17
    small, big = 8, 128
    traces, grad_sqs = [], []
    for _ in range(4000):
        per_example = G + np.sqrt(sigma) * rng.standard_normal((big, 5))
        # as in the paper, the small batch is part of the big one (one device of many)
        g_small, g_big = per_example[:small].mean(axis=0), per_example.mean(axis=0)
        trace, grad_sq, _ = diagnostics.gradient_noise_scale(g_small, g_big, small, big)
        traces.append(trace)
        grad_sqs.append(grad_sq)
    assert np.mean(traces) == pytest.approx(17.0, rel=0.03)
    assert np.mean(grad_sqs) == pytest.approx(7.5, rel=0.03)
    assert np.mean(traces) / np.mean(grad_sqs) == pytest.approx(17 / 7.5, rel=0.05)


def test_gradient_noise_scale_edge_cases_and_bad_input():
    g = np.ones(3)
    trace, grad_sq, b_simple = diagnostics.gradient_noise_scale(g, g, 1, 2)
    assert (trace, grad_sq, b_simple) == (0.0, 3.0, 0.0)  # no noise at all
    trace, grad_sq, b_simple = diagnostics.gradient_noise_scale(np.ones(1), np.zeros(1), 1, 2)
    assert grad_sq == -1.0 and trace == 2.0  # a single noisy pair can give |G|^2 < 0
    assert math.isnan(diagnostics.gradient_noise_scale([np.zeros(2)], [np.zeros(2)], 1, 5)[2])
    _, _, b = diagnostics.gradient_noise_scale(np.ones(2), np.array([1.0, 0.0]), 1, 2)
    assert b == math.inf  # |G|^2 estimate exactly 0 with noise
    with pytest.raises(ValueError, match="batch_big must be larger than batch_small"):
        diagnostics.gradient_noise_scale(g, g, 8, 8)
    with pytest.raises(ValueError, match=r"Invalid batch_small: 0"):
        diagnostics.gradient_noise_scale(g, g, 0, 8)
    with pytest.raises(TypeError, match="batch_big must be an integer"):
        diagnostics.gradient_noise_scale(g, g, 1, 8.0)
    with pytest.raises(ValueError, match="differ in shape"):
        diagnostics.gradient_noise_scale(g, np.ones(4), 1, 8)
    with pytest.raises(ValueError, match="grad_small is empty"):
        diagnostics.gradient_noise_scale([], g, 1, 8)
    with pytest.raises(ValueError, match="grad_big is not finite"):
        diagnostics.gradient_noise_scale(g, np.array([1.0, np.nan, 0.0]), 1, 8)
