r"""Run an optimizer on a 2-D surface and record where it goes.

:func:`run` is the loop every figure and slider of the course uses. It takes an optimizer
class with its options, or a pure step function with its hyperparameters::

    from nnopt_lib import optim, trajectory
    run = trajectory.run("rosenbrock", optim.Adam, {"lr": 0.05}, steps=300)
    run.points           # (k+1, 2) positions, start included
    run.loss             # (k+1,) f at those points
    run.status()         # 'reached f=3.1e-05 in 300 steps'  or  'diverged at step 17'
    same = trajectory.run("rosenbrock", optim.adam_step, {"lr": 0.05}, steps=300)

One step is what a training loop does, in the same order:

1. gradient of the surface at the current point, :math:`g = \nabla f(\theta)` (or
   ``grad_fn(θ)`` when given);
2. plus Gaussian noise of standard deviation ``grad_noise`` (a stand-in for minibatch noise;
   drawn from ``np.random.default_rng(seed)``, so a run is reproducible);
3. optional clipping (``clip_value`` then ``clip_norm``, see :mod:`nnopt_lib.clip`);
4. the update -- ``optimizer.step``, then the scheduler (after the optimizer, as torch
   recommends) -- or, for a pure step function, ``θ, state = step_fn(θ, g, state, **options)``.

Large learning rates are part of the lesson, so the loop is divergence-safe: it runs under
``np.errstate(all="ignore")``, stops at the first non-finite value or ``|f| > blowup``, and
records the step; it never emits a warning. The record is a :class:`~nnopt_lib.history.History`.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from nnopt_lib import clip, optim, schedules, surfaces
from nnopt_lib.clip import clip_grad_norm_, clip_grad_value_
from nnopt_lib.data import default_rng
from nnopt_lib.history import History

__all__ = ["Trajectory", "run"]

#: Deprecated: the run record used to be called ``Trajectory`` (fields ``losses``,
#: ``grad_norms``, ``lrs``). Kept importable for one release so that old type hints work;
#: use :class:`nnopt_lib.history.History` (fields ``loss``, ``grad_norm``, ``lr``).
Trajectory = History

#: A pure step function, ``f(param, grad, state, **options) -> (new_param, new_state)``.
StepFunction = Callable[..., tuple[np.ndarray, dict[str, Any]]]


def run(
    surface: surfaces.Surface | str,
    optimizer: type[optim.Optimizer] | StepFunction,
    options: dict[str, Any],
    *,
    steps: int,
    start: tuple[float, float] | None = None,
    scheduler: Callable[[optim.Optimizer], Any] | None = None,
    clip_norm: float | None = None,
    clip_value: float | None = None,
    grad_noise: float = 0.0,
    seed: int = 0,
    blowup: float = 1e12,
    grad_fn: Callable[[np.ndarray], Any] | None = None,
) -> History:
    """Run ``optimizer`` for ``steps`` steps on ``surface`` and return the :class:`History`.

    Parameters
    ----------
    surface: a :class:`~nnopt_lib.surfaces.Surface`, or its name (``"rosenbrock"``).
    optimizer, options: either an :mod:`nnopt_lib.optim` class and its keywords, e.g.
        ``optim.SGD, {"lr": 0.01, "momentum": 0.9}`` (run as ``optim.SGD([θ], **options)``),
        or a pure step function ``f(param, grad, state, **options) -> (new_param, new_state)``
        such as ``optim.sgd_step`` or one written in a notebook; its state starts as ``{}``.
        With a step function, an option may also be a function of the step index
        ``t = 0, 1, ...`` (e.g. ``{"lr": lambda t: 0.1 if t < 100 else 0.01}``); that is how
        to schedule a step function's hyperparameters. Any other callable is taken for a
        step function (a factory that builds an optimizer is not recognised).
    steps: number of updates (fewer are taken if the run diverges).
    start: start point; default ``surface.start``.
    scheduler: optimizer classes only: ``callable(optimizer) -> scheduler``, e.g.
        ``lambda o: schedules.CosineAnnealingLR(o, T_max=300)``; stepped once after every
        update with :func:`nnopt_lib.schedules.step_scheduler`, which feeds schedulers that
        watch a metric (``ReduceLROnPlateau``) the new loss.
    clip_norm, clip_value: clip the gradient by global norm / by value before each step
        (numbers >= 0; ``None``: no clipping).
    grad_noise: standard deviation of Gaussian noise added to every gradient coordinate.
    seed: seed of the noise generator: an integer >= 0, ``None`` or a ``Generator``
        (checked by :func:`nnopt_lib.data.default_rng`).
    blowup: a run whose ``|f|`` exceeds this counts as diverged (``math.inf``: only
        non-finite values do).
    grad_fn: gradient to use instead of ``surface.grad``, a function of the point, e.g.
        ``lambda xy: 1e-3 * s.grad(xy)`` (the gradient of ``1e-3·f``). The recorded loss and
        the divergence test still use the surface's ``f``.

    The :class:`~nnopt_lib.history.History` has ``points`` (``(k+1, 2)``, start included;
    after a divergence the last row is the bad point, maybe huge, inf or NaN), ``loss``
    (``(k+1,)``, f at the points), ``grad_norm`` (``(k,)``, after the noise and before
    clipping), ``lr`` (``(k,)``, the learning rate in force at each step: the first param
    group's, or a step function's ``lr`` option -- its default when not given, NaN when it
    has none) and ``diverged_at`` (the step whose update produced the bad point, counting
    from 1; 0 if the start itself is bad).
    """
    surface = _resolve_surface(surface)
    if not isinstance(options, Mapping):
        raise TypeError(f"options must be a dict of keyword arguments, got {options!r}")
    _check_steps(steps)
    if not (isinstance(grad_noise, numbers.Real) and 0.0 <= grad_noise < math.inf):
        raise ValueError(
            f"Invalid grad_noise: {grad_noise} (a standard deviation: a finite number >= 0)"
        )
    if not (isinstance(blowup, numbers.Real) and blowup > 0.0):
        raise ValueError(f"Invalid blowup: {blowup} (must be > 0; math.inf turns it off)")
    # checked before the first step, so that the messages name run's arguments
    for name, bound in (("clip_norm", clip_norm), ("clip_value", clip_value)):
        if bound is not None:
            clip.check_threshold(name, bound)
    rng = default_rng(seed)
    if scheduler is not None and not callable(scheduler):
        raise TypeError(
            "scheduler must be a function that builds a scheduler on the optimizer, e.g. "
            f"lambda o: schedules.StepLR(o, step_size=100), or None; got {scheduler!r}"
        )
    point = np.array(surface.start if start is None else start, dtype=float)
    if point.shape != (2,):
        raise ValueError(f"start must be a point (x, y), got {start!r}")
    if isinstance(optimizer, type):
        update, lr_at, after_update = _class_updater(optimizer, options, point, scheduler)
    elif callable(optimizer):
        if scheduler is not None:
            raise ValueError(
                "scheduler needs an optimizer class (a scheduler changes the optimizer's "
                "param_groups); with a pure step function, give the option as a function of "
                "the step instead, e.g. {'lr': lambda t: 0.1 * 0.5 ** (t // 100)}"
            )
        update, lr_at = _function_updater(optimizer, options, point)
        after_update = None
    else:
        raise TypeError(
            "optimizer must be an nnopt_lib.optim class (e.g. optim.Adam) or a pure step "
            f"function (e.g. optim.adam_step), got {optimizer!r}"
        )

    formula, gradient = surface.formula, surface.gradient
    points = np.empty((steps + 1, 2))
    losses = np.empty(steps + 1)
    grad_norms = np.empty(steps)
    lrs = np.empty(steps)
    diverged_at = None
    taken = 0
    with np.errstate(all="ignore"):
        # the surface is evaluated on Python floats: same bits as on arrays, several times faster
        x, y = point.tolist()
        points[0] = point
        losses[0] = loss = float(formula(x, y, np))
        if not (math.isfinite(loss) and abs(loss) <= blowup):
            diverged_at, steps = 0, 0  # a bad start: take no step at all
        for k in range(1, steps + 1):
            if grad_fn is None:
                grad = np.array(gradient(x, y), dtype=float)
            else:
                grad = _call_grad_fn(grad_fn, point)
            if grad_noise > 0:
                grad += grad_noise * rng.standard_normal(2)
            gx, gy = grad.tolist()
            grad_norms[k - 1] = math.hypot(gx, gy)
            if clip_value is not None:
                clip_grad_value_(grad, clip_value)
            if clip_norm is not None:
                clip_grad_norm_(grad, clip_norm)
            lrs[k - 1] = lr_at(k - 1)
            point = update(point, grad, k - 1)
            x, y = point.tolist()
            loss = float(formula(x, y, np))
            points[k] = point
            losses[k] = loss
            taken = k
            if not (
                math.isfinite(x)
                and math.isfinite(y)
                and math.isfinite(loss)
                and abs(loss) <= blowup
            ):
                diverged_at = k
                break
            if after_update is not None:
                after_update(loss)
    return History(
        points=points[: taken + 1].copy(),
        loss=losses[: taken + 1].copy(),
        grad_norm=grad_norms[:taken].copy(),
        lr=lrs[:taken].copy(),
        diverged_at=diverged_at,
    )


def _resolve_surface(surface: Any) -> surfaces.Surface:
    if isinstance(surface, str):
        return surfaces.get(surface)
    if not isinstance(surface, surfaces.Surface):
        raise TypeError(
            f"surface must be a Surface or one of the names {sorted(surfaces.SURFACES)}, "
            f"got {surface!r}"
        )
    return surface


def _check_steps(steps: Any) -> None:
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        raise TypeError(f"steps must be an integer >= 0, got {steps!r}")
    if steps < 0:
        raise ValueError(f"Invalid number of steps: {steps}")


def _call_grad_fn(grad_fn: Callable[[np.ndarray], Any], point: np.ndarray) -> np.ndarray:
    # a copy each way: grad_fn cannot change the point, and clipping cannot change its result
    grad = np.array(grad_fn(point.copy()), dtype=float)
    if grad.shape != (2,):
        raise ValueError(f"grad_fn must return a gradient of shape (2,), got shape {grad.shape}")
    return grad


def _class_updater(
    optimizer_cls: type, options: dict[str, Any], point: np.ndarray, scheduler: Any
) -> tuple[Callable, Callable, Callable | None]:
    """``update(point, grad, t)``, ``lr_at(t)`` and ``after_update(loss)`` for a class."""
    if not issubclass(optimizer_cls, optim.Optimizer):
        raise TypeError(
            f"optimizer must be an nnopt_lib.optim class, got {optimizer_cls.__name__}"
        )
    scheduled = [name for name, value in options.items() if callable(value)]
    if scheduled:
        raise ValueError(
            f"options {scheduled} are functions of the step; that works with a pure step "
            "function only -- with an optimizer class, use a scheduler"
        )
    opt = optimizer_cls([point], **options)
    group = opt.param_groups[0]
    sched = scheduler(opt) if scheduler is not None else None

    def update(point: np.ndarray, grad: np.ndarray, t: int) -> np.ndarray:
        opt.step([grad])  # in place: ``point`` is the optimizer's parameter
        return point

    def after_update(loss: float) -> None:
        schedules.step_scheduler(sched, loss)

    return update, lambda t: group["lr"], None if sched is None else after_update


def _function_updater(
    step_fn: StepFunction, options: dict[str, Any], point: np.ndarray
) -> tuple[Callable, Callable]:
    """``update(point, grad, t)`` and ``lr_at(t)`` for a pure step function."""
    fixed = {name: value for name, value in options.items() if not callable(value)}
    scheduled = {name: value for name, value in options.items() if callable(value)}

    def options_at(t: int) -> dict[str, Any]:
        if not scheduled:
            return fixed
        return {**fixed, **{name: value(t) for name, value in scheduled.items()}}

    # A misspelled option fails here, before the first step (and also for steps=0).
    try:
        signature = inspect.signature(step_fn)
    except (TypeError, ValueError):  # some builtins have no signature: nothing to check
        signature = None
    if signature is not None:
        signature.bind(point, point, {}, **options)
    lr_parameter = signature.parameters.get("lr") if signature is not None else None
    default_lr = (
        lr_parameter.default
        if lr_parameter is not None and lr_parameter.default is not inspect.Parameter.empty
        else math.nan
    )
    state: dict[str, Any] = {}

    def update(point: np.ndarray, grad: np.ndarray, t: int) -> np.ndarray:
        nonlocal state
        new_point, state = step_fn(point, grad, state, **options_at(t))
        return np.asarray(new_point, dtype=float)

    def lr_at(t: int) -> float:
        lr = options.get("lr", default_lr)
        return lr(t) if callable(lr) else lr

    return update, lr_at
