"""nnopt_lib.schedules against torch.optim.lr_scheduler: the same constructor call on an
nnopt optimizer and on a torch optimizer must produce the same learning rates (and
momenta, for OneCycleLR) at every step.

The runs against torch are the cross-check matrix's schedule cases
(``crosscheck.SCHEDULE_CASES``, run by ``crosscheck.compare_schedule``); this file adds what
they cannot say: closed forms, constructor side effects, validation and resuming.
"""

import math
import re
import warnings

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as torch_sched

from nnopt_lib import crosscheck, optim, schedules

STEPS = crosscheck.matrix.SCHEDULE_STEPS


def _inverse_time(t):
    return 1.0 / (1.0 + 0.05 * t)


def _make_pair(opt_name, lrs=(0.1,)):
    """A torch optimizer and an nnopt one over one 1-element parameter per group."""
    groups_t = [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs]
    groups_n = [{"params": [np.zeros(1)], "lr": lr} for lr in lrs]
    if opt_name == "sgd":
        return torch.optim.SGD(groups_t, momentum=0.9), optim.SGD(groups_n, momentum=0.9)
    if opt_name == "adam":
        return torch.optim.Adam(groups_t), optim.Adam(groups_n)
    if opt_name == "adagrad":
        return torch.optim.Adagrad(groups_t), optim.Adagrad(groups_n)
    raise AssertionError(opt_name)


DECREASING = {"StepLR(step_size=30)", "ExponentialLR(gamma=0.99)",
              "CosineAnnealingLR(T_max=300, eta_min=0.001)",
              "LinearLR(start_factor=1.0, end_factor=0.0, total_iters=300)"}


@pytest.mark.parametrize(("name", "kwargs"), crosscheck.SCHEDULE_CASES,
                         ids=[f"{name}-{i}" for i, (name, _) in
                              enumerate(crosscheck.SCHEDULE_CASES)])
def test_same_lr_sequence_as_torch(name, kwargs):
    result = crosscheck.compare_schedule(name, **kwargs).assert_ok()
    # stronger than the tolerance: our arithmetic repeats torch's operation for operation,
    # so the float64 learning rates are identical bit for bit
    assert result.max_abs_diff == 0.0, result
    ours, theirs = result.final
    assert ours.last_epoch == theirs.last_epoch == kwargs["steps"]
    lrs, moms = result.ours[:, 0], result.ours[:, 1]
    assert np.all(np.isfinite(lrs))
    if name.startswith("OneCycleLR") and "cycle_momentum=False" not in name:
        assert moms.max() > moms.min()  # momentum (or beta1) really is cycled
    if name in DECREASING:
        assert np.all(np.diff(lrs) <= 0) and lrs[-1] < lrs[0]
    if name.startswith("ReduceLROnPlateau"):
        assert "initial_lr" not in ours.optimizer.param_groups[0]
        if "eps=0.02" not in name:
            assert len(np.unique(lrs)) > 1  # the case really reduces the lr


def test_the_cases_cover_several_groups_adam_and_every_plateau_mode():
    settings = [kwargs for _, kwargs in crosscheck.SCHEDULE_CASES]
    assert sum(np.ndim(k.get("lr", 0.1)) == 1 for k in settings) >= 4  # several groups
    assert sum(k.get("optimizer") == "adam" for k in settings) >= 3
    plateau = [name for name, _ in crosscheck.SCHEDULE_CASES if "ReduceLROnPlateau" in name]
    assert any("mode=max" in name for name in plateau) and len(plateau) >= 8


@pytest.mark.parametrize(
    "build",
    [
        lambda o: schedules.CosineAnnealingLR(o, T_max=40, eta_min=0.01),
        lambda o: schedules.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=25),
        lambda o: schedules.ExponentialLR(o, gamma=0.95),
        lambda o: schedules.StepLR(o, step_size=9, gamma=0.5),
        lambda o: schedules.MultiStepLR(o, milestones=[5, 17, 17]),
        lambda o: schedules.ConstantLR(o, factor=0.25, total_iters=12),
    ],
)
def test_closed_form_agrees_with_recursion(build):
    # the recursive updates and the closed forms in the docstrings describe the same schedule
    sched = build(optim.SGD([np.zeros(1)], lr=0.2))
    for _ in range(100):
        sched.step()
        np.testing.assert_allclose(sched.get_last_lr(), sched._closed_form_lr(), rtol=1e-10)


def test_reduce_on_plateau_min_lr_list_and_reduction_arithmetic():
    opt = optim.SGD([{"params": [np.zeros(1)], "lr": 1.0}, {"params": [np.zeros(1)], "lr": 1.0}])
    sched = schedules.ReduceLROnPlateau(opt, patience=0, factor=0.5, min_lr=[0.0, 0.4])
    sched.step(1.0)  # establishes best
    assert sched.get_last_lr() == [1.0, 1.0]
    sched.step(1.0)  # no improvement, patience 0 -> reduce
    assert sched.get_last_lr() == [0.5, 0.5]
    sched.step(2.0)
    assert sched.get_last_lr() == [0.25, 0.4]  # floor at min_lr


def test_constructor_sets_initial_lr_like_torch():
    opt = optim.SGD([np.zeros(1)], lr=0.3)
    sched = schedules.LinearLR(opt, start_factor=0.5)
    assert opt.param_groups[0]["initial_lr"] == 0.3
    assert opt.param_groups[0]["lr"] == 0.15 and sched.get_last_lr() == [0.15]
    assert sched.last_epoch == 0 and sched.base_lrs == [0.3]
    # a second scheduler keeps the first one's initial_lr (setdefault), as in torch
    sched2 = schedules.ExponentialLR(opt, gamma=0.5)
    assert sched2.base_lrs == [0.3]


def test_onecycle_sets_group_keys_like_torch():
    topt, nopt = _make_pair("adam")
    torch_sched.OneCycleLR(topt, max_lr=0.05, total_steps=10)
    schedules.OneCycleLR(nopt, max_lr=0.05, total_steps=10)
    for key in ["initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum", "lr", "betas"]:
        assert nopt.param_groups[0][key] == pytest.approx(topt.param_groups[0][key], rel=1e-15)
    assert isinstance(nopt.param_groups[0]["betas"], tuple)


def test_onecycle_refuses_extra_steps():
    for m, o in [(torch_sched, _make_pair("sgd")[0]), (schedules, _make_pair("sgd")[1])]:
        sched = m.OneCycleLR(o, max_lr=0.1, total_steps=5)
        for _ in range(5):
            if m is torch_sched:
                o.step()
            sched.step()
        with pytest.raises(ValueError, match="Tried to step 6 times"):
            sched.step()


# Bad arguments: (build(module, torch_opt_or_nnopt_opt), optimizer name, text our message names)
BAD = [
    (lambda m, o: m.ConstantLR(o, factor=1.5), "sgd", "1.5"),
    (lambda m, o: m.ConstantLR(o, factor=-0.1), "sgd", "-0.1"),
    (lambda m, o: m.LinearLR(o, start_factor=0.0), "sgd", "start_factor=0.0"),
    (lambda m, o: m.LinearLR(o, start_factor=1.5), "sgd", "start_factor=1.5"),
    (lambda m, o: m.LinearLR(o, end_factor=-0.5), "sgd", "end_factor=-0.5"),
    (lambda m, o: m.LinearLR(o, end_factor=2.0), "sgd", "end_factor=2.0"),
    (lambda m, o: m.OneCycleLR(o, max_lr=0.1), "sgd", "total_steps OR"),
    (lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=0), "sgd", "got 0"),
    (lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=2.5), "sgd", "got 2.5"),
    (
        lambda m, o: m.OneCycleLR(o, max_lr=0.1, epochs=0, steps_per_epoch=3),
        "sgd",
        "epochs, but got 0",
    ),
    (lambda m, o: m.OneCycleLR(o, max_lr=0.1, epochs=2, steps_per_epoch=-3), "sgd", "got -3"),
    (lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1.5), "sgd", "1.5"),
    (lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1), "sgd", "got 1"),
    (lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp"), "sgd", "exp"),
    (lambda m, o: m.OneCycleLR(o, max_lr=[0.1, 0.2], total_steps=10), "sgd", "has 2 values"),
    (lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=10), "adagrad", "Adagrad"),
    (lambda m, o: m.ReduceLROnPlateau(o, factor=1.0), "sgd", "1.0"),
    (lambda m, o: m.ReduceLROnPlateau(o, mode="avg"), "sgd", "avg"),
    (lambda m, o: m.ReduceLROnPlateau(o, threshold_mode="pct"), "sgd", "pct"),
    (lambda m, o: m.ReduceLROnPlateau(o, min_lr=[0.1, 0.2]), "sgd", "got 2"),
    (lambda m, o: m.LambdaLR(o, lr_lambda=[_inverse_time] * 3), "sgd", "got 3"),
    (lambda m, o: m.SequentialLR(o, schedulers=[], milestones=[]), "sgd", "no scheduler"),
    (
        lambda m, o: m.SequentialLR(o, schedulers=[m.StepLR(o, 5), m.StepLR(o, 5)], milestones=[]),
        "sgd",
        "equal to 0",
    ),
    (
        lambda m, o: m.SequentialLR(o, schedulers=[m.ReduceLROnPlateau(o)], milestones=[]),
        "sgd",
        "index 0",
    ),
]


@pytest.mark.parametrize("build,opt_name,text", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_validation_like_torch(build, opt_name, text):
    topt, nopt = _make_pair(opt_name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch may warn while constructing inner schedulers
        with pytest.raises(Exception) as torch_error:
            build(torch_sched, topt)
    with pytest.raises(torch_error.type, match=re.escape(text)):
        build(schedules, nopt)


# Bad values of every argument of every scheduler constructor (issue 7, section 5): where
# torch raises at construction, ours raises the same exception type; where torch accepts
# the value (and then fails at some later step, or runs on garbage: NaN or negative rates),
# ours raises at construction, with a ValueError or TypeError that names the argument.
NEG, NAN, INF = -1, math.nan, math.inf
NUMBER = {"negative": NEG, "nan": NAN, "inf": INF, "str": "3", "none": None}
NUMBER_NOT_PER_GROUP = {**NUMBER, "list": [3]}
POSITIVE_INT = {
    "zero": 0,
    "negative": NEG,
    "nan": NAN,
    "inf": INF,
    "str": "3",
    "none": None,
    "float": 2.5,
}
COUNT = {"negative": NEG, "nan": NAN, "inf": INF, "str": "3", "none": None, "float": 2.5}
FRACTION = {**NUMBER_NOT_PER_GROUP, "above_one": 1.5}
POSITIVE_FRACTION = {**FRACTION, "zero": 0}
DIVISOR = {**NUMBER_NOT_PER_GROUP, "zero": 0}
CHOICE = {"unknown": "bogus", "int": 3, "none": None, "list": ["x"]}
FLAG = {"str": "yes", "none": None, "int": 1, "float": 0.5}

SCHEDULER_ARGUMENTS = {
    "LambdaLR": ({}, {"lr_lambda": {"int": 3, "none": None, "str": "f", "list": [3]}}),
    "StepLR": ({"step_size": 3}, {"step_size": POSITIVE_INT, "gamma": NUMBER_NOT_PER_GROUP}),
    "MultiStepLR": (
        {"milestones": [3]},
        {
            "milestones": {
                "str": "3",
                "none": None,
                "int": 3,
                "float_entry": [2.5],
                "negative_entry": [-1],
            },
            "gamma": NUMBER_NOT_PER_GROUP,
        },
    ),
    "ConstantLR": ({}, {"factor": POSITIVE_FRACTION, "total_iters": POSITIVE_INT}),
    "LinearLR": (
        {},
        {"start_factor": POSITIVE_FRACTION, "end_factor": FRACTION, "total_iters": POSITIVE_INT},
    ),
    "ExponentialLR": ({"gamma": 0.9}, {"gamma": NUMBER_NOT_PER_GROUP}),
    "CosineAnnealingLR": (
        {"T_max": 10},
        {"T_max": POSITIVE_INT, "eta_min": NUMBER_NOT_PER_GROUP},
    ),
    "OneCycleLR": (
        {"max_lr": 1.0, "total_steps": 10},
        {
            "max_lr": NUMBER,
            "total_steps": {k: v for k, v in POSITIVE_INT.items() if k != "none"},
            "pct_start": FRACTION,
            "anneal_strategy": CHOICE,
            "base_momentum": NUMBER,
            "max_momentum": NUMBER,
            "div_factor": DIVISOR,
            "final_div_factor": DIVISOR,
            "three_phase": FLAG,
            "cycle_momentum": FLAG,
        },
    ),
    "ReduceLROnPlateau": (
        {},
        {
            "mode": CHOICE,
            "factor": {**NUMBER_NOT_PER_GROUP, "one": 1.0},
            "patience": COUNT,
            "threshold": NUMBER_NOT_PER_GROUP,
            "threshold_mode": CHOICE,
            "cooldown": COUNT,
            "min_lr": NUMBER,
            "eps": NUMBER_NOT_PER_GROUP,
        },
    ),
}
WORDS = {"threshold_mode": "threshold mode", "factor": "factor"}


def _build_error(lib, name, kwargs):
    """The exception lib.<name>(optimizer, **kwargs) raises, or None if it is accepted."""
    topt, nopt = _make_pair("sgd")
    opt = topt if lib is torch_sched else nopt
    if name == "LambdaLR":
        kwargs = {"lr_lambda": _inverse_time, **kwargs}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            getattr(lib, name)(opt, **kwargs)
    except Exception as error:  # noqa: BLE001 - the type is what we compare
        return error
    return None


def test_every_scheduler_has_a_bad_argument_table():
    exported = {n for n in schedules.__all__ if n.endswith("LR") or n == "ReduceLROnPlateau"}
    assert exported - {"LRScheduler", "SequentialLR"} == set(SCHEDULER_ARGUMENTS)


@pytest.mark.parametrize("name", list(SCHEDULER_ARGUMENTS))
def test_bad_arguments_raise_like_torch_or_clearly(name):
    base, arguments = SCHEDULER_ARGUMENTS[name]
    for key, table in arguments.items():
        for label, value in table.items():
            kwargs = {**base, key: value}
            ours = _build_error(schedules, name, kwargs)
            assert ours is not None, f"{name}({key}={value!r}) was accepted"
            theirs = _build_error(torch_sched, name, kwargs)
            if theirs is not None:
                assert isinstance(ours, type(theirs)), (name, key, label, ours, theirs)
            else:
                assert type(ours) in (ValueError, TypeError), (name, key, label, ours)
            message = str(ours).lower()
            assert key.lower().rstrip("s") in message or WORDS.get(key, key) in message, (
                name,
                key,
                label,
                str(ours),
            )


def test_onecycle_epochs_and_sequential_milestones():
    for bad in ({"epochs": 0}, {"epochs": 2.5}, {"steps_per_epoch": -3}, {"epochs": "2"}):
        kwargs = {"max_lr": 1.0, "epochs": 2, "steps_per_epoch": 5, **bad}
        theirs = _build_error(torch_sched, "OneCycleLR", kwargs)
        ours = _build_error(schedules, "OneCycleLR", kwargs)
        assert type(ours) is type(theirs) is ValueError, bad
    # NumPy integers are integers (torch refuses them)
    opt = optim.SGD([np.zeros(1)], lr=0.1, momentum=0.9)
    schedules.OneCycleLR(opt, max_lr=0.1, total_steps=np.int64(10))
    schedules.StepLR(optim.SGD([np.zeros(1)], lr=0.1), step_size=np.int32(3))
    for milestones, error in (([2.5], TypeError), ([5, 3], ValueError), ([0], ValueError)):
        opt = optim.SGD([np.zeros(1)], lr=0.1)
        inner = [schedules.StepLR(opt, 5), schedules.StepLR(opt, 5)]
        with pytest.raises(error, match="milestone"):
            schedules.SequentialLR(opt, inner, milestones=milestones)


def test_more_validation():
    topt, nopt = _make_pair("sgd")
    _, other = _make_pair("sgd")
    with pytest.raises(ValueError, match="same optimizer"):
        schedules.SequentialLR(nopt, schedulers=[schedules.StepLR(other, 5)], milestones=[])
    with pytest.raises(TypeError, match="str is not an Optimizer"):
        schedules.StepLR("sgd", step_size=3)
    with pytest.raises(TypeError):
        torch_sched.StepLR("sgd", step_size=3)
    with pytest.raises(TypeError, match="Optimizer"):
        schedules.StepLR(topt, step_size=3)  # a torch optimizer is not an nnopt one
    with pytest.raises(KeyError, match="initial_lr"):
        torch_sched.StepLR(topt, step_size=3, last_epoch=4)
    with pytest.raises(KeyError, match="initial_lr"):
        schedules.StepLR(nopt, step_size=3, last_epoch=4)


def test_resume_with_last_epoch_matches_torch():
    for m, o in [(torch_sched, _make_pair("sgd")[0]), (schedules, _make_pair("sgd")[1])]:
        o.param_groups[0]["initial_lr"] = 0.1
        o.param_groups[0]["lr"] = 0.05
        sched = m.ExponentialLR(o, gamma=0.5, last_epoch=7)
        assert sched.get_last_lr() == [0.05] and sched.last_epoch == 8
        sched2 = m.LinearLR(o, start_factor=0.5, total_iters=20, last_epoch=3)
        assert sched2.get_last_lr() == [0.05]


def test_lr_curve():
    curve = schedules.lr_curve(
        lambda o: schedules.CosineAnnealingLR(o, T_max=100), lr=0.1, steps=101
    )
    expected = 0.05 * (1 + np.cos(np.pi * np.arange(101) / 100))
    np.testing.assert_allclose(curve, expected, rtol=1e-10, atol=1e-15)
    assert curve.shape == (101,) and curve[0] == 0.1

    # OneCycleLR may be plotted over exactly its total_steps
    one = schedules.lr_curve(
        lambda o: schedules.OneCycleLR(o, max_lr=1.0, total_steps=50), lr=0.1, steps=50
    )
    assert one[0] == pytest.approx(1.0 / 25) and one.max() == pytest.approx(1.0, rel=1e-3)

    metrics = [1.0] * 30
    plateau = schedules.lr_curve(
        lambda o: schedules.ReduceLROnPlateau(o, patience=4, factor=0.5),
        lr=1.0,
        steps=31,
        metrics=metrics,
    )
    # best set at the first metric, then 5 bad epochs > patience 4: halve after every 5 more
    assert plateau[5] == 1.0 and plateau[6] == 0.5 and plateau[11] == 0.25
    with pytest.raises(ValueError, match="metrics"):
        schedules.lr_curve(lambda o: schedules.ReduceLROnPlateau(o), lr=1.0, steps=10)
    with pytest.raises(ValueError, match="metrics"):
        schedules.lr_curve(lambda o: schedules.StepLR(o, 2), lr=1.0, steps=10, metrics=[1.0] * 10)
