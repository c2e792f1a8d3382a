"""Magnitude pruning: the masks of ``torch.nn.utils.prune``, and keeping them during training.

A mask has the shape of the weight array, 1 where a weight is kept and 0 where it is pruned;
the pruned network uses ``weight * mask``. How many entries to prune, ``amount``, is read as
in torch: a float in [0, 1] is a fraction, ``round(amount * size)`` entries with Python's
``round`` (halves to even, so 25 % of 10 entries is 2), and an int is a count.

* :func:`l1_unstructured` prunes the ``k`` individual weights of smallest ``|w|`` (Han et al.
  2015): the mask of ``prune.L1Unstructured(amount).compute_mask``.
* :func:`ln_structured` prunes whole slices along ``dim`` (``dim=0`` of a Linear weight: the
  output units, i.e. rows) with the smallest L_n norm ``||W[i]||_n`` over the other axes (Li
  et al. 2017): the mask of ``prune.LnStructured(amount, n, dim).compute_mask``.

Ties. Torch picks the entries with ``torch.topk``, whose order among equal values is not
specified (on the CPU it comes from a partial sort and looks arbitrary; on a GPU it differs
again). Here, among equal magnitudes (or norms), the entry with the LOWER index is pruned
first (a stable sort). The masks are therefore equal to torch's whenever the magnitude at
the threshold is unique; with ties they prune the same number of entries and the same
multiset of magnitudes, and differ only in which of the tied entries go
(``tests/test_compress.py`` and the cross-check group "compression" test both cases).

Errors, as torch raises them: ``TypeError`` for an ``amount`` that is not a real number (or
is a bool), ``ValueError`` for a negative int, a float outside [0, 1], an int larger than
the number of entries (or slices), and for structured pruning of an array with fewer than
two dimensions.

:class:`KeepPruned` is the :func:`nnopt_lib.training.fit` callback that fine-tunes a pruned
network: it zeroes the gradients of pruned weights and re-applies the masks after every
update, so that pruned weights stay exactly 0 whatever the optimizer does.

Han, Pool, Tran & Dally, "Learning both weights and connections for efficient neural
networks", NeurIPS 2015; Li, Kadav, Durdanovic, Samet & Graf, "Pruning filters for efficient
ConvNets", ICLR 2017.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np

from nnopt_lib.callbacks import Callback, TrainingState

__all__ = ["KeepPruned", "l1_unstructured", "ln_structured", "n_to_prune", "sparsity"]


def _check_amount(amount: object) -> None:
    """torch's ``_validate_pruning_amount_init``, plus bools (torch fails on them in topk)."""
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount!r}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
            not isinstance(amount, numbers.Integral) and not 0.0 <= float(amount) <= 1.0):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a "
                         "non-negative integer")


def n_to_prune(amount: float | int, size: int) -> int:
    """How many of ``size`` entries ``amount`` prunes: ``round(amount * size)`` for a float
    (Python's round: halves go to the even integer), ``amount`` itself for an int.

    Raises like torch: ``TypeError`` / ``ValueError`` for a bad amount, ``ValueError`` for an
    int larger than ``size``.
    """
    _check_amount(amount)
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(f"amount={amount} should be smaller than the number of parameters "
                             f"to prune={size}")
        return int(amount)
    return round(float(amount) * size)


def l1_unstructured(array: np.ndarray, amount: float | int) -> np.ndarray:
    """The mask that prunes the ``amount`` entries of ``array`` with the smallest ``|w|``.

    Returns an array of ``array``'s shape and dtype with 0 at the pruned entries and 1
    elsewhere (torch's ``L1Unstructured(amount).compute_mask(t, ones)``). Among equal
    magnitudes the lower flat index is pruned first (see the module docstring on ties).
    """
    array = np.asarray(array)
    k = n_to_prune(amount, array.size)
    mask = np.ones(array.shape, dtype=array.dtype if array.dtype.kind == "f" else np.float64)
    if k:
        order = np.argsort(np.abs(array).ravel(), kind="stable")  # NaN sorts last, as in topk
        mask.reshape(-1)[order[:k]] = 0
    return mask


def _slice_norms(array: np.ndarray, n: float | str, dim: int) -> np.ndarray:
    """``torch.norm(t, p=n, dim=<every axis but dim>)``: one L_n norm per slice along dim."""
    rows = np.abs(np.moveaxis(array, dim, 0).reshape(array.shape[dim], -1))
    if n == "fro":
        n = 2
    if not isinstance(n, numbers.Real) or isinstance(n, bool):
        raise ValueError(f"Invalid norm n={n!r}: a number, inf, -inf or 'fro'")
    if n == np.inf:
        return rows.max(axis=1)
    if n == -np.inf:
        return rows.min(axis=1)
    if n == 0:
        return np.count_nonzero(rows, axis=1).astype(rows.dtype)
    return np.sum(rows**n, axis=1) ** (1.0 / n)


def ln_structured(array: np.ndarray, amount: float | int, n: float | str,
                  dim: int = -1) -> np.ndarray:
    """The mask that prunes the ``amount`` slices along ``dim`` with the smallest L_n norm.

    ``n`` is the norm's order (torch's ``p`` of ``torch.norm``: 1, 2, any number, ``inf``,
    ``-inf``, 0 counts non-zeros, ``"fro"`` is 2). ``amount`` counts slices (``dim=0`` of a
    Linear weight of shape ``(out, in)``: output units). Returns a 0/1 array of ``array``'s
    shape and dtype, every entry of a pruned slice 0 (torch's
    ``LnStructured(amount, n, dim).compute_mask(t, ones)``); among equal norms the lower
    index is pruned first.
    """
    array = np.asarray(array)
    if array.ndim < 2:
        raise ValueError("Structured pruning can only be applied to multidimensional tensors. "
                         f"Found tensor of shape {array.shape} with {array.ndim} dims")
    if not -array.ndim <= dim < array.ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-array.ndim}, {array.ndim - 1}], but got {dim})")
    k = n_to_prune(amount, array.shape[dim])
    mask = np.ones(array.shape, dtype=array.dtype if array.dtype.kind == "f" else np.float64)
    if k:
        pruned = np.argsort(_slice_norms(array, n, dim), kind="stable")[:k]
        index = [slice(None)] * array.ndim
        index[dim] = pruned
        mask[tuple(index)] = 0
    return mask


def sparsity(arrays: Mapping[str, np.ndarray] | list[np.ndarray]) -> float:
    """The fraction of exact zeros over all the given arrays (a state dict, or a list)."""
    values = list(arrays.values()) if isinstance(arrays, Mapping) else list(arrays)
    total = sum(np.size(a) for a in values)
    return sum(np.size(a) - np.count_nonzero(a) for a in values) / total if total else 0.0


class KeepPruned(Callback):
    """Fine-tune a pruned network: pruned weights get zero gradient and stay exactly 0.

    ``masks`` maps a parameter name of ``model.named_parameters()`` (``"0.weight"``) to its
    0/1 mask. In ``on_train_begin`` the masks are applied to the weights; after each backward
    pass the gradients of pruned entries are zeroed (so momentum and Adam's moments never
    see them); after each update the masks are applied again (a decoupled weight decay, or
    any other update that is not driven by the gradient, cannot revive a pruned weight).
    """

    def __init__(self, masks: Mapping[str, np.ndarray]):
        self.masks = dict(masks)

    def _pairs(self, state: TrainingState):
        params = dict(state.model.named_parameters())
        unknown = set(self.masks) - set(params)
        if unknown:
            raise KeyError(f"KeepPruned: no parameter named {sorted(unknown)} in the model")
        return [(i, name, p) for i, (name, p) in enumerate(state.model.named_parameters())
                if name in self.masks]

    def on_train_begin(self, state: TrainingState) -> None:
        for _, name, param in self._pairs(state):
            param *= self.masks[name]

    def on_after_backward(self, state: TrainingState) -> None:
        for i, name, _ in self._pairs(state):
            state.grads[i] = state.grads[i] * self.masks[name]

    def on_step_end(self, state: TrainingState) -> None:
        for _, name, param in self._pairs(state):
            param *= self.masks[name]
