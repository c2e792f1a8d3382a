r"""Weight penalties, the L1 proximal step and weight-decay parameter groups, in one place.

Penalties take ``params``, a list of arrays (``model.parameters()``, or a chosen few such as
the weights only) or a single array, and return a float; each ``..._grad`` returns one
gradient array per parameter, in the same order, so ``strength * grad`` can be added to the
loss gradient (:class:`nnopt_lib.callbacks.WeightPenalty` does exactly that inside
``training.fit``).

====================  =====================================  ==============================
function              value                                  gradient (per array)
====================  =====================================  ==============================
:func:`l1_penalty`    :math:`\sum |w|`                       :math:`\operatorname{sign}(w)`
:func:`l2_penalty`    :math:`\tfrac12 \sum w^2`              :math:`w`
:func:`norm_penalty`  :math:`\sum_{arrays} \lVert w \rVert`  :math:`w / \lVert w \rVert`
====================  =====================================  ==============================

Why the ½ in the L2 penalty: :math:`\tfrac{\lambda}{2}\sum w^2` has gradient
:math:`\lambda w`, so plain SGD on loss + penalty is exactly SGD with
``weight_decay=lambda``: :math:`w \leftarrow w - \eta(\nabla L + \lambda w) = (1 - \eta\lambda)
w - \eta \nabla L`, the weights "decay" by the factor :math:`1 - \eta\lambda` per step. With
an adaptive optimizer this equality breaks: Adam divides the penalty's gradient by its
running RMS too, so ``Adam(weight_decay=...)`` (the penalty) is not AdamW's decoupled decay
(Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization"; lesson 06).

:func:`norm_penalty` is the *unsquared* norm -- what ``torch.norm(w, p=2)`` computes and
what some tutorials add to the loss as their "L2 penalty". Its gradient ``w / ||w||`` has
length 1 whatever the size of ``w``: a constant pull, not a decay proportional to the
weights, and it is not ``weight_decay`` for any value.

:func:`soft_threshold` is the proximal step of the L1 penalty: subgradient steps with
``sign(w)`` make the weights oscillate around 0 and almost never reach it, while the proximal
step sets small weights to exactly zero -- that is where L1's sparsity comes from.

:func:`decay_groups` splits a model's parameters into optimizer parameter groups by name and
owning layer, so biases and normalisation parameters are not decayed, as practitioners do.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from nnopt_lib import checks, nn

__all__ = [
    "l1_penalty",
    "l1_penalty_grad",
    "l2_penalty",
    "l2_penalty_grad",
    "norm_penalty",
    "norm_penalty_grad",
    "soft_threshold",
    "decay_groups",
    "decay_flags",
    "NORMALIZATION_LAYERS",
    "NO_DECAY",
]


def _arrays(params: Any) -> list[np.ndarray]:
    """``params`` as a list of float arrays (a single array counts as a list of one)."""
    if isinstance(params, np.ndarray):
        params = [params]
    elif isinstance(params, str | bytes) or not isinstance(params, Iterable):
        raise TypeError(
            "params must be an array or a list of arrays (e.g. model.parameters()), got "
            f"{type(params).__name__}"
        )
    arrays = []
    for i, p in enumerate(params):
        array = np.asarray(p)
        if array.dtype.kind not in "fiu" or array.dtype == np.bool_:
            raise TypeError(f"params[{i}] must hold real numbers, got dtype {array.dtype}")
        arrays.append(array)
    return arrays


def l1_penalty(params: Any) -> float:
    r""":math:`\sum |w|` over every entry of every array in ``params`` (multiply by
    :math:`\lambda_1` yourself). Tibshirani 1996, "Regression Shrinkage and Selection via the
    Lasso"."""
    return float(sum(np.abs(w).sum() for w in _arrays(params)))


def l1_penalty_grad(params: Any) -> list[np.ndarray]:
    r"""``[sign(w) for w in params]``: a (sub)gradient of :func:`l1_penalty`.

    :math:`|w|` has no derivative at 0; ``sign(0) = 0`` is the subgradient torch's autograd
    uses too. The size of the step does not shrink as ``w`` approaches 0, so gradient steps
    jump across 0 instead of landing on it: use :func:`soft_threshold` for exact zeros.
    """
    return [np.sign(w) for w in _arrays(params)]


def l2_penalty(params: Any) -> float:
    r""":math:`\tfrac12 \sum w^2` over every entry of ``params`` (multiply by
    :math:`\lambda_2` yourself). With the ½ the gradient is ``w``, so
    :math:`\lambda \cdot` this penalty under plain SGD is ``SGD(weight_decay=lambda)``
    (see the module docstring; Krogh & Hertz 1992, "A Simple Weight Decay Can Improve
    Generalization")."""
    return float(sum(0.5 * np.vdot(w, w) for w in _arrays(params)))


def l2_penalty_grad(params: Any) -> list[np.ndarray]:
    """``[w for w in params]`` (copies): the gradient of :func:`l2_penalty`."""
    return [np.array(w, dtype=np.result_type(w, 1.0), copy=True) for w in _arrays(params)]


def norm_penalty(params: Any) -> float:
    r""":math:`\sum_{\text{arrays } w} \lVert w \rVert_2`: the Euclidean (Frobenius) norm of
    each array, summed over the arrays -- ``sum(torch.norm(w, p=2) for w in params)``, the
    unsquared norm some tutorials call the "L2 penalty". It is not :func:`l2_penalty`; see
    :func:`norm_penalty_grad`."""
    return float(sum(math.sqrt(float(np.vdot(w, w))) for w in _arrays(params)))


def norm_penalty_grad(params: Any) -> list[np.ndarray]:
    r"""``[w / ||w||_2 for w in params]``: the gradient of :func:`norm_penalty`.

    Each array's gradient is its unit direction, of norm 1 whether the weights are large or
    tiny -- unlike ``w`` (the L2 penalty's), which fades as the weights shrink. At ``w = 0``
    the norm has no gradient; 0 is returned there, as torch's autograd does.
    """
    grads = []
    for w in _arrays(params):
        w = np.asarray(w, dtype=np.result_type(w, 1.0))
        norm = math.sqrt(float(np.vdot(w, w)))
        grads.append(w / norm if norm > 0 else np.zeros_like(w))
    return grads


def soft_threshold(w: np.ndarray, threshold: float) -> np.ndarray:
    r"""The proximal step of the L1 penalty: :math:`\operatorname{sign}(w)\max(|w| - t, 0)`.

    .. math::
        \operatorname{prox}_{t\lVert\cdot\rVert_1}(v)
        = \arg\min_w \tfrac12 \lVert w - v \rVert^2 + t \lVert w \rVert_1
        = \operatorname{sign}(v) \max(|v| - t, 0)

    Entries with :math:`|w| \le t` become exactly ``0.0``; the others move ``t`` towards 0.
    Proximal gradient descent (ISTA; Daubechies, Defrise & De Mol 2004) on
    :math:`L(w) + \lambda \lVert w \rVert_1` alternates a gradient step on :math:`L` with this
    step: ``w = soft_threshold(w - lr * grad, lr * lam)``. torch's name for it is
    ``torch.nn.functional.softshrink(w, lambd=t)``.

    Returns a new array of ``w``'s float dtype; ``w`` is not changed. ``threshold`` must be
    a finite number >= 0 (``TypeError`` / ``ValueError`` otherwise).
    """
    threshold = checks.real("threshold", threshold, nonnegative=True)
    w = np.asarray(w)
    if w.dtype.kind not in "fiu" or w.dtype == np.bool_:
        raise TypeError(f"w must hold real numbers, got dtype {w.dtype}")
    w = w.astype(np.result_type(w, 1.0), copy=False)
    # np.where, not sign(w) * max(|w| - t, 0): that gives -0.0 for negative w; this +0.0
    return np.where(np.abs(w) > threshold, w - threshold * np.sign(w), 0.0).astype(w.dtype)


# ----------------------------------------------------------------------------- decay groups


#: The normalisation layer classes of :mod:`nnopt_lib.nn`: their scale and shift
#: (``weight`` and ``bias``) are not decayed by default. (Add a new normalisation layer here.)
NORMALIZATION_LAYERS: tuple[type[nn.Module], ...] = (nn.BatchNorm1d, nn.LayerNorm)

#: Default ``no_decay`` of :func:`decay_groups`: every parameter named ``bias`` and every
#: parameter of a normalisation layer.
NO_DECAY: tuple[str | type[nn.Module], ...] = ("bias", *NORMALIZATION_LAYERS)


def _owned_parameters(module: nn.Module, prefix: str = ""
                      ) -> Iterator[tuple[str, str, nn.Module, np.ndarray]]:
    """``(full name, own name, owning module, array)`` in ``model.named_parameters()`` order."""
    for name, array in module.named_parameters(recurse=False):
        yield prefix + name, name, module, array
    for child_name, child in module.named_children():
        yield from _owned_parameters(child, f"{prefix}{child_name}.")


def _check_no_decay(no_decay: Any) -> tuple[str | type, ...]:
    if isinstance(no_decay, str | type):
        no_decay = (no_decay,)
    if not isinstance(no_decay, Sequence):
        raise TypeError(
            "no_decay must be a sequence of parameter names and layer classes, got "
            f"{type(no_decay).__name__}"
        )
    for entry in no_decay:
        if not (isinstance(entry, str) or (isinstance(entry, type)
                                           and issubclass(entry, nn.Module))):
            raise TypeError(
                "no_decay entries must be parameter names ('bias', '0.weight') or nnopt_lib.nn "
                f"layer classes (nn.BatchNorm1d), got {entry!r}"
            )
    return tuple(no_decay)


def decay_flags(model: nn.Module, *, no_decay: Sequence[str | type] = NO_DECAY
                ) -> dict[str, bool]:
    """``{parameter name: True if it is decayed}`` in ``model.named_parameters()`` order.

    A parameter is NOT decayed when ``no_decay`` holds its own name (``"bias"``), its full
    name (``"3.weight"``) or the class of the layer that owns it (``nn.BatchNorm1d``:
    both its ``weight`` and its ``bias``). This is the rule :func:`decay_groups` applies.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nnopt_lib.nn Module, got {type(model).__name__}")
    no_decay = _check_no_decay(no_decay)
    names = {entry for entry in no_decay if isinstance(entry, str)}
    layers = tuple(entry for entry in no_decay if isinstance(entry, type))
    return {
        full: not (own in names or full in names or isinstance(owner, layers))
        for full, own, owner, _ in _owned_parameters(model)
    }


def decay_groups(model: nn.Module, *, weight_decay: float,
                 no_decay: Sequence[str | type] = NO_DECAY) -> list[dict[str, Any]]:
    """Optimizer parameter groups: ``weight_decay`` for the weights, 0 for the rest.

    ``no_decay`` (default :data:`NO_DECAY`: every ``bias`` and every parameter of a
    normalisation layer) names what is spared, by parameter name or owning layer class (the
    rule is :func:`decay_flags`). Why spare them: a bias or a normalisation scale/shift
    does not make the function more complex as it grows, and there are few of them, so
    decaying them only pulls the network away from a good fit (e.g. a BatchNorm scale
    decayed towards 0 switches its units off); the weight matrices are what weight decay is
    meant to keep small.

    Returns a list of ``{"params": [...], "weight_decay": ...}`` to pass to an optimizer,
    e.g. ``optim.AdamW(regularization.decay_groups(model, weight_decay=0.01), lr=1e-3)``
    (the groups take the optimizer's other defaults). The groups are consecutive runs of
    ``model.parameters()`` IN THE MODEL'S ORDER (for an MLP: weight, bias, weight, bias, ...
    one group each), not one "decay" and one "no decay" group as often written for torch:
    nnopt optimizers take the gradients as a list by position (``step(model.gradients())``,
    also inside ``training.fit``), where torch finds each ``.grad`` on its tensor, so the
    groups must list the parameters in the order of ``model.gradients()``. torch accepts the
    same groups. A model without parameters gives ``[]``.

    ``weight_decay`` must be a number >= 0 (torch's ``ValueError("Invalid weight_decay
    value: ...")`` otherwise).
    """
    if isinstance(weight_decay, bool) or not isinstance(weight_decay, int | float | np.integer
                                                        | np.floating):
        raise TypeError(f"weight_decay must be a real number, got {weight_decay!r}")
    if not 0.0 <= weight_decay < math.inf:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    flags = decay_flags(model, no_decay=no_decay)
    groups: list[dict[str, Any]] = []
    previous = None
    for (_, decayed), array in zip(flags.items(), model.parameters(), strict=True):
        if decayed is not previous:
            groups.append({"params": [], "weight_decay": float(weight_decay) if decayed else 0.0})
            previous = decayed
        groups[-1]["params"].append(array)
    return groups
