"""A minimal, divergence-safe minibatch training loop for :mod:`nnopt_lib.nn` models.

One step of :func:`fit` is the loop every course notebook writes by hand::

    out  = model(X[idx])                      # forward, caches what backward needs
    loss = loss_fn(out, y[idx])               # mean minibatch loss
    model.backward(loss_fn.backward())        # gradients of that loss
    grads = model.gradients()
    clip_grad_norm_(grads, clip_norm)         # optional
    optimizer.step(grads)                     # nnopt_lib.optim updates the arrays in place

:func:`fit` adds the bookkeeping: a new shuffled minibatch order every epoch (reproducible
from ``seed``), learning-rate schedulers, a :class:`History` of per-step and per-epoch
numbers, a ``tqdm`` progress bar, and a clean stop when the loss becomes non-finite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from nnopt_lib import nn, optim, schedules
from nnopt_lib.clip import clip_grad_norm_
from nnopt_lib.data import iterate_minibatches

__all__ = ["History", "fit", "evaluate", "accuracy", "global_grad_norm"]


@dataclass
class History:
    """What happened during :func:`fit`.

    Per step (one entry per optimizer update actually taken):
    ``loss`` -- the minibatch loss before the update, ``lr`` -- the learning rate of the
    first parameter group used for the update, ``grad_norm`` -- the global L2 norm of the
    gradient *before* clipping.

    Per completed epoch: ``train_loss`` -- the mean of that epoch's minibatch losses
    weighted by batch size (the model changes during the epoch, as in any training loop);
    ``train_acc`` -- likewise for accuracy (``None`` unless the loss is cross-entropy);
    ``val_loss`` / ``val_acc`` -- on ``(X_val, y_val)`` in eval mode after the epoch
    (``None`` without a validation set).

    ``diverged_at`` is the index of the step whose loss (or gradient) was non-finite, i.e.
    the number of updates taken before training stopped, or ``None``.
    """

    loss: np.ndarray
    lr: np.ndarray
    grad_norm: np.ndarray
    train_loss: np.ndarray
    train_acc: np.ndarray | None
    val_loss: np.ndarray | None
    val_acc: np.ndarray | None
    diverged_at: int | None
    steps_per_epoch: int

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    def status(self) -> str:
        """One line for a plot legend or a widget, e.g. ``"diverged at step 17"``."""
        if self.diverged:
            return f"diverged at step {self.diverged_at}"
        text = f"{len(self.train_loss)} epochs ({len(self.loss)} steps)"
        if len(self.train_loss):
            text += f": train loss {self.train_loss[-1]:.4g}"
            if self.val_acc is not None:
                text += f", val acc {self.val_acc[-1]:.3f}"
            elif self.val_loss is not None:
                text += f", val loss {self.val_loss[-1]:.4g}"
        return text


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows whose largest logit is at the true label."""
    return float(np.mean(np.argmax(logits, axis=1) == y))


def global_grad_norm(grads: list[np.ndarray]) -> float:
    """``sqrt(sum_i ||g_i||^2)`` over all gradient arrays: the norm clipping looks at."""
    return math.sqrt(sum(float(np.vdot(g, g)) for g in grads))


def evaluate(
    model: nn.Module, loss_fn: nn.CrossEntropyLoss | nn.MSELoss, X: np.ndarray, y: np.ndarray
) -> tuple[float, float | None]:
    """``(loss, accuracy)`` of ``model`` on ``(X, y)`` in eval mode (accuracy is ``None``
    unless ``loss_fn`` is cross-entropy). The model's train/eval mode is restored."""
    was_training = model.training
    model.eval()
    try:
        out = model.forward(X)
        loss = loss_fn.forward(out, y)
        acc = accuracy(out, y) if isinstance(loss_fn, nn.CrossEntropyLoss) else None
    finally:
        model.train(was_training)
    return loss, acc


def fit(
    model: nn.Module,
    loss_fn: nn.CrossEntropyLoss | nn.MSELoss,
    optimizer: optim.Optimizer,
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    scheduler: schedules.LRScheduler | None = None,
    scheduler_interval: str = "epoch",
    clip_norm: float | None = None,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    seed: int = 0,
    progress: bool = True,
) -> History:
    """Train ``model`` by minibatch gradient descent and return a :class:`History`.

    Each epoch visits every example once in a new random order drawn from
    ``numpy.random.default_rng(seed)`` (the same order as
    ``iterate_minibatches(len(X), batch_size=batch_size, seed=rng)`` with one generator
    ``rng`` shared by all epochs); the last batch may be smaller.

    ``optimizer`` is an :mod:`nnopt_lib.optim` optimizer built on ``model.parameters()``.
    ``scheduler`` (an :mod:`nnopt_lib.schedules` scheduler on that optimizer) is stepped
    once per epoch, or once per update with ``scheduler_interval="step"``;
    ``ReduceLROnPlateau`` is given the validation loss (the training loss without a
    validation set; the minibatch loss when stepped per update). ``clip_norm`` clips
    the global gradient norm with :func:`nnopt_lib.clip.clip_grad_norm_` before each update.

    Divergence: the arithmetic runs under ``numpy.errstate(all="ignore")`` and training
    stops, without warnings, before the first update whose loss or gradient norm is
    non-finite; ``History.diverged_at`` records that step.
    """
    if scheduler_interval not in ("epoch", "step"):
        raise ValueError(
            f"scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}"
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(
            f"batch_size should be a positive integer value, but got batch_size={batch_size}"
        )
    if epochs < 0:
        raise ValueError(f"epochs must be non-negative, got {epochs}")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    has_val = X_val is not None and y_val is not None
    if (X_val is None) != (y_val is None):
        raise ValueError("pass both X_val and y_val, or neither")
    classification = isinstance(loss_fn, nn.CrossEntropyLoss)
    # ReduceLROnPlateau.step needs the metric it watches
    plateau = isinstance(scheduler, schedules.ReduceLROnPlateau)

    rng = np.random.default_rng(seed)
    n = len(X)
    losses: list[float] = []
    lrs: list[float] = []
    grad_norms: list[float] = []
    train_loss: list[float] = []
    train_acc: list[float] = []
    val_loss: list[float] = []
    val_acc: list[float] = []
    diverged_at = None

    bar = tqdm(range(epochs), desc="training", unit="epoch", disable=not progress)
    # Overflow on the way to divergence is expected; it is reported via diverged_at.
    with np.errstate(all="ignore"):
        for _epoch in bar:
            model.train()
            loss_sum = correct = 0.0
            for idx in iterate_minibatches(n, batch_size=batch_size, seed=rng):
                xb, yb = X[idx], y[idx]
                out = model.forward(xb)
                loss = loss_fn.forward(out, yb)
                if not math.isfinite(loss):
                    diverged_at = len(losses)
                    break
                model.backward(loss_fn.backward())
                grads = model.gradients()
                if clip_norm is not None:
                    norm = float(clip_grad_norm_(grads, clip_norm))
                else:
                    norm = global_grad_norm(grads)
                if not math.isfinite(norm):
                    diverged_at = len(losses)
                    break
                losses.append(loss)
                lrs.append(optimizer.param_groups[0]["lr"])
                grad_norms.append(norm)
                optimizer.step(grads)
                if scheduler is not None and scheduler_interval == "step":
                    if plateau:
                        scheduler.step(loss)
                    else:
                        scheduler.step()
                loss_sum += loss * len(idx)
                if classification:
                    correct += float(np.sum(np.argmax(out, axis=1) == yb))
            if diverged_at is not None:
                break

            train_loss.append(loss_sum / n)
            if classification:
                train_acc.append(correct / n)
            if has_val:
                vl, va = evaluate(model, loss_fn, X_val, y_val)
                val_loss.append(vl)
                if va is not None:
                    val_acc.append(va)
            if scheduler is not None and scheduler_interval == "epoch":
                if plateau:
                    scheduler.step(val_loss[-1] if has_val else train_loss[-1])
                else:
                    scheduler.step()
            postfix = {"loss": f"{train_loss[-1]:.4g}"}
            if val_acc:
                postfix["val_acc"] = f"{val_acc[-1]:.3f}"
            bar.set_postfix(postfix, refresh=False)
    bar.close()

    def as_array(values: list[float], present: bool) -> np.ndarray | None:
        return np.asarray(values, dtype=np.float64) if present else None

    return History(
        loss=np.asarray(losses, dtype=np.float64),
        lr=np.asarray(lrs, dtype=np.float64),
        grad_norm=np.asarray(grad_norms, dtype=np.float64),
        train_loss=np.asarray(train_loss, dtype=np.float64),
        train_acc=as_array(train_acc, classification),
        val_loss=as_array(val_loss, has_val),
        val_acc=as_array(val_acc, has_val and classification),
        diverged_at=diverged_at,
        steps_per_epoch=math.ceil(n / batch_size),
    )
