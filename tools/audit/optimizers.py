"""Bad-input cases for the optimizers, their step functions and state dicts, the
learning-rate schedules and gradient clipping; each compared with torch where torch has
the same API."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from audit.core import (
    INF,
    NAN,
    Missing,
    T,
    api,
    case,
    fails_atomically,
    read_only,
    tokens_of,
)

# --------------------------------------------------------------------------- optim

START = np.array([1.0, -2.0, 0.5])
GRADS = [np.array([0.5, -1.0, 2.0]), np.array([-0.3, 0.2, 1.0]), np.array([1.0, 1.0, -1.0])]
TORCH_OPTIMIZERS = ("SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "NAdam")

#: hyperparameters probed per optimizer, and the keyword arguments every run starts from
OPTIMIZER_TABLE: dict[str, tuple[dict[str, Any], tuple[str, ...], tuple[str, ...]]] = {
    # name: (base keywords, numeric hyperparameters, boolean hyperparameters)
    "SGD": ({"lr": 0.1, "momentum": 0.9}, ("momentum", "dampening", "weight_decay"),
            ("nesterov", "maximize")),
    "Adagrad": ({"lr": 0.1}, ("lr_decay", "weight_decay", "initial_accumulator_value", "eps"),
                ("maximize",)),
    "RMSprop": ({"lr": 0.01, "momentum": 0.5}, ("alpha", "eps", "weight_decay", "momentum"),
                ("centered", "maximize")),
    "Adadelta": ({"lr": 1.0}, ("rho", "eps", "weight_decay"), ("maximize",)),
    "Adam": ({"lr": 0.1}, ("eps", "weight_decay"), ("amsgrad", "maximize")),
    "AdamW": ({"lr": 0.1}, ("eps", "weight_decay"), ("amsgrad", "maximize")),
    "NAdam": ({"lr": 0.1}, ("eps", "weight_decay", "momentum_decay"), ("maximize",)),
    "EMAMomentum": ({"lr": 0.1}, ("beta",), ()),
    "HeavyBall": ({"lr": 0.1}, ("beta",), ()),
}
LR_VALUES = [("nan", NAN, "reject"), ("inf", INF, "reject"), ("-1.0", -1.0, "reject"),
             ("'0.1'", "0.1", "reject"), ("None", None, "reject"),
             ("np.float32(0.05)", np.float32(0.05), "accept")]
NUMBER_VALUES = [("nan", NAN, "reject"), ("inf", INF, "reject"), ("-1.0", -1.0, "reject"),
                 ("'0.1'", "0.1", "reject")]
BOOL_VALUES = [("'yes'", "yes", "either"), ("None", None, "either")]
BETAS_VALUES = [("(nan, 0.999)", (NAN, 0.999)), ("(1.0, 0.999)", (1.0, 0.999)),
                ("(0.9, -0.1)", (0.9, -0.1)), ("(0.9,)", (0.9,)), ("0.9", 0.9),
                ("'ab'", "ab"), ("None", None)]


def run_ours(name: str, kwargs: dict[str, Any], grads: list[np.ndarray] = GRADS) -> np.ndarray:
    param = START.copy()
    optimizer = api(f"optim.{name}")([param], **kwargs)
    for grad in grads:
        optimizer.step([grad.copy()])
    return param


def run_torch(name: str, kwargs: dict[str, Any], grads: list[np.ndarray] = GRADS) -> Any:
    param = T.tensor(START, requires_grad=True)
    optimizer = getattr(T.optim, name)([param], **kwargs)
    for grad in grads:
        param.grad = T.tensor(grad)
        optimizer.step()
    return param.detach().numpy().copy()


def optimizer_case(name: str, arg: str, text: str, value: Any, expect: str) -> None:
    base, _, _ = OPTIMIZER_TABLE[name]
    kwargs = {**base, arg: value}
    torch_call = (lambda: run_torch(name, kwargs)) if name in TORCH_OPTIMIZERS else None
    case("optim", f"optim.{name}", f"{arg}={text}", lambda: run_ours(name, kwargs),
         torch=torch_call, expect=expect)


def optim_cases() -> None:
    for name, (_, numeric, booleans) in OPTIMIZER_TABLE.items():
        for text, value, expect in LR_VALUES:
            optimizer_case(name, "lr", text, value, expect)
        for arg in numeric:
            for text, value, expect in NUMBER_VALUES:
                optimizer_case(name, arg, text, value, expect)
        for arg in booleans:
            for text, value, expect in BOOL_VALUES:
                optimizer_case(name, arg, text, value, expect)
        if name.startswith(("Adam", "NAdam")):
            for text, value in BETAS_VALUES:
                optimizer_case(name, "betas", text, value, "reject")

    def construct(params: Any) -> Callable[[], Any]:
        return lambda: [p.shape for p in api("optim.SGD")(params(), lr=0.1).param_groups[0]
                        ["params"]]

    def construct_torch(params: Any) -> Callable[[], Any]:
        return lambda: [tuple(p.shape) for p in T.optim.SGD(params(), lr=0.1).param_groups[0]
                        ["params"]]

    shared = np.ones(2)
    param_inputs = [
        ("params=[]", lambda: [], lambda: [], "reject"),
        ("params=None", lambda: None, lambda: None, "reject"),
        ("params=[int64 array]", lambda: [np.array([1, 2])], lambda: [T.tensor([1, 2])],
         "reject"),
        ("params=[[1.0, 2.0]]", lambda: [[1.0, 2.0]], lambda: [[1.0, 2.0]], "reject"),
        ("params={set}", lambda: {1.0}, lambda: {T.ones(2)}, "reject"),
        ("params=[p, p] duplicate", lambda: [shared, shared],
         lambda: [T.ones(2, requires_grad=True)] * 2, "reject"),
        ("params=[0-d array]", lambda: [np.array(1.0)],
         lambda: [T.tensor(1.0, requires_grad=True)], "accept"),
        ("params=[float32 array]", lambda: [np.ones(2, np.float32)],
         lambda: [T.ones(2, requires_grad=True)], "accept"),
        ("params=[bool array]", lambda: [np.ones(2, bool)], lambda: [T.ones(2, dtype=T.bool)],
         "reject"),
        ("params=[{'params': [p], 'lrr': 0.1}] (typo)", lambda: [{"params": [np.ones(2)],
                                                               "lrr": 0.1}],
         None, "reject"),
        ("params=[{'lr': 0.1}] (no 'params')", lambda: [{"lr": 0.1}], lambda: [{"lr": 0.1}],
         "reject"),
    ]
    for what, ours_params, torch_params, expect in param_inputs:
        case("optim", "optim.SGD", what, construct(ours_params),
             torch=None if torch_params is None else construct_torch(torch_params),
             expect=expect, names=("params", "param", "lrr"), compare=lambda a, b: True)

    def step_with(name: str, grads: Callable[[], Any], **options: Any) -> Callable[[], Any]:
        def call() -> Any:
            param = START.copy()
            optimizer = api(f"optim.{name}")([param], lr=0.1, **options)
            optimizer.step([GRADS[0].copy()])
            return fails_atomically(lambda: (optimizer.step(grads()), param)[1],
                                    lambda: optimizer)
        return call

    def step_torch(name: str, grad: Callable[[], Any], **options: Any) -> Callable[[], Any]:
        def call() -> Any:
            param = T.tensor(START, requires_grad=True)
            optimizer = getattr(T.optim, name)([param], lr=0.1, **options)
            param.grad = T.tensor(GRADS[0])
            optimizer.step()
            param.grad = grad()
            optimizer.step()
            return param.detach().numpy().copy()
        return call

    for name, options in (("SGD", {"momentum": 0.9}), ("Adam", {})):
        step_inputs = [
            ("grads=[]", lambda: [], None, "reject"),
            ("grads=[g, g] (one too many)", lambda: [GRADS[1], GRADS[1]], None, "reject"),
            ("grads=[shape (2,)]", lambda: [np.ones(2)], lambda: T.ones(2, dtype=T.float64),
             "reject"),
            ("grads=[int64 array]", lambda: [np.array([1, 2, 3])], None, "either"),
            ("grads=[bool array]", lambda: [np.array([True, False, True])], None, "either"),
            ("grads=[NaN array]", lambda: [np.full(3, NAN)], lambda: T.full((3,), NAN,
                                                                          dtype=T.float64),
             "accept"),
            ("grads=[None] (skip)", lambda: [None], lambda: None, "accept"),
            ("grads=None", lambda: None, None, "reject"),
            ("grads=[[0.1, 0.2, 0.3]] (list)", lambda: [[0.1, 0.2, 0.3]], None, "either"),
            ("grads=['abc']", lambda: ["abc"], None, "reject"),
        ]
        for what, grads, torch_grad, expect in step_inputs:
            case("optim", f"optim.{name}.step", what, step_with(name, grads, **options),
                 torch=None if torch_grad is None else step_torch(name, torch_grad, **options),
                 expect=expect, names=("grad", "gradient", "shape", "abc"))

        def read_only_step(name: str = name, options: dict = options) -> Any:
            param = START.copy()
            optimizer = api(f"optim.{name}")([param], lr=0.1, **options)
            optimizer.step([GRADS[0].copy()])
            param.flags.writeable = False
            return fails_atomically(lambda: optimizer.step([GRADS[1].copy()]),
                                    lambda: optimizer)

        case("optim", f"optim.{name}.step", "read-only parameter", read_only_step,
             names=("read-only", "writeable", "writable", "read only"))

    # state dicts (contract C1): torch's layout and torch's errors
    def load(name: str, mutate: Callable[[dict], Any]) -> Callable[[], Any]:
        def call() -> Any:
            params = [np.ones(2), np.ones(3)]
            optimizer = api(f"optim.{name}")(params, lr=0.1)
            optimizer.step([np.ones(2), np.ones(3)])
            if not hasattr(optimizer, "load_state_dict"):
                raise Missing(f"nnopt_lib.optim.{name}.load_state_dict")
            state = mutate(optimizer.state_dict())
            return fails_atomically(lambda: optimizer.load_state_dict(state), lambda: optimizer)
        return call

    def load_torch(name: str, mutate: Callable[[dict], Any]) -> Callable[[], Any]:
        def call() -> Any:
            params = [T.ones(2, dtype=T.float64, requires_grad=True),
                      T.ones(3, dtype=T.float64, requires_grad=True)]
            optimizer = getattr(T.optim, name)(params, lr=0.1)
            for p in params:
                p.grad = T.ones_like(p)
            optimizer.step()
            return optimizer.load_state_dict(mutate(optimizer.state_dict()))
        return call

    def two_groups(sd: dict) -> dict:
        return {**sd, "param_groups": sd["param_groups"] * 2}

    def short_group(sd: dict) -> dict:
        return {**sd, "param_groups": [{**sd["param_groups"][0], "params": [0]}]}

    def no_state(sd: dict) -> dict:
        return {"param_groups": sd["param_groups"]}

    for name in ("SGD", "Adam"):
        for what, mutate in [("state_dict with 2 groups for 1", two_groups),
                             ("state_dict group of 1 param for 2", short_group),
                             ("state_dict without 'state'", no_state),
                             ("state_dict=None", lambda sd: None)]:
            case("optim", f"optim.{name}.load_state_dict", what, load(name, mutate),
                 torch=load_torch(name, mutate),
                 names=("state_dict", "param_groups", "state", "group", "None"))

    # pure step functions: no validation in torch's functional API to compare with
    for name in ("sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam",
                 "ema_momentum", "heavy_ball"):
        entry = f"optim.{name}_step"
        for what, call in [
            ("lr=nan", lambda e=entry: api(e)(START, GRADS[0], {}, lr=NAN)),
            ("grad shape (2,) for param (3,)",
             lambda e=entry: api(e)(START, np.ones(2), {}, lr=0.1)),
            ("state=None", lambda e=entry: api(e)(START, GRADS[0], None, lr=0.1)),
            ("grad='abc'", lambda e=entry: api(e)(START, "abc", {}, lr=0.1)),
        ]:
            case("optim", entry, what, call, names=(*tokens_of(what), "shape", "state"))


# --------------------------------------------------------------------------- schedules

SCHEDULE_STEPS = 6


def lrs_ours(name: str, args: tuple, kwargs: dict, metric: Any = 1.0) -> list[float]:
    optimizer = api("optim.SGD")([np.zeros(2)], lr=0.1, momentum=0.9)
    scheduler = api(f"schedules.{name}")(optimizer, *args, **kwargs)
    lrs = [optimizer.param_groups[0]["lr"]]
    for _ in range(SCHEDULE_STEPS):
        if name == "ReduceLROnPlateau":
            scheduler.step(metric)
        else:
            scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    return lrs


def lrs_torch(name: str, args: tuple, kwargs: dict, metric: Any = 1.0) -> list[float]:
    optimizer = T.optim.SGD([T.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)
    scheduler = getattr(T.optim.lr_scheduler, name)(optimizer, *args, **kwargs)
    lrs = [optimizer.param_groups[0]["lr"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "scheduler.step() before optimizer.step()"
        for _ in range(SCHEDULE_STEPS):
            if name == "ReduceLROnPlateau":
                scheduler.step(metric)
            else:
                scheduler.step()
            lrs.append(optimizer.param_groups[0]["lr"])
    return lrs


#: scheduler -> (positional args that make it valid, {argument: [(text, value, expect)]})
SCHEDULE_TABLE: dict[str, tuple[dict[str, Any], dict[str, list[tuple[str, Any, str]]]]] = {
    "StepLR": ({"step_size": 2}, {
        "step_size": [("0", 0, "reject"), ("-1", -1, "reject"), ("1.5", 1.5, "reject"),
                      ("nan", NAN, "reject"), ("'2'", "2", "reject"),
                      ("np.int64(2)", np.int64(2), "accept")],
        "gamma": [("nan", NAN, "reject"), ("-1.0", -1.0, "reject"), ("'0.1'", "0.1", "reject"),
                  ("np.float32(0.5)", np.float32(0.5), "accept")],
        "last_epoch": [("5", 5, "reject"), ("'x'", "x", "reject")],
    }),
    "MultiStepLR": ({"milestones": [2, 4]}, {
        "milestones": [("[4, 2]", [4, 2], "either"), ("[-1]", [-1], "reject"),
                       ("[1.5]", [1.5], "reject"), ("None", None, "reject"), ("5", 5, "reject")],
        "gamma": [("nan", NAN, "reject"), ("-1.0", -1.0, "reject")],
    }),
    "ConstantLR": ({}, {
        "factor": [("0", 0.0, "reject"), ("1.5", 1.5, "reject"), ("nan", NAN, "reject"),
                   ("-1.0", -1.0, "reject")],
        "total_iters": [("-1", -1, "reject"), ("1.5", 1.5, "reject"), ("nan", NAN, "reject")],
    }),
    "LinearLR": ({}, {
        "start_factor": [("0", 0.0, "reject"), ("2.0", 2.0, "reject"), ("nan", NAN, "reject")],
        "end_factor": [("-1.0", -1.0, "reject"), ("2.0", 2.0, "reject"),
                       ("nan", NAN, "reject")],
        "total_iters": [("0", 0, "reject"), ("-1", -1, "reject"), ("2.5", 2.5, "reject")],
    }),
    "ExponentialLR": ({"gamma": 0.9}, {
        "gamma": [("nan", NAN, "reject"), ("-1.0", -1.0, "reject"), ("0", 0.0, "either"),
                  ("'0.9'", "0.9", "reject"), ("None", None, "reject"),
                  ("np.float32(0.5)", np.float32(0.5), "accept")],
    }),
    "CosineAnnealingLR": ({"T_max": 4}, {
        "T_max": [("0", 0, "reject"), ("-1", -1, "reject"), ("1.5", 1.5, "reject"),
                  ("nan", NAN, "reject"), ("np.int64(4)", np.int64(4), "accept")],
        "eta_min": [("nan", NAN, "reject"), ("-1.0", -1.0, "reject"), ("1.0", 1.0, "either")],
    }),
    "OneCycleLR": ({"max_lr": 1.0, "total_steps": 10}, {
        "max_lr": [("nan", NAN, "reject"), ("-1.0", -1.0, "reject"), ("0", 0.0, "either"),
                   ("[1.0, 2.0] (2 lrs, 1 group)", [1.0, 2.0], "reject")],
        "total_steps": [("0", 0, "reject"), ("-1", -1, "reject"), ("2.5", 2.5, "reject"),
                        ("None", None, "reject"), ("np.int64(10)", np.int64(10), "accept")],
        "pct_start": [("0", 0.0, "reject"), ("1.0", 1.0, "reject"), ("nan", NAN, "reject")],
        "anneal_strategy": [("'cosine'", "cosine", "reject")],
        "div_factor": [("0", 0.0, "reject"), ("nan", NAN, "reject")],
        "final_div_factor": [("0", 0.0, "reject"), ("-1.0", -1.0, "reject")],
    }),
    "ReduceLROnPlateau": ({"patience": 1}, {
        "mode": [("'minimum'", "minimum", "reject")],
        "factor": [("1.0", 1.0, "reject"), ("1.5", 1.5, "reject"), ("nan", NAN, "reject"),
                   ("-0.1", -0.1, "reject")],
        "patience": [("-1", -1, "reject"), ("1.5", 1.5, "reject"), ("nan", NAN, "reject")],
        "threshold": [("nan", NAN, "reject"), ("-1.0", -1.0, "reject")],
        "threshold_mode": [("'relative'", "relative", "reject")],
        "cooldown": [("-1", -1, "reject"), ("nan", NAN, "reject")],
        "min_lr": [("-1.0", -1.0, "reject"), ("nan", NAN, "reject"),
                   ("[0.0, 0.0] (2 for 1 group)", [0.0, 0.0], "reject")],
        "eps": [("nan", NAN, "reject"), ("-1.0", -1.0, "reject")],
    }),
}


def scheduler_case(name: str, base: dict, arg: str, text: str, value: Any, expect: str) -> None:
    kwargs = {**base, arg: value}
    case("schedules", f"schedules.{name}", f"{arg}={text}",
         lambda: lrs_ours(name, (), kwargs), torch=lambda: lrs_torch(name, (), kwargs),
         expect=expect)


def schedules_cases() -> None:
    for name, (base, arguments) in SCHEDULE_TABLE.items():
        for arg, values in arguments.items():
            for text, value, expect in values:
                scheduler_case(name, base, arg, text, value, expect)
    for text, metric, expect in [("None", None, "reject"), ("nan", NAN, "either"),
                                 ("'1.0'", "1.0", "reject"), ("[1.0]", [1.0], "reject"),
                                 ("np.float32(1.0)", np.float32(1.0), "accept")]:
        case("schedules", "schedules.ReduceLROnPlateau.step", f"metrics={text}",
             lambda m=metric: lrs_ours("ReduceLROnPlateau", (), {"patience": 1}, m),
             torch=lambda m=metric: lrs_torch("ReduceLROnPlateau", (), {"patience": 1}, m),
             expect=expect)
    for text, fn, expect in [("None", None, "reject"), ("0.5", 0.5, "reject"),
                             ("lambda t: nan", lambda t: NAN, "either"),
                             ("[f, f] (2 for 1 group)", [lambda t: 1.0] * 2, "reject")]:
        case("schedules", "schedules.LambdaLR", f"lr_lambda={text}",
             lambda fn=fn: lrs_ours("LambdaLR", (fn,), {}),
             torch=lambda fn=fn: lrs_torch("LambdaLR", (fn,), {}), expect=expect)
    for name, args in (("StepLR", (2,)), ("CosineAnnealingLR", (4,))):
        for text, optimizer in [("None", None), ("object()", object())]:
            case("schedules", f"schedules.{name}", f"optimizer={text}",
                 lambda n=name, a=args, o=optimizer: api(f"schedules.{n}")(o, *a),
                 torch=lambda n=name, a=args, o=optimizer: getattr(T.optim.lr_scheduler, n)(
                     o, *a), names=("optimizer", "Optimizer"))

    def sequential(ours: bool, milestones: Any, count: int = 2, other: bool = False) -> Any:
        if ours:
            optimizer = api("optim.SGD")([np.zeros(2)], lr=0.1)
            foreign = api("optim.SGD")([np.zeros(2)], lr=0.1) if other else optimizer
            make = lambda o: api("schedules.ConstantLR")(o, factor=0.5, total_iters=2)  # noqa: E731
            children = [make(foreign)] + [make(optimizer) for _ in range(count - 1)]
            return api("schedules.SequentialLR")(optimizer, children[:count], milestones)
        optimizer = T.optim.SGD([T.zeros(2, requires_grad=True)], lr=0.1)
        foreign = T.optim.SGD([T.zeros(2, requires_grad=True)], lr=0.1) if other else optimizer
        make = lambda o: T.optim.lr_scheduler.ConstantLR(o, factor=0.5, total_iters=2)  # noqa: E731
        children = [make(foreign)] + [make(optimizer) for _ in range(count - 1)]
        return T.optim.lr_scheduler.SequentialLR(optimizer, children[:count], milestones)

    for what, args in [("schedulers=[]", (None, 0)), ("milestones=[2, 3] for 2", ([2, 3],)),
                       ("milestones=[-1]", ([-1],)), ("milestones=None", (None,)),
                       ("scheduler of another optimizer", ([2], 2, True))]:
        milestones, *rest = args
        case("schedules", "schedules.SequentialLR", what,
             lambda m=milestones, r=tuple(rest): sequential(True, m, *r) and None,
             torch=lambda m=milestones, r=tuple(rest): sequential(False, m, *r) and None,
             names=("schedulers", "milestones", "scheduler", "optimizer"))

    def curve(**kwargs: Any) -> Callable[[], Any]:
        make = kwargs.pop("make", lambda o: api("schedules.StepLR")(o, step_size=2))
        return lambda: api("schedules.lr_curve")(make, **kwargs)

    for what, call, expect in [
        ("steps=0", curve(lr=0.1, steps=0), "either"),
        ("steps=-1", curve(lr=0.1, steps=-1), "reject"),
        ("steps=2.5", curve(lr=0.1, steps=2.5), "reject"),
        ("steps=np.int64(5)", curve(lr=0.1, steps=np.int64(5)), "accept"),
        ("lr=nan", curve(lr=NAN, steps=5), "reject"),
        ("make_scheduler=None", curve(make=None, lr=0.1, steps=5), "reject"),
        ("metrics=[1.0] for StepLR", curve(lr=0.1, steps=3, metrics=[1.0, 1.0]), "reject"),
    ]:
        case("schedules", "schedules.lr_curve", what, call, expect=expect)

    # step_scheduler (contract C2)
    def step_scheduler(scheduler: str, metric: Any) -> Callable[[], Any]:
        def call() -> Any:
            optimizer = api("optim.SGD")([np.zeros(2)], lr=0.1)
            made = (api(f"schedules.{scheduler}")(optimizer) if scheduler == "ReduceLROnPlateau"
                    else api(f"schedules.{scheduler}")(optimizer, step_size=1)
                    if scheduler == "StepLR" else object())
            api("schedules.step_scheduler")(made, metric)
            return optimizer.param_groups[0]["lr"]
        return call

    case("schedules", "schedules.step_scheduler", "ReduceLROnPlateau, metric=None",
         step_scheduler("ReduceLROnPlateau", None), names=("metric",))
    case("schedules", "schedules.step_scheduler", "StepLR, metric=1.0",
         step_scheduler("StepLR", 1.0), expect="either", names=("metric",))
    case("schedules", "schedules.step_scheduler", "scheduler=object()",
         step_scheduler("object", None), names=("scheduler", "object"))


# --------------------------------------------------------------------------- clip


def clip_ours(function: str, grads: Callable[[], list], *args: Any, **kwargs: Any) -> Any:
    grads = grads()
    total = api(f"clip.{function}")(grads, *args, **kwargs)
    return [total, grads]


def clip_torch(function: str, grads: Callable[[], list], *args: Any, **kwargs: Any) -> Any:
    params = []
    for g in grads():
        if isinstance(g, np.ndarray) and g.dtype.kind == "f":
            p = T.zeros(g.shape, dtype=T.from_numpy(g).dtype, requires_grad=True)
            p.grad = T.from_numpy(g.copy())
        elif g is None:  # a parameter without a gradient
            p = T.zeros(2, requires_grad=True)
        elif isinstance(g, np.ndarray):  # a parameter may not hold an integer gradient
            p = type("Param", (), {"grad": T.from_numpy(g.copy())})()
        else:
            p = g
        params.append(p)
    total = getattr(T.nn.utils, function)(params, *args, **kwargs)
    return [total, [getattr(p, "grad", None) for p in params]]


def clip_cases() -> None:
    g = lambda: [np.array([3.0, -4.0]), np.array([12.0])]  # noqa: E731
    for function, arg in (("clip_grad_norm_", "max_norm"), ("clip_grad_value_", "clip_value")):
        for text, value, expect in [("nan", NAN, "reject"), ("-1.0", -1.0, "reject"),
                                    ("inf", INF, "accept"), ("0", 0.0, "accept"),
                                    ("'1.0'", "1.0", "either"), ("None", None, "reject"),
                                    ("[1.0]", [1.0], "reject"),
                                    ("np.float32(1.0)", np.float32(1.0), "accept")]:
            case("clip", f"clip.{function}", f"{arg}={text}",
                 lambda f=function, v=value: clip_ours(f, g, v),
                 torch=lambda f=function, v=value: clip_torch(f, g, v), expect=expect)
        for what, grads, expect in [
            ("grads=[int64 array]", lambda: [np.array([3, 4])], "reject"),
            ("grads=[bool array]", lambda: [np.array([True, False])], "reject"),
            ("grads=[float32 array]", lambda: [np.array([3.0, 4.0], np.float32)], "accept"),
            ("grads=[]", lambda: [], "either"),  # torch 2.13's clip_grad_value_ crashes
            ("grads=[None, g]", lambda: [None, np.array([3.0, 4.0])], "accept"),
        ]:
            case("clip", f"clip.{function}", what,
                 lambda f=function, gr=grads: clip_ours(f, gr, 1.0),
                 torch=lambda f=function, gr=grads: clip_torch(f, gr, 1.0), expect=expect,
                 names=("grad", "gradient", "dtype", "int64", "bool"))
        for what, grads in [("grads=None", lambda: None), ("grads=3.0", lambda: 3.0),
                            ("grads=[[3.0, 4.0]] (list)", lambda: [[3.0, 4.0]]),
                            ("grads=[read-only array]", lambda: [read_only([3.0, 4.0])])]:
            case("clip", f"clip.{function}", what,
                 lambda f=function, gr=grads: api(f"clip.{f}")(gr(), 1.0),
                 names=("grad", "gradient", "read-only", "list", "None", "float"))
    for text, value, expect in [("nan", NAN, "reject"), ("'fro'", "fro", "reject"),
                                ("'inf'", "inf", "accept"), ("None", None, "reject"),
                                ("-inf", -INF, "accept"), ("0.5", 0.5, "accept"),
                                ("True", True, "either")]:
        case("clip", "clip.clip_grad_norm_", f"norm_type={text}",
             lambda v=value: clip_ours("clip_grad_norm_", g, 1.0, norm_type=v),
             torch=lambda v=value: clip_torch("clip_grad_norm_", g, 1.0, norm_type=v),
             expect=expect)
    case("clip", "clip.clip_grad_norm_", "grads=[inf], error_if_nonfinite=True",
         lambda: clip_ours("clip_grad_norm_", lambda: [np.array([INF])], 1.0,
                           error_if_nonfinite=True),
         torch=lambda: clip_torch("clip_grad_norm_", lambda: [np.array([INF])], 1.0,
                                  error_if_nonfinite=True), names=("non-finite",))
    case("clip", "clip.clip_grad_norm_", "grads=[empty], norm_type=inf",
         lambda: clip_ours("clip_grad_norm_", lambda: [np.ones(0)], 1.0, norm_type=INF),
         torch=lambda: clip_torch("clip_grad_norm_", lambda: [np.ones(0)], 1.0, norm_type=INF),
         names=("empty",))
