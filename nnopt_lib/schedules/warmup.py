"""Warm-up schedules: a constant factor for a while (ConstantLR), or a linear ramp (LinearLR)."""

from __future__ import annotations

from nnopt_lib import optim
from nnopt_lib.optim.validation import check_integer_at_least, require_real
from nnopt_lib.schedules.base import LRScheduler


class ConstantLR(LRScheduler):
    r"""Scale the lr by ``factor`` for the first ``total_iters`` steps, then restore it:
    :math:`\eta_t = \eta_0 \cdot (f \text{ if } t < T \text{ else } 1)`. A crude warm-up.

    ``ConstantLR(optimizer, factor=1/3, total_iters=5, last_epoch=-1)``, ``0 < factor <= 1``
    and ``total_iters`` a positive integer. (torch also accepts ``factor=0``, and then fails
    with ZeroDivisionError when it restores the lr; NaN, and any ``total_iters`` -- one the
    count never equals keeps the factor forever.)
    """

    def __init__(
        self,
        optimizer: optim.Optimizer,
        factor: float = 1.0 / 3,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        require_real(factor, "factor")
        if not 0 < factor <= 1.0:  # also refuses NaN
            raise ValueError(
                "Constant multiplicative factor expected to be between 0 and 1 (0 excluded: "
                f"the lr could not be restored), but got {factor}."
            )
        check_integer_at_least(total_iters, "total_iters", 1)
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
    ``0 < start_factor <= 1``, ``0 <= end_factor <= 1`` (NaN refused, which torch accepts)
    and ``total_iters`` a positive integer. The usual linear warm-up (Goyal et
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
        require_real(start_factor, "start_factor")
        require_real(end_factor, "end_factor")
        if not 0 < start_factor <= 1.0:
            raise ValueError(
                "Starting multiplicative factor expected to be greater than 0 and less or "
                f"equal to 1, but got start_factor={start_factor}."
            )
        if not 0 <= end_factor <= 1.0:
            raise ValueError(
                "Ending multiplicative factor expected to be between 0 and 1, "
                f"but got end_factor={end_factor}."
            )
        check_integer_at_least(total_iters, "total_iters", 1)
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
