"""One record of a run: :class:`History`, returned by :func:`nnopt_lib.training.fit` and by
:func:`nnopt_lib.trajectory.run`.

Both loops do the same thing -- take a gradient at the current parameters, maybe clip it,
update -- so they record the same per-step numbers under the same names::

    run = trajectory.run("rosenbrock", optim.Adam, {"lr": 0.05}, steps=300)
    run.loss, run.lr, run.grad_norm, run.points      # per step (points: surface runs only)
    hist = training.fit(model, loss_fn, opt, X, y, epochs=10, batch_size=32)
    hist.loss, hist.lr, hist.grad_norm               # per step, same meaning
    hist.train_loss, hist.val_acc                    # per epoch (fit only)
    run.status(), hist.status()                      # 'diverged at step 17', ...

:func:`nnopt_lib.plots.loss_curves` draws any of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["History"]


@dataclass(eq=False)
class History:
    r"""What happened during one run, step by step (and, for :func:`~nnopt_lib.training.fit`,
    epoch by epoch).

    Write :math:`\theta_k` for the parameters after :math:`k` updates (:math:`\theta_0` is the
    start). Per step, for :math:`k = 0, 1, \dots`:

    ``loss[k]``
        The loss at :math:`\theta_k`, i.e. the loss whose gradient drives update :math:`k+1`.
        A surface run (:func:`~nnopt_lib.trajectory.run`) records :math:`f(\theta_k)` for every
        point it visits, the last one included, so ``len(loss) == steps + 1 == len(points)``.
        ``fit`` records the *minibatch* loss before each update (the mean over the minibatches
        that went into the update, when a callback such as gradient accumulation combines
        several); it cannot know the loss after its last update without another pass, so
        ``len(loss) == steps``.
    ``lr[k]``
        The learning rate used by update :math:`k+1` (of the first parameter group).
    ``grad_norm[k]``
        The Euclidean norm of the gradient update :math:`k+1` was computed from, *before*
        clipping (after the noise of a noisy surface run, after a callback's penalty in ``fit``),
        so a clipped run still shows how large the raw gradient was.
    ``points``
        Surface runs only (``None`` for ``fit``): the ``(steps + 1, 2)`` positions
        :math:`\theta_0, \dots, \theta_k`.

    ``diverged_at``
        ``k`` when the run stopped because :math:`\theta_k` was bad: a non-finite loss or
        gradient (or, on a surface, a non-finite point or :math:`|f| >` ``blowup``). Exactly
        ``k`` updates were taken. A surface run records the bad point and its loss as the last
        entries; ``fit`` records nothing of the bad step. ``None`` if the run did not diverge.

    Per epoch (``fit`` only; empty for surface runs): ``epoch_metrics`` maps a metric name to one
    value per completed epoch. ``fit`` fills ``"train_loss"`` (the mean of the epoch's minibatch
    losses, weighted by batch size), ``"train_acc"`` (when the targets are integer class labels),
    ``"val_loss"`` and ``"val_acc"`` (with a validation set, evaluated after the epoch in eval
    mode); callbacks may add more. The four standard ones are also attributes
    (``history.val_loss``), ``None`` when not recorded. ``batches_per_epoch`` is the number of
    minibatches per epoch (``fit`` only).
    """

    loss: np.ndarray
    lr: np.ndarray
    grad_norm: np.ndarray
    diverged_at: int | None = None
    points: np.ndarray | None = None
    epoch_metrics: dict[str, np.ndarray] = field(default_factory=dict)
    batches_per_epoch: int | None = None

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    @property
    def steps(self) -> int:
        """Number of updates actually taken."""
        return len(self.lr)

    @property
    def final_loss(self) -> float:
        """The last recorded loss, ``loss[-1]`` (NaN when nothing was recorded): on a surface,
        f at the last point; for ``fit``, the minibatch loss before the last update."""
        return float(self.loss[-1]) if len(self.loss) else math.nan

    @property
    def train_loss(self) -> np.ndarray | None:
        return self.epoch_metrics.get("train_loss")

    @property
    def train_acc(self) -> np.ndarray | None:
        return self.epoch_metrics.get("train_acc")

    @property
    def val_loss(self) -> np.ndarray | None:
        return self.epoch_metrics.get("val_loss")

    @property
    def val_acc(self) -> np.ndarray | None:
        return self.epoch_metrics.get("val_acc")

    def status(self) -> str:
        """One line for a plot legend, a slider or a print.

        ``"diverged at step 17"`` for any diverged run. Otherwise, for a surface run,
        ``"reached f=1.2e-08 in 300 steps"``, or ``"f grew from 2.5 to 3.1e+10 in 100 steps"``
        when it ends above where it started (so a run on its way to diverging never reads like
        a success); for ``fit``, ``"10 epochs (190 steps): train loss 0.1234, val acc 0.950"``
        (``val loss`` without accuracy, nothing without a validation set).
        """
        if self.diverged:
            return f"diverged at step {self.diverged_at}"
        if self.points is None:
            return self._fit_status()
        first, last = self.loss[0], self.final_loss
        if last > first:
            return f"f grew from {first:.2g} to {last:.2g} in {self.steps} steps"
        return f"reached f={last:.2g} in {self.steps} steps"

    def _fit_status(self) -> str:
        train_loss = self.train_loss if self.train_loss is not None else np.empty(0)
        text = f"{len(train_loss)} epochs ({self.steps} steps)"
        if len(train_loss):
            text += f": train loss {train_loss[-1]:.4g}"
            if self.val_acc is not None:
                text += f", val acc {self.val_acc[-1]:.3f}"
            elif self.val_loss is not None:
                text += f", val loss {self.val_loss[-1]:.4g}"
        return text
