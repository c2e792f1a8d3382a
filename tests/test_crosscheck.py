"""The PyTorch cross-checks: they pass on the real code and, just as important, FAIL on a
deliberately wrong one (a check that cannot fail proves nothing)."""

from __future__ import annotations

import dataclasses
import inspect
import math
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from nnopt_lib import clip, crosscheck, init, losses, nn, optim, schedules, surfaces
from nnopt_lib.crosscheck import initialisers, matrix, state_dicts

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str, *args: str, pythonpath: Path | None = None
               ) -> subprocess.CompletedProcess:
    """Run ``python -c code`` (or ``python -m ...`` with ``code="-m"``) in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(pythonpath) if pythonpath else ""}
    command = [sys.executable, *args] if code == "-m" else [sys.executable, "-c", code, *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


def test_best_device_and_report():
    device = crosscheck.best_device()
    assert isinstance(device, torch.device)
    assert device.type in ("cuda", "mps", "cpu")
    if not torch.cuda.is_available():
        assert device.type != "cuda"
    report = crosscheck.device_report()
    assert "\n" not in report
    assert torch.__version__ in report and f"[{device}]" in report
    assert "float64" in report
    assert "float32" in crosscheck.device_report(dtype="float32")


@pytest.mark.parametrize(
    ("name", "options", "surface"),
    [
        ("sgd", {"lr": 5e-4, "momentum": 0.9, "nesterov": True}, "rosenbrock"),
        ("adam", {"lr": 1e-2, "amsgrad": True}, "beale"),
        ("ema_momentum", {"lr": 0.05, "beta": 0.8}, "quadratic"),
        ("heavy_ball", {"lr": 0.02, "beta": 0.9}, "quadratic"),
    ],
)
def test_compare_optimizer_agrees_with_torch(name, options, surface):
    result = crosscheck.compare_optimizer(name, options, surface=surface, steps=50)
    assert result.passed, result
    assert result.assert_ok() is result
    assert result.per_step.shape == (51,) and result.per_step[0] == 0.0
    assert result.max_abs_diff < 1e-12
    assert result.tolerance >= 1e-10 and result.dtype == "float64"
    assert result.device == str(crosscheck.best_device())
    assert result.ours.shape == result.theirs.shape == (51, 2)


def test_a_wrong_optimizer_fails_the_comparison(monkeypatch):
    class SlightlyWrongSGD(optim.SGD):
        """An lr off by one part in a million: invisible on a plot, caught by the check."""

        def __init__(self, params, *, lr, **options):
            super().__init__(params, lr=lr * (1 + 1e-6), **options)

    monkeypatch.setitem(optim.OPTIMIZERS, "sgd", SlightlyWrongSGD)
    result = crosscheck.compare_optimizer("sgd", {"lr": 5e-4, "momentum": 0.9}, steps=50)
    assert not result.passed
    assert result.max_abs_diff > result.tolerance
    with pytest.raises(AssertionError, match=r"disagree: sgd\(lr=0.0005, momentum=0.9\)"):
        result.assert_ok()
    assert "✗" in repr(result) and "FAILED" in result._repr_html_()


def test_a_diverging_case_fails_instead_of_comparing_nan_with_nan():
    result = crosscheck.compare_optimizer("sgd", {"lr": 0.05}, steps=40)
    assert np.isnan(result.max_abs_diff)
    assert not result.passed
    with pytest.raises(AssertionError):
        result.assert_ok()


def test_float32_mode_passes_with_the_loose_tolerance():
    result = crosscheck.compare_optimizer("adam", {"lr": 1e-2}, surface="rosenbrock",
                                          steps=100, dtype="float32")
    assert result.dtype == "float32"
    assert result.passed, result
    assert 1e-9 < result.max_abs_diff <= result.tolerance  # really float32, and within 1e-4
    assert result.tolerance == pytest.approx(1e-4 * max(1.0, np.abs(result.ours).max()))


def test_repr_and_html_are_small_summaries():
    result = crosscheck.compare_optimizer(
        "rmsprop", {"lr": 1e-2, "centered": True}, surface=surfaces.quadratic(angle_deg=30),
        steps=20)
    text = repr(result)
    assert text.startswith("✓ rmsprop(lr=0.01, centered=True) on quadratic")
    assert "\n" not in text and "20 steps" not in text and "21 steps" in text
    html = result._repr_html_()
    assert html.startswith("<table>") and "passed" in html and "tolerance" in html


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match="'lbfgs'"):
        crosscheck.compare_optimizer("lbfgs", {"lr": 0.1})
    with pytest.raises(ValueError, match="'float16'"):
        crosscheck.compare_optimizer("sgd", {"lr": 0.1}, dtype="float16")
    with pytest.raises(ValueError, match="'Cyclic'"):
        crosscheck.compare_schedule("Cyclic")
    with pytest.raises(ValueError, match="'Conv2d'"):
        crosscheck.compare_layer("Conv2d")


def test_compare_optimizer_with_param_groups_on_least_squares():
    groups = [{}, {"lr": 0.005, "weight_decay": 0.05}]
    result = crosscheck.compare_optimizer("adam", {"lr": 0.01}, problem="least_squares",
                                          param_groups=groups, steps=30).assert_ok()
    assert result.ours.shape == (31, 8)  # a 2 x 3 weight and a bias of 2, flattened
    assert "least_squares with groups" in result.what
    ours, theirs = result.final
    assert ours.param_groups[1]["lr"] == theirs.param_groups[1]["lr"] == 0.005
    # a teaching variant's per-group lr is translated with the defaults (EMA: lr * (1 - beta))
    ema = crosscheck.compare_optimizer("ema_momentum", {"lr": 0.05, "beta": 0.8},
                                       problem=crosscheck.least_squares(seed=1),
                                       param_groups=[{}, {"lr": 0.02}], steps=30).assert_ok()
    assert ema.final[1].param_groups[1]["lr"] == pytest.approx(0.02 * 0.2)


def test_analytic_gradients_check_the_update_rule_alone():
    fast = crosscheck.compare_optimizer("nadam", {"lr": 0.01}, gradients="analytic", steps=40)
    slow = crosscheck.compare_optimizer("nadam", {"lr": 0.01}, steps=40)
    assert fast.passed and slow.passed
    np.testing.assert_array_equal(fast.ours, slow.ours)  # nnopt's side is the same run
    # a wrong analytic gradient: autograd catches it, the analytic mode by design does not
    exact = surfaces.rosenbrock()
    surface = dataclasses.replace(
        exact, gradient=lambda x, y: tuple(1.001 * g for g in exact.gradient(x, y)))
    assert not crosscheck.compare_optimizer("sgd", {"lr": 5e-4}, surface=surface,
                                            steps=20).passed
    assert crosscheck.compare_optimizer("sgd", {"lr": 5e-4}, surface=surface, steps=20,
                                        gradients="analytic").passed
    with pytest.raises(ValueError, match="'numeric'"):
        crosscheck.compare_optimizer("sgd", {"lr": 0.1}, gradients="numeric")
    with pytest.raises(ValueError, match="'ridge'.*least_squares"):
        crosscheck.compare_optimizer("sgd", {"lr": 0.1}, problem="ridge")


def test_maximize_runs_ascend_the_negated_objective(monkeypatch):
    ascent = crosscheck.compare_optimizer("adam", {"lr": 3e-3, "maximize": True}, steps=60)
    descent = crosscheck.compare_optimizer("adam", {"lr": 3e-3}, steps=60)
    assert ascent.passed and np.isfinite(ascent.ours).all()
    np.testing.assert_allclose(ascent.ours, descent.ours, rtol=0, atol=1e-14)  # the same path

    class IgnoresMaximize(optim.Adam):
        def __init__(self, params, *, maximize=False, **options):
            super().__init__(params, **options)

    monkeypatch.setitem(optim.OPTIMIZERS, "adam", IgnoresMaximize)
    assert not crosscheck.compare_optimizer("adam", {"lr": 3e-3, "maximize": True},
                                            steps=20).passed


# ---------------------------------------------------------------------------- state dicts


def test_a_state_dict_that_loses_the_momentum_is_caught(monkeypatch):
    load = optim.SGD.load_state_dict

    def forgetful(self, state_dict):
        load(self, {**state_dict, "state": {}})

    monkeypatch.setattr(optim.SGD, "load_state_dict", forgetful)
    result = crosscheck.compare_optimizer_state("sgd", {"lr": 0.05, "momentum": 0.9})
    assert not result.passed
    assert result.labels[result.worst] == "handed over: state.0.momentum_buffer"
    with pytest.raises(AssertionError, match=r"item \d+ \(handed over: state.0.momentum_buf"):
        result.assert_ok()
    # the reverse direction and the copies do not load a state dict into nnopt: they pass
    for handover in ("nnopt_to_torch", "deepcopy", "pickle"):
        crosscheck.compare_optimizer_state("sgd", {"lr": 0.05, "momentum": 0.9},
                                           handover=handover).assert_ok()


def test_a_scheduler_that_forgets_its_epoch_is_caught(monkeypatch):
    load = schedules.StepLR.load_state_dict

    def forgetful(self, state_dict):
        load(self, {**state_dict, "last_epoch": 0})

    monkeypatch.setattr(schedules.StepLR, "load_state_dict", forgetful)
    result = crosscheck.compare_scheduler_state("StepLR")
    assert not result.passed and "last_epoch" in result.labels[result.worst]
    ours, theirs = crosscheck.compare_scheduler_state("StepLR", handover="nnopt_to_torch").final
    assert isinstance(ours, schedules.StepLR) and ours.last_epoch == theirs.last_epoch == 12


def test_module_state_round_trip_and_its_final_models():
    result = crosscheck.compare_module_state("mlp(batch_norm)").assert_ok()
    ours, theirs = result.final
    assert isinstance(ours, nn.Sequential) and isinstance(theirs, torch.nn.Sequential)
    assert ours[1].num_batches_tracked == 4  # three torch steps, then one training pass
    assert "output in eval mode" in result.labels and "output in train mode" in result.labels


def test_compare_state_dicts_names_what_differs():
    ours = {"state": {0: {"step": np.array(3.0)}},
            "param_groups": [{"lr": 0.1, "betas": (0.9, 0.99), "mode": "min", "params": [0]}]}
    theirs = {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.zeros(2)}},
              "param_groups": [{"lr": 0.1, "betas": (0.9, 0.99), "mode": "max", "params": [0],
                                "foreach": None}]}  # foreach: torch's own switch, ignored
    result = crosscheck.compare_state_dicts(ours, theirs)
    failed = {result.labels[i] for i in np.flatnonzero(~np.isfinite(result.per_step))}
    assert failed == {"state.0.exp_avg", "param_groups.0.mode"} and not result.passed
    del theirs["state"][0]["exp_avg"]
    theirs["param_groups"][0]["mode"] = "min"
    assert crosscheck.compare_state_dicts(ours, theirs).passed
    theirs["param_groups"][0]["betas"] = (0.9, 0.999)
    assert not crosscheck.compare_state_dicts(ours, theirs).passed


def test_state_round_trips_refuse_what_they_cannot_check():
    with pytest.raises(ValueError, match="ema_momentum has no torch namesake"):
        crosscheck.compare_optimizer_state("ema_momentum", {"lr": 0.1})
    with pytest.raises(ValueError, match="'copy'"):
        crosscheck.compare_optimizer_state("sgd", {"lr": 0.1}, handover="copy")
    with pytest.raises(ValueError, match="'deepcopy'"):
        crosscheck.compare_scheduler_state("StepLR", handover="deepcopy")
    with pytest.raises(ValueError, match="Unknown scheduler case"):
        crosscheck.compare_scheduler_state("CyclicLR")
    with pytest.raises(ValueError, match="Unknown module case"):
        crosscheck.compare_module_state("resnet")


# ---------------------------------------------------------------------------- schedules


@pytest.mark.parametrize("name", ["CosineAnnealingLR", "OneCycleLR", "ReduceLROnPlateau",
                                  "SequentialLR"])
def test_compare_schedule(name):
    result = crosscheck.compare_schedule(name, steps=100)
    assert result.passed, result
    assert result.ours.shape == (100, 3)  # lr, momentum and get_last_lr() at every step
    assert len(np.unique(result.ours[:, 0])) > 2  # the lr really changes
    ours, theirs = result.final
    assert isinstance(ours, schedules.LRScheduler) and ours.last_epoch == theirs.last_epoch


def test_compare_schedule_on_adam_and_two_groups():
    result = crosscheck.compare_schedule("OneCycleLR(two groups)", lr=(0.1, 0.03), steps=50,
                                         optimizer="adam").assert_ok()
    assert result.ours.shape == (50, 6)  # three columns per group
    assert result.ours[:, 1].max() > result.ours[:, 1].min()  # beta1 is cycled
    assert "2 groups" in result.what
    with pytest.raises(ValueError, match="'rmsprop'"):
        crosscheck.compare_schedule("StepLR", optimizer="rmsprop")
    with pytest.raises(ValueError, match="metrics has 3 values for 10 steps"):
        crosscheck.compare_schedule("ReduceLROnPlateau", steps=10, metrics=[1.0] * 3)


def test_compare_schedule_with_a_factory_and_a_wrong_schedule(monkeypatch):
    def warmup(lib, opt):
        return lib.LinearLR(opt, start_factor=0.2, total_iters=10)

    assert crosscheck.compare_schedule(warmup, steps=20).passed

    class WrongStepLR(schedules.StepLR):  # decays one step late
        def get_lr(self):
            return super().get_lr() if self.last_epoch != 7 else self.get_last_lr()

    monkeypatch.setattr(schedules, "StepLR", WrongStepLR)
    result = crosscheck.compare_schedule("StepLR", steps=20)
    assert not result.passed
    assert result.worst == 7


# ---------------------------------------------------------------------------- clipping


@pytest.mark.parametrize(("method", "norm_type", "scale"),
                         [("norm", 2.0, 3.0), ("norm", 2.0, 0.01), ("norm", math.inf, 3.0),
                          ("norm", 1.0, 3.0), ("value", 2.0, 3.0)])
def test_compare_clip(method, norm_type, scale):
    result = crosscheck.compare_clip(method, norm_type=norm_type, scale=scale)
    assert result.passed, result


def test_clipping_without_torchs_epsilon_is_caught(monkeypatch):
    def clip_without_epsilon(grads, max_norm, norm_type=2.0, error_if_nonfinite=False):
        total = float(np.sqrt(sum(np.sum(g**2) for g in grads)))
        for g in grads:
            g *= min(1.0, max_norm / total)  # torch divides by total + 1e-6
        return total

    monkeypatch.setattr(clip, "clip_grad_norm_", clip_without_epsilon)
    assert not crosscheck.compare_clip("norm", max_norm=1.0, scale=3.0).passed


# ---------------------------------------------------------------------------- layers


def test_compare_layer_takes_a_built_module_an_input_and_a_target():
    rng = np.random.default_rng(3)
    model = nn.mlp([3, 5, 2], rng=rng, batch_norm=True)
    result = crosscheck.compare_layer(model, input=rng.normal(size=(7, 3))).assert_ok()
    # output, input gradient, 6 parameter gradients, 3 BatchNorm buffers
    assert len(result.per_step) == 11 and result.ours[1].size == 21  # the given (7, 3) input
    ours, theirs = result.final
    assert ours is model and isinstance(theirs, torch.nn.Sequential)
    assert model[1].num_batches_tracked == 1  # used as it is: its statistics moved
    loss = losses.CrossEntropyLoss(label_smoothing=0.1)
    logits = rng.normal(size=(5, 3))
    crosscheck.compare_layer(loss, input=logits, target=np.array([0, 2, 1, 1, 0])).assert_ok()
    soft = crosscheck.compare_layer("CrossEntropyLoss", target="probabilities").assert_ok()
    assert "probabilities targets" in soft.what
    with pytest.raises(ValueError, match="'soft'.*labels, probabilities"):
        crosscheck.compare_layer("CrossEntropyLoss", target="soft")
    with pytest.raises(ValueError, match="options build a layer by name"):
        crosscheck.compare_layer(nn.Tanh(), options={"inplace": True})


def test_a_wrong_backward_pass_is_caught(monkeypatch):
    def wrong_backward(self, grad_out):
        return grad_out * (1 - self._y)  # forgot to square: that is sigmoid's rule, not tanh's

    monkeypatch.setattr(nn.Tanh, "backward", wrong_backward)
    result = crosscheck.compare_layer("Tanh")
    assert not result.passed
    assert result.worst == 1  # the output matches; the input gradient (item 1) does not


# ---------------------------------------------------------------------------- initialisers


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_initialiser_group_passes(dtype):
    name, cases = matrix._init_group(dtype)
    assert name == "initialisers" and len(cases) == len(crosscheck.INIT_CASES)
    assert "initialisers" in dict(matrix._groups(dtype))
    for case in cases:
        case().assert_ok()


def test_the_initialiser_cases_cover_every_initialiser_and_option():
    cases = crosscheck.INIT_CASES
    assert {name for name, _ in cases} == set(crosscheck.INITIALISERS) == {
        *init.__all__, "_calculate_fan_in_and_fan_out"}
    for name in ("xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
                 "trunc_normal_"):  # defaults, on a Linear and on a conv-shaped weight
        assert (name, {"shape": matrix.INIT_LINEAR}) in cases
        assert name == "trunc_normal_" or any(  # its fans play no part
            n == name and k["shape"] == (16, 8, 3, 3) for n, k in cases)
    kaiming = [k.get("options", {}) for n, k in cases if n.startswith("kaiming")]
    assert {"mode": "fan_out"} in kaiming and {"nonlinearity": "relu"} in kaiming
    assert {"a": 0.2, "nonlinearity": "leaky_relu"} in kaiming
    assert {len(k["shape"]) for n, k in cases if n == "_calculate_fan_in_and_fan_out"} == {
        2, 3, 4, 5}
    orthogonal = [(k["shape"], k.get("options"), k.get("check")) for n, k in cases
                  if n == "orthogonal_"]
    assert ((8, 4), {"gain": 2.0}, None) in orthogonal  # tall
    assert ((4, 8), {"gain": 2.0}, None) in orthogonal  # wide
    assert {check for *_, check in orthogonal} == {None, "distribution"}
    bounds = [k["options"] for n, k in cases if n == "trunc_normal_" and "options" in k]
    assert {"std": 0.02, "a": -0.04, "b": 0.04} in bounds and len(bounds) >= 4
    # the gain table is torch's own list of nonlinearities, plus leaky_relu's slopes and selu
    gains = crosscheck.compare_init("calculate_gain").assert_ok()
    assert {"selu", "leaky_relu", "leaky_relu(param=0.2)", "conv_transpose3d"} <= set(
        gains.labels)


def _times(factor, original):
    def wrong(array, *args, rng, **kwargs):
        original(array, *args, rng=rng, **kwargs)
        array *= factor
        return array
    return wrong


def test_an_initialiser_with_the_wrong_std_fails(monkeypatch):
    monkeypatch.setattr(init, "kaiming_normal_", _times(1.1, init.kaiming_normal_))
    result = crosscheck.compare_init("kaiming_normal_", shape=(64, 32),
                                     options={"mode": "fan_out"})
    assert not result.passed
    # both items fail: the CDFs differ, and the std is 10% off, ten times the tolerance
    assert result.per_step[0] > result.tolerance and result.per_step[1] > 5 * result.tolerance
    np.testing.assert_allclose(result.ours[1], 1.1, rtol=0.02)  # our std / the exact one
    np.testing.assert_allclose(result.theirs[1], 1.0, rtol=0.02)  # torch's
    with pytest.raises(AssertionError, match=r"item 1 \(std / exact std"):
        result.assert_ok()
    # 3% off: too little for the KS test at this sample size, but not for the std check
    monkeypatch.setattr(init, "xavier_normal_", _times(0.97, init.xavier_normal_))
    result = crosscheck.compare_init("xavier_normal_", shape=(64, 32))
    assert result.per_step[0] <= result.tolerance < result.per_step[1]


def test_trunc_normal_with_bounds_in_stds_fails(monkeypatch):
    # the common misreading: a and b as multiples of std, not absolute bounds
    original = init.trunc_normal_

    def relative(array, mean=0.0, std=1.0, a=-2.0, b=2.0, *, rng):
        return original(array, mean, std, mean + a * std, mean + b * std, rng=rng)

    monkeypatch.setattr(init, "trunc_normal_", relative)
    assert crosscheck.compare_init("trunc_normal_", shape=(64, 32)).passed  # std 1: same
    result = crosscheck.compare_init("trunc_normal_", shape=(64, 32), options={"std": 0.02})
    assert not result.passed and result.per_step[1] > result.tolerance  # cut at 2 std


def test_orthogonal_without_the_sign_fix_passes_exact_but_fails_in_distribution(monkeypatch):
    def unsigned(array, gain=1, *, rng):  # QR's Q as it comes: its [0, 0] is never positive
        rows = array.shape[0]
        samples = rng.standard_normal((rows, array.size // rows))
        wide = samples.shape[0] < samples.shape[1]
        q, _ = np.linalg.qr(samples.T if wide else samples)
        array[...] = (gain * (q.T if wide else q)).reshape(array.shape)
        return array

    monkeypatch.setattr(init, "orthogonal_", unsigned)
    crosscheck.compare_init("orthogonal_", shape=(4, 3), options={"gain": 2.0}).assert_ok()
    result = crosscheck.compare_init("orthogonal_", shape=(4, 3), check="distribution")
    assert not result.passed and result.per_step[0] > 4 * result.tolerance


def test_a_wrong_gain_or_fan_fails_exactly(monkeypatch):
    original = init.calculate_gain
    monkeypatch.setattr(init, "calculate_gain", lambda nonlinearity, param=None: (
        math.sqrt(2.0 / 1.01) if nonlinearity == "leaky_relu" and param is None
        else original(nonlinearity, param)))  # slope 0.1 for 0.01
    result = crosscheck.compare_init("calculate_gain")
    assert not result.passed and result.labels[result.worst] == "leaky_relu"
    monkeypatch.setattr(init, "_calculate_fan_in_and_fan_out",
                        lambda array: (array.shape[1], array.shape[0]))  # kernel forgotten
    assert crosscheck.compare_init("_calculate_fan_in_and_fan_out", shape=(5, 3)).passed
    assert not crosscheck.compare_init("_calculate_fan_in_and_fan_out",
                                       shape=(16, 8, 3, 3)).passed
    monkeypatch.setattr(init, "zeros_", lambda array: array)
    assert not crosscheck.compare_init("zeros_", shape=(3, 2)).passed


def test_the_statistics_are_the_textbook_ones():
    stats = pytest.importorskip("scipy.stats")
    special = pytest.importorskip("scipy.special")
    result = crosscheck.compare_init("xavier_normal_", shape=(30, 20), samples=3000, seed=3)
    ours, theirs = result.final
    assert len(ours) == len(theirs) == 3000
    assert result.per_step[0] == pytest.approx(stats.ks_2samp(ours, theirs).statistic,
                                               abs=1e-15)
    # c(alpha) * sqrt(2 / n) against the quantile of Kolmogorov's limit distribution
    assert result.tolerance == pytest.approx(special.kolmogi(1e-3) * math.sqrt(2 / 3000),
                                             rel=1e-3)
    for mean, std, a, b in [(0.0, 1.0, -2.0, 2.0), (1.0, 0.5, 0.25, 2.0), (0.0, 1.0, 1.5, 3.0),
                            (0.5, 2.0, -1.0, 0.0)]:
        exact = stats.truncnorm((a - mean) / std, (b - mean) / std, loc=mean, scale=std)
        m, v, _, excess = exact.stats(moments="mvsk")
        np.testing.assert_allclose(initialisers.truncated_normal_moments(mean, std, a, b),
                                   (m, math.sqrt(v), excess + 3), rtol=1e-9)


def test_compare_init_refuses_what_it_cannot_check():
    with pytest.raises(ValueError, match="Unknown initialiser"):
        crosscheck.compare_init("he_normal_", shape=(3, 2))
    with pytest.raises(ValueError, match="needs the weight's shape"):
        crosscheck.compare_init("xavier_normal_")
    with pytest.raises(ValueError, match="can be compared 'distribution', not 'exact'"):
        crosscheck.compare_init("kaiming_normal_", shape=(3, 2), check="exact")
    with pytest.raises(ValueError, match="nothing random"):
        crosscheck.compare_init("xavier_normal_", shape=(3, 2), options={"gain": 0.0})


# ---------------------------------------------------------------------------- the matrix


def test_matrix_covers_every_optimizer_and_option_flag():
    for name in optim.OPTIMIZERS:
        assert name in crosscheck.OPTION_CASES, f"no option cases for {name}"
    flags = {key for cases in crosscheck.OPTION_CASES.values() for case in cases for key in case}
    assert {"nesterov", "amsgrad", "centered", "maximize", "decoupled_weight_decay",
            "weight_decay", "momentum"} <= flags
    cases = crosscheck.optimizer_cases("adam")
    assert {c["surface"].name for c in cases if "surface" in c} == {
        "rosenbrock", "beale", "quadratic"}
    (grouped,) = [c for c in cases if "param_groups" in c]
    assert grouped["problem"] == "least_squares" and len(grouped["param_groups"]) == 2
    assert {name for name, _ in crosscheck.SCHEDULE_CASES} == set(crosscheck.SCHEDULES)
    assert set(crosscheck.SCHEDULES) >= {name for name in schedules.__all__
                                         if name.endswith(("LR", "Plateau"))}


def test_the_matrix_hands_every_optimizer_and_scheduler_over_both_ways():
    namesakes = {name for name in optim.OPTIMIZERS if name not in crosscheck.TEACHING_EQUIVALENTS}
    cases = crosscheck.STATE_CASES
    for handover in ("torch_to_nnopt", "nnopt_to_torch", "deepcopy", "pickle"):
        assert {n for f, n, _, h in cases if f == "optimizer" and h == handover} == namesakes
    scheduler_classes = {type(factory(schedules, state_dicts.scheduler_pair(
        kind, optim))) for kind, factory in crosscheck.SCHEDULER_STATE_CASES.values()}
    assert {cls.__name__ for cls in scheduler_classes} == {
        name for name in schedules.__all__ if name.endswith(("LR", "Plateau"))}
    assert {h for f, _, _, h in cases if f in ("scheduler", "module")} == {
        "torch_to_nnopt", "nnopt_to_torch"}
    group = dict(matrix._groups("float64"))["state dicts"]
    assert len(group) == len(cases)


def test_main_prints_a_table_and_exits_1_on_a_mismatch(monkeypatch, capsys):
    good = crosscheck.compare_layer("ReLU")
    bad = crosscheck.compare_optimizer("sgd", {"lr": 0.05}, steps=40)  # diverges: NaN

    def crash():
        raise RuntimeError("no such kernel")

    monkeypatch.setattr(matrix, "_groups", lambda dtype: [("fine", [lambda: good] * 3),
                                                          ("broken", [lambda: bad, crash])])
    assert crosscheck.main([]) == 1
    out = capsys.readouterr().out
    assert crosscheck.device_report() in out and "float64 comparisons" in out
    assert "fine" in out and "broken" in out and "2 FAILED" in out
    assert "2 of 5 comparisons FAILED" in out and "RuntimeError: no such kernel" in out

    monkeypatch.setattr(matrix, "_groups", lambda dtype: [("fine", [lambda: good])])
    assert crosscheck.main([]) == 0
    assert "all 1 comparisons passed" in capsys.readouterr().out


def test_torch_twin_copies_every_layer_and_weight():
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Linear(5, 8, rng=rng), nn.BatchNorm1d(8), nn.LeakyReLU(0.2), nn.Linear(8, 8, rng=rng),
        nn.ELU(0.5), nn.GELU(), nn.Linear(8, 6, bias=False, rng=rng), nn.Sigmoid(), nn.Tanh(),
        nn.Dropout(0.3, rng=rng), nn.ReLU(), nn.LayerNorm(6, bias=False), nn.SiLU(),
        nn.BatchNorm1d(6, affine=False), nn.GELU(approximate="tanh"),
        nn.BatchNorm1d(6, momentum=None, track_running_stats=False),
        nn.Softplus(beta=2.0, threshold=1.0), nn.LayerNorm(6, elementwise_affine=False),
    )
    x = rng.normal(size=(16, 5))
    model(x)  # one training step moves BatchNorm's running statistics off their defaults
    model.eval()
    twin = crosscheck.torch_twin(model)
    assert not twin.training
    expected = model(x)
    got = twin(torch.from_numpy(x)).detach().numpy()
    # 25 layers, three normalisations: rounding differences of 1e-16 grow to a few 1e-14
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    for ours, theirs in zip(model, twin, strict=True):  # every setting travelled
        assert repr(ours).split("(")[0] == repr(theirs).split("(")[0]
        if not isinstance(ours, nn.Linear | nn.Dropout):
            assert repr(ours) == repr(theirs)


def test_torch_twin_follows_each_layers_mode_and_dtype():
    rng = np.random.default_rng(1)
    model = nn.Sequential(nn.Linear(3, 4, rng=rng), nn.Dropout(0.5, rng=rng), nn.Tanh())
    model[1].eval()  # one layer in eval mode inside a model in training mode
    twin = crosscheck.torch_twin(model, dtype="float32")
    assert twin.training and twin[0].training and not twin[1].training
    assert twin[0].weight.dtype == torch.float32
    np.testing.assert_array_equal(twin[0].weight.detach().numpy(),
                                  model[0].weight.astype(np.float32))
    with pytest.raises(ValueError, match="Invalid dtype: 'float8'"):
        crosscheck.torch_twin(model, dtype="float8")


def test_torch_twin_of_a_loss_and_of_what_has_no_twin():
    twin = crosscheck.torch_twin(nn.CrossEntropyLoss(label_smoothing=0.1, reduction="sum",
                                                     ignore_index=2))
    assert isinstance(twin, torch.nn.CrossEntropyLoss)
    assert (twin.label_smoothing, twin.reduction, twin.ignore_index) == (0.1, "sum", 2)
    assert crosscheck.torch_twin(nn.MSELoss(reduction="sum")).reduction == "sum"
    bce = crosscheck.torch_twin(losses.BCEWithLogitsLoss(pos_weight=np.array([2.0, 0.5])),
                                dtype="float32")
    assert bce.pos_weight.dtype == torch.float32 and bce.pos_weight.tolist() == [2.0, 0.5]
    assert bce.weight is None
    kl = crosscheck.torch_twin(losses.KLDivLoss(reduction="batchmean", log_target=True))
    assert (kl.reduction, kl.log_target) == ("batchmean", True)
    assert crosscheck.torch_twin(losses.NLLLoss(ignore_index=3)).ignore_index == 3
    assert crosscheck.torch_twin(nn.LogSoftmax(dim=0)).dim == 0
    assert crosscheck.compare_layer("CrossEntropyLoss", options={"label_smoothing": 0.2}).passed

    class Square(nn.Module):  # a learner's own layer: nothing in torch to compare it with
        def forward(self, x):
            return x * x

    with pytest.raises(TypeError, match="no torch counterpart for Square"):
        crosscheck.torch_twin(nn.Sequential(nn.Tanh(), Square()))

    class MyTanh(nn.Tanh):  # a subclass of a mapped layer maps like its base (isinstance)
        pass

    assert isinstance(crosscheck.torch_twin(MyTanh()), torch.nn.Tanh)


def test_one_mapping_covers_every_layer_and_loss_and_feeds_the_matrix():
    exported = [getattr(module, name) for module in (nn, losses) for name in module.__all__]
    bases = (nn.Module, losses.Loss)
    classes = [obj for obj in exported if isinstance(obj, type) and obj not in bases]
    missing = [cls.__name__ for cls in classes
               if cls not in crosscheck.LAYER_TWINS and cls not in crosscheck.LOSS_TWINS]
    assert not missing, f"no torch twin (crosscheck/layers.py) for {missing}"
    assert crosscheck.LAYERS == tuple(
        cls.__name__ for cls in (*crosscheck.LAYER_TWINS, *crosscheck.LOSS_TWINS))
    assert {name for name, _, _ in crosscheck.LAYER_CASES} == set(crosscheck.LAYERS)
    layer_group = next(cases for group, cases in matrix._groups("float64")
                       if group == "layers")
    assert len(layer_group) == len(crosscheck.LAYER_CASES)


def _cases_of(cls):
    return [(options, mode) for options, mode in crosscheck.LAYER_TWINS[cls].cases]


def test_the_matrix_flips_every_switch_of_the_new_layers():
    # every boolean switch of the normalisation layers off its default, in both modes where
    # the mode matters; GELU's approximation; Softplus's two numbers; Dropout in training
    for cls in (nn.BatchNorm1d, nn.LayerNorm):
        flags = [name for name, p in inspect.signature(cls).parameters.items()
                 if isinstance(p.default, bool)]
        for flag in flags:
            modes = {mode for options, mode in _cases_of(cls) if options.get(flag) is False}
            assert modes, (cls.__name__, flag)
    assert {mode for options, mode in _cases_of(nn.BatchNorm1d)
            if options.get("track_running_stats") is False} == {"train", "eval"}
    assert any(o.get("momentum", 0.1) is None for o, _ in _cases_of(nn.BatchNorm1d))
    assert ({"approximate": "tanh"}, "train") in _cases_of(nn.GELU)
    assert {key for o, _ in _cases_of(nn.Softplus) for key in o} == {"beta", "threshold"}
    assert {o["p"] for o, mode in _cases_of(nn.Dropout) if mode == "train"} >= {0.0, 0.5, 1.0}


def test_dropout_is_compared_with_torchs_own_mask(monkeypatch):
    result = crosscheck.compare_layer("Dropout", options={"p": 0.5}, mode="train").assert_ok()
    ours, theirs = result.final
    assert 0 < ours.mask.mean() < 1  # a real mask: some kept, some dropped
    original = nn.Dropout.forward

    def forward_ignoring_the_mask(self, x, mask=None):  # draws its own mask instead
        return original(self, x)

    monkeypatch.setattr(nn.Dropout, "forward", forward_ignoring_the_mask)
    assert not crosscheck.compare_layer("Dropout", options={"p": 0.5}, mode="train").passed


def test_layer_buffers_are_compared(monkeypatch):
    original = nn.BatchNorm1d.forward

    def forward_that_drifts(self, x):  # running mean off by 1e-6: the output is unchanged
        y = original(self, x)
        if self.training:
            self.running_mean += 1e-6
        return y

    monkeypatch.setattr(nn.BatchNorm1d, "forward", forward_that_drifts)
    result = crosscheck.compare_layer("BatchNorm1d", mode="train")
    assert not result.passed
    # output, input gradient, weight and bias gradients, then the buffers: running_mean first
    assert result.worst == 4 and result.per_step[:4].max() < 1e-12


def test_import_torch_returns_torch_silently_when_it_is_there(capsys):
    assert crosscheck.import_torch() is torch
    assert capsys.readouterr().out == ""


def test_torch_requirement_is_the_pin_in_requirements_txt():
    pins = (ROOT / "requirements.txt").read_text().splitlines()
    assert crosscheck.TORCH_REQUIREMENT in pins


def test_importing_the_package_does_not_import_torch():
    result = run_python("import sys, nnopt_lib.crosscheck; "
                        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_without_torch_the_package_reports_skips_and_explains():
    result = run_python(textwrap.dedent("""
        import sys
        sys.modules["torch"] = None  # what `import torch` sees where it is not installed
        from nnopt_lib import crosscheck
        print("report:", crosscheck.device_report())
        print("import_torch:", crosscheck.import_torch())
        try:
            crosscheck.compare_layer("ReLU")
        except ImportError as error:
            print("compare:", error)
        print("main:", crosscheck.main([]))
    """))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("report: NumPy ") and "PyTorch is not available" in lines[0]
    skip = lines[1]
    assert re.fullmatch(r"PyTorch is not available in this kernel \(ModuleNotFoundError: import "
                        r"of torch halted; None in sys.modules\), so the torch checks are "
                        r"skipped; install it with `pip install torch==2\.13\.0` \(or `make "
                        r"lab` in a checkout\)\.", skip)
    assert lines[2] == "import_torch: None"  # after one line
    assert lines[3].startswith("compare: ") and "pip install torch==2.13.0" in lines[3]
    assert lines[4:] == [skip, "main: 1"]  # nothing was checked: not a pass


def test_the_reason_torch_is_missing_is_short():
    from nnopt_lib.crosscheck.device import _reason

    assert _reason(ModuleNotFoundError("No module named 'torch'", name="torch")) == "not installed"
    assert _reason(OSError("libgomp.so.1: cannot open\nsecond line")) == (
        "OSError: libgomp.so.1: cannot open")
    assert len(_reason(RuntimeError("x" * 500))) < 120


def test_a_broken_torch_install_counts_as_no_torch(tmp_path):
    fake = tmp_path / "torch"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        'raise OSError("libcudart.so.12: cannot open shared object file")\n')
    result = run_python("-m", "-m", "nnopt_lib.crosscheck", pythonpath=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    (line,) = result.stdout.splitlines()
    assert re.fullmatch(r"PyTorch is not available in this kernel \(OSError: libcudart\.so\.12: "
                        r"cannot open shared object file\), so the torch checks are skipped; "
                        r"install it with `pip install torch==2\.13\.0` \(or `make lab`.*", line)


def test_the_command_line_keeps_its_flags():
    result = run_python("-m", "-m", "nnopt_lib.crosscheck", "--help")
    assert result.returncode == 0, result.stderr
    assert "Run the same thing in nnopt_lib and in PyTorch" in result.stdout
    assert "--dtype {float32,float64}" in result.stdout and "--verbose" in result.stdout
