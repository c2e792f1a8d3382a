"""Bad-input cases for the initialisers, the layers (constructors, forward and backward
passes, state dicts), ``nn.mlp`` and the losses, each against its torch twin where there is
one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from audit.core import (
    INF,
    NAN,
    Missing,
    T,
    all_finite,
    api,
    case,
    has_keyword,
    read_only,
    rng,
    same,
    tokens_of,
)

# --------------------------------------------------------------------------- init

INITIALISERS = ("xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
                "zeros_")


def init_ours(name: str, array: Callable[[], Any], **kwargs: Any) -> Any:
    if name != "zeros_":
        kwargs.setdefault("rng", rng())
    out = api(f"init.{name}")(array(), **kwargs)
    return [np.shape(out), str(np.asarray(out).dtype), all_finite(out)]


def init_torch(name: str, array: Callable[[], Any], **kwargs: Any) -> Any:
    a = array()
    if isinstance(a, np.ndarray):
        a = T.from_numpy(a.copy())
    out = getattr(T.nn.init, name)(a, **kwargs)
    return [tuple(out.shape), str(out.dtype).replace("torch.", ""), all_finite(out)]


def init_cases() -> None:
    arrays = [
        ("array=int64 (3, 2)", lambda: np.zeros((3, 2), np.int64), "reject"),
        ("array=bool (3, 2)", lambda: np.zeros((3, 2), bool), "reject"),
        ("array=shape (3,)", lambda: np.zeros(3), "reject"),
        ("array=shape ()", lambda: np.zeros(()), "reject"),
        ("array=shape (0, 3)", lambda: np.zeros((0, 3)), "accept"),
        ("array=shape (3, 0)", lambda: np.zeros((3, 0)), "accept"),
        ("array=float32 (3, 2)", lambda: np.zeros((3, 2), np.float32), "accept"),
        ("array=[[0.0, 0.0]] (list)", lambda: [[0.0, 0.0]], "reject"),
    ]
    for name in INITIALISERS:
        for what, array, expect in arrays:
            if name == "zeros_" and "shape (" in what:
                continue
            case("init", f"init.{name}", what, lambda n=name, a=array: init_ours(n, a),
                 torch=lambda n=name, a=array: init_torch(n, a), expect=expect,
                 names=("array", "tensor", "dim", "int64", "bool", "list", "shape"))
        case("init", f"init.{name}", "array=read-only (3, 2)",
             lambda n=name: init_ours(n, lambda: read_only(np.zeros((3, 2)))),
             names=("array", "read-only", "writeable", "writable"))
        if name != "zeros_":
            for text, value in [("0", 0), ("None", None), ("'seed'", "seed")]:
                case("init", f"init.{name}", f"rng={text}",
                     lambda n=name, v=value: init_ours(n, lambda: np.zeros((3, 2)), rng=v),
                     names=("rng", "Generator"))
    for name in ("xavier_uniform_", "xavier_normal_"):
        for text, value in [("nan", NAN), ("-1.0", -1.0), ("'2'", "2"), ("inf", INF)]:
            case("init", f"init.{name}", f"gain={text}",
                 lambda n=name, v=value: init_ours(n, lambda: np.zeros((3, 2)), gain=v),
                 torch=lambda n=name, v=value: init_torch(n, lambda: np.zeros((3, 2)), gain=v))
    for name in ("kaiming_uniform_", "kaiming_normal_"):
        for arg, text, value in [("mode", "'fan_avg'", "fan_avg"), ("mode", "None", None),
                                 ("nonlinearity", "'swish'", "swish"), ("a", "nan", NAN),
                                 ("a", "'0.1'", "0.1")]:
            case("init", f"init.{name}", f"{arg}={text}",
                 lambda n=name, k={arg: value}: init_ours(n, lambda: np.zeros((3, 2)), **k),
                 torch=lambda n=name, k={arg: value}: init_torch(n, lambda: np.zeros((3, 2)),
                                                                **k))
    for what, args, expect in [("nonlinearity='swish'", ("swish",), "reject"),
                               ("nonlinearity=None", (None,), "reject"),
                               ("leaky_relu, param='0.2'", ("leaky_relu", "0.2"), "reject"),
                               ("leaky_relu, param=True", ("leaky_relu", True), "reject"),
                               ("leaky_relu, param=nan", ("leaky_relu", NAN), "reject"),
                               ("leaky_relu, param=np.float32(0.2)",
                                ("leaky_relu", np.float32(0.2)), "accept")]:
        case("init", "init.calculate_gain", what, lambda a=args: api("init.calculate_gain")(*a),
             torch=lambda a=args: T.nn.init.calculate_gain(*a), expect=expect)


# --------------------------------------------------------------------------- nn

X43 = np.random.default_rng(1).normal(size=(4, 3))


def dtype_name(x: Any) -> str:
    return str(getattr(x, "dtype", type(x).__name__)).replace("torch.", "")


def linear_ours(*args: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("rng", rng())
    layer = api("nn.Linear")(*args, **kwargs)
    bias = None if layer.bias is None else (np.shape(layer.bias), dtype_name(layer.bias))
    return [np.shape(layer.weight), dtype_name(layer.weight), bias]


def linear_torch(*args: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("dtype", T.float64)
    layer = T.nn.Linear(*args, **kwargs)
    bias = None if layer.bias is None else (tuple(layer.bias.shape), dtype_name(layer.bias))
    return [tuple(layer.weight.shape), dtype_name(layer.weight), bias]


def pass_ours(module: Any, x: Any, grad: Any = None) -> Any:
    """Forward ``x``, backward ones (or ``grad``): output, input gradient, parameter grads."""
    y = module(x)
    dx = module.backward(np.ones_like(y) if grad is None else grad)
    return [y, dx, list(module.gradients())]


def pass_torch(module: Any, x: Any, grad: Any = None) -> Any:
    """As :func:`pass_ours`; a gradient torch cannot compute (integer input) is ``None``."""
    if isinstance(x, np.ndarray):
        x = T.tensor(x, requires_grad=x.dtype.kind == "f")
    y = module(x)
    if y.requires_grad:
        y.backward(T.ones_like(y) if grad is None else T.tensor(grad))
    grads = [p.grad for p in module.parameters()]
    return [y, None if not isinstance(x, T.Tensor) else x.grad, grads]


def same_where_known(ours: Any, theirs: Any) -> bool:
    """:func:`same`, skipping what torch left as ``None`` (no gradient for integer input)."""
    if theirs is None:
        return True
    if isinstance(theirs, list | tuple) and isinstance(ours, list | tuple):
        return len(ours) == len(theirs) and all(
            same_where_known(a, b) for a, b in zip(ours, theirs, strict=True))
    return same(ours, theirs)


def twin_linear(side: str) -> Any:
    """``Linear(3, 2)`` of nnopt (``side="ours"``) or of torch with the same weights."""
    ours = api("nn.Linear")(3, 2, rng=rng())
    if side == "ours":
        return ours
    theirs = T.nn.Linear(3, 2).double()
    with T.no_grad():
        theirs.weight.copy_(T.tensor(ours.weight))
        theirs.bias.copy_(T.tensor(ours.bias))
    return theirs


def twin(name: str, *args: Any, **kwargs: Any) -> Callable[[str], Any]:
    """``make(side)``: ``nn.<name>(*args, **kwargs)`` of nnopt or of torch (float64)."""
    def make(side: str) -> Any:
        if side == "ours":
            return api(f"nn.{name}")(*args, **kwargs)
        return getattr(T.nn, name)(*args, **kwargs).double()
    return make


def layer_pass_case(entry: str, what: str, make: Callable[[str], Any], x: Any,
                    expect: str, grad: Any = None, names: tuple[str, ...] = ()) -> None:
    """A forward/backward pass of an nnopt layer and of its torch twin on the same input."""
    case("nn", entry, what, lambda: pass_ours(make("ours"), x() if callable(x) else x, grad),
         torch=lambda: pass_torch(make("torch"), x() if callable(x) else x, grad),
         expect=expect, names=names or ("input", "shape", "features", "dtype", "x"),
         compare=same_where_known)


def nn_cases() -> None:
    for text, args, kwargs, expect in [
        ("in_features=0", (0, 3), {}, "accept"), ("out_features=0", (3, 0), {}, "accept"),
        ("in_features=-1", (-1, 3), {}, "reject"), ("in_features=2.5", (2.5, 3), {}, "reject"),
        ("in_features=nan", (NAN, 3), {}, "reject"), ("in_features='3'", ("3", 3), {}, "reject"),
        ("out_features=None", (3, None), {}, "reject"),
        ("in_features=np.int64(3)", (np.int64(3), 2), {}, "accept"),
        ("bias='yes'", (3, 2), {"bias": "yes"}, "either"),
    ]:
        case("nn", "nn.Linear", text, lambda a=args, k=kwargs: linear_ours(*a, **k),
             torch=lambda a=args, k=kwargs: linear_torch(*a, **k), expect=expect)
    for text, value, expect in [("0", 0, "reject"), ("None", None, "reject"),
                                ("'seed'", "seed", "reject"),
                                ("np.random.RandomState(0)", np.random.RandomState(0), "either")]:
        case("nn", "nn.Linear", f"rng={text}", lambda v=value: linear_ours(3, 2, rng=v),
             expect=expect, names=("rng", "Generator"))

    def with_dtype(value: Any, torch_dtype: Any) -> None:
        def ours() -> Any:
            has_keyword("nn.Linear", "dtype")
            return linear_ours(3, 2, dtype=value)
        text = f"np.{np.dtype(value).name}" if isinstance(value, type) else repr(value)
        case("nn", "nn.Linear", f"dtype={text}", ours,
             torch=None if torch_dtype is None else lambda: linear_torch(3, 2, dtype=torch_dtype()),
             expect="accept" if value in (np.float32, np.float16) else "reject",
             names=("dtype", "int64", "int", "str", repr(value)))

    with_dtype(np.float32, lambda: T.float32)
    with_dtype(np.float16, lambda: T.float16)
    with_dtype(np.int64, lambda: T.int64)
    with_dtype("complex", None)

    for what, x, expect in [
        ("x shape (3,) (unbatched)", lambda: X43[0], "accept"),
        ("x shape (2, 4, 3)", lambda: np.stack([X43, X43[::-1]]), "accept"),
        ("x shape (0, 3)", lambda: np.zeros((0, 3)), "accept"),
        ("x shape (4, 5)", lambda: np.zeros((4, 5)), "reject"),
        ("x int64 (4, 3)", lambda: np.ones((4, 3), np.int64), "either"),
        ("x float32 (4, 3)", lambda: X43.astype(np.float32), "either"),
        ("x with NaN", lambda: np.full((4, 3), NAN), "accept"),
        ("x shape ()", lambda: np.array(1.0), "reject"),
        ("x=list", lambda: X43.tolist(), "either"),
    ]:
        layer_pass_case("nn.Linear", what, twin_linear, x, expect)
    layer_pass_case("nn.Linear.backward", "grad_out shape (4, 3) for output (4, 2)", twin_linear,
                    X43, "reject", grad=np.ones((4, 3)), names=("grad", "shape", "(4, 3)"))
    case("nn", "nn.Linear.backward", "backward before forward",
         lambda: api("nn.Linear")(3, 2, rng=rng()).backward(np.ones((4, 2))),
         names=("forward", "backward"))

    activations = [("ReLU", {}), ("LeakyReLU", {}), ("ELU", {}), ("GELU", {}), ("Sigmoid", {}),
                   ("Tanh", {}), ("LogSoftmax", {"dim": 1})]
    for name, kwargs in activations:
        make = twin(name, **kwargs)
        for what, x, expect in [
            ("x int64", lambda: np.array([[-2, 0, 3]]), "either"),
            ("x with NaN", lambda: np.array([[NAN, 1.0, -1.0]]), "accept"),
            ("x shape (0, 3)", lambda: np.zeros((0, 3)), "accept"),
            ("x=list", lambda: [[1.0, -1.0, 0.5]], "either"),
        ]:
            layer_pass_case(f"nn.{name}", what, make, x, expect)
        case("nn", f"nn.{name}.backward", "backward before forward",
             lambda n=name, k=kwargs: api(f"nn.{n}")(**k).backward(np.ones((2, 3))),
             names=("forward", "backward"))
    for name, arg, values in [
        ("LeakyReLU", "negative_slope", [("nan", NAN, "reject"), ("'0.1'", "0.1", "reject"),
                                         ("None", None, "reject")]),
        ("ELU", "alpha", [("nan", NAN, "reject"), ("'1.0'", "1.0", "reject"),
                          ("-1.0", -1.0, "accept")]),
        ("LogSoftmax", "dim", [("5", 5, "reject"), ("'1'", "1", "reject"),
                               ("-1", -1, "accept")]),
    ]:
        for text, value, expect in values:
            layer_pass_case(f"nn.{name}", f"{arg}={text}", twin(name, **{arg: value}), X43, expect,
                            names=tokens_of(f"{arg}={text}") + ("dimension", "slope"))

    for text, value, expect in [("nan", NAN, "reject"), ("-0.1", -0.1, "reject"),
                                ("1.1", 1.1, "reject"), ("'0.5'", "0.5", "reject"),
                                ("None", None, "reject"),
                                ("np.float32(0.5)", np.float32(0.5), "accept")]:
        case("nn", "nn.Dropout", f"p={text}",
             lambda v=value: api("nn.Dropout")(p=v, rng=rng()).eval()(X43),
             torch=lambda v=value: T.nn.Dropout(p=v).eval()(T.tensor(X43)), expect=expect)
    for text, value in [("0", 0), ("None", None)]:
        case("nn", "nn.Dropout", f"rng={text}",
             lambda v=value: api("nn.Dropout")(p=0.5, rng=v)(X43),
             names=("rng", "Generator"))

    case("nn", "nn.BatchNorm1d", "num_features=0",
         lambda: [np.shape(p) for p in api("nn.BatchNorm1d")(0).parameters()],
         torch=lambda: [tuple(p.shape) for p in T.nn.BatchNorm1d(0).parameters()],
         expect="accept")
    for text, args, kwargs, expect in [
        ("num_features=-1", (-1,), {}, "reject"),
        ("num_features=2.5", (2.5,), {}, "reject"), ("num_features='3'", ("3",), {}, "reject"),
        ("num_features=np.int64(3)", (np.int64(3),), {}, "accept"),
        ("eps=-1.0", (3,), {"eps": -1.0}, "reject"), ("eps=nan", (3,), {"eps": NAN}, "reject"),
        ("momentum=2.0", (3,), {"momentum": 2.0}, "reject"),
        ("momentum=nan", (3,), {"momentum": NAN}, "reject"),
        ("momentum='0.1'", (3,), {"momentum": "0.1"}, "reject"),
    ]:
        layer_pass_case("nn.BatchNorm1d", text, twin("BatchNorm1d", *args, **kwargs), X43,
                        expect, names=tokens_of(text))
    for what, x, expect in [
        ("x shape (4, 3, 5)", lambda: np.ones((4, 3, 5)), "either"),
        ("x shape (1, 3) in training", lambda: X43[:1], "reject"),
        ("x shape (0, 3) in training", lambda: np.zeros((0, 3)), "reject"),
        ("x shape (4, 5)", lambda: np.zeros((4, 5)), "reject"),
        ("x shape (3,)", lambda: X43[0], "reject"),
        ("x int64", lambda: np.ones((4, 3), np.int64), "either"),
        ("x with NaN", lambda: np.full((4, 3), NAN), "accept"),
    ]:
        layer_pass_case("nn.BatchNorm1d", what, twin("BatchNorm1d", 3), x, expect,
                        names=("input", "shape", "features", "dim", "value per channel", "x"))

    case("nn", "nn.Sequential", "layers=(3,)", lambda: api("nn.Sequential")(3)(X43),
         torch=lambda: T.nn.Sequential(3), names=("3", "int", "Module"))
    case("nn", "nn.Sequential", "no layers, forward", lambda: api("nn.Sequential")()(X43),
         torch=lambda: T.nn.Sequential()(T.tensor(X43)), expect="accept")

    def mlp(*args: Any, **kwargs: Any) -> Callable[[], Any]:
        def call() -> Any:
            kwargs.setdefault("rng", rng())
            model = api("nn.mlp")(*args, **kwargs)
            return [np.shape(p) for p in model.parameters()]
        return call

    def torch_mlp(*sizes: int) -> Callable[[], Any]:
        """torch's ``Linear -> ReLU -> ... -> Linear`` of ``sizes``: its parameter shapes."""
        def call() -> Any:
            layers = []
            for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
                layers += [T.nn.Linear(n_in, n_out), T.nn.ReLU()]
            return [tuple(p.shape) for p in T.nn.Sequential(*layers[:-1]).parameters()]
        return call

    case("nn", "nn.mlp", "sizes=[3, 0, 2]", mlp([3, 0, 2]), torch=torch_mlp(3, 0, 2),
         expect="either")
    for what, args, kwargs, expect in [
        ("sizes=[]", ([],), {}, "reject"), ("sizes=[3]", ([3],), {}, "reject"),
        ("sizes=[3, -1]", ([3, -1],), {}, "reject"), ("sizes=[3, 2.5]", ([3, 2.5],), {}, "reject"),
        ("sizes='32'", ("32",), {}, "reject"),
        ("sizes=(np.int64(3), 2)", ((np.int64(3), 2),), {}, "accept"),
        ("activation='swish'", ([3, 4, 2],), {"activation": "swish"}, "reject"),
        ("activation=3", ([3, 4, 2],), {"activation": 3}, "reject"),
        ("dropout=1.5", ([3, 4, 2],), {"dropout": 1.5}, "reject"),
        ("dropout=nan", ([3, 4, 2],), {"dropout": NAN}, "reject"),
        ("rng=0", ([3, 4, 2],), {"rng": 0}, "reject"),
    ]:
        case("nn", "nn.mlp", what, mlp(*args, **kwargs), expect=expect,
             names=(*tokens_of(what), "sizes", "size"))

    # module state dicts (contract C3): keys and errors of the torch twin
    def model_pair() -> tuple[Any, Any]:
        ours = api("nn.Sequential")(api("nn.Linear")(3, 2, rng=rng()), api("nn.BatchNorm1d")(2))
        theirs = T.nn.Sequential(T.nn.Linear(3, 2), T.nn.BatchNorm1d(2)).double()
        return ours, theirs

    def full_state() -> dict[str, np.ndarray]:
        return {"0.weight": np.ones((2, 3)), "0.bias": np.zeros(2), "1.weight": np.ones(2),
                "1.bias": np.zeros(2), "1.running_mean": np.zeros(2), "1.running_var": np.ones(2),
                "1.num_batches_tracked": np.array(0, dtype=np.int64)}

    def load_ours(mutate: Callable[[dict], Any], **kwargs: Any) -> Callable[[], Any]:
        def call() -> Any:
            model = model_pair()[0]
            if not hasattr(model, "load_state_dict"):
                raise Missing("nnopt_lib.nn.Module.load_state_dict")
            state = mutate(full_state())
            model.load_state_dict(state, **kwargs)
            return [model.state_dict()[k] for k in sorted(state)]
        return call

    def load_torch(mutate: Callable[[dict], Any], **kwargs: Any) -> Callable[[], Any]:
        def call() -> Any:
            model = model_pair()[1]
            state = mutate(full_state())
            if isinstance(state, dict):
                state = {k: T.from_numpy(np.asarray(v)) for k, v in state.items()}
            model.load_state_dict(state, **kwargs)
            return [model.state_dict()[k] for k in sorted(state)]
        return call

    for what, mutate, kwargs, expect in [
        ("missing key '0.bias'", lambda s: {k: v for k, v in s.items() if k != "0.bias"}, {},
         "reject"),
        ("unexpected key 'extra'", lambda s: {**s, "extra": np.ones(1)}, {}, "reject"),
        ("'0.weight' shape (3, 3)", lambda s: {**s, "0.weight": np.ones((3, 3))}, {}, "reject"),
        ("state_dict=[1, 2]", lambda s: [1, 2], {}, "reject"),
        ("'0.weight' int64", lambda s: {**s, "0.weight": np.ones((2, 3), np.int64)}, {},
         "accept"),
        ("missing key, strict=False", lambda s: {k: v for k, v in s.items() if k != "0.bias"},
         {"strict": False}, "accept"),
    ]:
        case("nn", "nn.Module.load_state_dict", what, load_ours(mutate, **kwargs),
             torch=load_torch(mutate, **kwargs), expect=expect,
             names=("0.bias", "extra", "0.weight", "size", "state_dict", "list", "Missing key",
                    "Unexpected key"))


# --------------------------------------------------------------------------- losses


def loss_ours(entry: str, x: Any, target: Any, **kwargs: Any) -> Any:
    loss = api(entry)(**kwargs)
    value = loss(x, target)
    return [value, loss.backward()]


def loss_torch(name: str, x: Any, target: Any, **kwargs: Any) -> Any:
    if isinstance(x, np.ndarray):
        x = T.tensor(x, requires_grad=x.dtype.kind == "f")
    if isinstance(target, np.ndarray | np.generic):
        target = T.tensor(np.asarray(target))
    value = getattr(T.nn, name)(**kwargs)(x, target)
    if value.requires_grad:
        value.backward()
    return [value, x.grad if isinstance(x, T.Tensor) else None]


def loss_case(entry: str, what: str, x: Any, target: Any, expect: str, **kwargs: Any) -> None:
    name = entry.split(".")[-1]
    case("losses", entry, what,
         lambda: loss_ours(entry, x() if callable(x) else x, target, **kwargs),
         torch=lambda: loss_torch(name, x() if callable(x) else x, target, **kwargs),
         expect=expect,
         names=("target", "input", "logits", "shape", "dtype", "batch", "class", "label",
                "bounds", "reduction", "size", *tokens_of(what)))


def losses_cases() -> None:
    ce = "nn.CrossEntropyLoss"  # contract C4: importable from nn and from losses
    labels = np.array([0, 2, 1, 0])
    probs = np.full((4, 3), 1 / 3)
    for what, x, target, expect in [
        ("empty batch (0, 3)", np.zeros((0, 3)), np.zeros(0, np.int64), "accept"),
        ("1-D logits (3,), scalar label", X43[0], np.int64(1), "accept"),
        ("probability targets (4, 3)", X43, probs, "accept"),
        ("float labels (4,)", X43, labels.astype(float), "reject"),
        ("label 3 out of range", X43, np.array([0, 3, 1, 0]), "reject"),
        ("label -1", X43, np.array([0, -1, 1, 0]), "reject"),
        ("labels shape (4, 1)", X43, labels[:, None], "reject"),
        ("3 labels for 4 rows", X43, labels[:3], "reject"),
        ("int64 logits", np.ones((4, 3), np.int64), labels, "reject"),
        ("NaN logits", np.full((4, 3), NAN), labels, "accept"),
        ("bool labels", X43, labels.astype(bool), "reject"),
        ("logits (4, 3, 2), labels (4, 2)", np.ones((4, 3, 2)), np.zeros((4, 2), np.int64),
         "either"),
        ("labels=list", X43, labels.tolist(), "either"),
    ]:
        loss_case(ce, what, x, target, expect)
    for what, x, target, expect in [
        ("pred (4, 1), target (4,)", np.ones((4, 1)), np.ones(4), "reject"),
        ("empty", np.zeros(0), np.zeros(0), "accept"),
        ("int64 pred and target", np.ones(4, np.int64), np.zeros(4, np.int64), "either"),
        ("NaN pred", np.full(4, NAN), np.zeros(4), "accept"),
        ("float32 target", np.ones(4), np.zeros(4, np.float32), "either"),
        ("target=list", np.ones(4), [0.0] * 4, "either"),
    ]:
        loss_case("nn.MSELoss", what, x, target, expect)
    for what, x, target, expect in [
        ("target 2.0 outside [0, 1]", np.ones(4), np.full(4, 2.0), "either"),
        ("shape (4,) vs (4, 1)", np.ones(4), np.ones((4, 1)), "reject"),
        ("empty", np.zeros(0), np.zeros(0), "accept"),
        ("int64 target", np.ones(4), np.ones(4, np.int64), "either"),
        ("NaN logits", np.full(4, NAN), np.ones(4), "accept"),
    ]:
        loss_case("losses.BCEWithLogitsLoss", what, x, target, expect)
    log_probs = np.log(np.full((4, 3), 1 / 3))
    for what, x, target, expect, kwargs in [
        ("reduction='avg'", log_probs, probs, "reject", {"reduction": "avg"}),
        ("reduction='batchmean'", log_probs, probs, "accept", {"reduction": "batchmean"}),
        ("log_target=True", log_probs, log_probs, "accept", {"log_target": True}),
        ("shape (4, 3) vs (4, 2)", log_probs, probs[:, :2], "reject", {}),
        ("empty", np.zeros((0, 3)), np.zeros((0, 3)), "accept", {}),
        ("negative target", log_probs, -probs, "either", {}),
    ]:
        loss_case("losses.KLDivLoss", what, x, target, expect, **kwargs)
    for what, x, target, expect in [
        ("label 3 out of range", log_probs, np.array([0, 3, 1, 0]), "reject"),
        ("float labels", log_probs, labels.astype(float), "reject"),
        ("empty batch", np.zeros((0, 3)), np.zeros(0, np.int64), "accept"),
        ("labels shape (4, 1)", log_probs, labels[:, None], "reject"),
        ("1-D input (3,), scalar label", log_probs[0], np.int64(1), "accept"),
    ]:
        loss_case("losses.NLLLoss", what, x, target, expect)
    for entry in (ce, "nn.MSELoss", "losses.BCEWithLogitsLoss", "losses.KLDivLoss",
                  "losses.NLLLoss"):
        case("losses", f"{entry}.backward", "backward before forward",
             lambda e=entry: api(e)().backward(), names=("forward", "backward"))
