"""From-scratch optimizers on numpy arrays, shaped like ``torch.optim``.

Two layers, on purpose:

* **Pure step functions** (``sgd_step``, ``adam_step``, ...) update ONE array. They take
  ``(param, grad, state)`` plus keyword-only hyperparameters and return
  ``(new_param, new_state)``; they never modify their inputs, and ``state`` is ``{}`` on the
  first step. This is the code a notebook shows and a widget replays.
* **Optimizer classes** (``SGD``, ``Adam``, ...) take the same keywords, defaults and
  validation errors as their ``torch.optim`` namesakes, keep per-parameter state under
  torch's key names, and only loop over the parameters, calling the step function and
  writing the result back IN PLACE (``p[...] = new``), so a model holding the arrays sees
  the update.

Differences from torch, all deliberate:

* Parameters are numpy float arrays and the gradients are passed to ``step(grads)``
  (numpy arrays have no ``.grad``); ``grads`` is aligned with the parameters of all
  groups, in order. A ``None`` gradient skips that parameter, like ``p.grad is None``.
* ``state`` is keyed by ``id(param)`` (numpy arrays are not hashable) and ``"step"`` is a
  plain float count rather than a tensor.
* Hyperparameters are keyword-only, so a misspelled or misplaced one fails loudly.
* No ``foreach`` / ``fused`` / ``capturable`` / ``differentiable`` switches: there is one
  readable code path.

The arithmetic follows the order of torch's ``_single_tensor_*`` functions. A single step
agrees with torch to about one rounding error, not bit for bit: torch's CPU kernels use
fused multiply-adds (``add(alpha=)``, ``addcmul``, ``lerp``), which numpy cannot express.
Over 200 float64 steps the trajectories agree to ~1e-14 (``tests/test_optim.py``), except
in chaotic runs (e.g. RMSprop rattling around an optimum), where ANY rounding difference
grows -- a property of the run, not of either implementation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

__all__ = [
    "OPTIMIZERS",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "EMAMomentum",
    "HeavyBall",
    "NAdam",
    "Optimizer",
    "RMSprop",
    "adadelta_step",
    "adagrad_step",
    "adam_step",
    "adamw_step",
    "ema_momentum_step",
    "heavy_ball_step",
    "nadam_step",
    "rmsprop_step",
    "sgd_step",
]


# ---------------------------------------------------------------------------------------
# Validation helpers: same checks and messages as torch.optim (all raise ValueError).
# ---------------------------------------------------------------------------------------


def _check_lr(lr: float) -> None:
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _check_eps(eps: float, what: str = "epsilon value") -> None:
    if not 0.0 <= eps:
        raise ValueError(f"Invalid {what}: {eps}")


def _check_weight_decay(weight_decay: float) -> None:
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


def _check_betas(betas: tuple[float, float]) -> None:
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")


# ---------------------------------------------------------------------------------------
# Base class
# ---------------------------------------------------------------------------------------


class Optimizer:
    """Base class: parameter groups, per-parameter state and the ``step(grads)`` loop.

    Parameters
    ----------
    params:
        A list of numpy float arrays, a single array, or a list of parameter-group dicts
        ``{"params": [...], "lr": ...}`` (any hyperparameter a group leaves out is taken
        from ``defaults``), exactly like ``torch.optim.Optimizer``.
    defaults:
        Hyperparameter name -> default value, under torch's names.

    Attributes
    ----------
    param_groups: list of dicts, each with ``"params"`` and every hyperparameter. Learning-rate
        schedulers read and write ``group["lr"]`` here, as in torch.
    defaults: the ``defaults`` dict.
    state: ``id(param)`` -> that parameter's state dict (torch's key names).

    Subclasses set ``step_function``, their pure single-array update
    ``f(param, grad, state, **hyperparameters) -> (new_param, new_state)``, whose keyword
    names are exactly the keys of ``defaults``.
    """

    step_function: Callable[..., tuple[np.ndarray, dict[str, Any]]]

    def __init__(self, params: Any, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: dict[int, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, np.ndarray):
            params = [params]  # torch refuses a bare tensor; for numpy we wrap it, as documented
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group ``{"params": [...], <hyperparameters>}``; missing keys come from defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        group = dict(param_group)  # don't modify the caller's dict
        params = group["params"]
        if isinstance(params, np.ndarray):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, "
                "but the ordering of arrays in sets will change between runs. "
                "Please use a list instead."
            )
        group["params"] = list(params)
        for p in group["params"]:
            if not isinstance(p, np.ndarray) or not np.issubdtype(p.dtype, np.floating):
                raise TypeError(
                    "optimizer can only optimize numpy float arrays, but one of the params is "
                    f"{type(p).__name__}"
                    + (f" of dtype {p.dtype}" if isinstance(p, np.ndarray) else "")
                )
        unknown = set(group) - set(self.defaults) - {"params", "initial_lr"}
        if unknown:
            # torch silently keeps unknown keys; a typo in a group should fail loudly instead
            raise TypeError(f"unknown hyperparameter(s) in param group: {sorted(unknown)}")
        for name, default in self.defaults.items():
            group.setdefault(name, default)

        seen = {id(p) for g in self.param_groups for p in g["params"]}
        ids = [id(p) for p in group["params"]]
        if len(set(ids)) != len(ids) or seen & set(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def step(self, grads: Any) -> None:
        """Apply one update to every parameter, in place.

        ``grads`` is a list of arrays aligned with the parameters of all groups, in order
        (a single array is accepted when there is exactly one parameter). A ``None`` entry
        skips that parameter, like a tensor whose ``.grad`` is ``None`` in torch.
        """
        if isinstance(grads, np.ndarray):
            grads = [grads]
        grads = list(grads)
        n_params = sum(len(group["params"]) for group in self.param_groups)
        if len(grads) != n_params:
            raise ValueError(
                f"step() got {len(grads)} gradient(s) for {n_params} parameter(s); "
                "pass one gradient per parameter, in param_groups order"
            )
        i = 0
        for group in self.param_groups:
            for param in group["params"]:
                grad = grads[i]
                i += 1
                if grad is None:
                    continue
                grad = np.asarray(grad)
                if grad.shape != param.shape:
                    raise ValueError(
                        f"gradient {i - 1} has shape {grad.shape} but its parameter has shape "
                        f"{param.shape}"
                    )
                key = id(param)
                new_param, self.state[key] = self._update(
                    param, grad, self.state.get(key, {}), group
                )
                param[...] = new_param

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> tuple[np.ndarray, dict[str, Any]]:
        # The group holds every hyperparameter under the step function's keyword names,
        # so the class adds nothing to the update itself: it only loops and keeps state.
        hyperparameters = {name: group[name] for name in self.defaults}
        return self.step_function(param, grad, state, **hyperparameters)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# SGD (with momentum, dampening, Nesterov, weight decay)
# ---------------------------------------------------------------------------------------


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
    maximize=False)`` -- torch's keywords, defaults and validation.
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
        _check_lr(lr)
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        _check_weight_decay(weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
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


# ---------------------------------------------------------------------------------------
# Adagrad
# ---------------------------------------------------------------------------------------


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
    ``initial_accumulator_value``) is created at construction.
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
        _check_lr(lr)
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        _check_weight_decay(weight_decay)
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}"
            )
        _check_eps(eps)
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
                self.state[id(p)] = {
                    "step": 0.0,
                    "sum": np.full_like(p, initial_accumulator_value),
                }

    step_function = staticmethod(adagrad_step)


# ---------------------------------------------------------------------------------------
# RMSprop
# ---------------------------------------------------------------------------------------


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
    centered=False, maximize=False)``.
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
        _check_lr(lr)
        _check_eps(eps)
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        _check_weight_decay(weight_decay)
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
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


# ---------------------------------------------------------------------------------------
# Adadelta
# ---------------------------------------------------------------------------------------


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
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_eps(eps)
        _check_weight_decay(weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    step_function = staticmethod(adadelta_step)


# ---------------------------------------------------------------------------------------
# Adam and AdamW
# ---------------------------------------------------------------------------------------


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


class Adam(Optimizer):
    """Adam (and AMSGrad, and AdamW via ``decoupled_weight_decay=True``); see :func:`adam_step`.

    ``Adam(params, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
    maximize=False, decoupled_weight_decay=False)``.
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
        _check_lr(lr)
        _check_eps(eps)
        _check_betas(betas)
        _check_weight_decay(weight_decay)
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
    momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False)``.
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
        _check_lr(lr)
        _check_eps(eps)
        _check_betas(betas)
        _check_weight_decay(weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
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


# ---------------------------------------------------------------------------------------
# Teaching variants: the two other momentum forms found in textbooks
# ---------------------------------------------------------------------------------------


def _check_beta(beta: float) -> None:
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"Invalid beta value: {beta}")


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
    :func:`ema_momentum_step` (equals ``SGD(momentum=beta, lr=lr*(1-beta))``)."""

    def __init__(
        self,
        params: Iterable[np.ndarray] | Iterable[dict[str, Any]] | np.ndarray,
        *,
        lr: float,
        beta: float = 0.9,
    ) -> None:
        _check_lr(lr)
        _check_beta(beta)
        super().__init__(params, dict(lr=lr, beta=beta))

    step_function = staticmethod(ema_momentum_step)


class HeavyBall(Optimizer):
    """Polyak's heavy ball, ``HeavyBall(params, *, lr, beta=0.9)``; see
    :func:`heavy_ball_step` (equals ``SGD(momentum=beta, lr=lr)`` for a constant lr)."""

    def __init__(
        self,
        params: Iterable[np.ndarray] | Iterable[dict[str, Any]] | np.ndarray,
        *,
        lr: float,
        beta: float = 0.9,
    ) -> None:
        _check_lr(lr)
        _check_beta(beta)
        super().__init__(params, dict(lr=lr, beta=beta))

    step_function = staticmethod(heavy_ball_step)


#: Name -> optimizer class, for explorers and cross-checks. The keyword dicts that go with
#: each class are the caller's business (e.g. ``SGD`` with ``momentum=0.9`` for "momentum").
OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adadelta": Adadelta,
    "adam": Adam,
    "adamw": AdamW,
    "nadam": NAdam,
    "ema_momentum": EMAMomentum,
    "heavy_ball": HeavyBall,
}
