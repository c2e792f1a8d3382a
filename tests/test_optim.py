"""nnopt_lib.optim against torch.optim: trajectories, state, validation, and the momentum forms.

The runs against torch are ``crosscheck.compare_optimizer``'s (the harness the cross-check
matrix uses): every optimizer with the SAME keyword dict in nnopt_lib and in torch
(float64, 200 steps) on Rosenbrock and on a two-array least-squares problem, over a grid
that turns every boolean option on and off and gives every numeric option a non-default
value; then the state each run ends with, and param groups with their own options.
"""

import copy
import inspect
import itertools
import math

import numpy as np
import pytest
import torch

from nnopt_lib import crosscheck, optim, surfaces

STEPS = 200
TOL = 1e-10
PROBLEMS = ("rosenbrock", "least_squares")
#: torch's class name (the grids' keys) -> the key of optim.OPTIMIZERS
REGISTRY = {cls.__name__: key for key, cls in optim.OPTIMIZERS.items()}


def compare(name, options, problem, **kwargs):
    """``crosscheck.compare_optimizer`` for class ``name`` on a problem of PROBLEMS."""
    where = {"surface": problem} if problem == "rosenbrock" else {"problem": problem}
    return crosscheck.compare_optimizer(REGISTRY[name], options, steps=STEPS, **where, **kwargs)


def assert_same_run_and_state(result):
    """The trajectories agree to 1e-10, and so does the state each optimizer ends with."""
    result.assert_ok()
    assert result.max_abs_diff <= TOL and np.isfinite(result.ours).all()
    ours, theirs = result.final
    state = crosscheck.compare_state_dicts(ours.state_dict(), theirs.state_dict(),
                                           what=f"state after {result.what}").assert_ok()
    # entry by entry, relative too: Adagrad's "sum" grows to ~1e6 on Rosenbrock, which sets
    # the comparison's tolerance for every entry
    np.testing.assert_allclose(state.ours, state.theirs, rtol=1e-12, atol=TOL)


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


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("name", list(GRIDS))
def test_same_trajectory_as_torch(name, problem):
    # torch gets the analytic gradient at its own iterate (autograd costs 0.3-5 ms a step on
    # tiny tensors, too slow for the whole grid; test_problem_gradients_match_autograd keeps
    # that gradient honest, and the test after it runs autograd on the busiest case)
    for options in GRIDS[name]:
        assert_same_run_and_state(compare(name, options, problem, gradients="analytic"))


@pytest.mark.parametrize("problem", [crosscheck.surface_problem("rosenbrock"),
                                     crosscheck.least_squares()], ids=PROBLEMS)
def test_problem_gradients_match_autograd(problem):
    rng = np.random.default_rng(2)
    for _ in range(5):
        params = [p + 0.5 * rng.normal(size=p.shape) for p in problem.start]
        tensors = [torch.tensor(p, requires_grad=True) for p in params]
        problem.loss(tensors, torch).backward()
        for g, t in zip(problem.gradients(params), tensors, strict=True):
            np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("name", list(GRIDS))
def test_same_trajectory_as_torch_with_autograd(name, problem):
    assert_same_run_and_state(compare(name, BUSIEST[name], problem))


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
    result = compare(name, options, "least_squares",
                     param_groups=[{}, {"lr": lr / 2, "weight_decay": 0.05}])
    assert_same_run_and_state(result)
    our_opt, their_opt = result.final
    assert our_opt.param_groups[1]["lr"] == lr / 2
    assert our_opt.param_groups[0]["lr"] == lr
    # the groups hold every hyperparameter, under torch's names
    skip = {"foreach", "fused", "capturable", "differentiable"}
    for ours_g, theirs_g in zip(our_opt.param_groups, their_opt.param_groups, strict=True):
        assert set(ours_g) == set(theirs_g) - skip
        for key in set(ours_g) - {"params"}:
            assert ours_g[key] == theirs_g[key], key


def test_zero_lr_group_is_frozen():
    problem = crosscheck.least_squares()
    weight, bias = (p.copy() for p in problem.start)
    opt = optim.Adam([{"params": [weight]}, {"params": [bias], "lr": 0.0}], lr=0.1)
    for _ in range(10):
        opt.step(problem.gradients([weight, bias]))
    np.testing.assert_array_equal(bias, problem.start[1])
    assert np.abs(weight - problem.start[0]).max() > 0.1


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


# Bad values of every hyperparameter of every constructor (issue 7, section 5). Where torch
# raises at construction, ours raises the same exception type; where torch accepts the
# value (NaN or inf numbers, non-boolean flags, a negative dampening, ...), ours still
# raises, with a ValueError or TypeError that names the argument.
BAD_NUMBERS = {
    "negative": -1.0,
    "nan": math.nan,
    "inf": math.inf,
    "str": "0.1",
    "none": None,
    "list": [0.1],
}
BAD_FLAGS = {"str": "no", "none": None, "int": 1, "float": 0.5, "list": [True]}
BAD_BETAS = {
    "nan0": (math.nan, 0.999),
    "nan1": (0.9, math.nan),
    "inf": (math.inf, 0.999),
    "negative": (-0.1, 0.999),
    "one": (1.0, 0.999),
    "float": 0.9,
    "str": "ab",
    "none": None,
    "short": (0.9,),
    "long": (0.9, 0.99, 0.5),
    "str_entry": ("a", 0.9),
}
# the words our messages use for an argument, besides its name
ALIASES = {"lr": "learning rate", "eps": "epsilon"}


def bad_cases(cls):
    for key, parameter in inspect.signature(cls).parameters.items():
        if key == "params":
            continue
        if key == "betas":
            table = BAD_BETAS
        elif isinstance(parameter.default, bool):
            table = BAD_FLAGS
        else:
            table = BAD_NUMBERS
        for label, value in table.items():
            yield key, label, value


def _construct(lib, cls_name, kwargs):
    """The exception type constructing lib.<cls_name> raises, or None if it accepts."""
    param = torch.zeros(2, requires_grad=True) if lib is torch.optim else np.zeros(2)
    options = {"lr": 0.1, **kwargs} if cls_name in ("EMAMomentum", "HeavyBall") else kwargs
    try:
        getattr(lib, cls_name)([param], **options)
    except Exception as error:  # noqa: BLE001 - the type is what we compare
        return error
    return None


@pytest.mark.parametrize("name", [cls.__name__ for cls in optim.OPTIMIZERS.values()])
def test_bad_hyperparameters_raise_like_torch_or_clearly(name):
    counts = {"same_as_torch": 0, "clear_where_torch_accepts": 0}
    for key, label, value in bad_cases(getattr(optim, name)):
        ours = _construct(optim, name, {key: value})
        assert ours is not None, f"{name}({key}={value!r}) was accepted"
        theirs = _construct(torch.optim, name, {key: value}) if hasattr(torch.optim, name) else None
        if theirs is not None:
            assert isinstance(ours, type(theirs)), (name, key, label, ours, theirs)
            counts["same_as_torch"] += 1
        else:
            assert type(ours) in (ValueError, TypeError), (name, key, label, ours)
            counts["clear_where_torch_accepts"] += 1
        message = str(ours).lower()
        words = [key.lower(), ALIASES.get(key, key), "beta" if key == "betas" else key]
        assert any(word in message for word in words), (name, key, label, str(ours))
    assert sum(counts.values()) > 10


def test_torch_accepts_what_we_refuse():
    # the garbage these checks prevent, measured on torch 2.13: a run of NaN, or maximizing
    # because "no" is truthy
    t = torch.ones(2, requires_grad=True)
    topt = torch.optim.SGD([t], lr=math.nan)
    t.grad = torch.ones(2)
    topt.step()
    assert torch.isnan(t).all()
    with pytest.raises(ValueError, match="learning rate: nan"):
        optim.SGD([np.ones(2)], lr=math.nan)
    with pytest.raises(TypeError, match="maximize must be True or False"):
        optim.Adam([np.ones(2)], maximize="no")
    with pytest.raises(ValueError, match="lr must be finite"):
        optim.Adam([np.ones(2)], lr=math.inf)
    with pytest.raises(ValueError, match=r"dampening must be in \[0, 1\]"):
        optim.SGD([np.ones(2)], lr=0.1, momentum=0.9, dampening=-1.0)
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
        optim.RMSprop([np.ones(2)], alpha=1.5)
    # NumPy numbers are numbers, NumPy booleans booleans
    optim.SGD([np.ones(2)], lr=np.float32(0.1), momentum=np.float64(0.9), nesterov=np.bool_(True))
    # groups added later and loaded state dicts go through the same checks
    opt = optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="learning rate"):
        opt.add_param_group({"params": [np.ones(3)], "lr": -0.5})
    assert len(opt.param_groups) == 1


def test_bad_params_argument():
    with pytest.raises(TypeError, match="iterable of arrays or dicts, but got float"):
        optim.SGD(0.5, lr=0.1)
    with pytest.raises(TypeError):
        torch.optim.SGD(0.5, lr=0.1)


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


@pytest.mark.parametrize("name", list(optim.OPTIMIZERS))
def test_bad_step_changes_nothing(name):
    """A read-only parameter, a non-float or misshapen gradient: the step raises BEFORE any
    parameter or state changes, even when earlier parameters were fine (issue 7: the state
    used to advance, then numpy refused the write)."""
    cls = optim.OPTIMIZERS[name]
    first, second = np.array([1.0, -2.0]), np.array([0.5, 0.25, -1.0])
    opt = cls([first, second], lr=0.1)
    opt.step([np.ones(2), np.ones(3)])
    good = [np.array([0.3, -0.2]), np.array([0.1, 0.2, 0.3])]
    bad = [
        ([good[0], np.array([1, 2, 3])], TypeError, "dtype int64"),
        ([good[0], np.array([True, False, True])], TypeError, "dtype bool"),
        ([good[0], np.ones(4)], ValueError, r"shape \(4,\)"),
        ([good[0], np.ones((3, 1))], ValueError, "shape"),
        (0.5, TypeError, "list of gradient arrays"),
    ]
    before = (copy.deepcopy(opt.state_dict()), first.copy(), second.copy())

    def unchanged():
        after = opt.state_dict()
        for index, entries in before[0]["state"].items():
            for key, value in entries.items():
                np.testing.assert_array_equal(after["state"][index][key], value)
        np.testing.assert_array_equal(first, before[1])
        np.testing.assert_array_equal(second, before[2])

    for grads, error, text in bad:
        with pytest.raises(error, match=text):
            opt.step(grads)
        unchanged()
    second.flags.writeable = False
    with pytest.raises(ValueError, match="parameter 1 is read-only"):
        opt.step(good)
    unchanged()
    opt.step([good[0], None])  # a read-only parameter without a gradient is left alone
    assert not np.array_equal(first, before[1])
    second.flags.writeable = True
    opt.step(good)
    assert not np.array_equal(second, before[2])


def test_gradients_are_used_in_the_param_dtype():
    p = np.ones(3, dtype=np.float32)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    opt.step([np.full(3, 1 / 3)])  # float64 gradient: torch would refuse the dtype mismatch
    assert opt.state[p]["momentum_buffer"].dtype == np.float32
    np.testing.assert_array_equal(p, np.float32(1) - np.float32(0.1) * np.float32(1 / 3))


def test_presets_build_their_optimizers():
    from nnopt_lib.optim.presets import PRESETS

    assert set(PRESETS) == {
        "sgd",
        "momentum",
        "nesterov",
        "ema_momentum",
        "heavy_ball",
        "adagrad",
        "rmsprop",
        "adam",
        "adamw",
        "nadam",
    }
    for class_name, options in PRESETS.values():
        for beta in (0.0, np.float64(0.9)):  # sliders may hand over numpy numbers
            opt = getattr(optim, class_name)([np.ones(2)], **options(0.01, beta))
            opt.step([np.ones(2)])
    assert PRESETS["nesterov"][1](0.1, 0.0) == {"lr": 0.1, "momentum": 0.0, "nesterov": False}
    assert PRESETS["adam"][1](0.1, 0.8) == {"lr": 0.1, "betas": (0.8, 0.999)}


def test_float32_params_stay_float32():
    p = np.ones(3, dtype=np.float32)
    opt = optim.Adam([p], lr=0.1)
    opt.step([np.ones(3, dtype=np.float32)])
    assert p.dtype == np.float32
    assert opt.state[p]["exp_avg"].dtype == np.float32
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
def test_step_functions_check_their_inputs(step_fn):
    options = STEP_FUNCTIONS[step_fn]
    param, grad = np.ones(3), np.full(3, 0.5)
    bad = [
        ((param, grad, None), {}, TypeError, "state must be a dict"),
        ((param, "abc", {}), {}, TypeError, "grad must be a numeric array"),
        ((param, np.array([True, False, True]), {}), {}, TypeError, "grad"),
        (("abc", grad, {}), {}, TypeError, "param"),
        ((param, grad, {}), {"lr": math.nan}, ValueError, "lr must be finite"),
        ((param, grad, {}), {"lr": -0.1}, ValueError, "lr"),
        ((param, grad, {}), {"lr": "0.1"}, TypeError, "lr must be a number"),
    ]
    for args, change, error, text in bad:
        with pytest.raises(error, match=text):
            step_fn(*args, **{**options, **change})
    # a column of learning rates sweeps many runs in one vectorised call (notebook 06)
    lrs = np.array([[0.0], [0.01], [0.1]])
    swept, _ = step_fn(np.ones((3, 2)), np.full((3, 2), 0.5), {}, **{**options, "lr": lrs})
    np.testing.assert_array_equal(swept[0], [1.0, 1.0])
    assert swept[2, 0] != swept[1, 0]


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
    assert opt.state[p]["step"] == 5.0


# Every switch of the classes that have an in-place path (optim/inplace.py), each on its own.
INPLACE_CASES = [
    *[(optim.SGD, optim.sgd_step, options) for options in (
        {"lr": 0.1},
        {"lr": 0.1, "momentum": 0.9},
        {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01},
        {"lr": 0.1, "momentum": 0.9, "nesterov": True, "maximize": True},
        {"lr": 0.1, "weight_decay": 0.1, "maximize": True},
    )],
    *[(optim.Adam, optim.adam_step, options) for options in (
        {"lr": 0.01},
        {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1},
        {"lr": 0.01, "amsgrad": True, "maximize": True, "weight_decay": 0.1},
        {"lr": 0.01, "decoupled_weight_decay": True, "weight_decay": 0.1, "maximize": True},
    )],
    (optim.AdamW, optim.adamw_step, {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cls, step_fn, options", INPLACE_CASES)
def test_inplace_path_equals_the_step_function_bit_for_bit(cls, step_fn, options, dtype):
    """The classes' block-by-block in-place update (optim/inplace.py) does the pure function's
    arithmetic in the same order: equal bit for bit, over several blocks and a ragged last one,
    for a matrix (reshaped) and a 0-d parameter."""
    from nnopt_lib.optim.inplace import BLOCK

    rng = np.random.default_rng(3)
    params = [rng.standard_normal((3, BLOCK + 7)).astype(dtype), np.array(0.5, dtype=dtype)]
    opt = cls(params, **options)
    pure = [p.copy() for p in params]
    states = [{}, {}]
    for _ in range(4):
        grads = [rng.standard_normal(p.shape).astype(dtype) for p in params]
        grads[0][0, :5] = 0.0  # exact zeros: the buffers' first values must match too
        opt.step(grads)
        for i, grad in enumerate(grads):
            pure[i], states[i] = step_fn(pure[i], grad, states[i], **options)
    for param, expected, state in zip(params, pure, states, strict=True):
        assert param.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(param, expected, strict=True)
        assert opt.state[param].keys() == state.keys()
        for key, value in state.items():
            np.testing.assert_array_equal(opt.state[param][key], value)


@pytest.mark.parametrize("cls, step_fn, options", [INPLACE_CASES[3], INPLACE_CASES[7]])
def test_inplace_path_split_among_threads_is_still_bit_for_bit(cls, step_fn, options,
                                                                monkeypatch):
    """A parameter large enough to be split among threads (three spans here, whatever the
    machine's core count) gives exactly the step function's result."""
    from nnopt_lib.optim import inplace

    monkeypatch.setattr(inplace, "_CORES", 3)
    rng = np.random.default_rng(5)
    size = 3 * inplace.MIN_BLOCKS_PER_THREAD * inplace.BLOCK + 11
    param = rng.standard_normal(size, dtype=np.float32)
    expected, state = param.copy(), {}
    opt = cls([param], **options)
    for _ in range(3):
        grad = rng.standard_normal(size, dtype=np.float32)
        opt.step([grad])
        expected, state = step_fn(expected, grad, state, **options)
    np.testing.assert_array_equal(param, expected, strict=True)
    for key, value in state.items():
        np.testing.assert_array_equal(opt.state[param][key], value)


def test_inplace_path_leaves_gradients_and_non_contiguous_params_alone():
    """The in-place path never writes into a gradient; a large parameter that is not
    C-contiguous (a transposed view) and a small one take the pure path; all three are right."""
    from nnopt_lib.optim.inplace import MIN_SIZE

    rng = np.random.default_rng(4)
    params = [rng.standard_normal((2, MIN_SIZE)),        # in place
              rng.standard_normal((MIN_SIZE, 2)).T,      # strided view: pure path
              rng.standard_normal((3, 4))]               # small: pure path
    grads = [rng.standard_normal(p.shape) for p in params]
    grads_before = [g.copy() for g in grads]
    options = {"lr": 0.1, "maximize": True, "weight_decay": 0.1}
    expected = [optim.adam_step(p.copy(), g, {}, **options)[0]
                for p, g in zip(params, grads, strict=True)]
    optim.Adam(params, **options).step(grads)
    for grad, before in zip(grads, grads_before, strict=True):
        np.testing.assert_array_equal(grad, before)
    for param, want in zip(params, expected, strict=True):
        np.testing.assert_array_equal(param, want)


# --------------------------------------------------------------------------------------
# The three momentum forms (DESIGN.md, seed error 3)
# --------------------------------------------------------------------------------------


ROSENBROCK = surfaces.rosenbrock()


def _run(make_opt, lrs, start=(-1.2, 1.0)):
    """Run an optimizer on Rosenbrock, setting group["lr"] = lrs[t] before step t."""
    p = np.array(start)
    opt = make_opt([p])
    path = [p.copy()]
    for lr in lrs:
        opt.param_groups[0]["lr"] = lr
        opt.step([ROSENBROCK.grad(p)])
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
        ema_opt.state[p]["exp_avg"],
        (1 - BETA) * sgd_opt.state[q]["momentum_buffer"],
        rtol=1e-12,
    )
    # ... and torch's own SGD agrees: the cross-check runs EMAMomentum against exactly
    # torch.optim.SGD(lr=(1 - beta) lr, momentum=beta)
    result = crosscheck.compare_optimizer("ema_momentum", {"lr": CONSTANT[0], "beta": BETA},
                                          surface=ROSENBROCK, steps=STEPS).assert_ok()
    np.testing.assert_allclose(result.ours, ema, rtol=0, atol=TOL)
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
    g0 = ROSENBROCK.grad(heavy[0])
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
        g = ROSENBROCK.grad(theta[t])
        theta.append(theta[t] - SCHEDULE[t] * g + beta_t * (theta[t] - theta[t - 1]))
    np.testing.assert_allclose(np.array(theta), sgd, rtol=0, atol=TOL)
