"""State that survives: optimizer and scheduler state dicts in torch's layout, both ways, and
deepcopy / pickle that continue exactly like torch's.

The round trips with torch are the cross-check matrix's (``crosscheck.STATE_CASES``, run by
``crosscheck.compare_state_case``): one side runs k steps, its state moves (tensors <->
numpy arrays) into a fresh twin on the other side, or each side copies its own optimizer,
and both go on m steps with the same gradients; the state dicts and every later step must
agree. This file adds what a comparison cannot say: the layout and independence of a saved
dict, validation, dtypes, and copies that leave the original alone.
"""

import copy
import inspect
import pickle
import warnings

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as torch_sched

from nnopt_lib import crosscheck, optim, schedules
from nnopt_lib.crosscheck.state_dicts import advance_scheduler, scheduler_pair

K, M = crosscheck.state_dicts.STATE_BEFORE, crosscheck.state_dicts.STATE_AFTER


@pytest.fixture(autouse=True)
def float64_default():
    # torch keeps "step" and NAdam's mu_product in the default dtype
    old_dtype, old_threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    yield
    torch.set_default_dtype(old_dtype)
    torch.set_num_threads(old_threads)


# --------------------------------------------------------------------------------------
# Optimizers
# --------------------------------------------------------------------------------------

OPTIMIZER_CASES = [(name, options) for name, settings in crosscheck.OPTIMIZER_STATE_CASES.items()
                   for options in settings]
OPTIMIZER_IDS = [f"{name}-{i}" for name, settings in crosscheck.OPTIMIZER_STATE_CASES.items()
                 for i in range(len(settings))]

_rng = np.random.default_rng(7)
START = [_rng.normal(size=(2, 3)), _rng.normal(size=3), _rng.normal(size=1)]
GRADS = [[_rng.normal(size=p.shape) for p in START] for _ in range(K + M)]


def _groups(params, lr):
    return [{"params": params[:1]}, {"params": params[1:], "lr": lr / 2}]


def make_torch(name, options, values=START):
    tensors = [torch.tensor(v, requires_grad=True) for v in values]
    return tensors, getattr(torch.optim, name)(_groups(tensors, options["lr"]), **options)


def make_ours(name, options, values=START):
    arrays = [np.array(v, dtype=np.float64) for v in values]
    return arrays, getattr(optim, name)(_groups(arrays, options["lr"]), **options)


def _state_case_id(case):
    family, name, options, handover = case
    return f"{family}-{name}-{handover}" + (f"-{sorted(options)}" if options else "")


STATE_CASES = [case for case in crosscheck.STATE_CASES if case[0] != "module"]  # test_nn's


def test_every_optimizer_with_a_torch_namesake_is_covered():
    namesakes = {name for name, cls in optim.OPTIMIZERS.items()
                 if hasattr(torch.optim, cls.__name__)}
    assert namesakes == set(crosscheck.OPTIMIZER_STATE_CASES)
    for name, settings in crosscheck.OPTIMIZER_STATE_CASES.items():  # each flag on somewhere
        parameters = inspect.signature(optim.OPTIMIZERS[name]).parameters
        for flag in (key for key, p in parameters.items() if isinstance(p.default, bool)):
            assert any(c.get(flag) for c in settings), (name, flag)


@pytest.mark.parametrize("case", STATE_CASES, ids=[_state_case_id(c) for c in STATE_CASES])
def test_state_continues_like_torchs_after_a_hand_over(case):
    result = crosscheck.compare_state_case(*case).assert_ok()
    assert result.max_abs_diff <= result.tolerance / 100  # float64: agreement to rounding
    if case[0] == "scheduler":
        assert result.max_abs_diff == 0.0  # exactly: the recursions are the same
    name = case[1]
    ours, theirs = result.final
    if name == "LambdaLR(objects)":
        for a, b in zip(ours.lr_lambdas, theirs.lr_lambdas, strict=True):
            assert a.__dict__ == b.__dict__ and a.calls > 0  # the call counts travelled
    if name == "ReduceLROnPlateau":
        steps = [row for row, label in zip(result.ours, result.labels, strict=True)
                 if label.startswith("step")]
        assert len({row[0] for row in steps}) > 1  # it reduced after the hand-over


@pytest.mark.parametrize(
    "copier", [copy.deepcopy, lambda o: pickle.loads(pickle.dumps(o))], ids=["deepcopy", "pickle"]
)
@pytest.mark.parametrize("name,options", OPTIMIZER_CASES, ids=OPTIMIZER_IDS)
def test_a_copy_leaves_the_original_alone(name, options, copier):
    ours, opt = make_ours(optim.OPTIMIZERS[name].__name__, options)
    for grads in GRADS[:K]:
        opt.step(grads)
    before = [p.copy() for p in ours]
    state_before = copy.deepcopy(opt.state_dict())
    clone = copier(opt)
    clone_params = [p for g in clone.param_groups for p in g["params"]]
    for grads in GRADS[K:]:
        clone.step(grads)
    # the copy's state is keyed by the copy's own parameters, and the original is untouched
    assert not any(p in clone.state for p in ours)
    assert all(any(p is q for q in clone_params) for p in clone.state)
    for p, b in zip(ours, before, strict=True):
        np.testing.assert_array_equal(p, b)
    for index, entries in state_before["state"].items():
        for key, value in entries.items():
            np.testing.assert_array_equal(opt.state_dict()["state"][index][key], value)


def test_issue_reproducer_deepcopy_keeps_the_momentum_buffer():
    p = np.ones(2)
    o = optim.SGD([p], lr=0.1, momentum=0.9)
    t = torch.ones(2, dtype=torch.float64, requires_grad=True)
    to = torch.optim.SGD([t], lr=0.1, momentum=0.9)
    for _ in range(3):
        o.step([np.array([1.0, -1.0])])
        t.grad = torch.tensor([1.0, -1.0])
        to.step()
    o2, to2 = copy.deepcopy(o), copy.deepcopy(to)
    o2.step([np.zeros(2)])
    (t2,) = to2.param_groups[0]["params"]
    t2.grad = torch.zeros(2)
    to2.step()
    (p2,) = o2.param_groups[0]["params"]
    np.testing.assert_allclose(p2, [0.1951, 1.8049], atol=1e-12)  # not [0.439, 1.561]
    np.testing.assert_allclose(p2, t2.detach().numpy(), atol=1e-15)


@pytest.mark.parametrize("cls", [optim.EMAMomentum, optim.HeavyBall])
def test_teaching_variants_round_trip_with_themselves(cls):
    ours, opt = make_ours(cls.__name__, {"lr": 0.05, "beta": 0.8})
    for grads in GRADS[:K]:
        opt.step(grads)
    saved = opt.state_dict()
    twin_params, twin = make_ours(cls.__name__, {"lr": 1.0}, ours)
    twin.load_state_dict(saved)
    copies = [copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))]
    for grads in GRADS[K:]:
        opt.step(grads)
        twin.step(grads)
        for c in copies:
            c.step(grads)
    for p, q in zip(ours, twin_params, strict=True):
        np.testing.assert_array_equal(p, q)
    for c in copies:
        for p, q in zip(ours, (q for g in c.param_groups for q in g["params"]), strict=True):
            np.testing.assert_array_equal(p, q)
    assert twin.param_groups[1]["lr"] == 0.025 and twin.param_groups[0]["beta"] == 0.8


def test_state_dict_layout_and_independence():
    ours, opt = make_ours("Adam", {"lr": 0.01, "amsgrad": True})
    for grads in GRADS[:2]:
        opt.step(grads)
    saved = opt.state_dict()
    assert saved["param_groups"][0]["params"] == [0]
    assert saved["param_groups"][1]["params"] == [1, 2]
    assert saved["param_groups"][1]["lr"] == 0.005
    assert set(saved["state"]) == {0, 1, 2}
    state = saved["state"][1]
    assert set(state) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert isinstance(state["step"], np.ndarray) and state["step"].shape == ()
    assert state["step"] == 2.0
    assert opt.state[ours[1]]["step"] == 2.0  # live state: a float, as the step functions use
    snapshot = copy.deepcopy(saved)
    opt.step(GRADS[2])
    opt.param_groups[0]["lr"] = 123.0
    # a saved state dict does not change when the optimizer steps on ...
    for index, entries in snapshot["state"].items():
        for key, value in entries.items():
            np.testing.assert_array_equal(saved["state"][index][key], value)
    assert saved["param_groups"][0]["lr"] == 0.01
    # ... and a loaded one is copied, not referenced
    opt.load_state_dict(saved)
    saved["state"][0]["exp_avg"][...] = 99.0
    saved["param_groups"][0]["lr"] = 7.0
    assert not np.any(opt.state[ours[0]]["exp_avg"] == 99.0)
    assert opt.param_groups[0]["lr"] == 0.01


def test_loading_casts_to_the_param_dtype_and_accepts_float_steps():
    p = np.ones(3, dtype=np.float32)
    opt = optim.Adam([p], lr=0.1)
    opt.load_state_dict(
        {
            "state": {0: {"step": 4, "exp_avg": np.full(3, 0.5), "exp_avg_sq": np.full(3, 0.25)}},
            "param_groups": [{"lr": 0.1, "params": [0]}],
        }
    )
    state = opt.state[p]
    assert state["exp_avg"].dtype == np.float32 and state["exp_avg_sq"].dtype == np.float32
    assert state["step"] == 4.0 and isinstance(state["step"], float)
    # missing hyperparameters come from the defaults, as torch's __setstate__ does
    assert opt.param_groups[0]["betas"] == (0.9, 0.999)
    opt.step([np.ones(3, dtype=np.float32)])
    assert p.dtype == np.float32 and opt.state[p]["exp_avg"].dtype == np.float32
    assert opt.state[p]["step"] == 5.0


def _assert_unchanged(opt, before):
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    assert set(after["state"]) == set(before["state"])
    for index, entries in before["state"].items():
        for key, value in entries.items():
            np.testing.assert_array_equal(after["state"][index][key], value)


def test_load_state_dict_validation():
    ours, opt = make_ours("SGD", {"lr": 0.1, "momentum": 0.9})
    opt.step(GRADS[0])
    good = opt.state_dict()
    other_params, other = make_ours("Adam", {"lr": 0.1})
    other.step(GRADS[0])

    def broken(change):
        sd = copy.deepcopy(good)
        change(sd)
        return sd

    bad = [
        (broken(lambda sd: sd["param_groups"].pop()), ValueError, "number of parameter groups"),
        (broken(lambda sd: sd["param_groups"][1]["params"].pop()), ValueError, "size"),
        (other.state_dict(), ValueError, "does not have"),  # an Adam dict into SGD
        (broken(lambda sd: sd.pop("state")), KeyError, "state"),
        (broken(lambda sd: sd["state"].update({9: {}})), ValueError, "parameter 9"),
        (
            broken(lambda sd: sd["state"][0].update(momentum_buffer=np.zeros(4))),
            ValueError,
            "shape",
        ),
        (broken(lambda sd: sd["param_groups"][0].update(lr=-1.0)), ValueError, "learning rate"),
        (broken(lambda sd: sd["param_groups"][0].update(nesterov="yes")), TypeError, "nesterov"),
        ([("state", {})], TypeError, "dict"),
    ]
    before = opt.state_dict()
    for state_dict, error, text in bad:
        with pytest.raises(error, match=text):
            opt.load_state_dict(state_dict)
        _assert_unchanged(opt, before)  # nothing changes unless the whole dict is valid

    # torch raises the same type, with the same message, for the first two
    theirs, their_opt = make_torch("SGD", {"lr": 0.1, "momentum": 0.9})
    for state_dict, _, _ in bad[:2]:
        with pytest.raises(ValueError) as torch_error:
            their_opt.load_state_dict(crosscheck.torch_state_dict(state_dict))
        with pytest.raises(ValueError) as our_error:
            opt.load_state_dict(state_dict)
        assert str(our_error.value) == str(torch_error.value)


def test_torch_only_group_switches_are_dropped():
    theirs, their_opt = make_torch("Adam", {"lr": 0.01})
    saved = crosscheck.numpy_state_dict(their_opt.state_dict())
    assert {"foreach", "fused", "capturable", "differentiable"} <= set(saved["param_groups"][0])
    ours, opt = make_ours("Adam", {"lr": 0.01})
    opt.load_state_dict(saved)
    assert set(opt.param_groups[0]) == set(opt.defaults) | {"params"}


def test_state_is_keyed_by_the_parameter_array():
    ours, opt = make_ours("SGD", {"lr": 0.1, "momentum": 0.9})
    opt.step(GRADS[0])
    p = ours[0]
    assert p in opt.state and np.array(p) not in opt.state  # identity, not value
    assert list(opt.state) == ours
    np.testing.assert_array_equal(opt.state[p]["momentum_buffer"], GRADS[0][0])
    with pytest.raises(TypeError, match=r"opt.state\[param\]"):
        opt.state[id(p)]  # the old id(param) keys
    fresh = np.zeros(2)
    assert opt.state.get(fresh) is None and fresh not in opt.state
    assert opt.state[fresh] == {}  # like torch's defaultdict(dict)
    assert "shape (2, 3)" in repr(opt.state)
    # plain SGD keeps no state at all, like torch's
    plain_params, plain = make_ours("SGD", {"lr": 0.1})
    plain.step(GRADS[0])
    assert len(plain.state) == 0 and plain.state_dict()["state"] == {}


# --------------------------------------------------------------------------------------
# Schedulers
# --------------------------------------------------------------------------------------


SCHEDULER_CASES = crosscheck.SCHEDULER_STATE_CASES


def _inverse_time(t):
    return 1.0 / (1.0 + 0.1 * t)


@pytest.mark.parametrize("name", list(SCHEDULER_CASES))
def test_scheduler_copies_stay_linked_to_their_optimizer(name):
    kind, build = SCHEDULER_CASES[name]
    opt = scheduler_pair(kind, optim)
    sched = build(schedules, opt)
    advance_scheduler(opt, sched, 0, K)
    # pickle too: the lr_lambda functions and objects are defined at module level
    copies = [copy.deepcopy((opt, sched)), pickle.loads(pickle.dumps((opt, sched)))]
    lr_before = [g["lr"] for g in opt.param_groups]
    copied_runs = []
    for copied_opt, copied_sched in copies:
        assert copied_sched.optimizer is copied_opt
        copied_runs.append(advance_scheduler(copied_opt, copied_sched, K, K + M))
    assert [g["lr"] for g in opt.param_groups] == lr_before  # the original did not move
    original_run = advance_scheduler(opt, sched, K, K + M)
    for run in copied_runs:
        assert run == original_run


def test_scheduler_state_dict_is_a_copy_and_torch_shaped():
    opt = scheduler_pair("sgd", optim)
    sched = schedules.MultiStepLR(opt, milestones=[2, 4], gamma=0.5)
    saved = sched.state_dict()
    assert set(saved) == {
        "milestones",
        "gamma",
        "base_lrs",
        "last_epoch",
        "_step_count",
        "_is_initial",
        "_last_lr",
    }
    for _ in range(5):
        sched.step()
    assert saved["last_epoch"] == 0 and saved["_last_lr"] == [0.1, 0.05]
    saved["milestones"][3] = 1
    assert 3 not in sched.milestones

    plain = schedules.LambdaLR(opt, lr_lambda=_inverse_time).state_dict()
    assert plain["lr_lambdas"] == [None, None]
    seq = scheduler_pair("sgd", optim)
    sequential = SCHEDULER_CASES["SequentialLR"][1](schedules, seq).state_dict()
    assert [set(s) >= {"last_epoch", "base_lrs"} for s in sequential["_schedulers"]] == [True] * 2
    assert "optimizer" not in sequential and "base_lrs" not in sequential  # as torch's


def test_scheduler_load_state_dict_validation():
    opt = scheduler_pair("sgd", optim)
    step = schedules.StepLR(opt, step_size=3)
    cosine = schedules.CosineAnnealingLR(opt, T_max=5)
    before = cosine.state_dict()
    with pytest.raises(ValueError, match="step_size"):
        cosine.load_state_dict(step.state_dict())
    assert cosine.state_dict() == before
    with pytest.raises(TypeError, match="dict"):
        cosine.load_state_dict([1, 2])
    lam = schedules.LambdaLR(opt, lr_lambda=_inverse_time)
    with pytest.raises(ValueError, match="lr_lambdas"):
        lam.load_state_dict({**lam.state_dict(), "lr_lambdas": [None]})
    seq = SCHEDULER_CASES["SequentialLR"][1](schedules, opt)
    inner_before = [s.state_dict() for s in seq._schedulers]
    bad = seq.state_dict()
    bad["_schedulers"][1]["bogus"] = 1  # the second inner dict is invalid ...
    bad["_schedulers"][0]["last_epoch"] = 40
    with pytest.raises(ValueError, match="bogus"):
        seq.load_state_dict(bad)
    assert [s.state_dict() for s in seq._schedulers] == inner_before  # ... so none loads
    with pytest.raises(ValueError, match="inner"):
        seq.load_state_dict({**seq.state_dict(), "_schedulers": []})
    plateau = schedules.ReduceLROnPlateau(opt)
    with pytest.raises(ValueError, match="unknown"):
        plateau.load_state_dict({**plateau.state_dict(), "mode": "avg"})
    # torch's bookkeeping keys are accepted and ignored
    t_opt = scheduler_pair("sgd", torch.optim)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch_plateau = torch_sched.ReduceLROnPlateau(t_opt)
    plateau.load_state_dict(torch_plateau.state_dict())
    assert not hasattr(plateau, "mode_worse")


# --------------------------------------------------------------------------------------
# step_scheduler (contract C2)
# --------------------------------------------------------------------------------------


def test_step_scheduler():
    opt = scheduler_pair("sgd", optim)
    plateau = schedules.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    with pytest.raises(ValueError, match="metric"):
        schedules.step_scheduler(plateau)
    assert plateau.last_epoch == 0  # refused before stepping
    schedules.step_scheduler(plateau, 1.0)
    schedules.step_scheduler(plateau, 1.0)
    assert plateau.get_last_lr() == [0.05, 0.025]
    step = schedules.StepLR(opt, step_size=1, gamma=0.5)
    schedules.step_scheduler(step, 123.0)  # the metric is not used by the others
    schedules.step_scheduler(step)
    assert step.last_epoch == 2
    assert schedules.watches_metric(plateau) and not schedules.watches_metric(step)
    with pytest.raises(TypeError, match="object"):
        schedules.step_scheduler(object())

    # torch's schedulers too, so a cross-check can step both sides with it
    t_opt = scheduler_pair("sgd", torch.optim)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_plateau = torch_sched.ReduceLROnPlateau(t_opt, patience=0, factor=0.5)
        assert schedules.watches_metric(t_plateau)
        with pytest.raises(ValueError, match="metric"):
            schedules.step_scheduler(t_plateau)
        schedules.step_scheduler(t_plateau, 1.0)
        schedules.step_scheduler(t_plateau, 1.0)
        assert t_plateau.get_last_lr() == [0.05, 0.025]
        t_step = torch_sched.StepLR(t_opt, step_size=1)
        schedules.step_scheduler(t_step, 1.0)
        assert t_step.last_epoch == 1
