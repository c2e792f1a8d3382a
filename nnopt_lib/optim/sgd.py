"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from nnopt_lib.optim.base import Optimizer
from nnopt_lib.optim.inplace import sgd_inplace
from nnopt_lib.optim.validation import (
    check_at_least_zero,
    check_flag,
    check_unit_interval,
    checked_step,
)


@checked_step
def sgd_step(
    param: np.ndarray,
    grad: np.ndarray,
    state: dict[str, Any],
    *,
    lr: float = 1e-3,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
    maximize: bool = False,
) -> tuple[np.ndarray, dict[str, Any]]:
    r"""One step of stochastic gradient descent, in PyTorch's momentum form.

    .. math::
        g &\leftarrow \pm\nabla f(\theta) + \lambda\,\theta
            \quad(\lambda = \text{weight\_decay}; \ -\text{ if maximize})\\
        b &\leftarrow \mu\, b + (1-\tau)\, g \quad(\text{first step: } b \leftarrow g)\\
        d &= g + \mu b \ \text{(nesterov)} \quad\text{or}\quad d = b\\
        \theta &\leftarrow \theta - \eta\, d

    with :math:`\eta` = ``lr``, :math:`\mu` = ``momentum``, :math:`\tau` = ``dampening``.
    With ``momentum=0`` it is plain gradient descent and the state stays empty.
    Note the buffer is a *sum* of gradients, not an average: its steady-state size is
    :math:`g/(1-\mu)` (see :func:`ema_momentum_step` for the averaging form).

    Defaults as ``torch.optim.SGD``. State key: ``"momentum_buffer"``.
    Papers: Robbins & Monro (1951); Polyak (1964) for momentum; Sutskever et al. (2013),
    "On the importance of initialization and momentum in deep learning", for Nesterov
    momentum in this form.
    """
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * param
    if momentum == 0:
        return param - lr * g, {}
    buf = state.get("momentum_buffer")
    if buf is None:
        buf = np.array(g, copy=True)  # torch starts the buffer at g itself, undampened
    else:
        buf = momentum * buf + (1 - dampening) * g
    direction = g + momentum * buf if nesterov else buf
    return param - lr * direction, {"momentum_buffer": buf}


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum; see :func:`sgd_step`.

    ``SGD(params, *, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
    maximize=False)`` -- torch's keywords, defaults and validation. Stricter than torch,
    which accepts them silently: ``lr``, ``momentum`` and ``weight_decay`` must be finite
    and not NaN, ``dampening`` must be in [0, 1], and the flags must be booleans.
    """

    def __init__(
        self,
        params: Iterable[np.ndarray] | Iterable[dict[str, Any]] | np.ndarray,
        *,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    step_function = staticmethod(sgd_step)
    inplace_function = staticmethod(sgd_inplace)

    @staticmethod
    def _check_hyperparameters(h: Mapping[str, Any]) -> None:
        check_at_least_zero(h["lr"], "lr", "learning rate")
        check_at_least_zero(h["momentum"], "momentum", "momentum value")
        check_at_least_zero(h["weight_decay"], "weight_decay", "weight_decay value")
        # dampening is the (1 - tau) factor on new gradients: outside [0, 1] the buffer
        # no longer averages (torch accepts any object, even a str, and ignores it unless
        # momentum > 0)
        check_unit_interval(h["dampening"], "dampening", "dampening value", include_one=True)
        # torch's rule first, on the flag's truth value, as torch raises it
        if h["nesterov"] and (h["momentum"] <= 0 or h["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        check_flag(h["nesterov"], "nesterov")
        check_flag(h["maximize"], "maximize")
