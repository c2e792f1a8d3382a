"""The two other momentum forms found in textbooks, as teaching variants: the EMA form and
Polyak's heavy ball. Neither has a torch namesake; each equals torch's ``SGD(momentum=β)``
under a stated change of learning rate (see the step functions)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from nnopt_lib.optim.base import Optimizer
from nnopt_lib.optim.validation import check_at_least_zero, check_unit_interval, checked_step


def _check_lr_and_beta(h: Mapping[str, Any]) -> None:
    check_at_least_zero(h["lr"], "lr", "learning rate")
    check_unit_interval(h["beta"], "beta", "beta value", include_one=False)


@checked_step
def ema_momentum_step(
    param: np.ndarray,
    grad: np.ndarray,
    state: dict[str, Any],
    *,
    lr: float,
    beta: float = 0.9,
) -> tuple[np.ndarray, dict[str, Any]]:
    r"""Momentum as an exponential moving average of gradients ("EMA form").

    .. math::
        v &\leftarrow \beta v + (1-\beta)\, g \qquad (v_0 = 0)\\
        \theta &\leftarrow \theta - \eta\, v

    Relation to PyTorch's form (:func:`sgd_step`: :math:`b \leftarrow \mu b + g`,
    :math:`b_1 = g_1`): by induction :math:`v_t = (1-\beta)\,b_t` at EVERY step, the
    first included. So EMA momentum with ``lr`` :math:`\eta_t` is exactly ``SGD(momentum=β)``
    with ``lr`` :math:`(1-\beta)\eta_t` -- for a constant lr and equally for any schedule,
    as long as the torch lr is rescaled by :math:`(1-\beta)` at every step.
    It is NOT ``SGD(momentum=β, dampening=β)``: torch's first buffer is the undampened
    :math:`g_1`, whereas here :math:`v_1 = (1-\beta)g_1`.
    This is also Adam's first moment ``exp_avg`` (without bias correction), hence the state
    key ``"exp_avg"``. Default beta=0.9; lr has no default (it depends on the problem).
    No paper of its own: the EMA form is how Adam (Kingma & Ba, 2015) writes its first
    moment, and how many courses present momentum.
    """
    velocity = beta * state.get("exp_avg", 0.0) + (1 - beta) * grad
    return param - lr * velocity, {"exp_avg": velocity}


@checked_step
def heavy_ball_step(
    param: np.ndarray,
    grad: np.ndarray,
    state: dict[str, Any],
    *,
    lr: float,
    beta: float = 0.9,
) -> tuple[np.ndarray, dict[str, Any]]:
    r"""Polyak's heavy-ball method: gradient step plus a fraction of the last displacement.

    .. math::
        \theta_{t+1} = \theta_t - \eta\,\nabla f(\theta_t) + \beta\,(\theta_t - \theta_{t-1}),
        \qquad \theta_{-1} := \theta_0

    so the first step is plain gradient descent. State key ``"prev_param"`` holds
    :math:`\theta_{t-1}`. Default beta=0.9; lr has no default.

    Relation to PyTorch's form (:func:`sgd_step` with momentum :math:`\mu=\beta`):
    torch's step is :math:`\theta_{t+1} = \theta_t - \eta_t b_t` with
    :math:`b_t = \beta b_{t-1} + g_t`, so
    :math:`\theta_{t+1} = \theta_t - \eta_t g_t + \beta\,\frac{\eta_t}{\eta_{t-1}}
    (\theta_t-\theta_{t-1})`. With a constant lr the two are the same method, the first
    step included (both are plain GD steps); with a changing lr they differ, because the
    heavy ball remembers a displacement taken at the OLD lr while torch rescales its
    velocity with the NEW lr.
    Paper: Polyak (1964), "Some methods of speeding up the convergence of iteration
    methods", USSR Comput. Math. & Math. Phys. 4(5).
    """
    previous = state.get("prev_param", param)
    new_param = param - lr * grad + beta * (param - previous)
    # copy: the optimizer overwrites `param` in place after this returns
    return new_param, {"prev_param": np.array(param, copy=True)}


class EMAMomentum(Optimizer):
    """Momentum in EMA form, ``EMAMomentum(params, *, lr, beta=0.9)``; see
    :func:`ema_momentum_step` (equals ``SGD(momentum=beta, lr=lr*(1-beta))``).
    ``lr`` must be a finite number >= 0 and ``beta`` in [0, 1)."""

    def __init__(
        self,
        params: Iterable[np.ndarray] | Iterable[dict[str, Any]] | np.ndarray,
        *,
        lr: float,
        beta: float = 0.9,
    ) -> None:
        super().__init__(params, dict(lr=lr, beta=beta))

    step_function = staticmethod(ema_momentum_step)
    _check_hyperparameters = staticmethod(_check_lr_and_beta)


class HeavyBall(Optimizer):
    """Polyak's heavy ball, ``HeavyBall(params, *, lr, beta=0.9)``; see
    :func:`heavy_ball_step` (equals ``SGD(momentum=beta, lr=lr)`` for a constant lr).
    ``lr`` must be a finite number >= 0 and ``beta`` in [0, 1)."""

    def __init__(
        self,
        params: Iterable[np.ndarray] | Iterable[dict[str, Any]] | np.ndarray,
        *,
        lr: float,
        beta: float = 0.9,
    ) -> None:
        super().__init__(params, dict(lr=lr, beta=beta))

    step_function = staticmethod(heavy_ball_step)
    _check_hyperparameters = staticmethod(_check_lr_and_beta)
