"""Adam and its variants: Adam (and AMSGrad), AdamW, NAdam."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from nnopt_lib.optim.base import Optimizer
from nnopt_lib.optim.inplace import adam_inplace
from nnopt_lib.optim.validation import check_at_least_zero, check_betas, check_flag, checked_step

# ---------------------------------------------------------------------------------------
# Adam and AdamW
# ---------------------------------------------------------------------------------------


@checked_step
def adam_step(
    param: np.ndarray,
    grad: np.ndarray,
    state: dict[str, Any],
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
    maximize: bool = False,
    decoupled_weight_decay: bool = False,
) -> tuple[np.ndarray, dict[str, Any]]:
    r"""One Adam step: bias-corrected EMAs of the gradient and of its square.

    .. math::
        t &\leftarrow t+1,\qquad g \leftarrow \pm\nabla f(\theta)\\
        &\text{weight decay: } g \leftarrow g + \lambda\theta
            \ \text{ (L2, Adam)}\quad\text{or}\quad
            \theta \leftarrow (1-\eta\lambda)\theta \ \text{ (decoupled, AdamW)}\\
        m &\leftarrow \beta_1 m + (1-\beta_1) g, \qquad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2\\
        \hat v_{\max} &\leftarrow \max(\hat v_{\max}, v)\quad\text{(amsgrad; used in place of } v)\\
        \theta &\leftarrow \theta - \frac{\eta}{1-\beta_1^t}\cdot
            \frac{m}{\sqrt{v}/\sqrt{1-\beta_2^t} + \epsilon}

    ``m`` and ``v`` start at zero, so they are biased towards zero early on; dividing by
    :math:`1-\beta^t` removes that bias. Without either correction the first step is
    :math:`(1-\beta_1)/\sqrt{1-\beta_2} \approx 3.2` times too long for the defaults; correcting
    only ``m`` makes it about 32 times too long (notebook 06 measures both).
    :math:`\epsilon` is only a guard against division
    by zero -- it is added *outside* the square root, after bias correction, as in torch.
    Defaults as ``torch.optim.Adam``. State keys: ``"step"``, ``"exp_avg"``,
    ``"exp_avg_sq"``, plus ``"max_exp_avg_sq"`` with amsgrad.
    Papers: Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization"; Reddi, Kale &
    Kumar (2018), "On the Convergence of Adam and Beyond" (AMSGrad); Loshchilov & Hutter
    (2019), "Decoupled Weight Decay Regularization" (AdamW).
    """
    beta1, beta2 = betas
    step = state.get("step", 0.0) + 1.0
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled_weight_decay:
            param = param * (1 - lr * weight_decay)  # shrink the weights directly
        else:
            g = g + weight_decay * param  # L2 penalty folded into the gradient
    exp_avg = state.get("exp_avg", 0.0)  # 0.0 broadcasts as the zero initial state
    exp_avg = exp_avg + (1 - beta1) * (g - exp_avg)  # = beta1*m + (1-beta1)*g, torch's lerp
    exp_avg_sq = beta2 * state.get("exp_avg_sq", 0.0) + (1 - beta2) * g * g
    new_state = {"step": step, "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}
    if amsgrad:
        # the denominator may never shrink: this is what AMSGrad adds
        second_moment = np.maximum(state.get("max_exp_avg_sq", 0.0), exp_avg_sq)
        new_state["max_exp_avg_sq"] = second_moment
    else:
        second_moment = exp_avg_sq
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    denom = np.sqrt(second_moment) / math.sqrt(bias_correction2) + eps
    return param - (lr / bias_correction1) * (exp_avg / denom), new_state


@checked_step
def adamw_step(
    param: np.ndarray,
    grad: np.ndarray,
    state: dict[str, Any],
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
    amsgrad: bool = False,
    maximize: bool = False,
) -> tuple[np.ndarray, dict[str, Any]]:
    r"""One AdamW step: :func:`adam_step` with decoupled weight decay.

    .. math:: \theta \leftarrow (1-\eta\lambda)\,\theta, \text{ then the Adam update
        (whose moments never see } \lambda\theta)

    With L2 decay inside Adam the penalty gradient is divided by :math:`\sqrt{\hat v}`, so
    weights with large gradients are barely regularised; decoupling makes the shrinkage
    the same for every weight. Defaults as ``torch.optim.AdamW`` (weight_decay=1e-2).
    Paper: Loshchilov & Hutter (2019), "Decoupled Weight Decay Regularization", ICLR.
    """
    return adam_step(
        param,
        grad,
        state,
        lr=lr,
        betas=betas,
        eps=eps,
        weight_decay=weight_decay,
        amsgrad=amsgrad,
        maximize=maximize,
        decoupled_weight_decay=True,
    )


def _check_adam_family(h: Mapping[str, Any]) -> None:
    """torch's checks of Adam, AdamW and NAdam (in torch's order), then ours."""
    check_at_least_zero(h["lr"], "lr", "learning rate")
    check_at_least_zero(h["eps"], "eps", "epsilon value")
    check_betas(h["betas"])
    check_at_least_zero(h["weight_decay"], "weight_decay", "weight_decay value")
    for flag in ("amsgrad", "maximize", "decoupled_weight_decay"):
        if flag in h:
            check_flag(h[flag], flag)


class Adam(Optimizer):
    """Adam (and AMSGrad, and AdamW via ``decoupled_weight_decay=True``); see :func:`adam_step`.

    ``Adam(params, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
    maximize=False, decoupled_weight_decay=False)``. Stricter than torch: every number must
    be finite, ``betas`` exactly two numbers, and the flags booleans.
    """

    def __init__(
        self,
        params: Iterable[np.ndarray] | Iterable[dict[str, Any]] | np.ndarray,
        *,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    step_function = staticmethod(adam_step)
    inplace_function = staticmethod(adam_inplace)
    _check_hyperparameters = staticmethod(_check_adam_family)


class AdamW(Adam):
    """AdamW = Adam with decoupled weight decay (default 1e-2); see :func:`adamw_step`.

    ``AdamW(params, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
    amsgrad=False, maximize=False)``. As in torch, the groups carry
    ``decoupled_weight_decay=True``.
    """

    def __init__(
        self,
        params: Iterable[np.ndarray] | Iterable[dict[str, Any]] | np.ndarray,
        *,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )


# ---------------------------------------------------------------------------------------
# NAdam
# ---------------------------------------------------------------------------------------


@checked_step
def nadam_step(
    param: np.ndarray,
    grad: np.ndarray,
    state: dict[str, Any],
    *,
    lr: float = 2e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum_decay: float = 4e-3,
    decoupled_weight_decay: bool = False,
    maximize: bool = False,
) -> tuple[np.ndarray, dict[str, Any]]:
    r"""One NAdam step: Adam with a Nesterov look-ahead and a warming-up momentum schedule.

    .. math::
        \mu_t &= \beta_1\left(1 - \tfrac12\, 0.96^{\,t\,\psi}\right)
            \quad(\psi = \text{momentum\_decay}),\qquad
        \Pi_t = \textstyle\prod_{i\le t}\mu_i\\
        m &\leftarrow \beta_1 m + (1-\beta_1) g,\qquad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2,\qquad
        D = \sqrt{v/(1-\beta_2^t)} + \epsilon\\
        \theta &\leftarrow \theta
            - \eta\,\frac{1-\mu_t}{1-\Pi_t}\,\frac{g}{D}
            - \eta\,\frac{\mu_{t+1}}{1-\Pi_t\,\mu_{t+1}}\,\frac{m}{D}

    The first term is the fresh gradient, the second the momentum *one step ahead*
    (:math:`\mu_{t+1}`): that is the Nesterov idea. Weight decay is L2 (into g) or, with
    ``decoupled_weight_decay=True``, :math:`\theta \leftarrow (1-\eta\lambda)\theta` first.
    Defaults as ``torch.optim.NAdam`` (lr=2e-3, momentum_decay=4e-3).
    State keys: ``"step"``, ``"mu_product"`` (:math:`\Pi_t`, a float), ``"exp_avg"``,
    ``"exp_avg_sq"``. Note: torch keeps ``step`` and ``mu_product`` in the *default* dtype
    (float32 unless ``torch.set_default_dtype(torch.float64)``), so a float64 comparison
    with torch needs that default set.
    Paper: Dozat (2016), "Incorporating Nesterov Momentum into Adam", ICLR workshop.
    """
    beta1, beta2 = betas
    step = state.get("step", 0.0) + 1.0
    bias_correction2 = 1 - beta2**step
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled_weight_decay:
            param = param * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * param
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
    mu_product = state.get("mu_product", 1.0) * mu
    exp_avg = state.get("exp_avg", 0.0)
    exp_avg = exp_avg + (1 - beta1) * (g - exp_avg)  # = beta1*m + (1-beta1)*g
    exp_avg_sq = beta2 * state.get("exp_avg_sq", 0.0) + (1 - beta2) * g * g
    denom = np.sqrt(exp_avg_sq / bias_correction2) + eps
    grad_coef = lr * (1.0 - mu) / (1.0 - mu_product)
    momentum_coef = lr * mu_next / (1.0 - mu_product * mu_next)
    new_param = param - grad_coef * (g / denom) - momentum_coef * (exp_avg / denom)
    new_state = {
        "step": step,
        "mu_product": mu_product,
        "exp_avg": exp_avg,
        "exp_avg_sq": exp_avg_sq,
    }
    return new_param, new_state


class NAdam(Optimizer):
    """NAdam; see :func:`nadam_step`.

    ``NAdam(params, *, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
    momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False)``. Stricter than
    torch: every number must be finite, ``betas`` exactly two numbers, and the flags booleans.
    """

    def __init__(
        self,
        params: Iterable[np.ndarray] | Iterable[dict[str, Any]] | np.ndarray,
        *,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    step_function = staticmethod(nadam_step)

    @staticmethod
    def _check_hyperparameters(h: Mapping[str, Any]) -> None:
        _check_adam_family(h)
        check_at_least_zero(h["momentum_decay"], "momentum_decay", "momentum_decay value")
