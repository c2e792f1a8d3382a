"""Distillation: ``nnopt_lib.distillation.DistillationLoss`` against PyTorch's formulation.

torch has no distillation class; practitioners write Hinton et al.'s loss from two of its
losses, and that composition is the twin::

    alpha * T**2 * KLDivLoss(reduction="batchmean")(log_softmax(s / T, 1), softmax(t / T, 1))
        + (1 - alpha) * CrossEntropyLoss()(s, y)

(``reduction="sum"`` uses ``"sum"`` in both). The loss takes two targets, the teacher's
logits and the labels, which the one-target table ``LOSS_TWINS`` of ``layers.py`` cannot
express; hence this file and its own group in the matrix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nnopt_lib.crosscheck.comparison import Comparison, _compare_items, _describe
from nnopt_lib.crosscheck.device import _resolve_dtype, _torch, best_device
from nnopt_lib.distillation import DistillationLoss, distillation_targets

#: ``(options, teacher scale)``: DistillationLoss keyword arguments and how large the
#: teacher's logits are (standard normal times the scale). The defaults; each temperature
#: regime (T = 1, below 1, large); the two ends of alpha; a sum; a confident teacher whose
#: softened probabilities reach ~1e-30 at T = 1.
DISTILLATION_CASES: list[tuple[dict[str, Any], float]] = [
    ({}, 3.0),
    ({"temperature": 1.0, "alpha": 0.5}, 3.0),
    ({"temperature": 0.5, "alpha": 0.7}, 3.0),
    ({"temperature": 20.0, "alpha": 0.3}, 3.0),
    ({"alpha": 0.0}, 3.0),
    ({"alpha": 1.0, "temperature": 2.0}, 3.0),
    ({"reduction": "sum", "temperature": 3.0}, 3.0),
    ({"temperature": 1.0, "alpha": 0.9}, 30.0),
]


def torch_distillation_loss(student: Any, teacher: Any, labels: Any, *, temperature: float,
                            alpha: float, reduction: str = "mean") -> Any:
    """Hinton et al.'s loss written the way a PyTorch user writes it (tensors in, tensor out)."""
    torch = _torch()
    functional = torch.nn.functional
    kl = torch.nn.KLDivLoss(reduction="batchmean" if reduction == "mean" else "sum")
    ce = torch.nn.CrossEntropyLoss(reduction=reduction)
    soft = kl(functional.log_softmax(student / temperature, dim=1),
              functional.softmax(teacher / temperature, dim=1)) * temperature**2
    return alpha * soft + (1 - alpha) * ce(student, labels)


def compare_distillation(options: Mapping[str, Any] | None = None, *, teacher_scale: float = 3.0,
                         batch: int = 16, classes: int = 10, seed: int = 0,
                         dtype: str = "float64") -> Comparison:
    """Compare ``DistillationLoss(**options)`` with :func:`torch_distillation_loss`.

    Seeded student logits (standard normal times 2), teacher logits (standard normal times
    ``teacher_scale``) and labels, ``batch x classes``. Compared items: the loss value, then
    the gradient with respect to the student's logits (torch's by autograd).
    """
    options = dict(options or {})
    torch = _torch()
    device = best_device()
    dtype, torch_dtype = _resolve_dtype(dtype, device)
    rng = np.random.default_rng(seed)
    student = 2.0 * rng.standard_normal((batch, classes))
    teacher = teacher_scale * rng.standard_normal((batch, classes))
    labels = rng.integers(0, classes, size=batch)

    ours = DistillationLoss(**options)
    our_value = ours(student, distillation_targets(teacher, labels))
    our_grad = ours.backward()

    s = torch.tensor(student, dtype=torch_dtype, device=device, requires_grad=True)
    value = torch_distillation_loss(
        s, torch.tensor(teacher, dtype=torch_dtype, device=device),
        torch.as_tensor(labels, dtype=torch.long, device=device),
        temperature=ours.temperature, alpha=ours.alpha, reduction=ours.reduction)
    value.backward()
    theirs = [value.detach().cpu().numpy(), s.grad.cpu().numpy()]
    what = (f"{_describe('DistillationLoss', options)}, teacher logits x{teacher_scale}: "
            "value and gradient")
    return _compare_items(what, [[our_value], our_grad], theirs, str(device), dtype,
                          labels=("value", "gradient"))


def distillation_group(dtype: str) -> tuple[str, list[Any]]:
    """The matrix's "distillation" group: every case of :data:`DISTILLATION_CASES`."""
    return "distillation", [lambda o=o, s=s: compare_distillation(o, teacher_scale=s, dtype=dtype)
                            for o, s in DISTILLATION_CASES]
