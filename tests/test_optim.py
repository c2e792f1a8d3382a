"""nnopt_lib.optim against torch.optim: trajectories, state, validation, and the momentum forms.

Every optimizer is run with the SAME keyword dict in nnopt_lib and in torch (float64,
200 steps) on Rosenbrock and on a two-array least-squares problem, over a grid that turns
every boolean option on and off and gives every numeric option a non-default value.
"""

import copy
import inspect
import itertools

import numpy as np
import pytest
import torch

from nnopt_lib import optim

STEPS = 200
TOL = 1e-10

# --------------------------------------------------------------------------------------
# Test problems, each with a numpy gradient and a torch loss (autograd)
# --------------------------------------------------------------------------------------

ROSENBROCK_START = [np.array([-1.2, 1.0])]


def rosenbrock_grads(params):
    (xy,) = params
    x, y = xy
    a, b = 1 - x, y - x**2
    # same operation order as autograd on the torch loss below, so the gradients agree to
    # the last bit and any difference in a trajectory is the optimizer's
    return [np.array([-(2 * a) - (200 * b) * (2 * x), 200 * b])]


def rosenbrock_loss(params):
    (xy,) = params
    return (1 - xy[0]) ** 2 + 100 * (xy[1] - xy[0] ** 2) ** 2


_rng = np.random.default_rng(0)
LSQ_X = _rng.normal(size=(30, 3))
LSQ_Y = LSQ_X @ _rng.normal(size=(3, 2)) + _rng.normal(size=2) + 0.1 * _rng.normal(size=(30, 2))
# weight (out, in) and bias, started far from the solution: see "Why these settings" below
LSQ_START = [5 * _rng.normal(size=(2, 3)), 5 * _rng.normal(size=2)]


def lsq_grads(params):
    weight, bias = params
    residual = LSQ_X @ weight.T + bias - LSQ_Y
    n = len(LSQ_X)
    return [residual.T @ LSQ_X / n, residual.sum(axis=0) / n]


def lsq_loss(params):
    weight, bias = params
    residual = torch.from_numpy(LSQ_X) @ weight.T + bias - torch.from_numpy(LSQ_Y)
    return 0.5 * (residual**2).sum() / len(LSQ_X)


PROBLEMS = {
    "rosenbrock": (ROSENBROCK_START, rosenbrock_grads, rosenbrock_loss),
    "least_squares": (LSQ_START, lsq_grads, lsq_loss),
}


@pytest.fixture(autouse=True)
def float64_default():
    # torch keeps NAdam's mu_product and every "step" in the default dtype; float64 makes
    # the comparison about the optimizer arithmetic, not about float32 scalars.
    # One thread: these tensors are tiny, and the test machine is shared.
    old_dtype, old_threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    yield
    torch.set_default_dtype(old_dtype)
    torch.set_num_threads(old_threads)


def _groups(params, group_options):
    """Wrap params in param groups: one group per param, or a plain list if no options."""
    if group_options is None:
        return params
    return [{"params": [p], **extra} for p, extra in zip(params, group_options, strict=True)]


def run_pair(name, options, problem, *, group_options=None, autograd=False):
    """Run nnopt_lib.optim.<name> and torch.optim.<name> with the same options, STEPS steps.

    Each side takes its gradient at its OWN iterate. With ``autograd=True`` torch gets it
    from autograd on the torch loss; otherwise from the numpy gradient function (autograd
    costs ~0.3-5 ms per step on tiny tensors, too slow for the whole option grid; the
    numpy and autograd gradients are checked equal in test_numpy_gradients_match_autograd).
    With ``maximize=True`` the objective is negated on both sides, so the run still
    descends the problem and stays finite.
    """
    start, grads_fn, loss_fn = PROBLEMS[problem]
    sign = -1.0 if options.get("maximize") else 1.0

    ours = [p.copy() for p in start]
    our_opt = getattr(optim, name)(_groups(ours, group_options), **options)
    theirs = [torch.tensor(p, requires_grad=True) for p in start]
    their_opt = getattr(torch.optim, name)(_groups(theirs, group_options), **options)

    for _ in range(STEPS):
        our_opt.step([sign * g for g in grads_fn(ours)])
        if autograd:
            their_opt.zero_grad()
            (sign * loss_fn(theirs)).backward()
        else:
            at_theirs = grads_fn([t.detach().numpy() for t in theirs])
            for t, g in zip(theirs, at_theirs, strict=True):
                t.grad = torch.from_numpy(sign * g)
        their_opt.step()
    return ours, theirs, our_opt, their_opt


def _state_value(value):
    return value.item() if isinstance(value, torch.Tensor) and value.ndim == 0 else value


def assert_same_run(ours, theirs, our_opt, their_opt):
    for p, t in zip(ours, theirs, strict=True):
        assert np.all(np.isfinite(p)), "run diverged; pick gentler options"
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=0, atol=TOL)
        our_state, their_state = our_opt.state[id(p)], their_opt.state[t]
        assert set(our_state) == set(their_state)
        for key, value in their_state.items():
            # relative too: Adagrad's "sum" grows to ~1e6 on Rosenbrock
            np.testing.assert_allclose(
                our_state[key],
                np.asarray(_state_value(value.detach())),
                rtol=1e-12,
                atol=TOL,
                err_msg=f"state[{key!r}]",
            )


# Why these settings: torch's CPU kernels use fused multiply-adds (add with alpha, addcmul,
# lerp), numpy cannot, so single steps agree to ~1 ulp rather than bit for bit. Where a run
# is chaotic -- RMSprop or Adadelta rattling across a valley or around an optimum with a
# fast-forgetting average (alpha=0.9, rho=0.8) -- those ulps grow to 1e-4 within 200 steps.
# The options and start points below keep every run in a regime where rounding differences
# stay at ~1e-14, so the 1e-10 tolerance tests the arithmetic, not the weather.


def covering(alternative, **axes):
    """Every combination of ``axes`` (flags and weight decay, which interact), each run with
    ``maximize`` off or on and with either the default numeric options or ``alternative``
    (non-default lr, eps, betas, ...).

    Those two are assigned by parities of the combination's index vector instead of being
    crossed with it: every value of every axis still meets maximize on and off and both
    numeric settings, and all four (maximize, numeric) pairs occur, at a quarter of the
    cost of the full product (torch's per-step overhead makes that matter).
    """
    names = list(axes)
    cases = []
    for index in itertools.product(*(range(len(values)) for values in axes.values())):
        case = {name: axes[name][i] for name, i in zip(names, index, strict=True)}
        case["maximize"] = sum(index[1:]) % 2 == 1
        if sum(index) % 2:
            case.update(alternative)
        cases.append(case)
    return cases


def _sgd_grid():
    cases = covering(
        {"lr": 5e-4},
        momentum=[0.0, 0.9],
        dampening=[0.0, 0.3],
        weight_decay=[0.0, 0.1],
        nesterov=[False, True],
    )
    # nesterov needs momentum and no dampening (torch raises otherwise; tested below)
    return [c for c in cases if not c["nesterov"] or (c["momentum"] > 0 and c["dampening"] == 0)]


GRIDS = {
    "SGD": _sgd_grid(),
    "Adagrad": covering(
        {"lr": 5e-2, "eps": 1e-3},
        lr_decay=[0.0, 1e-2],
        weight_decay=[0.0, 0.1],
        initial_accumulator_value=[0.0, 0.5],
    ),
    "RMSprop": covering(
        {"lr": 2e-3, "alpha": 0.97, "eps": 1e-6},
        weight_decay=[0.0, 0.1],
        momentum=[0.0, 0.5],
        centered=[False, True],
    ),
    "Adadelta": covering(
        {"lr": 0.3},
        rho=[0.9, 0.99],
        eps=[1e-6, 1e-4],
        weight_decay=[0.0, 0.1],
    ),
    "Adam": covering(
        {"lr": 1e-2, "betas": (0.8, 0.99), "eps": 1e-4},
        weight_decay=[0.0, 0.1],
        amsgrad=[False, True],
        decoupled_weight_decay=[False, True],
    ),
    "AdamW": covering(
        {"lr": 1e-2, "betas": (0.8, 0.99), "eps": 1e-4},
        weight_decay=[1e-2, 0.0, 0.1],
        amsgrad=[False, True],
    ),
    "NAdam": covering(
        {"lr": 1e-2, "betas": (0.8, 0.99), "eps": 1e-4, "momentum_decay": 1e-2},
        weight_decay=[0.0, 0.1],
        decoupled_weight_decay=[False, True],
    ),
}

# the most non-default valid combination of each optimizer, for the slower tests
BUSIEST = {
    name: max(cases, key=lambda c: sum(bool(v) for v in c.values()) + len(c))
    for name, cases in GRIDS.items()
}


@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("name", list(GRIDS))
def test_same_trajectory_as_torch(name, problem):
    for options in GRIDS[name]:
        try:
            assert_same_run(*run_pair(name, options, problem))
        except AssertionError as err:
            raise AssertionError(f"{name}({options}) on {problem}: {err}") from None


@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_numpy_gradients_match_autograd(problem):
    start, grads_fn, loss_fn = PROBLEMS[problem]
    rng = np.random.default_rng(2)
    for _ in range(5):
        params = [p + 0.5 * rng.normal(size=p.shape) for p in start]
        tensors = [torch.tensor(p, requires_grad=True) for p in params]
        loss_fn(tensors).backward()
        for g, t in zip(grads_fn(params), tensors, strict=True):
            np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("name", list(GRIDS))
def test_same_trajectory_as_torch_with_autograd(name, problem):
    assert_same_run(*run_pair(name, BUSIEST[name], problem, autograd=True))


def test_grids_cover_every_torch_keyword():
    skip = {"foreach", "fused", "capturable", "differentiable"}
    for name, cases in GRIDS.items():
        torch_params = inspect.signature(getattr(torch.optim, name)).parameters
        ours = inspect.signature(getattr(optim, name)).parameters
        assert set(ours) == set(torch_params) - skip, name
        for key in set(ours) - {"params"}:
            assert ours[key].kind is inspect.Parameter.KEYWORD_ONLY, (name, key)
            # torch's default is ours, and the grid tries at least one other value
            assert ours[key].default == torch_params[key].default, (name, key)
            assert any(c.get(key, ours[key].default) != ours[key].default for c in cases), (
                name,
                key,
            )
            assert any(c.get(key, ours[key].default) == ours[key].default for c in cases), (
                name,
                key,
            )


@pytest.mark.parametrize("name", list(GRIDS))
def test_param_groups_with_different_options(name):
    options = BUSIEST[name]
    lr = options.get("lr", 1e-3)
    group_options = [{}, {"lr": lr / 2, "weight_decay": 0.05}]
    ours, theirs, our_opt, their_opt = run_pair(
        name, options, "least_squares", group_options=group_options
    )
    assert_same_run(ours, theirs, our_opt, their_opt)
    assert our_opt.param_groups[1]["lr"] == lr / 2
    assert our_opt.param_groups[0]["lr"] == lr
    # the groups hold every hyperparameter, under torch's names
    skip = {"foreach", "fused", "capturable", "differentiable"}
    for ours_g, theirs_g in zip(our_opt.param_groups, their_opt.param_groups, strict=True):
        assert set(ours_g) == set(theirs_g) - skip
        for key in set(ours_g) - {"params"}:
            assert ours_g[key] == theirs_g[key], key


def test_zero_lr_group_is_frozen():
    weight, bias = (p.copy() for p in LSQ_START)
    opt = optim.Adam([{"params": [weight]}, {"params": [bias], "lr": 0.0}], lr=0.1)
    for _ in range(10):
        opt.step(lsq_grads([weight, bias]))
    np.testing.assert_array_equal(bias, LSQ_START[1])
    assert np.abs(weight - LSQ_START[0]).max() > 0.1


# --------------------------------------------------------------------------------------
# Validation: same exception type and message as torch
# --------------------------------------------------------------------------------------

BETAS_BAD = [{"betas": (1.0, 0.999)}, {"betas": (-0.1, 0.999)}, {"betas": (0.9, 1.0)}]
INVALID = {
    "SGD": [
        {"lr": -1e-3},
        {"momentum": -0.1},
        {"weight_decay": -1.0},
        {"nesterov": True},
        {"nesterov": True, "momentum": 0.9, "dampening": 0.1},
    ],
    "Adagrad": [
        {"lr": -1.0},
        {"lr_decay": -0.1},
        {"weight_decay": -1.0},
        {"initial_accumulator_value": -0.5},
        {"eps": -1e-10},
    ],
    "RMSprop": [
        {"lr": -1.0},
        {"eps": -1.0},
        {"momentum": -0.5},
        {"weight_decay": -1.0},
        {"alpha": -0.9},
    ],
    "Adadelta": [
        {"lr": -1.0},
        {"rho": 1.5},
        {"rho": -0.1},
        {"eps": -1.0},
        {"weight_decay": -1.0},
    ],
    "Adam": [{"lr": -1.0}, {"eps": -1.0}, {"weight_decay": -1.0}, *BETAS_BAD],
    "AdamW": [{"lr": -1.0}, {"eps": -1.0}, {"weight_decay": -1.0}, *BETAS_BAD],
    "NAdam": [
        {"lr": -1.0},
        {"eps": -1.0},
        {"weight_decay": -1.0},
        {"momentum_decay": -0.004},
        *BETAS_BAD,
    ],
}


@pytest.mark.parametrize("name", list(INVALID))
def test_validation_matches_torch(name):
    for bad in INVALID[name]:
        with pytest.raises(Exception) as theirs:
            getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **bad)
        with pytest.raises(theirs.type) as ours:
            getattr(optim, name)([np.zeros(2)], **bad)
        assert str(ours.value) == str(theirs.value), bad


@pytest.mark.parametrize("name", list(optim.OPTIMIZERS))
def test_misspelled_or_positional_hyperparameter_fails(name):
    cls = optim.OPTIMIZERS[name]
    with pytest.raises(TypeError):
        cls([np.zeros(2)], lr=0.1, learning_rate=0.1)
    with pytest.raises(TypeError):
        cls([np.zeros(2)], 0.1)  # hyperparameters are keyword-only
    with pytest.raises(TypeError, match="unknown hyperparameter"):
        cls([{"params": [np.zeros(2)], "lrr": 0.1}], lr=0.1)


def test_teaching_variant_validation():
    for cls in (optim.EMAMomentum, optim.HeavyBall):
        with pytest.raises(ValueError, match="-0.1"):
            cls([np.zeros(2)], lr=-0.1)
        with pytest.raises(ValueError, match="1.0"):
            cls([np.zeros(2)], lr=0.1, beta=1.0)
        with pytest.raises(TypeError):
            cls([np.zeros(2)])  # lr is required


# --------------------------------------------------------------------------------------
# The base class: params, grads, in-place updates
# --------------------------------------------------------------------------------------


def test_params_and_grads_handling():
    p = np.array([1.0, 2.0])
    view = p[:]  # a model holding the array (or a view of it) sees the in-place update
    opt = optim.SGD(p, lr=0.5)  # a single array is accepted
    assert opt.param_groups[0]["params"][0] is p
    opt.step(np.array([1.0, -2.0]))  # and a single gradient
    np.testing.assert_array_equal(view, [0.5, 3.0])
    opt.step([None])  # None skips the parameter, like p.grad is None in torch
    np.testing.assert_array_equal(p, [0.5, 3.0])

    with pytest.raises(ValueError, match=r"2 gradient\(s\) for 1 parameter"):
        opt.step([np.zeros(2), np.zeros(2)])
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        opt.step([np.zeros(3)])
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="float"):
        optim.SGD([np.zeros(2, dtype=int)], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(TypeError, match="ordered"):
        optim.SGD([{"params": {1.0}}], lr=0.1)


def test_defaults_and_registry():
    opt = optim.Adam([np.zeros(2)])
    assert opt.defaults == {
        "lr": 1e-3,
        "betas": (0.9, 0.999),
        "eps": 1e-8,
        "weight_decay": 0.0,
        "amsgrad": False,
        "maximize": False,
        "decoupled_weight_decay": False,
    }
    assert optim.AdamW([np.zeros(2)]).defaults["decoupled_weight_decay"] is True
    assert set(optim.OPTIMIZERS) == {
        "sgd",
        "adagrad",
        "rmsprop",
        "adadelta",
        "adam",
        "adamw",
        "nadam",
        "ema_momentum",
        "heavy_ball",
    }
    for cls in optim.OPTIMIZERS.values():
        assert issubclass(cls, optim.Optimizer)
    assert "lr: 0.001" in repr(opt)


def test_float32_params_stay_float32():
    p = np.ones(3, dtype=np.float32)
    opt = optim.Adam([p], lr=0.1)
    opt.step([np.ones(3, dtype=np.float32)])
    assert p.dtype == np.float32
    assert opt.state[id(p)]["exp_avg"].dtype == np.float32
    np.testing.assert_allclose(p, 0.9, rtol=1e-6)


# --------------------------------------------------------------------------------------
# Pure step functions
# --------------------------------------------------------------------------------------

STEP_FUNCTIONS = {
    optim.sgd_step: {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1, "nesterov": True},
    optim.adagrad_step: {"lr": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.1},
    optim.rmsprop_step: {"lr": 0.1, "momentum": 0.5, "centered": True, "weight_decay": 0.1},
    optim.adadelta_step: {"lr": 1.0, "weight_decay": 0.1},
    optim.adam_step: {"lr": 0.1, "amsgrad": True, "weight_decay": 0.1},
    optim.adamw_step: {"lr": 0.1, "amsgrad": True},
    optim.nadam_step: {"lr": 0.1, "weight_decay": 0.1, "decoupled_weight_decay": True},
    optim.ema_momentum_step: {"lr": 0.1},
    optim.heavy_ball_step: {"lr": 0.1},
}


@pytest.mark.parametrize("step_fn", list(STEP_FUNCTIONS), ids=lambda f: f.__name__)
def test_step_functions_are_pure(step_fn):
    rng = np.random.default_rng(1)
    param, state = rng.normal(size=(3, 2)), {}
    for _ in range(3):  # first step from {}, then from a populated state
        grad = rng.normal(size=param.shape)
        before = (param.copy(), grad.copy(), copy.deepcopy(state))
        new_param, new_state = step_fn(param, grad, state, **STEP_FUNCTIONS[step_fn])
        np.testing.assert_array_equal(param, before[0])
        np.testing.assert_array_equal(grad, before[1])
        assert state.keys() == before[2].keys()
        for key in state:
            np.testing.assert_array_equal(state[key], before[2][key])
        # the results share no memory with the inputs, so an in-place write of new_param
        # into param cannot corrupt the new state
        for value in [new_param, *new_state.values()]:
            if isinstance(value, np.ndarray):
                assert not np.shares_memory(value, param)
                assert not np.shares_memory(value, grad)
        assert not np.allclose(new_param, param)
        param, state = new_param, new_state


@pytest.mark.parametrize("step_fn", list(STEP_FUNCTIONS), ids=lambda f: f.__name__)
def test_step_functions_are_documented(step_fn):
    doc = step_fn.__doc__
    assert "math::" in doc  # the update rule
    assert "default" in doc.lower()
    assert any(str(year) in doc for year in range(1951, 2020))  # cites a paper


def test_class_is_a_loop_over_the_step_function():
    p = np.array([0.5, -0.5])
    opt = optim.NAdam([p], lr=0.01, weight_decay=0.1)
    q, state = p.copy(), {}
    for _ in range(5):
        g = np.array([p[0] ** 3, p[1]])
        opt.step([g])
        q, state = optim.nadam_step(
            q, np.array([q[0] ** 3, q[1]]), state, lr=0.01, weight_decay=0.1
        )
    np.testing.assert_array_equal(p, q)
    assert opt.state[id(p)]["step"] == 5.0


# --------------------------------------------------------------------------------------
# The three momentum forms (DESIGN.md, seed error 3)
# --------------------------------------------------------------------------------------


def _run(make_opt, lrs, start=(-1.2, 1.0)):
    """Run an optimizer on Rosenbrock, setting group["lr"] = lrs[t] before step t."""
    p = np.array(start)
    opt = make_opt([p])
    path = [p.copy()]
    for lr in lrs:
        opt.param_groups[0]["lr"] = lr
        opt.step(rosenbrock_grads([p]))
        path.append(p.copy())
    return np.array(path), opt


BETA = 0.9
CONSTANT = [1e-3] * STEPS
SCHEDULE = list(1e-3 * (0.3 + 0.7 * np.cos(np.linspace(0, np.pi / 2, STEPS))))  # decaying


def test_ema_momentum_equals_torch_sgd_with_rescaled_lr():
    ema, ema_opt = _run(lambda ps: optim.EMAMomentum(ps, lr=1.0, beta=BETA), CONSTANT)
    sgd, sgd_opt = _run(
        lambda ps: optim.SGD(ps, lr=1.0, momentum=BETA), [(1 - BETA) * lr for lr in CONSTANT]
    )
    assert np.all(np.isfinite(ema))
    np.testing.assert_allclose(ema, sgd, rtol=0, atol=TOL)
    # the EMA velocity is (1 - beta) times torch's buffer, at every step
    (p,) = ema_opt.param_groups[0]["params"]
    (q,) = sgd_opt.param_groups[0]["params"]
    np.testing.assert_allclose(
        ema_opt.state[id(p)]["exp_avg"],
        (1 - BETA) * sgd_opt.state[id(q)]["momentum_buffer"],
        rtol=1e-12,
    )
    # ... and torch's own SGD agrees (one torch cross-check of the relation)
    t = torch.tensor([-1.2, 1.0], requires_grad=True)
    topt = torch.optim.SGD([t], lr=(1 - BETA) * CONSTANT[0], momentum=BETA)
    for _ in range(STEPS):
        topt.zero_grad()
        rosenbrock_loss([t]).backward()
        topt.step()
    np.testing.assert_allclose(ema[-1], t.detach().numpy(), rtol=0, atol=TOL)
    # with the SAME lr the two are different methods (torch's steps are 1/(1-beta) = 10x)
    plain, _ = _run(lambda ps: optim.SGD(ps, lr=1.0, momentum=BETA), CONSTANT)
    assert np.abs(plain[1] - plain[0]).max() > 5 * np.abs(ema[1] - ema[0]).max()


def test_ema_vs_torch_form_under_a_changing_lr():
    """What exactly holds when the lr changes.

    EMA(lr_t) still equals torch SGD(lr_t * (1 - beta)) at every step: both multiply the
    whole velocity by the CURRENT lr, and the velocities differ by the constant factor
    (1 - beta). What breaks is converting once with the initial lr and then scheduling only
    one of them; and the heavy-ball form (next test) genuinely differs from torch's.
    """
    ema, _ = _run(lambda ps: optim.EMAMomentum(ps, lr=1.0, beta=BETA), SCHEDULE)
    sgd, _ = _run(
        lambda ps: optim.SGD(ps, lr=1.0, momentum=BETA), [(1 - BETA) * lr for lr in SCHEDULE]
    )
    np.testing.assert_allclose(ema, sgd, rtol=0, atol=TOL)
    # a schedule on one side only: identical first step (same lr), then they separate
    frozen, _ = _run(
        lambda ps: optim.SGD(ps, lr=1.0, momentum=BETA), [(1 - BETA) * SCHEDULE[0]] * STEPS
    )
    np.testing.assert_allclose(ema[1], frozen[1], rtol=0, atol=1e-15)
    assert np.abs(ema[-1] - frozen[-1]).max() > 1e-3


def test_dampened_sgd_is_not_the_ema():
    # dampening=beta gives buf = beta*buf + (1-beta)*g, but torch's FIRST buffer is the
    # undampened gradient, so the very first step is 1/(1-beta) times the EMA's
    ema, _ = _run(lambda ps: optim.EMAMomentum(ps, lr=1.0, beta=BETA), CONSTANT)
    damp, _ = _run(lambda ps: optim.SGD(ps, lr=1.0, momentum=BETA, dampening=BETA), CONSTANT)
    np.testing.assert_allclose(damp[1] - damp[0], (ema[1] - ema[0]) / (1 - BETA), rtol=1e-12)
    assert np.abs(ema[-1] - damp[-1]).max() > 1e-3


def test_heavy_ball_equals_torch_sgd_for_constant_lr():
    heavy, _ = _run(lambda ps: optim.HeavyBall(ps, lr=1.0, beta=BETA), CONSTANT)
    sgd, _ = _run(lambda ps: optim.SGD(ps, lr=1.0, momentum=BETA), CONSTANT)
    assert np.all(np.isfinite(heavy))
    # the first step of both is a plain gradient step (theta_{-1} := theta_0; b_1 = g_1)
    g0 = rosenbrock_grads([heavy[0]])[0]
    np.testing.assert_allclose(heavy[1], heavy[0] - CONSTANT[0] * g0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(sgd[1], heavy[1], rtol=0, atol=1e-15)
    # the same method afterwards; only rounding differs (about 1e-16 per step)
    np.testing.assert_allclose(heavy, sgd, rtol=0, atol=TOL)


def test_heavy_ball_differs_from_torch_sgd_under_a_changing_lr():
    heavy, _ = _run(lambda ps: optim.HeavyBall(ps, lr=1.0, beta=BETA), SCHEDULE)
    sgd, _ = _run(lambda ps: optim.SGD(ps, lr=1.0, momentum=BETA), SCHEDULE)
    np.testing.assert_allclose(heavy[:2], sgd[:2], rtol=0, atol=1e-15)
    assert np.abs(heavy[-1] - sgd[-1]).max() > 1e-3
    # precisely: torch's step is a heavy-ball step whose beta is rescaled by lr_t / lr_{t-1}
    theta = [sgd[0], sgd[1]]
    for t in range(1, STEPS):
        beta_t = BETA * SCHEDULE[t] / SCHEDULE[t - 1]
        g = rosenbrock_grads([theta[t]])[0]
        theta.append(theta[t] - SCHEDULE[t] * g + beta_t * (theta[t] - theta[t - 1]))
    np.testing.assert_allclose(np.array(theta), sgd, rtol=0, atol=TOL)
