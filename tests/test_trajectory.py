"""nnopt_lib.trajectory.run: equal to a hand-written loop, divergence found at the step
theory predicts, reproducible noise, clipping and schedules applied in torch's order."""

import math
import warnings

import numpy as np
import pytest

from nnopt_lib import clip, optim, schedules, surfaces, trajectory


def _manual(
    surface,
    opt_cls,
    options,
    steps,
    *,
    start=None,
    noise=0.0,
    seed=0,
    clip_norm=None,
    clip_value=None,
    scheduler=None,
):
    """The loop written out by hand, in the documented order."""
    point = np.array(surface.start if start is None else start, dtype=float)
    opt = opt_cls([point], **options)
    sched = scheduler(opt) if scheduler else None
    rng = np.random.default_rng(seed)
    points, norms, lrs = [point.copy()], [], []
    for _ in range(steps):
        g = surface.grad(point)
        if noise:
            g = g + noise * rng.standard_normal(2)
        norms.append(np.linalg.norm(g))
        if clip_value is not None:
            clip.clip_grad_value_([g], clip_value)
        if clip_norm is not None:
            clip.clip_grad_norm_([g], clip_norm)
        lrs.append(opt.param_groups[0]["lr"])
        opt.step([g])
        if sched:
            sched.step()
        points.append(point.copy())
    points = np.array(points)
    return points, surface.value(points), np.array(norms), np.array(lrs)


@pytest.mark.parametrize(
    "surface_name,opt_cls,options",
    [
        ("rosenbrock", optim.SGD, {"lr": 1e-3, "momentum": 0.9}),
        ("beale", optim.Adam, {"lr": 0.01}),
        ("himmelblau", optim.RMSprop, {"lr": 0.01, "momentum": 0.5}),
        ("quadratic", optim.HeavyBall, {"lr": 0.05, "beta": 0.8}),
    ],
)
def test_run_equals_manual_loop(surface_name, opt_cls, options):
    s = surfaces.get(surface_name)
    traj = trajectory.run(s, opt_cls, options, steps=150)
    points, losses, norms, lrs = _manual(s, opt_cls, options, 150)
    np.testing.assert_array_equal(traj.points, points)
    np.testing.assert_array_equal(traj.losses, losses)
    np.testing.assert_allclose(traj.grad_norms, norms, rtol=1e-15)
    np.testing.assert_array_equal(traj.lrs, lrs)
    assert traj.diverged_at is None and not traj.diverged
    assert traj.points.shape == (151, 2) and traj.losses.shape == (151,)
    assert traj.grad_norms.shape == traj.lrs.shape == (150,)
    assert traj.losses[-1] < traj.losses[0]


def test_run_with_noise_clipping_and_schedule_equals_manual_loop():
    s = surfaces.rosenbrock()
    kwargs = dict(start=(-1.5, 2.0), clip_norm=20.0, clip_value=15.0)
    make = lambda o: schedules.CosineAnnealingLR(o, T_max=200, eta_min=1e-5)  # noqa: E731
    traj = trajectory.run(
        s,
        optim.SGD,
        {"lr": 2e-3, "momentum": 0.9},
        steps=200,
        scheduler=make,
        grad_noise=3.0,
        seed=7,
        **kwargs,
    )
    points, losses, norms, lrs = _manual(
        s,
        optim.SGD,
        {"lr": 2e-3, "momentum": 0.9},
        200,
        noise=3.0,
        seed=7,
        scheduler=make,
        **kwargs,
    )
    np.testing.assert_array_equal(traj.points, points)
    np.testing.assert_array_equal(traj.losses, losses)
    np.testing.assert_allclose(traj.grad_norms, norms, rtol=1e-15)
    np.testing.assert_array_equal(traj.lrs, lrs)
    assert np.any(traj.grad_norms > 20.0)  # clipping really was active


@pytest.mark.parametrize(
    "scale,lr,start,blowup",
    [(1.0, 3.0, (1.0, 1.0), 1e12), (2.0, 1.6, (-0.3, 0.7), 1e12), (0.5, 4.5, (2.0, 0.0), 1e6)],
)
def test_divergence_at_the_step_theory_predicts(scale, lr, start, blowup):
    # f = ½λ|θ|² (condition 1), SGD: θ_k = (1 − ηλ)^k θ_0, so f_k = (1 − ηλ)^{2k} f_0 and the
    # run must stop at the first k with f_k > blowup.
    s = surfaces.quadratic(condition=1.0, scale=scale)
    f0 = 0.5 * scale * (start[0] ** 2 + start[1] ** 2)
    rate = (1 - lr * scale) ** 2
    assert rate > 1
    expected = next(k for k in range(1, 1000) if f0 * rate**k > blowup)
    # not a knife-edge case where rounding could decide
    assert f0 * rate ** (expected - 1) < blowup / 1.01 and f0 * rate**expected > blowup * 1.01

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        traj = trajectory.run(s, optim.SGD, {"lr": lr}, steps=500, start=start, blowup=blowup)
    assert traj.diverged and traj.diverged_at == expected
    assert traj.status() == f"diverged at step {expected}"
    assert len(traj.points) == expected + 1 and len(traj.lrs) == expected
    assert abs(traj.losses[-1]) > blowup and np.all(np.abs(traj.losses[:-1]) <= blowup)
    np.testing.assert_allclose(traj.losses, f0 * rate ** np.arange(expected + 1), rtol=1e-12)


def test_overflow_to_inf_and_nan_is_silent():
    s = surfaces.rosenbrock()
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")  # any RuntimeWarning would fail the test
        traj = trajectory.run(s, optim.SGD, {"lr": 0.5}, steps=300, blowup=math.inf)
        traj_adam = trajectory.run(s, optim.Adam, {"lr": 1e10}, steps=300, blowup=math.inf)
        traj_noise = trajectory.run(
            s, optim.SGD, {"lr": 0.1}, steps=300, grad_noise=1e300, clip_value=1.0, blowup=math.inf
        )
    assert traj.diverged
    assert not np.isfinite(traj.losses[-1]) or not np.all(np.isfinite(traj.points[-1]))
    assert np.all(np.isfinite(traj.losses[:-1]))
    assert traj.status() == f"diverged at step {traj.diverged_at}"
    assert traj_adam.steps == 300 or traj_adam.diverged  # finishes either way, quietly
    assert traj_noise.steps == 300 or traj_noise.diverged


def test_bad_start_and_zero_steps():
    s = surfaces.quadratic()
    traj = trajectory.run(s, optim.SGD, {"lr": 0.1}, steps=10, start=(np.nan, 0.0))
    assert traj.diverged_at == 0 and traj.steps == 0 and traj.points.shape == (1, 2)
    traj = trajectory.run(s, optim.SGD, {"lr": 0.1}, steps=0)
    assert traj.diverged_at is None and traj.points.shape == (1, 2) and traj.lrs.shape == (0,)
    assert traj.status() == f"reached f={s.value(s.start):.2g} in 0 steps"


def test_noise_is_reproducible_by_seed():
    s = surfaces.himmelblau()
    run = lambda seed, noise=2.0: trajectory.run(  # noqa: E731
        s, optim.SGD, {"lr": 1e-3}, steps=100, grad_noise=noise, seed=seed
    )
    a, b, c = run(0), run(0), run(1)
    np.testing.assert_array_equal(a.points, b.points)
    assert not np.array_equal(a.points, c.points)
    clean = run(0, noise=0.0)
    assert not np.array_equal(a.points, clean.points)
    np.testing.assert_array_equal(clean.points, run(5, noise=0.0).points)  # seed unused
    # the recorded norms are of the noisy gradient
    p0 = np.array(s.start)
    first = s.grad(p0) + 2.0 * np.random.default_rng(0).standard_normal(2)
    assert a.grad_norms[0] == pytest.approx(np.linalg.norm(first), rel=1e-15)


def test_scheduler_lrs_recorded():
    s = surfaces.quadratic()
    traj = trajectory.run(
        s,
        optim.SGD,
        {"lr": 0.08},
        steps=45,
        scheduler=lambda o: schedules.StepLR(o, step_size=10, gamma=0.5),
    )
    np.testing.assert_array_equal(traj.lrs, 0.08 * 0.5 ** (np.arange(45) // 10))
    warm = trajectory.run(
        s,
        optim.Adam,
        {"lr": 0.1},
        steps=30,
        scheduler=lambda o: schedules.LinearLR(o, start_factor=0.1, total_iters=10),
    )
    np.testing.assert_allclose(warm.lrs[:11], 0.1 * np.linspace(0.1, 1.0, 11), rtol=1e-12)
    assert np.all(warm.lrs[10:] == warm.lrs[10])


def test_reduce_on_plateau_is_fed_the_loss():
    # SGD stalls in a dimple of Rastrigin: the loss stops improving and the lr is cut
    s = surfaces.rastrigin()
    make = lambda o: schedules.ReduceLROnPlateau(o, patience=5, factor=0.5)  # noqa: E731
    traj = trajectory.run(s, optim.SGD, {"lr": 1e-3}, steps=100, scheduler=make)
    opt = optim.SGD([np.zeros(1)], lr=1e-3)
    sched = make(opt)
    expected = []
    for loss in traj.losses[1:]:
        expected.append(opt.param_groups[0]["lr"])
        sched.step(loss)
    np.testing.assert_array_equal(traj.lrs, expected)
    assert traj.lrs[-1] < traj.lrs[0]


def test_clipping_keeps_the_cliff_run_close():
    s = surfaces.cliff()
    plain = trajectory.run(s, optim.SGD, {"lr": 0.1}, steps=100)
    clipped = trajectory.run(s, optim.SGD, {"lr": 0.1}, steps=100, clip_norm=1.0)
    by_value = trajectory.run(s, optim.SGD, {"lr": 0.1}, steps=100, clip_value=1.0)
    jump = np.linalg.norm(np.diff(plain.points, axis=0), axis=1)
    assert jump[0] > 9.0  # thrown off the wall
    assert np.all(np.linalg.norm(np.diff(clipped.points, axis=0), axis=1) <= 0.1 + 1e-12)
    assert np.all(np.abs(np.diff(by_value.points, axis=0)) <= 0.1 + 1e-12)
    assert clipped.grad_norms[0] > 90  # recorded before clipping
    # the thrown run spends ~80 steps walking back along the gentle floor (slope 1, lr 0.1)
    first_good = lambda traj: int(np.argmax(traj.losses < 1e-2))  # noqa: E731
    assert plain.losses[50] > 1.0 and clipped.losses[50] < 1e-2
    assert first_good(plain) > first_good(clipped) + 40  # 86 vs 38 steps


def test_validation():
    s = surfaces.quadratic()
    with pytest.raises(ValueError, match="-1"):
        trajectory.run(s, optim.SGD, {"lr": 0.1}, steps=-1)
    with pytest.raises(ValueError, match="-0.5"):
        trajectory.run(s, optim.SGD, {"lr": 0.1}, steps=5, grad_noise=-0.5)
    with pytest.raises(ValueError, match="start"):
        trajectory.run(s, optim.SGD, {"lr": 0.1}, steps=5, start=(1.0, 2.0, 3.0))
    with pytest.raises(TypeError):
        trajectory.run(s, optim.SGD, {"learning_rate": 0.1}, steps=5)  # misspelt keyword


def test_status_of_a_run_growing_towards_divergence_is_not_a_success():
    # Just above 2/L, |x| grows by |1 - lr·L| per step: slowly enough to stay under the bound.
    s = surfaces.quadratic(condition=10.0)
    L = float(np.linalg.eigvalsh(s.hessian).max())
    traj = trajectory.run(s, optim.SGD, {"lr": 2.05 / L}, steps=50)
    assert not traj.diverged
    assert traj.status().startswith("f grew from ") and "reached" not in traj.status()
