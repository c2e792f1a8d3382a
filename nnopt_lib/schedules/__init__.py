r"""Learning-rate schedules that drive an nnopt optimizer, shaped like ``torch.optim.lr_scheduler``.

A scheduler owns no learning rate of its own: it rewrites ``group["lr"]`` in the
optimizer's ``param_groups``, exactly as torch's schedulers do, so the optimizer's next
``step`` uses the new value. The usage pattern is torch's::

    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    sched = schedules.CosineAnnealingLR(opt, T_max=100)
    for t in range(100):
        opt.step(grad(w))
        sched.step()            # after the optimizer step

or, in a loop that may hold any scheduler, ``schedules.step_scheduler(sched, val_loss)``:
it passes the metric to a :class:`ReduceLROnPlateau` and steps every other one plainly.

Constructing a scheduler stores ``group["initial_lr"]`` (the base learning rate), sets
``last_epoch = 0`` and writes the step-0 learning rate. ``get_last_lr()`` returns the
current learning rate of every group.

Torch computes most schedules *recursively* (each new lr from the current
``group["lr"]``; ``get_lr``) rather than from the closed form. The two agree mathematically
but differ in the last bits, so this package uses the same recursions in the same order and
its learning rates equal torch's to the last bit (``tests/test_schedules.py``). The closed
forms are kept in ``_closed_form_lr`` (used, as in torch, when :class:`SequentialLR` restarts
a schedule at a milestone) and are the formulas to read.

State: ``state_dict()`` / ``load_state_dict()`` use torch's layout (the scheduler's
attributes, under torch's names, without the optimizer), so a scheduler's state moves
between nnopt and torch in both directions; ``copy.deepcopy`` of an (optimizer, scheduler)
pair keeps the copy's scheduler driving the copy's optimizer, as in torch.

One file per family: :mod:`~nnopt_lib.schedules.base` (:class:`LRScheduler`),
:mod:`~nnopt_lib.schedules.multiplicative` (LambdaLR, StepLR, MultiStepLR, ExponentialLR),
:mod:`~nnopt_lib.schedules.warmup` (ConstantLR, LinearLR),
:mod:`~nnopt_lib.schedules.cosine` (CosineAnnealingLR, OneCycleLR),
:mod:`~nnopt_lib.schedules.sequential` (SequentialLR),
:mod:`~nnopt_lib.schedules.plateau` (ReduceLROnPlateau) and
:mod:`~nnopt_lib.schedules.stepping` (``step_scheduler``, ``lr_curve``).

Differences from torch, all deliberate: ``step()`` takes no ``epoch`` argument (deprecated in
torch), the optimizer's ``step`` is not wrapped to warn about the call order, and arguments
that torch accepts although they make the schedule garbage (a negative or NaN ``gamma``,
``step_size=0``, a str ``cooldown``) raise a clear error naming the argument.
"""

from __future__ import annotations

from nnopt_lib.schedules.base import LRScheduler
from nnopt_lib.schedules.cosine import CosineAnnealingLR, OneCycleLR
from nnopt_lib.schedules.multiplicative import ExponentialLR, LambdaLR, MultiStepLR, StepLR
from nnopt_lib.schedules.plateau import ReduceLROnPlateau
from nnopt_lib.schedules.sequential import SequentialLR
from nnopt_lib.schedules.stepping import lr_curve, step_scheduler, watches_metric
from nnopt_lib.schedules.warmup import ConstantLR, LinearLR

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
    "step_scheduler",
    "watches_metric",
]
