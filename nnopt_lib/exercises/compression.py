"""Exercises of notebook 19 (sparsity and quantization).

* ``prune_smallest(w, amount)``: the magnitude-pruning mask of ``w`` for a fraction
  ``amount`` in [0, 1]: prune ``k = round(amount * w.size)`` entries (Python's ``round``, as
  torch), those with the smallest ``|w|``; return a float array of ``w``'s shape with 0 at the
  pruned entries and 1 elsewhere. The cases have no tied magnitudes, and include
  ``amount = 0``, ``1`` and fractions where ``amount * size`` ends in .5 (2.5 rounds to 2).
* ``affine_qparams(lo, hi, bits)``: scale and zero point of ``bits``-bit affine (unsigned)
  quantization of the range [lo, hi]: widen the range to contain 0 (``lo = min(lo, 0)``,
  ``hi = max(hi, 0)``), ``scale = (hi - lo) / (2**bits - 1)``,
  ``zero_point = clip(-round(lo / scale), 0, 2**bits - 1)`` as a Python int. Return
  ``(scale, zero_point)``. Cases include all-positive and all-negative ranges.
* ``fake_quantize(x, scale, zero_point, quant_min, quant_max)``:
  ``(clip(round(x / scale) + zero_point, quant_min, quant_max) - zero_point) * scale`` with
  round HALF TO EVEN (``np.rint``); the cases contain exact ties ``(k + 1/2) * scale`` and
  values far outside the range, so rounding half up (``floor(v + 0.5)``) fails.
* ``ste_gradient(x, grad_out, scale, zero_point, quant_min, quant_max)``: the
  straight-through estimator of fake quantization (as torch's backward): the gradient passes
  unchanged where the unclamped integer ``round(x / scale) + zero_point`` lies in
  ``[quant_min, quant_max]``, and is 0 where the value was clamped.
* ``dense_to_csr_arrays(A)``: the CSR arrays ``(data, indices, indptr)`` of a 2-D array:
  the non-zeros row by row (columns increasing), their columns, and the ``m + 1`` row
  offsets. Cases include empty rows and an all-zero matrix.

Han, Mao & Dally, "Deep compression", ICLR 2016; Jacob et al., CVPR 2018; Bengio, Léonard &
Courville, "Estimating or propagating gradients through stochastic neurons", arXiv 2013.
"""

from __future__ import annotations

import numpy as np

from nnopt_lib.exercises.core import Exercise, register

# --------------------------------------------------------------------------- references


def _prune_smallest(w, amount):
    k = round(amount * w.size)  # Python's round: 2.5 -> 2, as torch.nn.utils.prune
    mask = np.ones(w.shape)
    mask.reshape(-1)[np.argsort(np.abs(w), axis=None)[:k]] = 0
    return mask


def _affine_qparams(lo, hi, bits):
    lo, hi = min(lo, 0.0), max(hi, 0.0)  # 0.0 must be on the grid
    qmax = 2**bits - 1
    scale = (hi - lo) / qmax
    return scale, int(np.clip(-np.rint(lo / scale), 0, qmax))


def _fake_quantize(x, scale, zero_point, quant_min, quant_max):
    q = np.clip(np.rint(x / scale) + zero_point, quant_min, quant_max)
    return (q - zero_point) * scale


def _ste_gradient(x, grad_out, scale, zero_point, quant_min, quant_max):
    q = np.rint(x / scale) + zero_point  # before clamping
    return grad_out * ((q >= quant_min) & (q <= quant_max))


def _dense_to_csr_arrays(A):
    rows, cols = np.nonzero(A)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=A.shape[0]))])
    return A[rows, cols], cols, indptr


# --------------------------------------------------------------------------- cases


def _prune_cases(rng):
    cases = []
    for shape, amount in [((10,), 0.25), ((4, 5), 0.5), ((3, 7), 0.0), ((6, 6), 1.0),
                          ((2, 5), 0.35), ((8, 3), 0.9), ((5, 4, 3), 0.3), ((12,), 0.125)]:
        # distinct magnitudes: a permutation of 1..n, random signs, times a scale
        n = int(np.prod(shape))
        w = rng.permutation(np.arange(1, n + 1)).reshape(shape) * rng.choice([-1, 1], shape)
        cases.append((w * float(rng.uniform(0.01, 2.0)), amount))
    return cases


def _qparams_cases(rng):
    cases = [(-1.0, 1.0, 8), (0.5, 3.0, 8), (-4.0, -0.5, 4), (-0.2, 5.0, 2), (-3.0, 0.1, 4)]
    for bits in (8, 4, 2, 3, 6):
        lo = float(rng.uniform(-5, 1))
        cases.append((lo, lo + float(rng.uniform(0.1, 6)), bits))
    return cases


def _fake_quantize_cases(rng):
    cases = []
    for bits, symmetric in [(8, False), (8, True), (4, False), (4, True), (2, False), (2, True),
                            (3, False)]:
        qmin, qmax = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if symmetric else (0, 2**bits - 1)
        scale = float(rng.choice([0.5, 0.25, 0.125, 1.0]))  # exact ties below
        zp = 0 if symmetric else int(rng.integers(qmin, qmax + 1))
        k = rng.integers(qmin - zp - 3, qmax - zp + 3, size=30)
        x = np.concatenate([(k + 0.5) * scale, (k + rng.uniform(-0.5, 0.5, 30)) * scale,
                            [-1e3, 1e3]])
        cases.append((x, scale, zp, qmin, qmax))
    return cases


def _ste_cases(rng):
    cases = []
    for qmin, qmax, zp in [(0, 255, 128), (-8, 7, 0), (0, 15, 3), (-2, 1, 0), (0, 3, 1)]:
        scale = float(rng.uniform(0.05, 0.5))
        x = rng.uniform(qmin - zp - 4, qmax - zp + 4, size=40) * scale
        cases.append((x, rng.normal(size=40), scale, zp, qmin, qmax))
    return cases


def _csr_cases(rng):
    cases = []
    for shape, density in [((4, 5), 0.4), ((6, 3), 0.2), ((1, 8), 0.5), ((5, 5), 1.0),
                           ((3, 4), 0.0), ((7, 10), 0.1)]:
        A = rng.normal(size=shape) * (rng.random(shape) < density)
        cases.append((A,))
    A = rng.normal(size=(5, 4))
    A[[1, 3]] = 0  # empty rows in the middle
    cases.append((A,))
    return cases


# --------------------------------------------------------------------------- registration

register(Exercise(
    name="prune_smallest",
    reference=_prune_smallest,
    cases=_prune_cases,
    hint="k = round(amount * w.size) (Python's round). np.argsort(np.abs(w), axis=None) lists "
         "the flat indices from the smallest magnitude up; set the first k of them to 0 in a "
         "mask of ones (mask.reshape(-1)[...] = 0 writes through to the mask).",
))

register(Exercise(
    name="affine_qparams",
    reference=_affine_qparams,
    cases=_qparams_cases,
    hint="First lo = min(lo, 0) and hi = max(hi, 0), so that 0.0 is representable. The 2**bits "
         "levels span [lo, hi]: scale = (hi - lo) / (2**bits - 1). The integer that stands "
         "for lo is 0, so zero_point = -round(lo / scale), clipped to [0, 2**bits - 1] and "
         "returned as an int.",
))

register(Exercise(
    name="fake_quantize",
    reference=_fake_quantize,
    cases=_fake_quantize_cases,
    hint="Divide by the scale, round with np.rint (halves go to the even integer: 2.5 -> 2, "
         "3.5 -> 4), add the zero point, np.clip to [quant_min, quant_max], subtract the zero "
         "point again and multiply by the scale.",
))

register(Exercise(
    name="ste_gradient",
    reference=_ste_gradient,
    cases=_ste_cases,
    hint="Rounding has derivative 0 almost everywhere; the straight-through estimator treats "
         "it as the identity. Clamping is a real flat region: compute the unclamped integer "
         "np.rint(x / scale) + zero_point and let grad_out through only where it lies in "
         "[quant_min, quant_max].",
))

register(Exercise(
    name="dense_to_csr_arrays",
    reference=_dense_to_csr_arrays,
    cases=_csr_cases,
    hint="np.nonzero(A) returns (rows, cols) in row-major order; data = A[rows, cols] and "
         "indices = cols. indptr[i] is the number of non-zeros in the rows before i: a 0 "
         "followed by the cumulative sum of the non-zeros per row (np.bincount(rows, "
         "minlength=m)).",
))
