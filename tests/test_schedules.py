"""nnopt_lib.schedules against torch.optim.lr_scheduler: the same constructor call on an
nnopt optimizer and on a torch optimizer must produce the same learning rates (and
momenta, for OneCycleLR) at every step."""

import math
import re
import warnings

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as torch_sched

from nnopt_lib import optim, schedules

STEPS = 300


def _seq_warmup_cosine(m, o):
    warmup = m.LinearLR(o, start_factor=0.1, total_iters=10)
    decay = m.CosineAnnealingLR(o, T_max=90, eta_min=1e-4)
    return m.SequentialLR(o, schedulers=[warmup, decay], milestones=[10])


def _seq_three(m, o):
    return m.SequentialLR(
        o,
        schedulers=[
            m.ConstantLR(o, factor=0.5, total_iters=20),
            m.ExponentialLR(o, gamma=0.98),
            m.StepLR(o, step_size=10, gamma=0.5),
        ],
        milestones=[20, 100],
    )


def _seq_nested(m, o):
    inner = m.SequentialLR(
        o,
        schedulers=[m.LinearLR(o, start_factor=0.2, total_iters=5), m.ExponentialLR(o, gamma=0.9)],
        milestones=[5],
    )
    return m.SequentialLR(o, schedulers=[inner, m.CosineAnnealingLR(o, T_max=50)], milestones=[30])


def _inverse_time(t):
    return 1.0 / (1.0 + 0.05 * t)


# name -> (optimizer name, build(scheduler_module, optimizer)). The same call builds the
# torch scheduler and ours: the two modules have the same class names and keywords.
CASES = {
    "step": ("sgd", lambda m, o: m.StepLR(o, step_size=30)),
    "step_7_half": ("sgd", lambda m, o: m.StepLR(o, step_size=7, gamma=0.5)),
    "multistep": ("sgd", lambda m, o: m.MultiStepLR(o, milestones=[30, 80, 80, 150], gamma=0.3)),
    "multistep_unsorted": ("sgd", lambda m, o: m.MultiStepLR(o, milestones=[200, 50])),
    "constant_default": ("sgd", lambda m, o: m.ConstantLR(o)),
    "constant": ("sgd", lambda m, o: m.ConstantLR(o, factor=0.3, total_iters=40)),
    "linear_default": ("sgd", lambda m, o: m.LinearLR(o)),
    "linear_warmup": ("sgd", lambda m, o: m.LinearLR(o, start_factor=0.01, total_iters=50)),
    "linear_decay": (
        "sgd",
        lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=300),
    ),
    "linear_partial": (
        "sgd",
        lambda m, o: m.LinearLR(o, start_factor=0.7, end_factor=0.2, total_iters=123),
    ),
    "exponential": ("sgd", lambda m, o: m.ExponentialLR(o, gamma=0.99)),
    "exponential_fast": ("sgd", lambda m, o: m.ExponentialLR(o, gamma=0.9)),
    "cosine_wraps": ("sgd", lambda m, o: m.CosineAnnealingLR(o, T_max=100)),
    "cosine_eta_min": ("sgd", lambda m, o: m.CosineAnnealingLR(o, T_max=300, eta_min=1e-3)),
    "cosine_short": ("sgd", lambda m, o: m.CosineAnnealingLR(o, T_max=7, eta_min=0.01)),
    "lambda": ("sgd", lambda m, o: m.LambdaLR(o, lr_lambda=_inverse_time)),
    "onecycle": ("sgd", lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=STEPS)),
    "onecycle_linear_3phase": (
        "sgd",
        lambda m, o: m.OneCycleLR(
            o,
            max_lr=0.5,
            total_steps=301,
            pct_start=0.25,
            anneal_strategy="linear",
            three_phase=True,
        ),
    ),
    "onecycle_epochs": (
        "sgd",
        lambda m, o: m.OneCycleLR(
            o,
            max_lr=2.0,
            epochs=10,
            steps_per_epoch=30,
            div_factor=10.0,
            final_div_factor=100.0,
            base_momentum=0.8,
            max_momentum=0.99,
        ),
    ),
    "onecycle_adam_betas": ("adam", lambda m, o: m.OneCycleLR(o, max_lr=0.01, total_steps=STEPS)),
    "onecycle_no_momentum": (
        "sgd",
        lambda m, o: m.OneCycleLR(o, max_lr=0.3, total_steps=400, cycle_momentum=False),
    ),
    "sequential_warmup_cosine": ("sgd", _seq_warmup_cosine),
    "sequential_three": ("sgd", _seq_three),
    "sequential_nested": ("sgd", _seq_nested),
}


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


def _momentum(group):
    return group["betas"][0] if "betas" in group else group["momentum"]


def _record(opt, sched, step_optimizer, steps, metrics=None):
    """lr, momentum and get_last_lr of every group after construction and each step."""
    lrs, moms, last = [], [], []
    for k in range(steps + 1):
        lrs.append([g["lr"] for g in opt.param_groups])
        moms.append([_momentum(g) for g in opt.param_groups])
        last.append(list(sched.get_last_lr()))
        if k == steps:
            break
        step_optimizer()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[k])
    return np.array(lrs, dtype=float), np.array(moms, dtype=float), np.array(last, dtype=float)


def _compare(opt_name, build, lrs=(0.1,), steps=STEPS):
    topt, nopt = _make_pair(opt_name, lrs)
    tsched, nsched = build(torch_sched, topt), build(schedules, nopt)
    t = _record(topt, tsched, topt.step, steps)
    grads = [np.zeros(1) for _ in lrs]
    n = _record(nopt, nsched, lambda: nopt.step(grads), steps)
    for got, want in zip(n, t, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    assert nsched.last_epoch == tsched.last_epoch
    return n


@pytest.mark.filterwarnings("ignore:Detected call of:UserWarning")  # torch, nested SequentialLR
@pytest.mark.parametrize("name", sorted(CASES))
def test_same_lr_sequence_as_torch(name):
    opt_name, build = CASES[name]
    lrs, moms, _ = _compare(opt_name, build)
    assert np.all(np.isfinite(lrs))
    if name.startswith("onecycle") and "no_momentum" not in name:
        assert moms.max() > moms.min()  # momentum (or beta1) really is cycled
    if name in ("step", "exponential", "cosine_eta_min", "linear_decay"):
        assert np.all(np.diff(lrs[:, 0]) <= 0) and lrs[-1, 0] < lrs[0, 0]


def test_several_param_groups():
    lrs = (0.1, 0.03)
    _compare("sgd", lambda m, o: m.CosineAnnealingLR(o, T_max=50, eta_min=1e-3), lrs)
    _compare("sgd", lambda m, o: m.LambdaLR(o, lr_lambda=[_inverse_time, lambda t: 0.97**t]), lrs)
    _compare(
        "adam",
        lambda m, o: m.OneCycleLR(
            o, max_lr=[0.1, 0.02], total_steps=200, base_momentum=[0.8, 0.85]
        ),
        lrs,
        steps=200,
    )
    _compare("sgd", _seq_warmup_cosine, lrs)


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


def _plateau_metrics():
    """A validation-loss-like sequence: progress, a noisy plateau, a drop, another plateau."""
    rng = np.random.default_rng(0)
    t = np.arange(STEPS)
    level = np.select(
        [t < 60, t < 150, t < 220], [1.0 / (1.0 + 0.15 * t), 0.1, 0.1 - 0.0007 * (t - 150)], 0.05
    )
    return level * (1.0 + 0.02 * rng.standard_normal(STEPS))


PLATEAU_CASES = [
    {},
    {"patience": 0},
    {"patience": 3, "factor": 0.5, "cooldown": 5},
    {"mode": "min", "threshold": 0.01, "threshold_mode": "abs", "patience": 2},
    {"mode": "max", "patience": 4, "factor": 0.7},
    {"mode": "max", "threshold_mode": "abs", "threshold": 0.001, "patience": 1},
    {"patience": 1, "factor": 0.5, "min_lr": 0.02},
    {"patience": 1, "factor": 0.9, "eps": 0.02},
]


@pytest.mark.parametrize(
    "kwargs", PLATEAU_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "defaults"
)
def test_reduce_on_plateau_same_as_torch(kwargs):
    metrics = _plateau_metrics()
    if kwargs.get("mode") == "max":
        metrics = -metrics + 2.0
    topt, nopt = _make_pair("sgd", (0.1, 0.5))
    tsched = torch_sched.ReduceLROnPlateau(topt, **kwargs)
    nsched = schedules.ReduceLROnPlateau(nopt, **kwargs)
    t = _record(topt, tsched, topt.step, STEPS, metrics)
    n = _record(nopt, nsched, lambda: None, STEPS, metrics)
    np.testing.assert_array_equal(n[0], t[0])
    np.testing.assert_array_equal(n[2], t[2])
    assert "initial_lr" not in nopt.param_groups[0]
    if kwargs.get("eps") != 0.02:
        assert len(np.unique(n[0][:, 0])) > 1  # the case really reduces the lr


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


@pytest.mark.filterwarnings("ignore:Detected call of:UserWarning")
def test_exact_bitwise_agreement_count():
    # Stronger than the 1e-12 tolerance above: our arithmetic repeats torch's operation for
    # operation, so the float64 learning rates are identical bit for bit.
    for name, (opt_name, build) in CASES.items():
        topt, nopt = _make_pair(opt_name)
        tsched, nsched = build(torch_sched, topt), build(schedules, nopt)
        for _ in range(STEPS):
            topt.step()
            tsched.step()
            nsched.step()
            assert nopt.param_groups[0]["lr"] == topt.param_groups[0]["lr"], name
        assert math.isfinite(nopt.param_groups[0]["lr"])
