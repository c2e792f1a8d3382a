r"""Run an optimizer on a 2-D surface and record where it goes.

:func:`run` is the loop every figure and slider of the course uses::

    from nnopt_lib import optim, surfaces, trajectory
    traj = trajectory.run(surfaces.get("rosenbrock"), optim.Adam, {"lr": 0.05}, steps=300)
    traj.points          # (k+1, 2) positions, start included
    traj.status()        # 'reached f=3.1e-05 in 300 steps'  or  'diverged at step 17'

One step is what a training loop does, in the same order:

1. gradient of the surface at the current point, :math:`g = \nabla f(\theta)`;
2. plus Gaussian noise of standard deviation ``grad_noise`` (a stand-in for minibatch noise;
   drawn from ``np.random.default_rng(seed)``, so a run is reproducible);
3. optional clipping (``clip_value`` then ``clip_norm``, see :mod:`nnopt_lib.clip`);
4. ``optimizer.step``, then ``scheduler.step()`` (after the optimizer, as torch recommends).

Large learning rates are part of the lesson, so the loop is divergence-safe: it runs under
``np.errstate(all="ignore")``, stops at the first non-finite value or ``|f| > blowup``, and
records the step; it never emits a warning.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnopt_lib.clip import clip_grad_norm_, clip_grad_value_
from nnopt_lib.schedules import ReduceLROnPlateau
from nnopt_lib.surfaces import Surface

__all__ = ["Trajectory", "run"]


@dataclass
class Trajectory:
    """The record of one run.

    Attributes
    ----------
    points: ``(k+1, 2)`` positions, from the start to the last point reached
        (``k`` = steps actually taken). After a divergence the last row is the bad point
        (it may be huge, inf or NaN).
    losses: ``(k+1,)`` surface values at ``points``.
    grad_norms: ``(k,)`` Euclidean norm of the gradient used at each step, after the noise and
        before clipping (so a clipped run shows how large the raw gradient was).
    lrs: ``(k,)`` learning rate in force at each step (of the first param group).
    diverged_at: the step whose update produced a non-finite value or ``|f| > blowup``
        (steps count from 1; 0 if the start itself is bad), or ``None``.
    """

    points: np.ndarray
    losses: np.ndarray
    grad_norms: np.ndarray
    lrs: np.ndarray
    diverged_at: int | None

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    @property
    def steps(self) -> int:
        """Number of steps actually taken."""
        return len(self.points) - 1

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1])

    def status(self) -> str:
        """One line for a plot legend or a slider: ``"diverged at step 17"``,
        ``"reached f=1.2e-08 in 300 steps"``, or, for a run below the blow-up bound that
        ends above where it started, ``"f grew from 2.5 to 3.1e+10 in 100 steps"`` (so a
        run on its way to diverging never reads like a success)."""
        if self.diverged:
            return f"diverged at step {self.diverged_at}"
        first, last = self.losses[0], self.final_loss
        if last > first:
            return f"f grew from {first:.2g} to {last:.2g} in {self.steps} steps"
        return f"reached f={self.final_loss:.2g} in {self.steps} steps"


def run(
    surface: Surface,
    optimizer_cls: Callable[..., Any],
    options: dict[str, Any],
    *,
    steps: int,
    start: tuple[float, float] | None = None,
    scheduler: Callable[[Any], Any] | None = None,
    clip_norm: float | None = None,
    clip_value: float | None = None,
    grad_noise: float = 0.0,
    seed: int = 0,
    blowup: float = 1e12,
) -> Trajectory:
    """Run ``optimizer_cls([point], **options)`` for ``steps`` steps on ``surface``.

    Parameters
    ----------
    surface: a :class:`~nnopt_lib.surfaces.Surface`; its analytic gradient is used.
    optimizer_cls, options: e.g. ``optim.SGD, {"lr": 0.01, "momentum": 0.9}``.
    steps: number of optimizer steps (fewer are taken if the run diverges).
    start: start point; default ``surface.start``.
    scheduler: ``callable(optimizer) -> scheduler``, e.g.
        ``lambda o: schedules.CosineAnnealingLR(o, T_max=300)``; stepped once after every
        optimizer step. A ``ReduceLROnPlateau`` is stepped with the new loss as its metric.
    clip_norm, clip_value: clip the gradient by global norm / by value before each step.
    grad_noise: standard deviation of Gaussian noise added to every gradient coordinate.
    seed: seed of the noise generator.
    blowup: a run whose ``|f|`` exceeds this counts as diverged.
    """
    if steps < 0:
        raise ValueError(f"Invalid number of steps: {steps}")
    if grad_noise < 0:
        raise ValueError(f"Invalid grad_noise: {grad_noise} (a standard deviation, must be >= 0)")
    point = np.array(surface.start if start is None else start, dtype=float)
    if point.shape != (2,):
        raise ValueError(f"start must be a point (x, y), got {start!r}")
    optimizer = optimizer_cls([point], **options)
    sched = scheduler(optimizer) if scheduler is not None else None
    plateau = isinstance(sched, ReduceLROnPlateau)
    rng = np.random.default_rng(seed)
    group = optimizer.param_groups[0]
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
            grad = np.array(gradient(x, y), dtype=float)
            if grad_noise > 0:
                grad += grad_noise * rng.standard_normal(2)
            gx, gy = grad.tolist()
            grad_norms[k - 1] = math.hypot(gx, gy)
            if clip_value is not None:
                clip_grad_value_(grad, clip_value)
            if clip_norm is not None:
                clip_grad_norm_(grad, clip_norm)
            lrs[k - 1] = group["lr"]
            optimizer.step([grad])
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
            if sched is not None:
                if plateau:
                    sched.step(loss)
                else:
                    sched.step()
    return Trajectory(
        points=points[: taken + 1].copy(),
        losses=losses[: taken + 1].copy(),
        grad_norms=grad_norms[:taken].copy(),
        lrs=lrs[:taken].copy(),
        diverged_at=diverged_at,
    )
