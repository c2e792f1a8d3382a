"""Tiny neural-network layers with hand-written backpropagation (numpy).

Each module mirrors its ``torch.nn`` namesake (names, defaults, parameter shapes, state dict
keys), so the same weights give the same outputs and gradients -- ``tests/test_nn.py``
checks every backward pass against ``torch.autograd``.

The protocol is deliberately small:

* ``forward(x)`` computes the output and caches what the backward pass needs;
  ``module(x)`` is the same call.
* ``backward(grad_out)`` takes ``dL/d(output)`` and returns ``dL/d(input)``; layers with
  parameters also store ``dL/d(parameter)``. Gradients are *overwritten* by each backward
  call (no accumulation, so there is no ``zero_grad``): ``forward`` -> ``backward`` ->
  ``gradients()`` always gives the gradient of the last minibatch loss.
* ``parameters()`` and ``gradients()`` return lists of arrays in the same order; an
  optimizer from :mod:`nnopt_lib.optim` updates the parameter arrays in place with
  ``optimizer.step(model.gradients())``.
* ``named_parameters()``, ``named_buffers()``, ``state_dict()`` and ``load_state_dict()``
  use torch's names (``"0.weight"``, ``"1.running_mean"``, ...); loading copies in place.
* ``train()`` / ``eval()`` switch Dropout and BatchNorm between their two behaviours
  (LayerNorm, which uses no batch statistics, is the same in both).
* Dropout keeps the keep mask of its last training pass in ``layer.mask``, and
  ``layer.forward(x, mask=keep)`` replays a given one (torch's, in the cross-check).
* Layers with parameters take ``dtype=`` (default ``np.float64``; float32 and float16
  work); the input must have the layer's dtype, as in torch.

:func:`mlp` builds the multi-layer perceptrons of the course. The losses live in
:mod:`nnopt_lib.losses`; ``nn.CrossEntropyLoss`` and ``nn.MSELoss`` are the same classes,
still importable from here.

Notation in the docstrings: ``x`` is the input of shape ``(N, in)``, ``y`` the output,
``g = dL/dy`` the incoming gradient, and products are elementwise unless written ``@``.

Modules: ``module`` (the base class), ``linear``, ``activations`` (ReLU, LeakyReLU, ELU,
GELU exact and tanh, SiLU, Softplus, Sigmoid, Tanh, LogSoftmax), ``normalization``
(BatchNorm1d with torch's switches, LayerNorm), ``dropout``, ``container`` (``Sequential``
and ``mlp``, whose ``init=`` re-initialises every Linear weight).
"""

from nnopt_lib.losses import CrossEntropyLoss, MSELoss
from nnopt_lib.nn.activations import (
    ELU,
    GELU,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softplus,
    Tanh,
)
from nnopt_lib.nn.container import ACTIVATIONS, Sequential, mlp
from nnopt_lib.nn.dropout import Dropout
from nnopt_lib.nn.linear import Linear
from nnopt_lib.nn.module import Module
from nnopt_lib.nn.normalization import BatchNorm1d, LayerNorm

__all__ = [
    "Module",
    "Linear",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "GELU",
    "SiLU",
    "Softplus",
    "Sigmoid",
    "Tanh",
    "LogSoftmax",
    "Dropout",
    "BatchNorm1d",
    "LayerNorm",
    "Sequential",
    "mlp",
    "ACTIVATIONS",
    "CrossEntropyLoss",
    "MSELoss",
]
