"""nnopt_lib.regularization: penalties, their gradients, the L1 proximal step, decay groups."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnopt_lib import callbacks, losses, nn, optim, regularization, training

# Small enough to check by hand.
W1 = np.array([1.0, -2.0])
W2 = np.array([[0.5, 0.0], [3.0, -1.0]])
PARAMS = [W1, W2]


# ------------------------------------------------------------------------------ penalties


def test_penalty_values_by_hand():
    assert regularization.l1_penalty(PARAMS) == 1 + 2 + 0.5 + 0 + 3 + 1
    assert regularization.l2_penalty(PARAMS) == 0.5 * (1 + 4 + 0.25 + 0 + 9 + 1)
    assert regularization.norm_penalty(PARAMS) == pytest.approx(math.sqrt(5) + math.sqrt(10.25))
    # a single array is a list of one; an empty list is no penalty
    assert regularization.l2_penalty(W1) == 2.5
    assert regularization.l1_penalty([]) == 0.0
    assert isinstance(regularization.l1_penalty(PARAMS), float)


def test_penalty_gradients_by_hand():
    l1 = regularization.l1_penalty_grad(PARAMS)
    np.testing.assert_array_equal(l1[0], [1, -1])
    np.testing.assert_array_equal(l1[1], [[1, 0], [1, -1]])  # sign(0) = 0
    l2 = regularization.l2_penalty_grad(PARAMS)
    np.testing.assert_array_equal(l2[1], W2)
    assert l2[1] is not W2 and not np.shares_memory(l2[1], W2)  # a copy: safe to scale
    norm = regularization.norm_penalty_grad(PARAMS)
    np.testing.assert_allclose(norm[0], W1 / math.sqrt(5))
    for g in norm:  # each array's gradient is a unit vector, whatever the weights' size
        assert np.linalg.norm(g) == pytest.approx(1.0)
    tiny = regularization.norm_penalty_grad([1e-6 * W2])[0]
    assert np.linalg.norm(tiny) == pytest.approx(1.0)  # ... while l2's fades to 1e-6
    np.testing.assert_array_equal(regularization.norm_penalty_grad(np.zeros(3))[0], 0.0)


def test_l2_penalty_is_weight_decay_under_sgd():
    """lam * l2_penalty under plain SGD is exactly SGD(weight_decay=lam)."""
    rng = np.random.default_rng(0)
    w, grad = rng.standard_normal(5), rng.standard_normal(5)
    lr, lam = 0.1, 0.01
    penalised = w - lr * (grad + lam * regularization.l2_penalty_grad(w)[0])
    decayed = w.copy()
    optim.SGD([decayed], lr=lr, weight_decay=lam).step([grad])
    np.testing.assert_allclose(penalised, decayed, rtol=0, atol=1e-15)


def test_penalties_and_gradients_equal_torch_autograd():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    params = [rng.standard_normal((3, 4)), rng.standard_normal(4), np.zeros(2)]
    torch_params = [torch.tensor(p, requires_grad=True) for p in params]
    cases = {
        "l1": lambda ps: sum(p.abs().sum() for p in ps),
        "l2": lambda ps: sum(0.5 * (p**2).sum() for p in ps),
        "norm": lambda ps: sum(torch.norm(p, p=2) for p in ps),  # the seed's "L2 penalty"
    }
    for name, torch_penalty in cases.items():
        for p in torch_params:
            p.grad = None
        value = torch_penalty(torch_params)
        value.backward()
        ours = getattr(regularization, f"{name}_penalty")(params)
        assert ours == pytest.approx(value.item(), rel=1e-14), name
        grads = getattr(regularization, f"{name}_penalty_grad")(params)
        for g, p in zip(grads, torch_params, strict=True):
            np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-14, atol=0, err_msg=name)


def test_penalty_dtypes_and_bad_input():
    w32 = np.array([1.0, -2.0], dtype=np.float32)
    assert regularization.l2_penalty_grad(w32)[0].dtype == np.float32
    assert regularization.norm_penalty_grad(w32)[0].dtype == np.float32
    assert regularization.l2_penalty_grad(np.array([1, 2]))[0].dtype == np.float64
    assert regularization.l1_penalty([[1.0, -1.0]]) == 2.0  # nested lists are arrays
    with pytest.raises(TypeError, match="params must be an array or a list of arrays"):
        regularization.l1_penalty(3.0)
    with pytest.raises(TypeError, match=r"params\[1\] must hold real numbers"):
        regularization.l2_penalty([W1, np.array(["a"])])


# ------------------------------------------------------------------------- soft threshold


def test_soft_threshold_by_hand_with_exact_zeros():
    w = np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])
    out = regularization.soft_threshold(w, 1.0)
    np.testing.assert_array_equal(out, [-2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0])
    assert not np.any(np.signbit(out[1:6]))  # +0.0, not -0.0
    np.testing.assert_array_equal(w, [-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])  # not changed
    np.testing.assert_array_equal(regularization.soft_threshold(w, 0.0), w)
    assert regularization.soft_threshold(w.astype(np.float32), 1).dtype == np.float32
    assert regularization.soft_threshold(np.array([2, -5]), 1).tolist() == [1.0, -4.0]


def test_soft_threshold_is_the_proximal_step():
    """It minimises 0.5 * (w - v)^2 + t * |w| for every v (checked on a fine grid)."""
    grid = np.linspace(-4, 4, 80001)
    t = 0.7
    for v in (-2.5, -0.7, -0.3, 0.0, 0.2, 1.3, 3.9):
        objective = 0.5 * (grid - v) ** 2 + t * np.abs(grid)
        best = grid[np.argmin(objective)]
        assert regularization.soft_threshold(np.array([v]), t)[0] == pytest.approx(best, abs=1e-4)


def test_soft_threshold_equals_torch_softshrink():
    torch = pytest.importorskip("torch")
    w = np.random.default_rng(2).standard_normal((20, 7))
    for t in (0.0, 0.3, 1.0, 5.0):
        expected = torch.nn.functional.softshrink(torch.from_numpy(w), lambd=t).numpy()
        np.testing.assert_array_equal(regularization.soft_threshold(w, t), expected)


def test_proximal_l1_gives_exact_zeros_where_subgradient_steps_do_not():
    """Lasso on a problem with 3 useful features out of 10: ISTA zeroes the other 7 exactly;
    subgradient descent with sign(w) leaves them small but nonzero."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((200, 10))
    y = X[:, :3] @ np.array([2.0, -1.5, 1.0]) + 0.1 * rng.standard_normal(200)
    lam, lr = 0.1, 0.1

    def grad(w):  # of the mean squared error / 2
        return X.T @ (X @ w - y) / len(y)

    ista, subgradient = np.zeros(10), np.zeros(10)
    for _ in range(500):
        ista = regularization.soft_threshold(ista - lr * grad(ista), lr * lam)
        subgradient = subgradient - lr * (
            grad(subgradient) + lam * regularization.l1_penalty_grad(subgradient)[0])
    assert np.count_nonzero(ista[3:]) == 0 and np.all(ista[:3] != 0)
    assert np.count_nonzero(subgradient[3:]) == 7
    assert np.abs(subgradient[3:]).max() < 0.05  # small, jumping around 0, never at it


def test_soft_threshold_bad_input():
    with pytest.raises(ValueError, match="Invalid threshold"):
        regularization.soft_threshold(W1, -0.1)
    with pytest.raises(ValueError, match="Invalid threshold"):
        regularization.soft_threshold(W1, np.nan)
    with pytest.raises(TypeError, match="threshold must be a real number"):
        regularization.soft_threshold(W1, "1")
    with pytest.raises(TypeError, match="w must hold real numbers"):
        regularization.soft_threshold(np.array([True, False]), 0.1)


# ---------------------------------------------------------------------------- decay groups


def _model(**kwargs):
    return nn.mlp([4, 8, 8, 3], "relu", rng=np.random.default_rng(0), **kwargs)


def test_decay_flags_spare_biases_and_normalisation_layers():
    model = _model(batch_norm=True)
    flags = regularization.decay_flags(model)
    assert list(flags) == [name for name, _ in model.named_parameters()]
    assert [name for name, decayed in flags.items() if decayed] == [
        "0.weight", "3.weight", "6.weight"]  # the Linear weights only
    assert flags["1.weight"] is False  # BatchNorm's scale, spared because of its layer
    layer_norm = nn.Sequential(nn.Linear(4, 5, rng=np.random.default_rng(0)), nn.LayerNorm(5))
    assert regularization.decay_flags(layer_norm) == {
        "0.weight": True, "0.bias": False, "1.weight": False, "1.bias": False}
    # by full name, by own name, by class; an empty no_decay decays everything
    custom = regularization.decay_flags(model, no_decay=("0.weight", nn.BatchNorm1d))
    assert not custom["0.weight"] and custom["0.bias"] and not custom["4.bias"]
    assert all(regularization.decay_flags(model, no_decay=()).values())
    assert regularization.decay_flags(model, no_decay="bias") == regularization.decay_flags(
        _model(batch_norm=True), no_decay=("bias",))


def test_decay_groups_follow_the_models_parameter_order():
    model = _model(batch_norm=True)
    groups = regularization.decay_groups(model, weight_decay=0.05)
    flat = [p for group in groups for p in group["params"]]
    assert len(flat) == len(model.parameters())
    assert all(a is b for a, b in zip(flat, model.parameters(), strict=True))  # same objects
    # runs: [0.weight] [0.bias, 1.weight, 1.bias] [3.weight] [3.bias, 4.*] [6.weight] [6.bias]
    assert [len(g["params"]) for g in groups] == [1, 3, 1, 3, 1, 1]
    assert [g["weight_decay"] for g in groups] == [0.05, 0.0] * 3
    assert all(set(g) == {"params", "weight_decay"} for g in groups)
    assert regularization.decay_groups(nn.Sequential(nn.ReLU()), weight_decay=0.1) == []


def test_one_sgd_step_decays_exactly_the_weights():
    model = _model()
    before = model.state_dict()
    grads = [np.full_like(p, 0.5) for p in model.parameters()]
    opt = optim.SGD(regularization.decay_groups(model, weight_decay=0.1), lr=0.2)
    opt.step(grads)  # by position, in model.parameters() order
    for (name, p), g in zip(model.named_parameters(), grads, strict=True):
        decay = 0.1 if name.endswith("weight") else 0.0
        np.testing.assert_allclose(p, before[name] - 0.2 * (g + decay * before[name]),
                                   rtol=0, atol=1e-15, err_msg=name)


def test_decay_groups_train_with_fit_and_adamw():
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((64, 4)), rng.integers(0, 3, 64)
    model = _model(batch_norm=True)
    opt = optim.AdamW(regularization.decay_groups(model, weight_decay=0.5), lr=0.01)
    history = training.fit(model, losses.CrossEntropyLoss(), opt, X, y, epochs=3,
                           batch_size=16, seed=0)
    assert history.diverged_at is None and len(history.train_loss) == 3


def test_decay_groups_give_torchs_update():
    """The same groups, built from the twin's parameter names, give torch's AdamW step."""
    torch = pytest.importorskip("torch")
    from nnopt_lib import crosscheck

    model = _model(batch_norm=True)
    twin = crosscheck.torch_twin(model)
    flags = regularization.decay_flags(model)
    torch_groups, previous = [], None
    for name, p in twin.named_parameters():  # same names, same order
        if flags[name] is not previous:
            torch_groups.append({"params": [], "weight_decay": 0.3 if flags[name] else 0.0})
            previous = flags[name]
        torch_groups[-1]["params"].append(p)
    ours = optim.AdamW(regularization.decay_groups(model, weight_decay=0.3), lr=0.1)
    theirs = torch.optim.AdamW(torch_groups, lr=0.1)
    grads = [np.random.default_rng(i).standard_normal(p.shape)
             for i, p in enumerate(model.parameters())]
    for p, g in zip(twin.parameters(), grads, strict=True):
        p.grad = torch.from_numpy(g)
    ours.step(grads)
    theirs.step()
    for name, p in twin.named_parameters():
        np.testing.assert_allclose(model.state_dict()[name], p.detach().numpy(), rtol=1e-12,
                                   atol=1e-14, err_msg=name)


def test_decay_groups_bad_input():
    model = _model()
    for bad in (-0.1, math.inf, math.nan):
        with pytest.raises(ValueError, match="Invalid weight_decay value"):
            regularization.decay_groups(model, weight_decay=bad)
    for bad in ("0.1", None, True):
        with pytest.raises(TypeError, match="weight_decay must be a real number"):
            regularization.decay_groups(model, weight_decay=bad)
    with pytest.raises(TypeError, match="model must be an nnopt_lib.nn Module"):
        regularization.decay_groups(model.parameters(), weight_decay=0.1)
    with pytest.raises(TypeError, match="no_decay entries"):
        regularization.decay_groups(model, weight_decay=0.1, no_decay=(3,))
    with pytest.raises(TypeError, match="no_decay entries"):
        regularization.decay_groups(model, weight_decay=0.1, no_decay=(int,))
    with pytest.raises(TypeError, match="no_decay must be a sequence"):
        regularization.decay_groups(model, weight_decay=0.1, no_decay=None)
    with pytest.raises(TypeError):
        regularization.decay_groups(model, 0.1)  # keyword-only, as the contract says


# -------------------------------------------------------------- WeightPenalty reuses them


def test_weight_penalty_callback_uses_these_penalties():
    """fit with WeightPenalty(l1, l2) records loss + l1 * l1_penalty + l2 * l2_penalty."""
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((8, 4)), rng.integers(0, 3, 8)
    model = _model()
    start = model.state_dict()
    loss = losses.CrossEntropyLoss()
    plain = float(loss(model(X), y))
    penalty = 0.01 * regularization.l1_penalty(model.parameters()) + 0.1 * (
        regularization.l2_penalty(model.parameters()))
    opt = optim.SGD(model.parameters(), lr=0.0)  # no change: the recorded loss is the start's
    history = training.fit(model, loss, opt, X, y, epochs=1, batch_size=8, seed=0,
                           callbacks=[callbacks.WeightPenalty(l1=0.01, l2=0.1)])
    assert history.loss[0] == pytest.approx(plain + penalty, rel=1e-12)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, start[name])
