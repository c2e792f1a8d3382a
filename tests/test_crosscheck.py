"""The PyTorch cross-checks: they pass on the real code and, just as important, FAIL on a
deliberately wrong one (a check that cannot fail proves nothing)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nnopt_lib import clip, crosscheck, nn, optim, schedules, surfaces


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


# ---------------------------------------------------------------------------- schedules


@pytest.mark.parametrize("name", ["CosineAnnealingLR", "OneCycleLR", "ReduceLROnPlateau",
                                  "SequentialLR"])
def test_compare_schedule(name):
    result = crosscheck.compare_schedule(name, steps=40)
    assert result.passed, result
    assert result.ours.shape == (40, 2)  # lr and momentum at every step
    assert len(np.unique(result.ours[:, 0])) > 2  # the lr really changes


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


@pytest.mark.parametrize(
    ("name", "options", "mode"),
    [("Linear", {}, "train"), ("LeakyReLU", {"negative_slope": 0.2}, "train"),
     ("GELU", {}, "train"), ("BatchNorm1d", {}, "train"), ("BatchNorm1d", {}, "eval"),
     ("Sequential", {}, "train"), ("CrossEntropyLoss", {}, "train"), ("MSELoss", {}, "train"),
     ("Dropout", {"p": 0.5}, "eval")],
)
def test_compare_layer(name, options, mode):
    result = crosscheck.compare_layer(name, options=options, mode=mode)
    assert result.passed, result
    assert result.max_abs_diff < 1e-12


def test_a_wrong_backward_pass_is_caught(monkeypatch):
    def wrong_backward(self, grad_out):
        return grad_out * (1 - self._y)  # forgot to square: that is sigmoid's rule, not tanh's

    monkeypatch.setattr(nn.Tanh, "backward", wrong_backward)
    result = crosscheck.compare_layer("Tanh")
    assert not result.passed
    assert result.worst == 1  # the output matches; the input gradient (item 1) does not


# ---------------------------------------------------------------------------- the matrix


def test_matrix_covers_every_optimizer_and_option_flag():
    for name in optim.OPTIMIZERS:
        assert name in crosscheck.OPTION_CASES, f"no option cases for {name}"
    flags = {key for cases in crosscheck.OPTION_CASES.values() for case in cases for key in case}
    assert {"nesterov", "amsgrad", "centered", "maximize", "decoupled_weight_decay",
            "weight_decay", "momentum"} <= flags
    surfaces_used = {s.name for _, s, _ in crosscheck._optimizer_cases("adam")}
    assert surfaces_used == {"rosenbrock", "beale", "quadratic"}
    assert set(crosscheck.SCHEDULES) >= {name for name in schedules.__all__
                                         if name.endswith(("LR", "Plateau"))}


def test_main_prints_a_table_and_exits_1_on_a_mismatch(monkeypatch, capsys):
    good = crosscheck.compare_layer("ReLU")
    bad = crosscheck.compare_optimizer("sgd", {"lr": 0.05}, steps=40)  # diverges: NaN

    def crash():
        raise RuntimeError("no such kernel")

    monkeypatch.setattr(crosscheck, "_groups", lambda dtype: [("fine", [lambda: good] * 3),
                                                              ("broken", [lambda: bad, crash])])
    assert crosscheck.main([]) == 1
    out = capsys.readouterr().out
    assert crosscheck.device_report() in out and "float64 comparisons" in out
    assert "fine" in out and "broken" in out and "2 FAILED" in out
    assert "2 of 5 comparisons FAILED" in out and "RuntimeError: no such kernel" in out

    monkeypatch.setattr(crosscheck, "_groups", lambda dtype: [("fine", [lambda: good])])
    assert crosscheck.main([]) == 0
    assert "all 1 comparisons passed" in capsys.readouterr().out


def test_torch_twin_copies_every_layer_and_weight():
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Linear(5, 8, rng=rng), nn.BatchNorm1d(8), nn.LeakyReLU(0.2), nn.Linear(8, 8, rng=rng),
        nn.ELU(0.5), nn.GELU(), nn.Linear(8, 6, bias=False, rng=rng), nn.Sigmoid(), nn.Tanh(),
        nn.Dropout(0.3, rng=rng), nn.ReLU(),
    )
    x = rng.normal(size=(16, 5))
    model(x)  # one training step moves BatchNorm's running statistics off their defaults
    model.eval()
    twin = crosscheck.torch_twin(model)
    assert not twin.training
    expected = model(x)
    got = twin(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_torch_twin_refuses_what_it_cannot_copy():
    with pytest.raises(TypeError, match="no torch counterpart for MSELoss"):
        crosscheck.torch_twin(nn.MSELoss())
