"""Compressed sparse row (CSR) storage from scratch: what a pruned weight matrix costs.

A matrix ``A`` of shape ``(m, n)`` with ``nnz`` non-zeros is stored as three arrays:
``data`` (the non-zero values, row by row), ``indices`` (the column of each value) and
``indptr`` (``m + 1`` offsets: row ``i`` is ``data[indptr[i]:indptr[i+1]]``). The layout of
``scipy.sparse.csr_matrix`` and ``torch.sparse_csr_tensor``. Memory:
``nnz * (value bytes + index bytes) + (m + 1) * index bytes``, so with float32 values and
int64 indices (torch's default) CSR is smaller than the dense ``m * n * 4`` bytes only when
fewer than about a third of the entries are non-zero; with int32 indices, below one half.

``csr_matvec`` computes ``y = A x`` with one gather and one scatter-add; it does
``2 * nnz`` floating-point operations against the dense ``2 * m * n``, but each touches an
index as well as a value, in an irregular order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CSR", "csr_matvec", "dense_to_csr"]


@dataclass(frozen=True, eq=False)
class CSR:
    """A matrix in compressed sparse row form (see the module docstring)."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: tuple[int, int]

    @property
    def nnz(self) -> int:
        """The number of stored (non-zero) values."""
        return int(self.data.size)

    @property
    def nbytes(self) -> int:
        """Bytes of the three arrays together."""
        return int(self.data.nbytes + self.indices.nbytes + self.indptr.nbytes)

    def to_dense(self) -> np.ndarray:
        """The dense matrix."""
        dense = np.zeros(self.shape, dtype=self.data.dtype)
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))
        dense[rows, self.indices] = self.data
        return dense


def dense_to_csr(matrix: np.ndarray, *, index_dtype: type = np.int64) -> CSR:
    """Store the non-zeros of a 2-D array in CSR form (``index_dtype``: int64 as torch, or
    int32 as scipy for small matrices)."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2:
        raise ValueError(f"dense_to_csr needs a 2-D array, got shape {matrix.shape}")
    rows, cols = np.nonzero(matrix)  # row-major order: row by row, columns increasing
    indptr = np.zeros(matrix.shape[0] + 1, dtype=index_dtype)
    np.cumsum(np.bincount(rows, minlength=matrix.shape[0]), out=indptr[1:])
    return CSR(matrix[rows, cols], cols.astype(index_dtype), indptr, matrix.shape)


def csr_matvec(csr: CSR, x: np.ndarray) -> np.ndarray:
    """``y = A x`` for ``A`` in CSR form: ``y_i = sum_k data[k] * x[indices[k]]`` over row
    i's entries (a gather of x, then a sum per row with ``np.add.reduceat``)."""
    x = np.asarray(x)
    if x.shape != (csr.shape[1],):
        raise ValueError(f"x must have shape ({csr.shape[1]},), got {x.shape}")
    y = np.zeros(csr.shape[0], dtype=np.result_type(csr.data, x))
    products = csr.data * x[csr.indices]
    filled = np.flatnonzero(np.diff(csr.indptr))  # reduceat misreads empty rows
    if filled.size:
        y[filled] = np.add.reduceat(products, csr.indptr[filled])
    return y
