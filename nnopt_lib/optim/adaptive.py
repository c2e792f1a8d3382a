"""Adaptive per-coordinate step sizes: Adagrad, RMSprop and Adadelta."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from nnopt_lib.optim.base import Optimizer
from nnopt_lib.optim.validation import (
    check_at_least_zero,
    check_flag,
    check_unit_interval,
    checked_step,
)

# ---------------------------------------------------------------------------------------
# Adagrad
# ---------------------------------------------------------------------------------------


@checked_step
def adagrad_step(
    param: np.ndarray,
    grad: np.ndarray,
    state: dict[str, Any],
    *,
    lr: float = 1e-2,
    lr_decay: float = 0.0,
    weight_decay: float = 0.0,
    initial_accumulator_value: float = 0.0,
    eps: float = 1e-10,
    maximize: bool = False,
) -> tuple[np.ndarray, dict[str, Any]]:
    r"""One Adagrad step: each coordinate's step shrinks with its summed squared gradients.

    .. math::
        t &\leftarrow t + 1, \qquad g \leftarrow \pm\nabla f(\theta) + \lambda\theta\\
        \tilde\eta &= \eta / (1 + (t-1)\,\text{lr\_decay})\\
        s &\leftarrow s + g^2 \quad(s_0 = \text{initial\_accumulator\_value})\\
        \theta &\leftarrow \theta - \tilde\eta\, g / (\sqrt{s} + \epsilon)

    Defaults as ``torch.optim.Adagrad`` (lr=1e-2, eps=1e-10). State keys: ``"step"``,
    ``"sum"``. Because ``s`` only grows, the effective step size only shrinks -- good for
    sparse features, too aggressive for long non-convex training (the motivation for
    RMSprop/Adadelta). Paper: Duchi, Hazan & Singer (2011), "Adaptive Subgradient Methods
    for Online Learning and Stochastic Optimization", JMLR 12.
    """
    step = state.get("step", 0.0) + 1.0
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * param
    decayed_lr = lr / (1 + (step - 1) * lr_decay)
    # a python scalar broadcasts like np.full_like(param, initial_accumulator_value)
    grad_sq_sum = state.get("sum", initial_accumulator_value) + g * g
    new_param = param - decayed_lr * (g / (np.sqrt(grad_sq_sum) + eps))
    return new_param, {"step": step, "sum": grad_sq_sum}


class Adagrad(Optimizer):
    """Adagrad; see :func:`adagrad_step`.

    ``Adagrad(params, *, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
    eps=1e-10, maximize=False)``. Like torch, the state (``step=0``, ``sum`` filled with
    ``initial_accumulator_value``) is created at construction. Stricter than torch: every
    number must be finite, and ``maximize`` a boolean.
    """

    def __init__(
        self,
        params: Iterable[np.ndarray] | Iterable[dict[str, Any]] | np.ndarray,
        *,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            maximize=maximize,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                # torch initialises from the constructor argument, not the group's value
                self.state[p] = {
                    "step": 0.0,
                    "sum": np.full_like(p, initial_accumulator_value),
                }

    step_function = staticmethod(adagrad_step)

    @staticmethod
    def _check_hyperparameters(h: Mapping[str, Any]) -> None:
        check_at_least_zero(h["lr"], "lr", "learning rate")
        check_at_least_zero(h["lr_decay"], "lr_decay", "lr_decay value")
        check_at_least_zero(h["weight_decay"], "weight_decay", "weight_decay value")
        check_at_least_zero(
            h["initial_accumulator_value"],
            "initial_accumulator_value",
            "initial_accumulator_value value",
        )
        check_at_least_zero(h["eps"], "eps", "epsilon value")
        check_flag(h["maximize"], "maximize")


# ---------------------------------------------------------------------------------------
# RMSprop
# ---------------------------------------------------------------------------------------


@checked_step
def rmsprop_step(
    param: np.ndarray,
    grad: np.ndarray,
    state: dict[str, Any],
    *,
    lr: float = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
    maximize: bool = False,
) -> tuple[np.ndarray, dict[str, Any]]:
    r"""One RMSprop step: divide by a running RMS of recent gradients.

    .. math::
        g &\leftarrow \pm\nabla f(\theta) + \lambda\theta\\
        v &\leftarrow \alpha v + (1-\alpha) g^2\\
        \bar g &\leftarrow \alpha \bar g + (1-\alpha) g
            \quad\text{(centered only; then } v - \bar g^2 \text{ is a variance)}\\
        d &= g / (\sqrt{v - \bar g^2} + \epsilon)\quad(\bar g = 0 \text{ unless centered})\\
        b &\leftarrow \mu b + d,\ \ \theta \leftarrow \theta - \eta b
            \quad\text{(momentum > 0; else } \theta \leftarrow \theta - \eta d)

    All averages start at zero and are NOT bias-corrected, so early steps are large
    (:math:`v_1 = (1-\alpha)g^2` gives a first step of about :math:`\eta/\sqrt{1-\alpha}`
    = 10·lr for ``alpha=0.99``). Defaults as ``torch.optim.RMSprop`` (lr=1e-2, alpha=0.99,
    eps=1e-8). State keys: ``"step"``, ``"square_avg"``, plus ``"momentum_buffer"`` when
    momentum > 0 and ``"grad_avg"`` when centered.
    Sources: Tieleman & Hinton (2012), Coursera lecture 6.5 (unpublished); the centered
    form with momentum is from Graves (2013), "Generating Sequences With Recurrent Neural
    Networks".
    """
    step = state.get("step", 0.0) + 1.0
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * param
    square_avg = alpha * state.get("square_avg", 0.0) + (1 - alpha) * g * g
    new_state: dict[str, Any] = {"step": step, "square_avg": square_avg}
    if centered:
        grad_avg = state.get("grad_avg", 0.0)
        grad_avg = grad_avg + (1 - alpha) * (g - grad_avg)  # = alpha*grad_avg + (1-alpha)*g
        new_state["grad_avg"] = grad_avg
        avg = np.sqrt(square_avg - grad_avg * grad_avg) + eps
    else:
        avg = np.sqrt(square_avg) + eps
    if momentum > 0:
        buf = momentum * state.get("momentum_buffer", 0.0) + g / avg
        new_state["momentum_buffer"] = buf
        return param - lr * buf, new_state
    return param - lr * (g / avg), new_state


class RMSprop(Optimizer):
    """RMSprop; see :func:`rmsprop_step`.

    ``RMSprop(params, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
    centered=False, maximize=False)``. Stricter than torch: every number must be finite,
    ``alpha`` at most 1 (above, the running average of g² turns negative and the step NaN),
    and the flags booleans.
    """

    def __init__(
        self,
        params: Iterable[np.ndarray] | Iterable[dict[str, Any]] | np.ndarray,
        *,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            alpha=alpha,
            eps=eps,
            centered=centered,
            weight_decay=weight_decay,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    step_function = staticmethod(rmsprop_step)

    @staticmethod
    def _check_hyperparameters(h: Mapping[str, Any]) -> None:
        check_at_least_zero(h["lr"], "lr", "learning rate")
        check_at_least_zero(h["eps"], "eps", "epsilon value")
        check_at_least_zero(h["momentum"], "momentum", "momentum value")
        check_at_least_zero(h["weight_decay"], "weight_decay", "weight_decay value")
        check_at_least_zero(h["alpha"], "alpha", "alpha value")
        check_unit_interval(h["alpha"], "alpha", "alpha value", include_one=True)
        check_flag(h["centered"], "centered")
        check_flag(h["maximize"], "maximize")


# ---------------------------------------------------------------------------------------
# Adadelta
# ---------------------------------------------------------------------------------------


@checked_step
def adadelta_step(
    param: np.ndarray,
    grad: np.ndarray,
    state: dict[str, Any],
    *,
    lr: float = 1.0,
    rho: float = 0.9,
    eps: float = 1e-6,
    weight_decay: float = 0.0,
    maximize: bool = False,
) -> tuple[np.ndarray, dict[str, Any]]:
    r"""One Adadelta step: the step's units come from a running RMS of past *updates*.

    .. math::
        g &\leftarrow \pm\nabla f(\theta) + \lambda\theta\\
        v &\leftarrow \rho v + (1-\rho) g^2\\
        \Delta &= \frac{\sqrt{u + \epsilon}}{\sqrt{v + \epsilon}}\, g\\
        u &\leftarrow \rho u + (1-\rho) \Delta^2\\
        \theta &\leftarrow \theta - \eta\,\Delta

    The paper has no learning rate (:math:`\eta = 1`, torch's default); torch adds ``lr``
    as a multiplier. Since :math:`u_0 = 0`, the first steps have size about
    :math:`\sqrt{\epsilon}/\sqrt{v}\cdot g`, i.e. tiny: Adadelta starts slowly.
    Defaults as ``torch.optim.Adadelta`` (lr=1.0, rho=0.9, eps=1e-6).
    State keys: ``"step"``, ``"square_avg"`` (v), ``"acc_delta"`` (u).
    Paper: Zeiler (2012), "ADADELTA: An Adaptive Learning Rate Method", arXiv:1212.5701.
    """
    step = state.get("step", 0.0) + 1.0
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * param
    square_avg = rho * state.get("square_avg", 0.0) + (1 - rho) * g * g
    acc_delta = state.get("acc_delta", 0.0)
    delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * g
    acc_delta = rho * acc_delta + (1 - rho) * delta * delta
    new_state = {"step": step, "square_avg": square_avg, "acc_delta": acc_delta}
    return param - lr * delta, new_state


class Adadelta(Optimizer):
    """Adadelta; see :func:`adadelta_step`.

    ``Adadelta(params, *, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False)``.
    Stricter than torch: every number must be finite, and ``maximize`` a boolean.
    """

    def __init__(
        self,
        params: Iterable[np.ndarray] | Iterable[dict[str, Any]] | np.ndarray,
        *,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        maximize: bool = False,
    ) -> None:
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    step_function = staticmethod(adadelta_step)

    @staticmethod
    def _check_hyperparameters(h: Mapping[str, Any]) -> None:
        check_at_least_zero(h["lr"], "lr", "learning rate")
        check_unit_interval(h["rho"], "rho", "rho value", include_one=True, torch_checks=True)
        check_at_least_zero(h["eps"], "eps", "epsilon value")
        check_at_least_zero(h["weight_decay"], "weight_decay", "weight_decay value")
        check_flag(h["maximize"], "maximize")
