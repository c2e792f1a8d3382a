"""Model compression: magnitude pruning, sparse storage and uniform quantization.

* :mod:`~nnopt_lib.compress.pruning`: :func:`l1_unstructured` and :func:`ln_structured`
  return the masks of ``torch.nn.utils.prune`` (``L1Unstructured`` / ``LnStructured``);
  :class:`KeepPruned` keeps pruned weights at 0 while :func:`nnopt_lib.training.fit`
  fine-tunes; :func:`sparsity` counts the zeros.
* :mod:`~nnopt_lib.compress.sparse`: CSR storage and its matrix-vector product from scratch.
* :mod:`~nnopt_lib.compress.quantization`: :func:`fake_quantize_per_tensor_affine` and
  :func:`fake_quantize_per_channel_affine` equal to torch's (float32, halves to even);
  :func:`quantize` / :func:`dequantize`; :func:`choose_qparams` (affine or symmetric, torch's
  observer formulas) from a :func:`calibration_range` (min/max or percentile);
  :func:`fake_quantize_model` for post-training quantization of a whole network.

Lesson 19 teaches all of it; ``nnopt_lib.crosscheck.compress`` checks it against torch.
"""

from nnopt_lib.compress.pruning import (
    KeepPruned,
    l1_unstructured,
    ln_structured,
    n_to_prune,
    sparsity,
)
from nnopt_lib.compress.quantization import (
    calibration_range,
    choose_qparams,
    dequantize,
    fake_quantize_model,
    fake_quantize_per_channel_affine,
    fake_quantize_per_tensor_affine,
    quant_range,
    quantize,
)
from nnopt_lib.compress.sparse import CSR, csr_matvec, dense_to_csr

__all__ = [
    "CSR",
    "KeepPruned",
    "calibration_range",
    "choose_qparams",
    "csr_matvec",
    "dense_to_csr",
    "dequantize",
    "fake_quantize_model",
    "fake_quantize_per_channel_affine",
    "fake_quantize_per_tensor_affine",
    "l1_unstructured",
    "ln_structured",
    "n_to_prune",
    "quant_range",
    "quantize",
    "sparsity",
]
