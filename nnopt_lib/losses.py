"""Loss functions with hand-written gradients, shaped like their ``torch.nn`` namesakes.

Protocol, the same for every loss::

    value = loss_fn(input, target)   # a Python float
    grad = loss_fn.backward()        # dL/d(input), an array of input's shape and dtype

``backward`` differentiates the value of the last call. The keyword arguments, defaults,
formulas and errors are torch's (``tests/test_losses.py`` checks values and gradients against
``torch.nn.functional`` to 1e-12); where one differs, the class docstring says so. Common
rules:

* ``reduction`` is ``"mean"`` (default) or ``"sum"`` (and ``"batchmean"`` for KLDivLoss).
  torch's ``"none"`` is not offered: it returns an array, and this protocol returns a float.
* The mean of nothing (an empty batch, or every target ignored) is NaN, as in torch, with
  no warning; its gradient is zeros.
* The input must be floating point (``NotImplementedError`` otherwise, as torch). float16
  inputs are computed in float32 and the gradient is rounded back to float16, as torch does
  on the CPU.

Notation: ``z`` logits, ``p = softmax(z)``, ``y`` class index, ``q`` a target distribution,
``M`` the number of terms a mean divides by.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

__all__ = [
    "Loss",
    "CrossEntropyLoss",
    "NLLLoss",
    "MSELoss",
    "BCEWithLogitsLoss",
    "KLDivLoss",
]


class Loss:
    """Base class: validates ``reduction``, calls :meth:`forward`, serves :meth:`backward`.

    A subclass implements ``forward(input, target) -> float`` and ``_gradient()``, which may
    use whatever ``forward`` kept on ``self``. ``_shape``/``_dtype`` describe the input.
    """

    _reductions: tuple[str, ...] = ("mean", "sum")

    def __init__(self, *, reduction: str = "mean"):
        if reduction == "none":
            raise ValueError(f"{type(self).__name__}: reduction='none' is not supported (the "
                             f"loss protocol returns one float); use one of {self._reductions}")
        if reduction not in self._reductions:
            raise ValueError(f"{reduction} is not a valid value for reduction "
                             f"(use one of {self._reductions})")
        self.reduction = reduction
        self._dtype: np.dtype | None = None

    def __call__(self, input: np.ndarray, target: np.ndarray) -> float:
        return self.forward(input, target)

    def forward(self, input: np.ndarray, target: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        """``dL/d(input)`` for the last ``loss_fn(input, target)``, in the input's dtype."""
        if self._dtype is None:
            raise RuntimeError(f"{type(self).__name__}.backward() needs a forward pass first: "
                               "call loss_fn(input, target)")
        return self._gradient().astype(self._dtype, copy=False)

    def _gradient(self) -> np.ndarray:
        raise NotImplementedError

    def _float_input(self, input: np.ndarray) -> np.ndarray:
        """``input`` as an array in its compute dtype (float16 -> float32); remembers its dtype."""
        input = np.asarray(input)
        if input.dtype.kind != "f":
            raise NotImplementedError(f"{type(self).__name__}: not implemented for input dtype "
                                      f"{input.dtype}; the input must be floating point")
        self._dtype = None  # until this forward pass has succeeded
        self._input_dtype = input.dtype
        return input.astype(np.promote_types(input.dtype, np.float32), copy=False)

    def _finish(self, total: float, count: int) -> float:
        """The reduced value; stores the factor that scales each term's gradient."""
        if self.reduction == "sum":
            self._scale = 1.0
            value = total
        else:
            self._scale = 1.0 / count if count else 0.0
            value = total / count if count else math.nan
        self._dtype = self._input_dtype
        return float(value)

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


# ---------------------------------------------------------------------- class targets


def _classes_last(input: np.ndarray, loss: str) -> np.ndarray:
    """Logits ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)`` as a 2-D ``(M, C)`` array."""
    if input.ndim == 0:
        raise RuntimeError(f"{loss}: the input needs a class axis: (C,), (N, C) or "
                           "(N, C, d1, ...); got a 0-D array")
    if input.ndim == 1:  # one unbatched example, as torch
        return input[None, :]
    if input.ndim == 2:
        return input
    return np.moveaxis(input, 1, -1).reshape(-1, input.shape[1])


def _classes_back(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of :func:`_classes_last` for a gradient of the input's ``shape``."""
    if len(shape) <= 2:
        return grad.reshape(shape)
    moved = (shape[0], *shape[2:], shape[1])
    return np.moveaxis(grad.reshape(moved), -1, 1)


def _class_indices(target: np.ndarray, shape: tuple[int, ...], ignore_index: int, loss: str
                   ) -> tuple[np.ndarray, np.ndarray | None]:
    """Flat labels for an input of ``shape``, and the mask of ignored ones (None if none).

    torch's checks: integer dtype (``RuntimeError``), one label per example (``ValueError``
    for a batch-size mismatch, ``RuntimeError`` for other shapes), labels in ``[0, C)``
    unless equal to ``ignore_index`` (``IndexError``).
    """
    if target.dtype.kind not in "iu":
        raise RuntimeError(
            f"{loss}: expected target dtype to be an integer type (class indices), but got "
            f"{target.dtype}; class-probability targets must be floating point with the "
            f"input's shape {shape}")
    if len(shape) == 1:
        # torch's forward also takes a (1,) target here, but its backward then fails
        expected = ()
    else:
        expected = (shape[0], *shape[2:])
    if target.shape != expected:
        if len(shape) == 2 and target.ndim == 1:
            raise ValueError(f"Expected input batch_size ({shape[0]}) to match target "
                             f"batch_size ({target.shape[0]}).")
        raise RuntimeError(f"{loss}: expected a target of shape {expected} (one class index "
                           f"per example) for an input of shape {shape}, got {target.shape}")
    labels = target.reshape(-1)
    num_classes = shape[0] if len(shape) == 1 else shape[1]
    ignored = labels == ignore_index
    out_of_range = ~ignored & ((labels < 0) | (labels >= num_classes))
    if out_of_range.any():
        raise IndexError(f"Target {labels[out_of_range][0]} is out of bounds.")
    return labels, (ignored if ignored.any() else None)


def _check_ignore_index(ignore_index: object, loss: str) -> int:
    if not isinstance(ignore_index, numbers.Integral) or isinstance(ignore_index, bool):
        raise TypeError(f"{loss}: ignore_index must be an int, got {ignore_index!r}")
    return int(ignore_index)


class CrossEntropyLoss(Loss):
    """Softmax cross-entropy from logits: ``L_i = -sum_c q_ic log p_ic``, ``p = softmax(z_i)``.

    Targets, as in torch:

    * class indices (an integer array with one entry per example): ``q`` is one-hot, so
      ``L_i = logsumexp(z_i) - z_iy``; labels equal to ``ignore_index`` contribute nothing and
      are not counted by the mean;
    * class probabilities (a float array of the logits' shape, e.g. a teacher's softened
      outputs for distillation): ``q`` is the target itself; the mean is over examples.

    ``label_smoothing = e`` replaces ``q`` by ``(1 - e) q + e / C`` (Szegedy et al. 2016,
    "Rethinking the Inception Architecture"). Gradient: ``dL_i/dz_i = p_i sum_c q_ic - q_i``
    (``p - q`` for a distribution), times ``1/M`` for the mean. Logits may be ``(C,)`` (one
    example), ``(N, C)`` or ``(N, C, d1, ...)`` with targets ``()``, ``(N,)``,
    ``(N, d1, ...)``.

    The log-sum-exp is taken after subtracting the row maximum,
    ``logsumexp(z) = m + log(sum(exp(z - m)))``, so logits of size 1e4 neither overflow nor
    lose the answer.

    Differences from torch: no class ``weight``; any integer label dtype is accepted (torch
    wants int64); ``label_smoothing`` outside ``[0, 1]`` (NaN included) is refused when the
    loss is built (torch refuses only > 1, at the first call).
    """

    def __init__(self, *, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__(reduction=reduction)
        self.ignore_index = _check_ignore_index(ignore_index, "CrossEntropyLoss")
        if not isinstance(label_smoothing, numbers.Real) or not 0 <= label_smoothing <= 1:
            raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                               f"{label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)

    def forward(self, input: np.ndarray, target: np.ndarray) -> float:
        logits = self._float_input(input)
        target = np.asarray(target)
        self._shape = logits.shape
        z = _classes_last(logits, "CrossEntropyLoss")
        num_classes = z.shape[1]
        probabilities = target.dtype.kind == "f" and target.shape == logits.shape
        if probabilities:
            if self.ignore_index >= 0:
                raise RuntimeError("ignore_index is not supported for floating point target")
            q = _classes_last(target.astype(z.dtype, copy=False), "CrossEntropyLoss")
        else:
            labels, ignored = _class_indices(target, logits.shape, self.ignore_index,
                                             "CrossEntropyLoss")
        # initial=-inf: zero classes give an empty result instead of a reduction error
        shifted = z - np.max(z, axis=1, keepdims=True, initial=-np.inf)
        self._exp = np.exp(shifted)
        self._sum_exp = self._exp.sum(axis=1)
        log_sum = np.log(self._sum_exp)
        e = self.label_smoothing
        if probabilities:
            if e:
                q = (1 - e) * q + e / num_classes
            self._q = q
            total = -np.sum(q * (shifted - log_sum[:, None]))  # -sum q log p
            return self._finish(float(total), len(z))
        rows = np.arange(len(labels))
        safe_labels = labels if ignored is None else np.where(ignored, 0, labels)
        per_example = log_sum - shifted[rows, safe_labels]
        if e:
            smooth = log_sum - shifted.mean(axis=1)  # mean over classes of -log p
            per_example = (1 - e) * per_example + e * smooth
        if ignored is not None:
            per_example = np.where(ignored, 0.0, per_example)
        self._q, self._labels, self._ignored = None, safe_labels, ignored
        count = len(labels) if ignored is None else int(np.count_nonzero(~ignored))
        return self._finish(float(per_example.sum()), count)

    def _gradient(self) -> np.ndarray:
        grad = self._exp / self._sum_exp[:, None]
        if self._q is not None:
            grad = grad * self._q.sum(axis=1, keepdims=True) - self._q
        else:
            e = self.label_smoothing
            grad[np.arange(len(grad)), self._labels] -= 1.0 - e
            if e:
                grad -= e / grad.shape[1]
            if self._ignored is not None:
                grad[self._ignored] = 0.0
        grad *= self._scale
        return _classes_back(grad, self._shape)

    def extra_repr(self) -> str:
        options = [super().extra_repr()] if self.reduction != "mean" else []
        if self.ignore_index != -100:
            options.append(f"ignore_index={self.ignore_index}")
        if self.label_smoothing:
            options.append(f"label_smoothing={self.label_smoothing}")
        return ", ".join(options)


class NLLLoss(Loss):
    """Negative log-likelihood of log-probabilities: ``L_i = -input[i, y_i]``.

    The input is ``log p`` (e.g. the output of ``nn.LogSoftmax(dim=1)``), shaped like
    CrossEntropyLoss's logits, with class-index targets only; ``LogSoftmax`` + ``NLLLoss`` is
    ``CrossEntropyLoss``. Gradient: ``-1/M`` at each target entry, 0 elsewhere. Labels equal
    to ``ignore_index`` contribute nothing and are not counted by the mean. Differences from
    torch: no class ``weight``; any integer label dtype is accepted.
    """

    def __init__(self, *, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction=reduction)
        self.ignore_index = _check_ignore_index(ignore_index, "NLLLoss")

    def forward(self, input: np.ndarray, target: np.ndarray) -> float:
        log_probs = self._float_input(input)
        self._shape = log_probs.shape
        flat = _classes_last(log_probs, "NLLLoss")
        labels, ignored = _class_indices(np.asarray(target), log_probs.shape, self.ignore_index,
                                         "NLLLoss")
        rows = np.arange(len(labels))
        self._rows, self._labels = rows, labels
        if ignored is not None:
            self._rows, self._labels = rows[~ignored], labels[~ignored]
        self._compute_dtype = flat.dtype
        total = -float(np.sum(flat[self._rows, self._labels]))
        return self._finish(total, len(self._rows))

    def _gradient(self) -> np.ndarray:
        grad = np.zeros(self._shape, dtype=self._compute_dtype)
        flat = _classes_last(grad, "NLLLoss")  # a view of grad for (C,) and (N, C)
        flat[self._rows, self._labels] = -self._scale
        return grad if len(self._shape) <= 2 else _classes_back(flat, self._shape)

    def extra_repr(self) -> str:
        options = [super().extra_repr()] if self.reduction != "mean" else []
        if self.ignore_index != -100:
            options.append(f"ignore_index={self.ignore_index}")
        return ", ".join(options)


# ---------------------------------------------------------------------- elementwise losses


def _same_shape(input: np.ndarray, target: np.ndarray, loss: str) -> None:
    """Refuse broadcasting: an (N, 1) prediction against an (N,) target would silently
    build an (N, N) matrix and train on the wrong loss (torch only warns)."""
    if input.shape != target.shape:
        raise ValueError(
            f"{loss}: target shape {target.shape} differs from input shape {input.shape}; "
            "reshape one of them (e.g. y[:, None]) so they match"
        )


class MSELoss(Loss):
    """Mean squared error ``L = mean((input - target)^2)``; ``dL/dinput = 2 (input - target) / M``.

    Unlike torch, which only warns, a shape mismatch raises ``ValueError``: broadcasting a
    ``(N, 1)`` prediction against an ``(N,)`` target silently builds an ``(N, N)`` matrix
    and trains on the wrong loss. Integer targets are accepted (cast to the input's dtype).
    """

    def forward(self, input: np.ndarray, target: np.ndarray) -> float:
        pred = self._float_input(input)
        target = np.asarray(target)
        _same_shape(pred, target, "MSELoss")
        self._diff = pred - target.astype(pred.dtype, copy=False)
        return self._finish(float(np.sum(self._diff**2)), self._diff.size)

    def _gradient(self) -> np.ndarray:
        return (2.0 * self._scale) * self._diff


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy from logits ``x`` with targets ``y`` in [0, 1], numerically stable.

    ``L_i = -w_i [pos_weight * y_i log s(x_i) + (1 - y_i) log(1 - s(x_i))]``, ``s`` the
    sigmoid. With ``log s(x) = -softplus(-x)`` and ``log(1 - s(x)) = -x - softplus(-x)`` this
    is ``w_i [(1 - y_i) x_i + (1 + (pos_weight - 1) y_i) softplus(-x_i)]`` and
    ``softplus(-x) = max(-x, 0) + log1p(exp(-|x|))`` never overflows (torch's formula).
    Gradient: ``w_i [(1 - y_i) - (1 + (pos_weight - 1) y_i) s(-x_i)]``, which is
    ``w_i (s(x_i) - y_i)`` without ``pos_weight``.

    ``weight`` rescales each element and ``pos_weight`` the positive term per class (both
    broadcast against the input; ``RuntimeError`` if they cannot broadcast to its shape).
    The target must have the input's shape (``ValueError``, as torch). Unlike torch, integer
    and boolean targets (labels 0/1) are accepted and cast.
    """

    def __init__(self, *, weight: np.ndarray | None = None, reduction: str = "mean",
                 pos_weight: np.ndarray | None = None):
        super().__init__(reduction=reduction)
        self.weight = None if weight is None else np.asarray(weight, dtype=np.float64)
        self.pos_weight = None if pos_weight is None else np.asarray(pos_weight,
                                                                     dtype=np.float64)

    def _broadcast(self, array: np.ndarray | None, name: str, shape: tuple[int, ...],
                   dtype: np.dtype) -> np.ndarray | None:
        if array is None:
            return None
        try:
            if np.broadcast_shapes(array.shape, shape) == shape:
                return array.astype(dtype, copy=False)
        except ValueError:
            pass
        raise RuntimeError(f"BCEWithLogitsLoss: {name} of shape {array.shape} does not "
                           f"broadcast to the input's shape {shape}")

    def forward(self, input: np.ndarray, target: np.ndarray) -> float:
        x = self._float_input(input)
        target = np.asarray(target)
        if target.shape != x.shape:
            raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                             f"({x.shape})")
        y = target.astype(x.dtype, copy=False)
        weight = self._broadcast(self.weight, "weight", x.shape, x.dtype)
        pos_weight = self._broadcast(self.pos_weight, "pos_weight", x.shape, x.dtype)
        softplus_neg = np.maximum(-x, 0.0) + np.log1p(np.exp(-np.abs(x)))
        log_weight = 1.0 if pos_weight is None else 1.0 + (pos_weight - 1.0) * y
        loss = (1.0 - y) * x + log_weight * softplus_neg
        if weight is not None:
            loss = loss * weight
        self._x, self._y, self._weight, self._log_weight = x, y, weight, log_weight
        return self._finish(float(np.sum(loss)), x.size)

    def _gradient(self) -> np.ndarray:
        # s(-x) as (1 - tanh(x/2)) / 2: no overflow for large |x|
        sigmoid_neg = 0.5 * (1.0 - np.tanh(0.5 * self._x))
        grad = (1.0 - self._y) - self._log_weight * sigmoid_neg
        if self._weight is not None:
            grad = grad * self._weight
        return self._scale * grad

    def extra_repr(self) -> str:
        options = [super().extra_repr()] if self.reduction != "mean" else []
        if self.weight is not None:
            options.append(f"weight={self.weight}")
        if self.pos_weight is not None:
            options.append(f"pos_weight={self.pos_weight}")
        return ", ".join(options)


class KLDivLoss(Loss):
    """Kullback-Leibler divergence ``KL(q || p)`` with ``input = log p`` and target ``q``.

    Pointwise ``l = q (log q - input)`` (``0`` where ``q = 0``); with ``log_target=True``
    the target is ``log q`` and ``l = exp(target) (target - input)``. Gradient with respect
    to the input: ``-q`` (``-exp(target)``), scaled by the reduction:

    * ``"batchmean"``: sum / batch size (``input.shape[0]``) -- the mathematical KL
      divergence per example; use it (Hinton et al. 2015, "Distilling the Knowledge in a
      Neural Network", compare softened distributions this way);
    * ``"mean"`` (torch's default): sum / number of elements, i.e. also divided by the
      number of classes. torch warns about this on every use, and so does this class;
    * ``"sum"``.

    Target and input must have the same shape (``ValueError``; torch broadcasts).
    """

    _reductions = ("mean", "batchmean", "sum")

    def __init__(self, *, reduction: str = "mean", log_target: bool = False):
        super().__init__(reduction=reduction)
        if not isinstance(log_target, bool):
            raise TypeError(f"KLDivLoss: log_target must be bool, not "
                            f"{type(log_target).__name__}")
        self.log_target = log_target

    def forward(self, input: np.ndarray, target: np.ndarray) -> float:
        if self.reduction == "mean":
            warnings.warn(
                "reduction: 'mean' divides the total loss by both the batch size and the "
                "support size. 'batchmean' divides only by the batch size, and aligns with "
                "the KL div math definition.", UserWarning, stacklevel=3)
        target = np.asarray(target)
        if target.dtype.kind != "f" or np.asarray(input).dtype.kind != "f":
            raise RuntimeError("kl_div: Integral inputs not supported.")
        log_p = self._float_input(input)
        _same_shape(log_p, target, "KLDivLoss")
        target = target.astype(log_p.dtype, copy=False)
        if self.log_target:
            q = np.exp(target)
            pointwise = q * (target - log_p)
        else:
            q = target
            # xlogy(q, q): 0 where q = 0; log of a negative q is NaN, as in torch (silently)
            with np.errstate(invalid="ignore", divide="ignore"):
                q_log_q = np.where(q == 0, 0.0, q * np.log(np.where(q == 0, 1.0, q)))
            pointwise = q_log_q - q * log_p
        self._q = q
        total = float(np.sum(pointwise))
        if self.reduction == "batchmean":
            # the mean of "batchmean" divides by the batch size; a 0-D input is one example
            return self._finish(total, log_p.shape[0] if log_p.ndim else 1)
        return self._finish(total, log_p.size)

    def _gradient(self) -> np.ndarray:
        return -self._scale * self._q

    def extra_repr(self) -> str:
        options = [f"reduction={self.reduction!r}"] if self.reduction != "mean" else []
        if self.log_target:
            options.append("log_target=True")
        return ", ".join(options)
