"""Clipping: ``nnopt_lib.clip`` against ``torch.nn.utils.clip_grad_norm_`` / ``_value_``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nnopt_lib import clip
from nnopt_lib.crosscheck.comparison import Comparison, _compare_items
from nnopt_lib.crosscheck.device import _resolve_dtype, _torch, best_device


def compare_clip(method: str = "norm", *, max_norm: float = 1.0,
                 norm_type: float | str = 2.0, clip_value: float = 0.5, scale: float = 3.0,
                 seed: int = 0, dtype: str = "float64",
                 shapes: Sequence[tuple[int, ...]] = ((4, 3), (3,), (2, 5)),
                 grads: Sequence[np.ndarray] | None = None) -> Comparison:
    """Compare ``clip.clip_grad_norm_`` / ``clip_grad_value_`` with ``torch.nn.utils``'s.

    Random gradients of the given ``shapes`` (standard normal times ``scale``; seeded), or
    copies of ``grads`` where given, are clipped by both. ``method="norm"`` uses ``max_norm``
    and ``norm_type`` (a number, or ``"inf"`` as torch accepts it) and also compares the
    returned total norm (the last item of ``per_step``, divided by ``max(1, ours)`` on both
    sides: compared relative to its size); ``method="value"`` clamps to
    ``[-clip_value, clip_value]``.
    """
    if method not in ("norm", "value"):
        raise ValueError(f"Invalid method: {method!r} (choose 'norm' or 'value')")
    torch = _torch()
    device = best_device()
    dtype, torch_dtype = _resolve_dtype(dtype, device)
    if grads is None:
        rng = np.random.default_rng(seed)
        # np.array: a rank-0 draw is a NumPy scalar, and clipping needs an array to write to
        grads = [np.array(scale * rng.standard_normal(shape)) for shape in shapes]
        what_grads = f"scale {scale}"
    else:
        grads = [np.array(g, dtype=np.float64) for g in grads]
        what_grads = f"{len(grads)} given gradients"

    ours = [g.copy() for g in grads]
    params = [torch.zeros(g.shape, dtype=torch_dtype, device=device, requires_grad=True)
              for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.tensor(g, dtype=torch_dtype, device=device)
    if method == "norm":
        our_total = clip.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
        their_total = float(torch.nn.utils.clip_grad_norm_(params, max_norm,
                                                            norm_type=norm_type))
        what = f"clip_grad_norm_(max_norm={max_norm}, norm_type={norm_type!r}), {what_grads}"
    else:
        clip.clip_grad_value_(ours, clip_value)
        torch.nn.utils.clip_grad_value_(params, clip_value)
        what = f"clip_grad_value_(clip_value={clip_value}), {what_grads}"
    theirs = [p.grad.cpu().numpy() for p in params]
    labels = [f"gradient {i}" for i in range(len(grads))]
    if method == "norm":
        # relative to its size: a norm with p < 1 sums thousands, and the tolerance scales
        # with the largest compared value, which must stay the gradients'
        size = max(1.0, abs(our_total)) if np.isfinite(our_total) else 1.0
        ours.append(our_total / size)
        theirs.append(their_total / size)
        labels.append(f"total norm / {size:.3g}")
    return _compare_items(what, ours, theirs, str(device), dtype, labels=labels)
