"""Knowledge distillation: Hinton, Vinyals & Dean's loss, with a hand-written gradient.

A small *student* network learns from a trained *teacher*: besides the hard labels it is
asked to reproduce the teacher's class probabilities, softened by a temperature ``T``::

    p_T(z) = softmax(z / T)                      # T > 1 spreads the probability mass

    L = alpha * T^2 * KL(p_T(t) || p_T(s)) + (1 - alpha) * CE(s, y)

with ``s`` the student's logits, ``t`` the teacher's, ``y`` the class labels. Convention:
``alpha`` is the weight of the **soft** (teacher) term; ``alpha = 0`` is plain cross-entropy
on the labels, ``alpha = 1`` pure distillation without labels. Both terms are means over
the batch (the KL term is torch's ``reduction="batchmean"``), or sums with
``reduction="sum"``. In PyTorch the same loss is written::

    T**2 * KLDivLoss(reduction="batchmean")(log_softmax(s / T, 1), softmax(t / T, 1))

times ``alpha``, plus ``(1 - alpha) * CrossEntropyLoss()(s, y)``
(``nnopt_lib.crosscheck.distillation`` checks value and gradient against exactly that).

Gradient with respect to the student's logits, per example (divide by ``N`` for the mean)::

    dL/ds = alpha * T * (p_T(s) - p_T(t)) + (1 - alpha) * (softmax(s) - onehot(y))

The soft term's gradient without the ``T^2`` factor is ``(p_T(s) - p_T(t)) / T``; for large
``T`` the difference of the two softmaxes is itself about ``(s - t) / (C T)`` (centred
logits), so that gradient shrinks like ``1 / T^2``. Multiplying by ``T^2`` keeps the soft
term's share of the gradient roughly constant when ``T`` is changed -- Hinton et al.'s reason
for the factor.

Targets: a loss here sees ``(input, target)`` only (the protocol of :mod:`nnopt_lib.losses`,
which :func:`nnopt_lib.training.fit` relies on), so the teacher's logits travel with the
labels in one structured array built by :func:`distillation_targets`; ``fit`` slices it per
minibatch like any target array.

Papers: C. Buciluă, R. Caruana, A. Niculescu-Mizil, "Model compression", KDD 2006;
J. Ba, R. Caruana, "Do deep nets really need to be deep?", NeurIPS 2014; G. Hinton,
O. Vinyals, J. Dean, "Distilling the knowledge in a neural network", arXiv:1503.02531, 2015.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from nnopt_lib.losses import CrossEntropyLoss, Loss

__all__ = ["DistillationLoss", "distillation_targets", "softened_softmax"]


def softened_softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """``softmax(logits / T)`` along the last axis: ``exp(z_i / T) / sum_j exp(z_j / T)``.

    ``T = 1`` is the ordinary softmax; ``T -> inf`` tends to the uniform distribution;
    ``T -> 0`` to the one-hot vector of the largest logit. The row maximum is subtracted
    before ``exp`` (no overflow for large logits or small ``T``).
    """
    temperature = _check_temperature(temperature)
    z = np.asarray(logits)
    if z.dtype.kind != "f":
        z = z.astype(np.float64)
    scaled = z / temperature
    e = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def distillation_targets(teacher_logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The target array of :class:`DistillationLoss`: one record per example.

    Fields ``"teacher"`` (the ``C`` teacher logits, float64) and ``"label"`` (int64).
    ``teacher_logits`` has shape ``(N, C)`` and ``labels`` ``(N,)`` integers
    (``ValueError`` otherwise, naming the shapes). Slicing it (``targets[idx]``) keeps both
    parts of each example together, which is what :func:`nnopt_lib.training.fit` does.
    """
    teacher = np.asarray(teacher_logits)
    labels = np.asarray(labels)
    if teacher.ndim != 2:
        raise ValueError(f"distillation_targets: teacher_logits must have shape (N, C), got "
                         f"{teacher.shape}")
    if labels.dtype.kind not in "iu":
        raise ValueError(f"distillation_targets: labels must be integer class indices, got "
                         f"dtype {labels.dtype}")
    if labels.shape != teacher.shape[:1]:
        raise ValueError(f"distillation_targets: {teacher.shape[0]} rows of teacher logits "
                         f"but labels of shape {labels.shape}; expected ({teacher.shape[0]},)")
    dtype = np.dtype([("teacher", np.float64, (teacher.shape[1],)), ("label", np.int64)])
    targets = np.empty(len(labels), dtype=dtype)
    targets["teacher"] = teacher
    targets["label"] = labels
    return targets


def _check_temperature(temperature: object) -> float:
    if (isinstance(temperature, bool) or not isinstance(temperature, numbers.Real)
            or not temperature > 0 or math.isinf(temperature)):
        raise ValueError(f"Invalid temperature: {temperature!r} (must be a finite number > 0)")
    return float(temperature)


class DistillationLoss(Loss):
    """``alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(s, y)``.

    Call it as ``loss(student_logits, distillation_targets(teacher_logits, labels))``;
    ``backward()`` returns ``dL/d(student_logits)``. The module docstring gives the
    gradient and PyTorch's equivalent.

    Args (keyword-only; torch has no such class, so the names are the paper's):
        temperature: ``T > 0`` (default 4.0), applied to student and teacher alike.
        alpha: weight of the soft, teacher term in ``[0, 1]`` (default 0.9); the labels get
            ``1 - alpha``. Hinton et al. found a "considerably lower weight" on the hard
            term to work best.
        reduction: ``"mean"`` (default; per-example mean of both terms, the KL term as
            torch's ``"batchmean"``) or ``"sum"``.

    Errors: ``ValueError`` for a temperature that is not a finite number > 0 or an
    ``alpha`` outside ``[0, 1]`` (NaN included), naming the value; ``TypeError`` for a
    target that is not a :func:`distillation_targets` array; ``RuntimeError`` (torch's
    type for mismatched sizes) when the teacher and the student disagree on the number of
    classes or the logits are not ``(N, C)``; ``ValueError`` for a batch-size mismatch
    (as ``CrossEntropyLoss``).
    """

    def __init__(self, *, temperature: float = 4.0, alpha: float = 0.9,
                 reduction: str = "mean"):
        super().__init__(reduction=reduction)
        self.temperature = _check_temperature(temperature)
        if (isinstance(alpha, bool) or not isinstance(alpha, numbers.Real)
                or not 0 <= alpha <= 1):
            raise ValueError(f"Invalid alpha: {alpha!r} (must be in [0, 1]: the weight of "
                             "the teacher's soft targets)")
        self.alpha = float(alpha)
        # the hard term is cross-entropy on the labels; the soft one is cross-entropy on
        # s / T against p_T(t), minus the teacher's entropy (a constant: KL = CE - H)
        self._hard = CrossEntropyLoss(reduction=reduction)
        self._soft = CrossEntropyLoss(reduction=reduction)

    def forward(self, input: np.ndarray, target: np.ndarray) -> float:
        student = self._float_input(input)
        target = np.asarray(target)
        names = target.dtype.names or ()
        if "teacher" not in names or "label" not in names:
            raise TypeError("DistillationLoss: the target must hold the teacher's logits and "
                            "the labels: distillation_targets(teacher_logits, labels); got an "
                            f"array of dtype {target.dtype}")
        if student.ndim != 2:
            raise RuntimeError(f"DistillationLoss: expected student logits of shape (N, C), "
                               f"got {student.shape}")
        teacher = target["teacher"]
        if teacher.ndim != 2 or teacher.shape[1] != student.shape[1]:
            raise RuntimeError(
                f"DistillationLoss: the teacher has {teacher.shape[-1]} classes but the "
                f"student {student.shape[1]} (teacher logits {teacher.shape}, student "
                f"logits {student.shape})")
        T, alpha = self.temperature, self.alpha
        hard = self._hard(student, target["label"])  # ValueError on a batch-size mismatch
        q = softened_softmax(teacher.astype(student.dtype, copy=False), T)
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy = -np.sum(np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0)), 0.0))
        if self.reduction == "mean" and len(q):
            entropy /= len(q)
        kl = self._soft(student / T, q) - float(entropy)
        value = alpha * T**2 * kl + (1 - alpha) * hard
        self._dtype = self._input_dtype
        return float(value)

    def _gradient(self) -> np.ndarray:
        # d(s/T)/ds = 1/T, so the soft term's gradient is alpha * T^2 * (1/T) * dCE/d(s/T)
        T, alpha = self.temperature, self.alpha
        return alpha * T * self._soft.backward() + (1 - alpha) * self._hard.backward()

    def extra_repr(self) -> str:
        options = [f"temperature={self.temperature}", f"alpha={self.alpha}"]
        if self.reduction != "mean":
            options.append(f"reduction={self.reduction!r}")
        return ", ".join(options)
