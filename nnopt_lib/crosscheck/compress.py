"""Compression: ``nnopt_lib.compress`` against ``torch.nn.utils.prune`` and torch's fake
quantization and observers.

* :func:`compare_pruning`: the mask of :func:`~nnopt_lib.compress.l1_unstructured` /
  :func:`~nnopt_lib.compress.ln_structured` against ``prune.L1Unstructured`` /
  ``prune.LnStructured``'s ``compute_mask``, exactly. With ``ties=True`` the weights are
  drawn from a few values, so many magnitudes tie at the threshold; torch's ``topk`` breaks
  ties in an unspecified order, so there the comparison is of what the mask must agree on:
  the number of pruned entries (slices) and the sorted magnitudes (norms) that were pruned.
* :func:`compare_fake_quantize`: :func:`~nnopt_lib.compress.fake_quantize_per_tensor_affine`
  / ``..._per_channel_affine`` against torch's, float32, EXACTLY (tolerance 0): the inputs
  include exact ties ``(k + 1/2) * scale`` (halves go to even) and values far outside the
  range (clamped).
* :func:`quantize_dynamic_twin`: the torch copy of an nnopt network and its
  ``torch.ao.quantization.quantize_dynamic`` version (int8 weights), for size and latency;
  :func:`serialized_bytes` measures a module's size, :func:`sparse_csr` makes a torch CSR
  tensor.
* :func:`compare_qparams`: :func:`~nnopt_lib.compress.choose_qparams` against
  ``MinMaxObserver`` / ``PerChannelMinMaxObserver.calculate_qparams`` at 8, 4 and 2 bits,
  affine and symmetric, exactly.

:data:`PRUNING_CASES`, :data:`QUANTIZATION_CASES` and :data:`QPARAMS_CASES` are the matrix's
group "compression" (:func:`compression_group`) and what ``tests/test_compress.py`` runs.
"""

from __future__ import annotations

import importlib
import io
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from nnopt_lib import compress
from nnopt_lib.crosscheck.comparison import Comparison, _compare_items
from nnopt_lib.crosscheck.device import _resolve_dtype, _torch, best_device

#: ``(method, options)`` for :func:`compare_pruning`: fractions (one that rounds half to
#: even) and counts, 0 and everything, structured along each axis with several norms, and
#: tied weights.
PRUNING_CASES: list[tuple[str, dict[str, Any]]] = [
    *[("l1_unstructured", {"amount": a}) for a in (0.0, 0.3, 0.5, 0.9, 1.0, 0, 7, 60)],
    ("l1_unstructured", {"amount": 0.25, "shape": (2, 5)}),  # 2.5 entries: rounds to 2
    ("l1_unstructured", {"amount": 0.5, "shape": (4, 3, 5)}),
    *[("ln_structured", {"amount": a, "n": n, "dim": d})
      for a, n, d in ((0.5, 2, 0), (0.25, 1, 1), (3, math.inf, 0), (2, -math.inf, -1),
                      (0.0, 2, 0), (1.0, 2, 0), (0.4, "fro", 0), (2, 3, 1), (1, 0.5, 0))],
    ("ln_structured", {"amount": 2, "n": 1, "dim": 1, "shape": (3, 4, 5)}),
    ("l1_unstructured", {"amount": 0.4, "ties": True}),
    ("l1_unstructured", {"amount": 13, "ties": True}),
    ("ln_structured", {"amount": 3, "n": 1, "dim": 0, "ties": True}),
]

#: ``(kind, options)`` for :func:`compare_fake_quantize`.
QUANTIZATION_CASES: list[tuple[str, dict[str, Any]]] = [
    *[(kind, {"bits": b, "symmetric": s}) for kind in ("per_tensor", "per_channel")
      for b in (8, 4, 2) for s in (False, True)],
    ("per_tensor", {"bits": 8, "scale": 0.1, "zero_point": 3}),
    ("per_tensor", {"bits": 4, "scale": 0.5, "zero_point": 0, "symmetric": True}),
    ("per_channel", {"bits": 8, "shape": (4, 3, 5), "axis": 1}),
    ("per_channel", {"bits": 4, "shape": (6, 10), "axis": 1, "symmetric": True}),
]

#: ``(bits, symmetric, per_channel)`` for :func:`compare_qparams`.
QPARAMS_CASES: list[tuple[int, bool, bool]] = [
    (b, s, c) for b in (8, 4, 2) for s in (False, True) for c in (False, True)]


def _exact(what: str, ours: list[Any], theirs: list[Any], device: str, dtype: str,
           labels: list[str]) -> Comparison:
    """An item-by-item comparison that passes only if every value is equal."""
    result = _compare_items(what, ours, theirs, device, dtype, labels=labels)
    return Comparison(what=result.what, max_abs_diff=result.max_abs_diff,
                      per_step=result.per_step, device=result.device, dtype=result.dtype,
                      tolerance=0.0, ours=result.ours, theirs=result.theirs, unit=result.unit,
                      labels=result.labels)


def compare_pruning(method: str = "l1_unstructured", *, amount: float | int = 0.5,
                    n: float | str = 2, dim: int = -1, shape: tuple[int, ...] = (8, 10),
                    ties: bool = False, seed: int = 0, dtype: str = "float32") -> Comparison:
    """Compare a pruning mask with torch's ``compute_mask`` (see the module docstring)."""
    if method not in ("l1_unstructured", "ln_structured"):
        raise ValueError(f"Invalid method: {method!r} (choose 'l1_unstructured' or "
                         "'ln_structured')")
    torch = _torch()
    prune = importlib.import_module("torch.nn.utils.prune")  # not loaded by `import torch`
    device = best_device()
    dtype, torch_dtype = _resolve_dtype(dtype, device)
    rng = np.random.default_rng(seed)
    if ties:  # a handful of values, both signs: most magnitudes are shared
        weights = rng.choice([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0], size=shape)
        if method == "ln_structured":  # rows repeated: equal norms
            weights = np.repeat(weights[:2], -(-shape[0] // 2), axis=0)[:shape[0]]
    else:
        weights = rng.standard_normal(shape)
    weights = weights.astype(dtype)
    t = torch.tensor(weights, dtype=torch_dtype, device=device)
    if method == "l1_unstructured":
        ours = compress.l1_unstructured(weights, amount)
        theirs = prune.L1Unstructured(amount).compute_mask(t, torch.ones_like(t)).cpu().numpy()
        what = f"l1_unstructured(amount={amount}), shape {shape}"
    else:
        ours = compress.ln_structured(weights, amount, n, dim)
        theirs = prune.LnStructured(amount, n, dim).compute_mask(
            t, torch.ones_like(t)).cpu().numpy()
        what = f"ln_structured(amount={amount}, n={n}, dim={dim}), shape {shape}"
    if not ties:
        return _exact(what, [ours], [theirs], str(device), dtype, ["mask"])

    def pruned(mask: np.ndarray) -> np.ndarray:
        if method == "l1_unstructured":
            return np.sort(np.abs(weights[mask == 0]))
        slices = np.moveaxis(mask, dim, 0).reshape(mask.shape[dim], -1)
        norms = compress.pruning._slice_norms(weights, n, dim)
        return np.sort(norms[slices[:, 0] == 0])

    return _exact(f"{what}, tied weights", [ours.size - ours.sum(), pruned(ours)],
                  [theirs.size - theirs.sum(), pruned(theirs)], str(device), dtype,
                  ["number pruned", "pruned magnitudes (sorted)"])


def _quantization_input(rng: np.random.Generator, shape: tuple[int, ...], scale: np.ndarray,
                        zero_point: np.ndarray, qmin: int, qmax: int) -> np.ndarray:
    """Random values spread over the grid and beyond, with exact ties ``(k + 1/2) * s``."""
    k = rng.integers(qmin - zero_point - 3, qmax - zero_point + 3, size=shape)
    kind = rng.integers(0, 3, size=shape)  # 0: random, 1: tie at a half, 2: far outside
    x = (k + rng.uniform(-0.5, 0.5, size=shape)) * scale
    x = np.where(kind == 1, (k + 0.5) * scale, x)
    x = np.where(kind == 2, rng.choice([-1e4, 1e4], size=shape) * scale, x)
    return x.astype(np.float32)


def compare_fake_quantize(kind: str = "per_tensor", *, bits: int = 8, symmetric: bool = False,
                          shape: tuple[int, ...] = (6, 50), axis: int = 0,
                          scale: float | None = None, zero_point: int | None = None,
                          seed: int = 0) -> Comparison:
    """Compare fake quantization with torch's, float32, exactly (see the module docstring).

    The scale and zero point are drawn at random (per channel: one pair per slice along
    ``axis``) for a ``bits``-bit range (signed if ``symmetric``, with zero point 0), unless
    given; scales are powers of two times 1, 1.25 or 1.5 so that the ties are exact.
    """
    if kind not in ("per_tensor", "per_channel"):
        raise ValueError(f"Invalid kind: {kind!r} (choose 'per_tensor' or 'per_channel')")
    torch = _torch()
    device = best_device()
    rng = np.random.default_rng(seed)
    qmin, qmax = compress.quant_range(bits, symmetric=symmetric)
    channels = shape[axis] if kind == "per_channel" else 1

    def draw_scale() -> np.ndarray:
        return (rng.choice([1.0, 1.25, 1.5], size=channels)
                * 2.0 ** rng.integers(-8, 2, size=channels)).astype(np.float32)

    scales = np.full(channels, scale, np.float32) if scale is not None else draw_scale()
    if zero_point is not None:
        zps = np.full(channels, zero_point, np.int64)
    elif symmetric:
        zps = np.zeros(channels, np.int64)
    else:
        zps = rng.integers(qmin, qmax + 1, size=channels)
    bshape = [1] * len(shape)
    if kind == "per_channel":
        bshape[axis] = -1
    x = _quantization_input(rng, shape, scales.reshape(bshape), zps.reshape(bshape), qmin, qmax)
    t = torch.tensor(x, device=device)
    if kind == "per_tensor":
        ours = compress.fake_quantize_per_tensor_affine(x, float(scales[0]), int(zps[0]),
                                                        qmin, qmax)
        theirs = torch.fake_quantize_per_tensor_affine(t, float(scales[0]), int(zps[0]),
                                                       qmin, qmax)
        what = f"fake_quantize_per_tensor_affine({bits} bits, [{qmin}, {qmax}])"
    else:
        ours = compress.fake_quantize_per_channel_affine(x, scales, zps, axis, qmin, qmax)
        theirs = torch.fake_quantize_per_channel_affine(
            t, torch.tensor(scales, device=device),
            torch.tensor(zps, dtype=torch.int32, device=device), axis, qmin, qmax)
        what = f"fake_quantize_per_channel_affine({bits} bits, [{qmin}, {qmax}], axis={axis})"
    return _exact(f"{what}, shape {shape}", [ours], [theirs.cpu().numpy()], str(device),
                  "float32", ["output"])


def compare_qparams(bits: int = 8, symmetric: bool = False, per_channel: bool = False, *,
                    seed: int = 0) -> Comparison:
    """Compare :func:`~nnopt_lib.compress.choose_qparams` on the min/max of a random array
    with torch's observer at the same range: scale and zero point, exactly."""
    torch = _torch()
    observers = torch.ao.quantization
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((5, 40)) * rng.uniform(0.1, 3.0, size=(5, 1))
         + rng.uniform(-1.0, 1.0, size=(5, 1))).astype(np.float32)
    qmin, qmax = compress.quant_range(bits, symmetric=symmetric)
    qdtype = torch.qint8 if symmetric else torch.quint8
    if per_channel:
        qscheme = torch.per_channel_symmetric if symmetric else torch.per_channel_affine
        observer = observers.PerChannelMinMaxObserver(ch_axis=0, dtype=qdtype, qscheme=qscheme,
                                                      quant_min=qmin, quant_max=qmax)
    else:
        qscheme = torch.per_tensor_symmetric if symmetric else torch.per_tensor_affine
        observer = observers.MinMaxObserver(dtype=qdtype, qscheme=qscheme, quant_min=qmin,
                                            quant_max=qmax)
    observer(torch.tensor(x))
    their_scale, their_zp = observer.calculate_qparams()
    lo, hi = compress.calibration_range(x, axis=0 if per_channel else None)
    scale, zp, _, _ = compress.choose_qparams(lo, hi, bits=bits, symmetric=symmetric)
    what = (f"choose_qparams({bits} bits, {'symmetric' if symmetric else 'affine'}, "
            f"{'per channel' if per_channel else 'per tensor'}) vs {type(observer).__name__}")
    return _exact(what, [scale, zp], [their_scale.numpy(), their_zp.numpy()], "cpu",
                  "float32", ["scale", "zero_point"])


def compression_group(dtype: str) -> tuple[str, list[Callable[[], Comparison]]]:
    """The matrix's group "compression": every pruning, fake-quantization and qparams case.
    Pruning runs in ``dtype``; quantization is float32 by definition."""
    return "compression", [
        *[lambda m=m, o=o: compare_pruning(m, **o, dtype=dtype) for m, o in PRUNING_CASES],
        *[lambda k=k, o=o: compare_fake_quantize(k, **o) for k, o in QUANTIZATION_CASES],
        *[lambda c=c: compare_qparams(*c) for c in QPARAMS_CASES],
    ]


def sparse_csr(array: np.ndarray) -> Any:
    """``torch.tensor(array).to_sparse_csr()`` (float32 values, int64 indices), without the
    warning torch prints because its sparse CSR layout is still marked beta."""
    torch = _torch()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Ss]parse CSR tensor support is in beta")
        return torch.tensor(np.asarray(array, dtype=np.float32)).to_sparse_csr()


def quantize_dynamic_twin(model: Any) -> tuple[Any, Any]:
    """The float32 torch twin of an :mod:`nnopt_lib.nn` model and its
    ``torch.ao.quantization.quantize_dynamic`` copy (every ``Linear`` with int8 weights:
    per-tensor symmetric, [-128, 127], the min/max of each weight; activations quantized on
    the fly to 8 bits per batch; biases float32).

    Torch 2.13 warns that eager-mode quantization is deprecated in favour of the separate
    ``torchao`` package (not a course dependency); those warnings are silenced here, since
    the API is still what ships with torch and what the lesson compares with.
    """
    torch = _torch()
    from nnopt_lib.crosscheck.layers import torch_twin  # the nnopt -> torch mapping

    float_twin = torch_twin(model, dtype="float32").eval()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=UserWarning, message=".*deprecated")
        warnings.filterwarnings("ignore", category=FutureWarning)
        quantized = torch.ao.quantization.quantize_dynamic(
            float_twin, {torch.nn.Linear}, dtype=torch.qint8)
    return float_twin, quantized


def serialized_bytes(module: Any) -> int:
    """Bytes of ``torch.save(module.state_dict())``: a model's size on disk."""
    torch = _torch()
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    return buffer.getbuffer().nbytes
