"""nnopt_lib.precision: bfloat16/float16 rounding and the GradScaler, against torch."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch

from nnopt_lib import optim, precision
from nnopt_lib.crosscheck import precision as cc


def _bfloat16_by_neighbours(x32: np.ndarray) -> np.ndarray:
    """A second, slow route (no bit tricks in the rounding): the two bfloat16 neighbours of
    each finite x, the nearer one, ties to the one with an even last bit."""
    bits = x32.view(np.uint32)
    down = (bits & np.uint32(0xFFFF0000)).view(np.float32).astype(np.float64)
    up_bits = (bits & np.uint32(0xFFFF0000)) + np.uint32(0x10000)
    up = up_bits.view(np.float32).astype(np.float64)  # one bfloat16 ulp away from zero
    x = x32.astype(np.float64)
    d_down, d_up = np.abs(x - down), np.abs(up - x)
    even_down = ((bits >> np.uint32(16)) & np.uint32(1)) == 0
    pick_down = (d_down < d_up) | ((d_down == d_up) & even_down)
    return np.where(pick_down, down, up)


def test_to_bfloat16_equals_the_neighbour_rule_without_torch():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 0x7F7F0000, size=200_000, dtype=np.uint32)  # finite, positive
    bits = np.concatenate([bits, bits | np.uint32(0x8000_0000),
                           (bits & np.uint32(0xFFFF0000)) | np.uint32(0x8000)])  # ties
    x = bits.view(np.float32)
    with np.errstate(over="ignore"):
        assert np.array_equal(precision.to_bfloat16(x).astype(np.float64),
                              _bfloat16_by_neighbours(x))


def test_to_bfloat16_specials_and_dtype():
    out = precision.to_bfloat16([0.0, -0.0, np.inf, -np.inf, np.nan, 3.4028235e38, 1.0 + 2**-8])
    assert out.dtype == np.float32
    assert out[0] == 0 and np.signbit(out[1]) and out[2] == np.inf and out[3] == -np.inf
    assert np.isnan(out[4])
    assert out[5] == np.inf  # float32's largest rounds up past bfloat16's largest
    assert out[6] == 1.0  # a tie, to the even neighbour 1.0
    assert precision.to_bfloat16(1.0 + 3 * 2**-8) == 1.0 + 4 * 2**-8  # tie, up to even
    assert precision.to_bfloat16(np.float32(1e-40)) > 0  # subnormals survive
    assert precision.to_float16(1e-8) == 0 and precision.to_float16(70000.0) == np.inf


@pytest.mark.parametrize(("fmt", "kind"), cc.ROUNDING_CASES)
def test_rounding_equals_torch(fmt, kind):
    cc.compare_rounding(fmt, kind).assert_ok()


def test_rounding_comparison_fails_on_a_wrong_rounding():
    x = cc.rounding_inputs("ties")
    truncated = (x.view(np.uint32) & np.uint32(0xFFFF0000)).view(np.float32)  # no rounding
    theirs = torch.from_numpy(x).bfloat16().float().numpy()
    assert cc.rounding_difference(truncated, theirs).max() > 0
    assert cc.rounding_difference(np.array([np.nan]), np.array([1.0]))[0] == np.inf
    assert cc.rounding_difference(np.array([np.inf]), np.array([-np.inf]))[0] == np.inf


@pytest.mark.parametrize(("optimizer", "options", "scaler_options", "nan_steps"),
                         cc.GRAD_SCALER_CASES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_grad_scaler_equals_torch(optimizer, options, scaler_options, nan_steps, dtype):
    result = cc.compare_grad_scaler(optimizer, options, scaler_options=scaler_options,
                                    nan_steps=nan_steps, dtype=dtype)
    result.assert_ok()
    skipped = result.ours[:, 1]
    assert skipped.any() and not skipped.all()  # both branches of the rule were taken
    for step in nan_steps:
        assert skipped[step] == 1


def test_grad_scaler_comparison_fails_on_a_wrong_rule(monkeypatch):
    def no_backoff(self, found_inf):
        return self._scale, 0

    monkeypatch.setattr(precision.GradScaler, "_next_scale", no_backoff)
    assert not cc.compare_grad_scaler("sgd", {"momentum": 0.9}, steps=10).passed


def _iteration(scaler, opt, grads):
    scaler.scale(1.0)
    scaler.step(opt, grads)
    scaler.update()


def test_grad_scaler_skips_and_unscales():
    p = np.array([1.0, 2.0])
    opt = optim.SGD([p], lr=0.5)
    scaler = precision.GradScaler(init_scale=4.0, growth_interval=2)
    _iteration(scaler, opt, [np.array([4.0, -8.0])])  # unscaled: [1, -2]
    assert np.array_equal(p, [0.5, 3.0]) and scaler.get_scale() == 4.0
    _iteration(scaler, opt, [np.array([np.inf, 0.0])])  # skipped, backoff
    assert np.array_equal(p, [0.5, 3.0]) and scaler.get_scale() == 2.0
    _iteration(scaler, opt, [np.array([2.0, 2.0])])
    _iteration(scaler, opt, [np.array([2.0, 2.0])])  # second clean step in a row: growth
    assert np.array_equal(p, [-0.5, 2.0]) and scaler.get_scale() == 4.0
    assert scaler.state_dict() == {"scale": 4.0, "growth_factor": 2.0, "backoff_factor": 0.5,
                                   "growth_interval": 2, "_growth_tracker": 0}
    assert np.array_equal(precision.scale_history([False, True, False, False], init_scale=4.0,
                                                  growth_interval=2), [4.0, 2.0, 2.0, 4.0])


def test_grad_scaler_disabled_just_steps():
    p = np.array([1.0])
    scaler = precision.GradScaler(enabled=False, growth_factor=0.5)  # not validated, as torch
    assert scaler.scale(3.0) == 3.0 and scaler.get_scale() == 1.0 and scaler.state_dict() == {}
    scaler.step(optim.SGD([p], lr=1.0), [np.array([0.25])])
    assert p[0] == 0.75


def test_grad_scaler_errors_are_torchs():
    for ours, theirs in ((precision.GradScaler, lambda **k: torch.amp.GradScaler("cpu", **k)),):
        for bad in ({"growth_factor": 1.0}, {"backoff_factor": 1.0}):
            with pytest.raises(AssertionError):
                theirs(**bad)
            with pytest.raises(AssertionError, match=str(next(iter(bad.values())))):
                ours(**bad)
    opt = optim.SGD([np.zeros(2)], lr=0.1)
    scaler = precision.GradScaler()
    with pytest.raises(AssertionError, match="did not use scaler.scale"):
        scaler.step(opt, [np.zeros(2)])
    scaler.scale(1.0)
    with pytest.raises(AssertionError, match="No inf checks"):
        scaler.update()
    with pytest.raises(ValueError, match="FP16"):
        scaler.unscale_(opt, [np.zeros(2, dtype=np.float16)])
    scaler.unscale_(opt, [np.zeros(2)])
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.unscale_(opt, [np.zeros(2)])
    scaler.step(opt, [np.zeros(2)])
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(opt, [np.zeros(2)])
    with pytest.raises(RuntimeError, match="after step"):
        scaler.unscale_(opt, [np.zeros(2)])
    with pytest.raises(RuntimeError, match="empty"):
        precision.GradScaler().load_state_dict({})
    with pytest.raises(ValueError, match="str"):
        scaler.scale("loss")


def test_grad_scaler_state_dict_round_trip_with_torch():
    theirs = torch.amp.GradScaler("cpu", init_scale=8.0, growth_interval=3)
    t_param = torch.zeros(2, requires_grad=True)
    t_opt = torch.optim.SGD([t_param], lr=0.1)
    ours = precision.GradScaler(init_scale=8.0, growth_interval=3)
    p = np.zeros(2)
    opt = optim.SGD([p], lr=0.1)
    for bad in (False, True, False):  # ends with a growth tracker of 1 and scale 4
        grad = np.array([np.nan if bad else 1.0, 2.0])
        theirs.scale(torch.tensor(1.0))
        t_param.grad = torch.tensor(grad, dtype=torch.float32)
        theirs.step(t_opt)
        theirs.update()
        _iteration(ours, opt, [grad.copy()])
    assert ours.state_dict() == theirs.state_dict()
    loaded = precision.GradScaler()
    loaded.load_state_dict(theirs.state_dict())
    back = torch.amp.GradScaler("cpu")
    back.load_state_dict(ours.state_dict())
    for scaler in (loaded, copy.deepcopy(ours), pickle.loads(pickle.dumps(ours))):
        for _ in range(2):  # two clean steps: the tracker reaches 3 and the scale doubles
            _iteration(scaler, optim.SGD([np.zeros(1)], lr=0.1), [np.ones(1)])
        assert scaler.get_scale() == 8.0 and scaler.state_dict()["_growth_tracker"] == 0
