r"""Exercise of notebook 01, section 5 (backpropagation).

* ``two_layer_gradients(X, labels, W1, b1, W2, b2)``: the gradients
  ``(dW1, db1, dW2, db2)`` of the mean cross-entropy of the network
  ``Linear(W1, b1) -> ReLU -> Linear(W2, b2)``, weights in torch's layout (``W1`` is
  ``(h, d)``, ``W2`` is ``(k, h)``). The backward pass, with ``Z1 = X W1ᵀ + b1``,
  ``A1 = ReLU(Z1)``, ``Z2 = A1 W2ᵀ + b2`` and ``P = softmax(Z2)``::

      dZ2 = (P − onehot(labels)) / n          (n, k)
      dW2 = dZ2ᵀ A1,   db2 = Σ_rows dZ2       (k, h), (k,)
      dZ1 = (dZ2 W2) ⊙ [Z1 > 0]               (n, h)
      dW1 = dZ1ᵀ X,    db1 = Σ_rows dZ1       (h, d), (h,)

  Rumelhart, Hinton & Williams (1986), "Learning representations by back-propagating
  errors". ReLU's derivative at exactly 0 is taken as 0, as in torch.
"""

from __future__ import annotations

import numpy as np

from nnopt_lib.exercises.core import Exercise, register


def _two_layer_gradients(X, labels, W1, b1, W2, b2):
    Z1 = X @ W1.T + b1
    A1 = np.maximum(Z1, 0.0)
    Z2 = A1 @ W2.T + b2
    # stable softmax: subtract each row's maximum (logits in the hundreds overflow otherwise)
    E = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    dZ2 = E / E.sum(axis=1, keepdims=True)
    dZ2[np.arange(len(labels)), labels] -= 1.0
    dZ2 /= len(labels)
    dZ1 = (dZ2 @ W2) * (Z1 > 0)
    return dZ1.T @ X, dZ1.sum(axis=0), dZ2.T @ A1, dZ2.sum(axis=0)


def _cases(rng):
    cases = []
    for n, d, h, k in [(1, 1, 1, 2), (5, 3, 4, 2), (8, 4, 6, 3), (16, 10, 8, 10), (3, 2, 7, 4)]:
        for scale in (1.0, 30.0):  # 30: logits in the hundreds, the naive softmax overflows
            cases.append((rng.normal(size=(n, d)), rng.integers(0, k, size=n),
                          scale * rng.normal(size=(h, d)), rng.normal(size=h),
                          scale * rng.normal(size=(k, h)), rng.normal(size=k)))
    return cases


register(Exercise(
    name="two_layer_gradients",
    reference=_two_layer_gradients,
    cases=_cases,
    hint="Forward: Z1 = X @ W1.T + b1, A1 = max(Z1, 0), Z2 = A1 @ W2.T + b2. Backward from the "
         "top: dZ2 = (softmax(Z2) − one-hot) / n with a stable softmax; dW2 = dZ2.T @ A1 and "
         "db2 = dZ2.sum(0); dZ1 = (dZ2 @ W2) * (Z1 > 0); dW1 = dZ1.T @ X and db1 = dZ1.sum(0). "
         "Each gradient has the shape of its parameter; return them in the order "
         "(dW1, db1, dW2, db2).",
    rtol=1e-8, atol=1e-12,
))
