"""``Sequential`` and the one model builder of the course, :func:`mlp`."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from nnopt_lib import checks
from nnopt_lib.nn.activations import ELU, GELU, LeakyReLU, ReLU, Sigmoid, SiLU, Softplus, Tanh
from nnopt_lib.nn.dropout import Dropout
from nnopt_lib.nn.linear import Linear
from nnopt_lib.nn.module import Module, _check_float_dtype
from nnopt_lib.nn.normalization import BatchNorm1d


class Sequential(Module):
    """Chain of modules: forward runs them in order, backward in reverse (the chain rule).

    The layers are named ``"0"``, ``"1"``, ... so parameters and state dict keys are
    ``"0.weight"``, ``"2.bias"``, ... as in ``torch.nn.Sequential``. ``model[i]`` is the
    i-th layer; iterating gives the layers in order.
    """

    def __init__(self, *layers: Module):
        for layer in layers:
            if not isinstance(layer, Module):
                raise TypeError(f"{type(layer).__name__} is not a Module subclass")
        self.layers = list(layers)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        return ((str(i), layer) for i, layer in enumerate(self.layers))

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        for layer in reversed(self.layers):
            grad_out = layer.backward(grad_out)
        return grad_out

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)


#: The activation names :func:`mlp` accepts, with their classes.
ACTIVATIONS: dict[str, type[Module]] = {
    "relu": ReLU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "leaky_relu": LeakyReLU,
    "elu": ELU,
    "gelu": GELU,
    "silu": SiLU,
    "softplus": Softplus,
}


def _activation_factory(activation: str | Callable[[], Module] | None
                        ) -> Callable[[], Module] | None:
    if activation is None or isinstance(activation, str):
        if activation is not None and activation not in ACTIVATIONS:
            raise ValueError(f"mlp: unknown activation {activation!r}; use one of "
                             f"{', '.join(ACTIVATIONS)}, None, or a Module class")
        return ACTIVATIONS.get(activation) if activation else None
    if isinstance(activation, Module):
        # one instance in every block would share its forward cache: backward goes wrong
        raise TypeError(f"mlp: activation must be a name, a Module class or a factory, not an "
                        f"instance ({activation!r}); pass e.g. nn.Tanh or "
                        "lambda: nn.LeakyReLU(0.2)")
    if not callable(activation):
        raise TypeError(f"mlp: activation must be a name, a Module class or a factory, got "
                        f"{type(activation).__name__}")
    return activation


def mlp(sizes: Sequence[int], activation: str | Callable[[], Module] | None = "relu", *,
        rng: np.random.Generator, batch_norm: bool = False, dropout: float = 0.0,
        bias: bool = True, dtype: np.dtype | type | str = np.float64,
        init: Callable[[np.ndarray, np.random.Generator], object] | None = None) -> Sequential:
    """A multi-layer perceptron ``sizes[0] -> sizes[1] -> ... -> sizes[-1]`` as a ``Sequential``.

    Each hidden block is ``Linear -> [BatchNorm1d] -> activation -> [Dropout]``; the last
    layer is a bare ``Linear`` (its outputs are logits or regression values). So
    ``mlp([64, 128, 10], rng=rng)`` is ``Sequential(Linear(64, 128), ReLU(), Linear(128, 10))``
    and its state dict has the keys of the same ``torch.nn.Sequential``.

    Args:
        sizes: at least two integers >= 0 (a zero width builds empty layers, as torch does).
        activation: a name of :data:`ACTIVATIONS` (``"relu"``, ``"tanh"``, ``"sigmoid"``,
            ``"leaky_relu"``, ``"elu"``, ``"gelu"``, ``"silu"``, ``"softplus"``, each with
            torch's defaults); a Module class (``nn.Tanh``) or a function returning a new module
            (``lambda: nn.LeakyReLU(0.2)``, ``lambda: nn.GELU(approximate="tanh")``), called
            once per block; or ``None`` for a deep linear network.
        rng: ``numpy.random.Generator`` that draws the initial weights (torch's default
            initialisation, layer by layer) and afterwards the dropout masks.
        batch_norm: insert ``BatchNorm1d`` after each hidden ``Linear``.
        dropout: probability in ``[0, 1]`` of the ``Dropout`` after each hidden activation
            (0: no Dropout layers).
        bias: whether the ``Linear`` layers have biases.
        dtype: of every parameter, buffer, output and gradient (float64, float32, float16).
        init: ``None`` for torch's default initialisation, or a function
            ``init(weight, rng)`` that fills a ``Linear`` weight in place; it is called for
            every ``Linear`` (the output layer included) right after that layer is built,
            with the same ``rng``, and the biases then start at zero. For He initialisation
            of a ReLU network::

                nn.mlp(sizes, "relu", rng=rng, init=lambda w, r: init.kaiming_normal_(
                    w, nonlinearity="relu", rng=r))

            (``from nnopt_lib import init``; any initialiser of :mod:`nnopt_lib.init`, or
            your own function, works the same way). What it returns is ignored.
    """
    if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence | np.ndarray):
        raise TypeError(f"mlp: sizes must be a sequence of integers, got {type(sizes).__name__}")
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"mlp: sizes needs at least 2 entries (inputs and outputs), got {sizes}")
    for size in sizes:
        if not isinstance(size, numbers.Integral) or isinstance(size, bool):
            raise TypeError(f"mlp: sizes must be integers, got {size!r} in {sizes}")
        if size < 0:
            raise ValueError(f"mlp: sizes must be >= 0, got {size} in {sizes}")
    make_activation = _activation_factory(activation)
    if not isinstance(dropout, numbers.Real) or not 0 <= dropout <= 1:
        raise ValueError(f"mlp: dropout must be a probability in [0, 1], got {dropout!r}")
    checks.generator(rng)
    dtype = _check_float_dtype(dtype, "mlp")
    if init is not None and not callable(init):
        raise TypeError(f"mlp: init must be None or a function (weight, rng) -> None, got "
                        f"{type(init).__name__} {init!r}")

    def linear(n_in: int, n_out: int) -> Linear:
        layer = Linear(n_in, n_out, bias, rng=rng, dtype=dtype)
        if init is not None:
            init(layer.weight, rng)
            if layer.bias is not None:
                # a scheme that chose the weights' scale would be spoiled by torch's
                # U(-1/sqrt(in), 1/sqrt(in)) biases; zero is what such schemes assume
                layer.bias[...] = 0.0
        return layer

    layers: list[Module] = []
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1], strict=True):
        layers.append(linear(n_in, n_out))
        if batch_norm:
            layers.append(BatchNorm1d(n_out, dtype=dtype))
        if make_activation is not None:
            block_activation = make_activation()
            if not isinstance(block_activation, Module):
                raise TypeError(f"mlp: activation() returned {type(block_activation).__name__}, "
                                "not an nn Module")
            layers.append(block_activation)
        if dropout > 0:
            layers.append(Dropout(dropout, rng=rng))
    layers.append(linear(sizes[-2], sizes[-1]))
    return Sequential(*layers)
