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
    np.testing.assert_array_equal(traj.loss, losses)
    np.testing.assert_allclose(traj.grad_norm, norms, rtol=1e-15)
    np.testing.assert_array_equal(traj.lr, lrs)
    assert traj.diverged_at is None and not traj.diverged
    assert traj.points.shape == (151, 2) and traj.loss.shape == (151,)
    assert traj.grad_norm.shape == traj.lr.shape == (150,)
    assert traj.loss[-1] < traj.loss[0]


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
    np.testing.assert_array_equal(traj.loss, losses)
    np.testing.assert_allclose(traj.grad_norm, norms, rtol=1e-15)
    np.testing.assert_array_equal(traj.lr, lrs)
    assert np.any(traj.grad_norm > 20.0)  # clipping really was active


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
    assert len(traj.points) == expected + 1 and len(traj.lr) == expected
    assert abs(traj.loss[-1]) > blowup and np.all(np.abs(traj.loss[:-1]) <= blowup)
    np.testing.assert_allclose(traj.loss, f0 * rate ** np.arange(expected + 1), rtol=1e-12)


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
    assert not np.isfinite(traj.loss[-1]) or not np.all(np.isfinite(traj.points[-1]))
    assert np.all(np.isfinite(traj.loss[:-1]))
    assert traj.status() == f"diverged at step {traj.diverged_at}"
    assert traj_adam.steps == 300 or traj_adam.diverged  # finishes either way, quietly
    assert traj_noise.steps == 300 or traj_noise.diverged


def test_bad_start_and_zero_steps():
    s = surfaces.quadratic()
    traj = trajectory.run(s, optim.SGD, {"lr": 0.1}, steps=10, start=(np.nan, 0.0))
    assert traj.diverged_at == 0 and traj.steps == 0 and traj.points.shape == (1, 2)
    traj = trajectory.run(s, optim.SGD, {"lr": 0.1}, steps=0)
    assert traj.diverged_at is None and traj.points.shape == (1, 2) and traj.lr.shape == (0,)
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
    assert a.grad_norm[0] == pytest.approx(np.linalg.norm(first), rel=1e-15)


def test_scheduler_lrs_recorded():
    s = surfaces.quadratic()
    traj = trajectory.run(
        s,
        optim.SGD,
        {"lr": 0.08},
        steps=45,
        scheduler=lambda o: schedules.StepLR(o, step_size=10, gamma=0.5),
    )
    np.testing.assert_array_equal(traj.lr, 0.08 * 0.5 ** (np.arange(45) // 10))
    warm = trajectory.run(
        s,
        optim.Adam,
        {"lr": 0.1},
        steps=30,
        scheduler=lambda o: schedules.LinearLR(o, start_factor=0.1, total_iters=10),
    )
    np.testing.assert_allclose(warm.lr[:11], 0.1 * np.linspace(0.1, 1.0, 11), rtol=1e-12)
    assert np.all(warm.lr[10:] == warm.lr[10])


def test_reduce_on_plateau_is_fed_the_loss():
    # SGD stalls in a dimple of Rastrigin: the loss stops improving and the lr is cut
    s = surfaces.rastrigin()
    make = lambda o: schedules.ReduceLROnPlateau(o, patience=5, factor=0.5)  # noqa: E731
    traj = trajectory.run(s, optim.SGD, {"lr": 1e-3}, steps=100, scheduler=make)
    opt = optim.SGD([np.zeros(1)], lr=1e-3)
    sched = make(opt)
    expected = []
    for loss in traj.loss[1:]:
        expected.append(opt.param_groups[0]["lr"])
        sched.step(loss)
    np.testing.assert_array_equal(traj.lr, expected)
    assert traj.lr[-1] < traj.lr[0]


def test_clipping_keeps_the_cliff_run_close():
    s = surfaces.cliff()
    plain = trajectory.run(s, optim.SGD, {"lr": 0.1}, steps=100)
    clipped = trajectory.run(s, optim.SGD, {"lr": 0.1}, steps=100, clip_norm=1.0)
    by_value = trajectory.run(s, optim.SGD, {"lr": 0.1}, steps=100, clip_value=1.0)
    jump = np.linalg.norm(np.diff(plain.points, axis=0), axis=1)
    assert jump[0] > 9.0  # thrown off the wall
    assert np.all(np.linalg.norm(np.diff(clipped.points, axis=0), axis=1) <= 0.1 + 1e-12)
    assert np.all(np.abs(np.diff(by_value.points, axis=0)) <= 0.1 + 1e-12)
    assert clipped.grad_norm[0] > 90  # recorded before clipping
    # the thrown run spends ~80 steps walking back along the gentle floor (slope 1, lr 0.1)
    first_good = lambda traj: int(np.argmax(traj.loss < 1e-2))  # noqa: E731
    assert plain.loss[50] > 1.0 and clipped.loss[50] < 1e-2
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


@pytest.mark.parametrize("noise", [math.nan, math.inf, "0.1"])
def test_grad_noise_must_be_a_finite_number(noise):
    # NaN used to pass `grad_noise < 0` and `grad_noise > 0` alike: silently no noise
    with pytest.raises(ValueError, match="grad_noise"):
        trajectory.run("quadratic", optim.SGD, {"lr": 0.1}, steps=5, grad_noise=noise)


@pytest.mark.parametrize("steps", [2.5, 10.0, True, "10", None])
def test_steps_must_be_an_integer(steps):
    with pytest.raises(TypeError, match="steps must be an integer"):
        trajectory.run("quadratic", optim.SGD, {"lr": 0.1}, steps=steps)


def test_steps_accepts_numpy_integers():
    run = trajectory.run("quadratic", optim.SGD, {"lr": 0.1}, steps=np.int64(7))
    assert run.steps == 7


def test_bad_arguments_get_clear_errors():
    with pytest.raises(ValueError, match="blowup"):
        trajectory.run("quadratic", optim.SGD, {"lr": 0.1}, steps=5, blowup=0.0)
    with pytest.raises(ValueError, match="blowup"):
        trajectory.run("quadratic", optim.SGD, {"lr": 0.1}, steps=5, blowup=math.nan)
    with pytest.raises(TypeError, match="options"):
        trajectory.run("quadratic", optim.SGD, None, steps=5)
    with pytest.raises(TypeError, match="optimizer must be"):
        trajectory.run("quadratic", "adam", {"lr": 0.1}, steps=5)
    with pytest.raises(TypeError, match="nnopt_lib.optim class"):
        trajectory.run("quadratic", dict, {}, steps=5)
    with pytest.raises(TypeError, match="surface must be"):
        trajectory.run(42, optim.SGD, {"lr": 0.1}, steps=5)
    with pytest.raises(ValueError, match="Unknown surface"):
        trajectory.run("nowhere", optim.SGD, {"lr": 0.1}, steps=5)


def test_seed_scheduler_and_clipping_bounds_are_checked_by_name():
    def run(**kwargs):
        return trajectory.run("quadratic", optim.SGD, {"lr": 0.1}, steps=5, **kwargs)

    # numpy said "expected non-negative integer" without naming the argument
    with pytest.raises(ValueError, match=r"seed must be a non-negative integer.*got -1"):
        run(grad_noise=0.1, seed=-1)
    with pytest.raises(TypeError, match="seed must be"):
        run(seed="a")
    # a non-callable scheduler was called: "'int' object is not callable"
    for bad in (3, schedules.StepLR(optim.SGD([np.zeros(2)], lr=0.1), step_size=2)):
        with pytest.raises(TypeError, match="scheduler must be a function that builds"):
            run(scheduler=bad)
    with pytest.raises(TypeError, match="scheduler must be a function"):
        trajectory.run("quadratic", optim.sgd_step, {"lr": 0.1}, steps=5, scheduler=3)
    # the messages name run's arguments (clip_grad_norm_ would say max_norm), before any step
    for name in ("clip_norm", "clip_value"):
        for bad in (math.nan, -1.0):
            with pytest.raises(ValueError, match=f"Invalid {name}: {bad}"):
                run(**{name: bad})
        with pytest.raises(ValueError, match=f"Invalid {name}"):
            trajectory.run("quadratic", optim.SGD, {"lr": 0.1}, steps=0, **{name: -1.0})
    shared = np.random.default_rng(5)
    assert run(grad_noise=0.1, seed=shared).steps == 5  # a Generator is a seed too


def test_a_surface_name_is_the_surface():
    # run("rosenbrock", ...) used to fail with AttributeError: 'str' has no attribute 'start'
    by_name = trajectory.run("rosenbrock", optim.Adam, {"lr": 0.05}, steps=50)
    by_surface = trajectory.run(surfaces.rosenbrock(), optim.Adam, {"lr": 0.05}, steps=50)
    np.testing.assert_array_equal(by_name.points, by_surface.points)
    assert by_name.points.shape == (51, 2)


@pytest.mark.parametrize(
    "step_fn,cls,options",
    [
        (optim.sgd_step, optim.SGD, {"lr": 1e-3, "momentum": 0.9, "nesterov": True}),
        (optim.adagrad_step, optim.Adagrad, {"lr": 0.1}),
        (optim.rmsprop_step, optim.RMSprop, {"lr": 0.01, "centered": True}),
        (optim.adadelta_step, optim.Adadelta, {}),
        (optim.adam_step, optim.Adam, {"lr": 0.05, "amsgrad": True}),
        (optim.adamw_step, optim.AdamW, {"lr": 0.05}),
        (optim.nadam_step, optim.NAdam, {"lr": 0.05}),
        (optim.heavy_ball_step, optim.HeavyBall, {"lr": 1e-3, "beta": 0.9}),
        (optim.ema_momentum_step, optim.EMAMomentum, {"lr": 1e-2, "beta": 0.9}),
    ],
)
def test_pure_step_function_equals_its_class(step_fn, cls, options):
    with_class = trajectory.run("rosenbrock", cls, options, steps=200, grad_noise=1.0)
    with_function = trajectory.run("rosenbrock", step_fn, options, steps=200, grad_noise=1.0)
    np.testing.assert_array_equal(with_function.points, with_class.points)
    np.testing.assert_array_equal(with_function.loss, with_class.loss)
    np.testing.assert_array_equal(with_function.grad_norm, with_class.grad_norm)
    np.testing.assert_array_equal(with_function.lr, with_class.lr)  # the default lr too
    assert with_function.status() == with_class.status()


def _run_steps(step_fn, grad_fn, start, steps, **hyper):
    """The private runner notebooks 05 and 06 carried: run() must replace it."""
    theta, state = np.array(start, dtype=float), {}
    path = [theta]
    for _ in range(steps):
        theta, state = step_fn(theta, grad_fn(theta), state, **hyper)
        path.append(theta)
    return np.array(path)


def test_pure_step_function_with_a_gradient_of_ones_own():
    bowl = surfaces.quadratic(condition=10)
    scaled = lambda xy: 1e-3 * bowl.grad(xy)  # noqa: E731 -- the gradient of 1e-3·f
    run = trajectory.run(bowl, optim.adam_step, {"lr": 0.1}, steps=200, grad_fn=scaled)
    expected = _run_steps(optim.adam_step, scaled, bowl.start, 200, lr=0.1)
    np.testing.assert_array_equal(run.points, expected)
    np.testing.assert_array_equal(run.loss, bowl.value(expected))  # f, not 1e-3·f
    # in other units: u = x / c, so the gradient in u is c·∇f(c·u)
    c = 100.0
    in_u = trajectory.run(bowl, optim.sgd_step, {"lr": 0.05 / c**2}, steps=300,
                          start=tuple(np.array(bowl.start) / c),
                          grad_fn=lambda u: c * bowl.grad(c * u))  # fmt: skip
    in_x = trajectory.run(bowl, optim.sgd_step, {"lr": 0.05}, steps=300)
    np.testing.assert_allclose(c * in_u.points, in_x.points, atol=1e-12)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        trajectory.run(bowl, optim.sgd_step, {"lr": 0.1}, steps=3, grad_fn=lambda xy: [1.0])
    # with an optimizer class too, and the function cannot change the point it is given
    spoiler = lambda xy: (bowl.grad(xy), xy.fill(99.0))[0]  # noqa: E731
    spoilt = trajectory.run(bowl, optim.SGD, {"lr": 0.1}, steps=20, grad_fn=spoiler)
    np.testing.assert_array_equal(
        spoilt.points, trajectory.run(bowl, optim.SGD, {"lr": 0.1}, steps=20).points
    )


def test_options_may_be_functions_of_the_step_for_a_step_function():
    # A step-function schedule equals the class with the matching scheduler ...
    halving = {"lr": lambda t: 0.08 * 0.5 ** (t // 10), "momentum": 0.5}
    by_function = trajectory.run("quadratic", optim.sgd_step, halving, steps=45)
    by_class = trajectory.run(
        "quadratic", optim.SGD, {"lr": 0.08, "momentum": 0.5}, steps=45,
        scheduler=lambda o: schedules.StepLR(o, step_size=10, gamma=0.5),
    )  # fmt: skip
    np.testing.assert_array_equal(by_function.lr, 0.08 * 0.5 ** (np.arange(45) // 10))
    np.testing.assert_array_equal(by_function.points, by_class.points)
    # ... and any hyperparameter may change: notebook 04's momentum schedule
    s = surfaces.rosenbrock()
    beta_at = lambda t: 0.9 if t < 150 else 0.5  # noqa: E731
    run = trajectory.run(s, optim.sgd_step, {"lr": 1e-3, "momentum": beta_at}, steps=300)
    theta, state, path = np.array(s.start), {}, [np.array(s.start)]
    for t in range(300):
        theta, state = optim.sgd_step(theta, s.grad(theta), state, lr=1e-3, momentum=beta_at(t))
        path.append(theta)
    np.testing.assert_array_equal(run.points, np.array(path))


def test_recorded_lr_of_a_step_function():
    def no_lr_step(param, grad, state, *, size):
        return param - size * np.sign(grad), state

    assert np.isnan(trajectory.run("quadratic", no_lr_step, {"size": 0.1}, steps=3).lr).all()
    np.testing.assert_array_equal(
        trajectory.run("quadratic", optim.adadelta_step, {}, steps=3).lr, 1.0  # its default
    )


def test_step_function_errors():
    with pytest.raises(ValueError, match="scheduler needs an optimizer class"):
        trajectory.run("quadratic", optim.sgd_step, {"lr": 0.1}, steps=5,
                       scheduler=lambda o: schedules.StepLR(o, step_size=1))  # fmt: skip
    with pytest.raises(ValueError, match=r"\['lr'\] are functions of the step"):
        trajectory.run("quadratic", optim.SGD, {"lr": lambda t: 0.1}, steps=5)
    # a misspelt hyperparameter fails before the first step, even with steps=0
    with pytest.raises(TypeError, match="learning_rate"):
        trajectory.run("quadratic", optim.sgd_step, {"learning_rate": 0.1}, steps=0)


def test_a_diverging_step_function_stops_quietly():
    def blowing_up(param, grad, state, *, lr):
        return param * 1e100, state

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = trajectory.run("quadratic", blowing_up, {"lr": 0.1}, steps=50, blowup=math.inf)
    # θ_2 ~ 1e200 is still finite, but f(θ_2) ~ 1e400 is not
    assert run.diverged_at == 2 and run.status() == "diverged at step 2"
    assert run.points.shape == (3, 2) and np.isinf(run.loss[-1])


def test_status_of_a_run_growing_towards_divergence_is_not_a_success():
    # Just above 2/L, |x| grows by |1 - lr·L| per step: slowly enough to stay under the bound.
    s = surfaces.quadratic(condition=10.0)
    L = float(np.linalg.eigvalsh(s.hessian).max())
    traj = trajectory.run(s, optim.SGD, {"lr": 2.05 / L}, steps=50)
    assert not traj.diverged
    assert traj.status().startswith("f grew from ") and "reached" not in traj.status()
