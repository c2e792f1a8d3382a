r"""Learning-rate schedules that drive an nnopt optimizer, shaped like ``torch.optim.lr_scheduler``.

A scheduler owns no learning rate of its own: it rewrites ``group["lr"]`` in the
optimizer's ``param_groups``, exactly as torch's schedulers do, so the optimizer's next
``step`` uses the new value. The usage pattern is torch's::

    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    sched = schedules.CosineAnnealingLR(opt, T_max=100)
    for t in range(100):
        opt.step(grad(w))
        sched.step()            # after the optimizer step

Constructing a scheduler stores ``group["initial_lr"]`` (the base learning rate), sets
``last_epoch = 0`` and writes the step-0 learning rate. ``get_last_lr()`` returns the
current learning rate of every group.

Torch computes most schedules *recursively* (each new lr from the current
``group["lr"]``; ``get_lr``) rather than from the closed form. The two agree mathematically
but differ in the last bits, so this module uses the same recursions in the same order and
its learning rates equal torch's to the last bit (``tests/test_schedules.py``). The closed
forms are kept in ``_closed_form_lr`` (used, as in torch, when :class:`SequentialLR` restarts
a schedule at a milestone) and are the formulas to read.

Differences from torch, all deliberate: ``step()`` takes no ``epoch`` argument (deprecated in
torch), there is no ``state_dict``, and the optimizer's ``step`` is not wrapped to warn about
the call order.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from nnopt_lib import optim

__all__ = [
    "ConstantLR",
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
    "lr_curve",
]


def _check_optimizer(optimizer: Any) -> None:
    if not isinstance(optimizer, optim.Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


def _per_group(name: str, optimizer: optim.Optimizer, value: Any) -> list[Any]:
    """A scalar broadcast to every param group, or a list/tuple with one value per group."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(
                f"{name} must have the same length as optimizer.param_groups. "
                f"{name} has {len(value)} values, param_groups has {n}."
            )
        return list(value)
    return [value] * n


class LRScheduler:
    """Base class: keeps ``base_lrs`` and ``last_epoch`` and writes ``group["lr"]``.

    Subclasses implement :meth:`get_lr`, the learning rates for the new ``last_epoch``
    (usually computed from the current ``group["lr"]``, as torch does).

    ``last_epoch=-1`` (default) starts a new schedule; a larger value resumes one and then
    needs ``group["initial_lr"]`` to be present already.
    """

    def __init__(self, optimizer: optim.Optimizer, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                # setdefault: a second scheduler on the same optimizer sees the same base lr
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when "
                        f"resuming scheduler with last_epoch={last_epoch} >= 0"
                    )
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """The constructor's step to ``last_epoch = 0`` (``_is_initial`` lets a schedule tell
        it apart from a real step, as torch's does)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """Learning rates of every group at the (already incremented) ``last_epoch``."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one step (call it after ``optimizer.step``)."""
        self._step_count += 1
        self.last_epoch += 1
        self._set_lrs(self.get_lr())

    def get_last_lr(self) -> list[float]:
        """The learning rate of every param group, as last set by this scheduler."""
        return list(self._last_lr)

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def _set_lrs(self, lrs: Iterable[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        self._last_lr = self._current_lrs()

    def _restart(self) -> None:
        """Jump to ``last_epoch = 0`` using the closed form (torch's ``_update_lr(0)``);
        :class:`SequentialLR` does this when it hands over at a milestone."""
        self.last_epoch = 0
        closed_form = getattr(self, "_closed_form_lr", None)
        self._set_lrs(closed_form() if closed_form is not None else self.get_lr())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self.get_last_lr()})"


class LambdaLR(LRScheduler):
    r"""``lr_t = base_lr · lr_lambda(t)``, with a function of the step count (one per group
    if a list is given).

    ``LambdaLR(optimizer, lr_lambda, last_epoch=-1)``; e.g. a linear warm-up is
    ``lr_lambda=lambda t: min(1.0, (t + 1) / 100)``.
    """

    def __init__(
        self,
        optimizer: optim.Optimizer,
        lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer(optimizer)
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"Expected {n} lr_lambdas, but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [
            base_lr * fn(self.last_epoch)
            for fn, base_lr in zip(self.lr_lambdas, self.base_lrs, strict=True)
        ]


class StepLR(LRScheduler):
    r"""Multiply the lr by ``gamma`` every ``step_size`` steps:
    :math:`\eta_t = \eta_0\,\gamma^{\lfloor t / s \rfloor}`.

    ``StepLR(optimizer, step_size, gamma=0.1, last_epoch=-1)``. The classic "divide by 10
    every 30 epochs" schedule (He et al., "Deep residual learning for image recognition",
    CVPR 2016).
    """

    def __init__(
        self, optimizer: optim.Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        return [b * self.gamma ** (self.last_epoch // self.step_size) for b in self.base_lrs]


class MultiStepLR(LRScheduler):
    r"""Multiply the lr by ``gamma`` at each milestone:
    :math:`\eta_t = \eta_0\,\gamma^{\#\{m \le t\}}`.

    ``MultiStepLR(optimizer, milestones, gamma=0.1, last_epoch=-1)``; a milestone listed
    twice multiplies by ``gamma**2``.
    """

    def __init__(
        self,
        optimizer: optim.Optimizer,
        milestones: Iterable[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [lr * factor for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        passed = bisect_right(sorted(self.milestones.elements()), self.last_epoch)
        return [b * self.gamma**passed for b in self.base_lrs]


class ConstantLR(LRScheduler):
    r"""Scale the lr by ``factor`` for the first ``total_iters`` steps, then restore it:
    :math:`\eta_t = \eta_0 \cdot (f \text{ if } t < T \text{ else } 1)`. A crude warm-up.

    ``ConstantLR(optimizer, factor=1/3, total_iters=5, last_epoch=-1)``, ``0 <= factor <= 1``.
    """

    def __init__(
        self,
        optimizer: optim.Optimizer,
        factor: float = 1.0 / 3,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if factor > 1.0 or factor < 0:
            raise ValueError(
                f"Constant multiplicative factor expected to be between 0 and 1, but got {factor}."
            )
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._current_lrs()]
        if self.last_epoch != self.total_iters:
            return self._current_lrs()
        return [lr * (1.0 / self.factor) for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        done = self.last_epoch >= self.total_iters
        return [b * (self.factor + done * (1 - self.factor)) for b in self.base_lrs]


class LinearLR(LRScheduler):
    r"""Scale the lr by a factor that moves linearly from ``start_factor`` to ``end_factor``
    over ``total_iters`` steps, then stays:

    .. math:: \eta_t = \eta_0 \Big(f_s + (f_e - f_s)\,\frac{\min(t, T)}{T}\Big)

    ``LinearLR(optimizer, start_factor=1/3, end_factor=1.0, total_iters=5, last_epoch=-1)``,
    ``0 < start_factor <= 1``, ``0 <= end_factor <= 1``. The usual linear warm-up (Goyal et
    al., "Accurate, large minibatch SGD: training ImageNet in 1 hour", 2017) or linear decay.
    """

    def __init__(
        self,
        optimizer: optim.Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError(
                "Starting multiplicative factor expected to be greater than 0 and less or "
                f"equal to 1, but got start_factor={start_factor}."
            )
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError(
                "Ending multiplicative factor expected to be between 0 and 1, "
                f"but got end_factor={end_factor}."
            )
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._current_lrs()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        # ratio of consecutive factors f_t / f_{t-1}, applied to the current lr
        slope = self.end_factor - self.start_factor
        ratio = 1.0 + slope / (self.total_iters * self.start_factor + (self.last_epoch - 1) * slope)
        return [lr * ratio for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        progress = min(self.total_iters, self.last_epoch) / self.total_iters
        factor = self.start_factor + (self.end_factor - self.start_factor) * progress
        return [b * factor for b in self.base_lrs]


class ExponentialLR(LRScheduler):
    r"""Multiply the lr by ``gamma`` every step: :math:`\eta_t = \eta_0\,\gamma^t`.

    ``ExponentialLR(optimizer, gamma, last_epoch=-1)``.
    """

    def __init__(self, optimizer: optim.Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:  # resuming must not apply one more factor
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        return [b * self.gamma**self.last_epoch for b in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from the base lr down to ``eta_min`` over ``T_max`` steps:

    .. math::
        \eta_t = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})\big(1 + \cos(\pi t / T_{\max})\big)

    Past ``T_max`` the cosine continues, so the lr climbs back up (period ``2 T_max``); there
    are no warm restarts. Computed, as in torch, by the recursion

    .. math:: \eta_t = \eta_{\min} + (\eta_{t-1} - \eta_{\min})
              \frac{1 + \cos(\pi t / T_{\max})}{1 + \cos(\pi (t-1) / T_{\max})}

    (with an additive step where the denominator would be 0). ``CosineAnnealingLR(optimizer,
    T_max, eta_min=0.0, last_epoch=-1)``. I. Loshchilov and F. Hutter, "SGDR: Stochastic
    gradient descent with warm restarts", ICLR 2017.
    """

    def __init__(
        self, optimizer: optim.Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ) -> None:
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if (t - 1 - T) % (2 * T) == 0:
            # the step up from the bottom of the cosine, where the ratio below would be 0/0
            return [
                lr + (b - eta_min) * (1 - math.cos(math.pi / T)) / 2
                for lr, b in zip(self._current_lrs(), self.base_lrs, strict=True)
            ]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (lr - eta_min) + eta_min for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        cosine = 1 + math.cos(math.pi * self.last_epoch / self.T_max)
        return [self.eta_min + (b - self.eta_min) * cosine / 2 for b in self.base_lrs]


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy: the lr rises from ``max_lr/div_factor`` to ``max_lr`` during the
    first ``pct_start`` of the run, then anneals to ``initial_lr/final_div_factor``; momentum
    (or Adam's :math:`\beta_1`) moves the opposite way between ``max_momentum`` and
    ``base_momentum``.

    ``OneCycleLR(optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
    pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
    max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
    last_epoch=-1)``. Each phase interpolates with
    :math:`\text{end} + \tfrac12(\text{start}-\text{end})(1+\cos\pi p)` ("cos") or linearly,
    :math:`p` the fraction of the phase done. Stepping more than ``total_steps`` times is an
    error. L. N. Smith and N. Topin, "Super-convergence: very fast training of neural
    networks using large learning rates", 2017 (two phases follow fastai; ``three_phase``
    follows the paper).
    """

    def __init__(
        self,
        optimizer: optim.Optimizer,
        max_lr: float | list[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.85,
        max_momentum: float | list[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if total_steps is not None:
            if total_steps <= 0 or not isinstance(total_steps, int):
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"Expected positive integer epochs, but got {epochs}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError(
                    f"Expected positive integer steps_per_epoch, but got {steps_per_epoch}"
                )
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        if pct_start < 0 or pct_start > 1 or not isinstance(pct_start, float):
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        self.anneal_strategy = anneal_strategy

        # Each phase: (last step of the phase, lr key at its start, lr key at its end,
        # momentum key at its start, momentum key at its end); the keys name group entries.
        warmup_end = float(pct_start * self.total_steps) - 1
        if three_phase:
            self._phases = [
                (warmup_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (
                    float(2 * pct_start * self.total_steps) - 2,
                    "max_lr",
                    "initial_lr",
                    "base_momentum",
                    "max_momentum",
                ),
                (self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._phases = [
                (warmup_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]

        max_lrs = _per_group("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups, max_lrs, strict=True):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor

        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(
                    "optimizer must support momentum or beta1 with `cycle_momentum` option "
                    f"enabled; {type(optimizer).__name__} has neither"
                )
            self.use_beta1 = "betas" in optimizer.defaults
            max_momenta = _per_group("max_momentum", optimizer, max_momentum)
            base_momenta = _per_group("base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for group, top, low in zip(
                    optimizer.param_groups, max_momenta, base_momenta, strict=True
                ):
                    self._set_momentum(group, top)
                    group["max_momentum"] = top
                    group["base_momentum"] = low
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict[str, Any], momentum: float) -> None:
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(
                f"Tried to step {t} times. The specified number of total steps is "
                f"{self.total_steps}"
            )
        lrs = []
        for group in self.optimizer.param_groups:
            phase_start = 0.0
            for i, (phase_end, lr_from, lr_to, m_from, m_to) in enumerate(self._phases):
                if t <= phase_end or i == len(self._phases) - 1:
                    pct = (t - phase_start) / (phase_end - phase_start)
                    lrs.append(self._anneal(group[lr_from], group[lr_to], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[m_from], group[m_to], pct))
                    break
                phase_start = phase_end
        return lrs


class SequentialLR(LRScheduler):
    """Run ``schedulers[0]`` until ``milestones[0]``, then ``schedulers[1]`` (restarted at its
    own step 0), and so on; e.g. a linear warm-up followed by cosine annealing::

        warmup = LinearLR(opt, start_factor=0.1, total_iters=10)
        decay = CosineAnnealingLR(opt, T_max=90)
        sched = SequentialLR(opt, schedulers=[warmup, decay], milestones=[10])

    ``SequentialLR(optimizer, schedulers, milestones, last_epoch=-1)``; the schedulers must
    belong to ``optimizer`` and ``len(milestones) == len(schedulers) - 1``. Constructing it
    undoes the construction steps of the inner schedulers and restarts the first one.
    """

    def __init__(
        self,
        optimizer: optim.Optimizer,
        schedulers: Sequence[LRScheduler],
        milestones: Sequence[int],
        last_epoch: int = -1,
    ) -> None:
        if len(schedulers) < 1:
            raise ValueError("SequentialLR expects at least one scheduler, but got no scheduler.")
        for i, scheduler in enumerate(schedulers):
            if not hasattr(scheduler, "optimizer"):
                raise TypeError(
                    f"SequentialLR at index {i} should have `optimizer` as its attribute."
                )
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(
                    "SequentialLR does not support `ReduceLROnPlateau` scheduler as it requires "
                    "a metric to be passed to `step`, but got one at index "
                    f"{i} in the given schedulers sequence."
                )
            if scheduler.optimizer is not optimizer:
                raise ValueError(
                    "SequentialLR expects all schedulers to belong to the same optimizer, but "
                    f"got scheduler {type(scheduler).__name__} at index {i} with a different "
                    "optimizer."
                )
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be one more "
                f"than the number of milestone points, but got number of schedulers "
                f"{len(schedulers)} and the number of milestones to be equal to {len(milestones)}"
            )
        self.optimizer = optimizer
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]

        # Every inner scheduler already took its construction step; undo them: back to the
        # base lrs and one epoch earlier, then restart only the one that runs at step 0.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._undo_construction_step(self)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    @staticmethod
    def _undo_construction_step(scheduler: Any) -> None:
        if hasattr(scheduler, "_schedulers"):  # nested SequentialLR
            for inner in scheduler._schedulers:
                SequentialLR._undo_construction_step(inner)
        else:
            scheduler.last_epoch -= 1

    def step(self) -> None:
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._restart()  # the next schedule begins at its own step 0
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class ReduceLROnPlateau(LRScheduler):
    r"""Multiply the lr by ``factor`` when a monitored metric stops improving.

    ``step(metrics)`` is called with the metric (e.g. validation loss) after each epoch. A
    value is an improvement if it beats the best so far by more than the threshold: in
    ``mode="min"``, ``metric < best·(1 − threshold)`` (``threshold_mode="rel"``) or
    ``metric < best − threshold`` (``"abs"``); mirrored for ``"max"``. After more than
    ``patience`` epochs without improvement, every group's lr becomes
    ``max(lr·factor, min_lr)`` (skipped if that changes it by ``eps`` or less), and the next
    ``cooldown`` epochs are not counted.

    ``ReduceLROnPlateau(optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
    threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8)``. Unlike the other schedulers it
    does not set ``initial_lr`` and does not change the lr when constructed.
    """

    def __init__(
        self,
        optimizer: optim.Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | list[float] = 0,
        eps: float = 1e-8,
    ) -> None:
        if factor >= 1.0:
            raise ValueError(f"Factor should be < 1.0, but got {factor}.")
        _check_optimizer(optimizer)
        if mode not in ("min", "max"):
            raise ValueError(f"mode {mode} is unknown!")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold mode {threshold_mode} is unknown!")
        self.optimizer = optimizer
        self.factor = factor
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"expected {n} min_lrs, got {len(min_lr)}")
            self.min_lrs = list(min_lr)
        else:
            self.min_lrs = [min_lr] * n
        self.mode = mode
        self.patience = patience
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self._last_lr = self._current_lrs()

    def _is_better(self, value: float) -> bool:
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return value < self.best * (1.0 - self.threshold)
            return value < self.best - self.threshold
        if self.threshold_mode == "rel":
            return value > self.best * (self.threshold + 1.0)
        return value > self.best + self.threshold

    def step(self, metrics: float) -> None:  # type: ignore[override]
        """Record one epoch's metric and reduce the lr if it has plateaued."""
        current = float(metrics)
        self.last_epoch += 1
        if self._is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # epochs right after a reduction do not count
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
                old_lr = float(group["lr"])
                new_lr = max(old_lr * self.factor, min_lr)
                if old_lr - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()


def lr_curve(
    make_scheduler: Callable[[optim.Optimizer], LRScheduler],
    *,
    lr: float,
    steps: int,
    metrics: Sequence[float] | None = None,
) -> np.ndarray:
    """The learning rate in force at each of ``steps`` steps, for plotting a schedule.

    Builds a throwaway one-parameter ``optim.SGD(lr=lr)``, calls ``make_scheduler(opt)``
    (e.g. ``lambda o: CosineAnnealingLR(o, T_max=100)``) and records ``group["lr"]`` before
    each step, stepping the scheduler in between. A :class:`ReduceLROnPlateau` needs
    ``metrics``: ``metrics[k]`` is the value observed after step ``k`` (at least ``steps - 1``
    of them).
    """
    opt = optim.SGD([np.zeros(1)], lr=lr)
    scheduler = make_scheduler(opt)
    plateau = isinstance(scheduler, ReduceLROnPlateau)
    if plateau and (metrics is None or len(metrics) < steps - 1):
        raise ValueError(
            f"ReduceLROnPlateau needs at least steps - 1 = {steps - 1} metrics, got "
            f"{None if metrics is None else len(metrics)}"
        )
    if not plateau and metrics is not None:
        raise ValueError(
            f"metrics are only used by ReduceLROnPlateau, not {type(scheduler).__name__}"
        )
    lrs = np.empty(steps)
    for k in range(steps):
        lrs[k] = opt.param_groups[0]["lr"]
        if k < steps - 1:
            if plateau:
                scheduler.step(metrics[k])
            else:
                scheduler.step()
    return lrs
