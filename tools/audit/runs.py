"""Bad-input cases for the parts without a torch counterpart: surfaces, ``trajectory.run``,
the training loop and its callbacks, the data sets and the plots."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from audit.core import (
    INF,
    NAN,
    api,
    case,
    has_keyword,
    rng,
    tokens_of,
)

# --------------------------------------------------------------------------- surfaces


def surfaces_cases() -> None:
    def value(points: Any, method: str = "value") -> Callable[[], Any]:
        return lambda: getattr(api("surfaces.rosenbrock")(), method)(points)

    for method in ("value", "grad"):
        for what, points, expect in [
            ("xy=[1.0, 1.0, 99.0]", [1.0, 1.0, 99.0], "reject"),
            ("xy shape (4, 3)", np.ones((4, 3)), "reject"),
            ("xy=1.0", 1.0, "reject"), ("xy=None", None, "reject"),
            ("xy=['a', 'b']", ["a", "b"], "reject"), ("xy=[1+2j, 0.0]", [1 + 2j, 0.0], "reject"),
            ("xy ragged [[1, 2], [3]]", [[1.0, 2.0], [3.0]], "reject"),
            ("xy int64 [1, 1]", np.array([1, 1]), "accept"),
            ("xy shape (0, 2)", np.zeros((0, 2)), "accept"),
        ]:
            case("surfaces", f"surfaces.Surface.{method}", what, value(points, method),
                 expect=expect, names=("xy", "point", "points", "shape", "(4, 3)", "(3,)",
                                       "dtype", "None", "real"))
    for factory, arg, values in [
        ("quadratic", "condition", [("inf", INF), ("nan", NAN), ("0.5", 0.5), ("'10'", "10"),
                                    ("None", None)]),
        ("quadratic", "scale", [("inf", INF), ("nan", NAN), ("-1.0", -1.0), ("'1'", "1")]),
        ("quadratic", "angle_deg", [("nan", NAN), ("inf", INF), ("'30'", "30")]),
        ("rosenbrock", "a", [("nan", NAN), ("inf", INF), ("1e200", 1e200), ("'1'", "1")]),
        ("rosenbrock", "b", [("-100.0", -100.0), ("0", 0.0), ("nan", NAN), ("inf", INF),
                             ("'100'", "100")]),
        ("rastrigin", "A", [("-10.0", -10.0), ("nan", NAN), ("inf", INF), ("'10'", "10")]),
        ("cliff", "slope", [("-1.0", -1.0), ("nan", NAN), ("inf", INF), ("'1'", "1")]),
        ("cliff", "wall_slope", [("0.5", 0.5), ("nan", NAN), ("inf", INF)]),
        ("cliff", "sharpness", [("0", 0.0), ("nan", NAN), ("1e-308", 1e-308)]),
    ]:
        for text, bad in values:
            def make(factory: str = factory, arg: str = arg, bad: Any = bad) -> Any:
                surface = api(f"surfaces.{factory}")(**{arg: bad})
                return [surface.value(surface.start), surface.grad(surface.start),
                        surface.hessian, surface.minima, surface.xlim, surface.ylim]
            case("surfaces", f"surfaces.{factory}", f"{arg}={text}", make)
    for factory, arg, value in [("quadratic", "condition", np.float32(10.0)),
                                ("rosenbrock", "b", np.int64(100)),
                                ("rastrigin", "A", np.float64(10.0)),
                                ("cliff", "slope", np.float32(1.0))]:
        case("surfaces", f"surfaces.{factory}", f"{arg}={type(value).__name__}",
             lambda f=factory, k={arg: value}: api(f"surfaces.{f}")(**k).grad([0.5, 0.5]),
             expect="accept")
    for text, n, expect in [("1", 1, "reject"), ("-5", -5, "reject"), ("2.5", 2.5, "reject"),
                            ("'9'", "9", "reject"), ("np.int64(3)", np.int64(3), "accept")]:
        case("surfaces", "surfaces.Surface.grid", f"n={text}",
             lambda n=n: api("surfaces.saddle")().grid(n), expect=expect,
             names=(*tokens_of(f"n={text}"), "grid", "size"))
    for text, name in [("'banana'", "banana"), ("3", 3), ("None", None), ("['rosenbrock']",
                                                                           ["rosenbrock"])]:
        case("surfaces", "surfaces.get", f"name={text}", lambda n=name: api("surfaces.get")(n),
             names=(*tokens_of(f"name={text}"), "surface"))


# --------------------------------------------------------------------------- trajectory


def trajectory_cases() -> None:
    def run(surface: Any = "rosenbrock", optimizer: Any = None, options: Any = None,
            **kwargs: Any) -> Callable[[], Any]:
        def call() -> Any:
            chosen = api("optim.SGD") if optimizer is None else optimizer()
            where = api("surfaces.get")(surface) if surface == "rosenbrock" else surface
            kwargs.setdefault("steps", 5)
            history = api("trajectory.run")(where, chosen, options or {"lr": 1e-3}, **kwargs)
            return [history.points, getattr(history, "loss", getattr(history, "losses", None))]
        return call

    for what, call, expect in [
        ("steps=-1", run(steps=-1), "reject"), ("steps=2.5", run(steps=2.5), "reject"),
        ("steps='10'", run(steps="10"), "reject"), ("steps=None", run(steps=None), "reject"),
        ("steps=nan", run(steps=NAN), "reject"), ("steps=0", run(steps=0), "accept"),
        ("steps=np.int64(5)", run(steps=np.int64(5)), "accept"),
        ("start=(1.0, 2.0, 3.0)", run(start=(1.0, 2.0, 3.0)), "reject"),
        ("start=(nan, 0.0)", run(start=(NAN, 0.0)), "either"),  # documented: diverged at 0
        ("start='ab'", run(start="ab"), "reject"),
        ("start=(1, 2) ints", run(start=(1, 2)), "accept"),
        ("grad_noise=nan", run(grad_noise=NAN), "reject"),
        ("grad_noise=-1.0", run(grad_noise=-1.0), "reject"),
        ("grad_noise=inf", run(grad_noise=INF), "reject"),
        ("grad_noise='0.1'", run(grad_noise="0.1"), "reject"),
        ("clip_norm=nan", run(clip_norm=NAN), "reject"),
        ("clip_norm=-1.0", run(clip_norm=-1.0), "reject"),
        ("clip_value=nan", run(clip_value=NAN), "reject"),
        ("clip_value=-1.0", run(clip_value=-1.0), "reject"),
        ("blowup=nan", run(blowup=NAN), "reject"), ("blowup=-1.0", run(blowup=-1.0), "reject"),
        ("blowup=0", run(blowup=0.0), "reject"),
        ("seed=-1", run(grad_noise=0.1, seed=-1), "reject"),
        ("seed=1.5", run(grad_noise=0.1, seed=1.5), "reject"),
        ("options=['lr']", run(options=["lr"]), "reject"),
        ("options={'lrr': 0.1}", run(options={"lrr": 0.1}), "reject"),
        ("optimizer='adam'", run(optimizer=lambda: "adam"), "reject"),
        ("optimizer=None", run(optimizer=lambda: None), "reject"),
        ("scheduler=3", run(scheduler=3), "reject"),
        ("surface='banana'", run(surface="banana"), "reject"),
        ("surface=None", run(surface=None), "reject"),
        ("surface=3", run(surface=3), "reject"),
        ("surface='rastrigin' (a name)", run(surface="rastrigin"), "accept"),
        ("optimizer=optim.sgd_step (pure function)",
         run(optimizer=lambda: api("optim.sgd_step")), "accept"),
        ("pure function with scheduler",
         run(optimizer=lambda: api("optim.sgd_step"),
             scheduler=lambda o: api("schedules.StepLR")(o, step_size=2)), "reject"),
    ]:
        case("trajectory", "trajectory.run", what, call, expect=expect,
             names=(*tokens_of(what), "surface", "optimizer", "options", "scheduler",
                    "start", "steps"),
             check=lambda r: bool(np.all(np.isfinite(r[0])) or np.isnan(r[0][0, 0])))


# --------------------------------------------------------------------------- training

XT = np.random.default_rng(2).normal(size=(12, 2))
YT = (XT[:, 0] > 0).astype(np.int64)


def tiny_model() -> tuple[Any, Any, Any]:
    model = api("nn.Sequential")(api("nn.Linear")(2, 3, rng=rng()), api("nn.ReLU")(),
                                 api("nn.Linear")(3, 2, rng=rng()))
    return model, api("nn.CrossEntropyLoss")(), api("optim.SGD")(model.parameters(), lr=0.1)


def fit(X: Any = None, y: Any = None, *, keyword: str | None = None, **kwargs: Any) -> Any:
    def call() -> Any:
        if keyword is not None:
            has_keyword("training.fit", keyword)
        model, loss, optimizer = tiny_model()
        kwargs.setdefault("epochs", 2)
        kwargs.setdefault("batch_size", 4)
        history = api("training.fit")(model, loss, optimizer, XT if X is None else X,
                                      YT if y is None else y, progress=False, **kwargs)
        return getattr(history, "loss", None)
    return call


def training_cases() -> None:
    for what, call, expect in [
        ("batch_size=np.int64(4)", fit(batch_size=np.int64(4)), "accept"),
        ("batch_size=0", fit(batch_size=0), "reject"),
        ("batch_size=2.5", fit(batch_size=2.5), "reject"),
        ("batch_size=True", fit(batch_size=True), "reject"),
        ("batch_size=None", fit(batch_size=None), "reject"),
        ("epochs=np.int64(1)", fit(epochs=np.int64(1)), "accept"),
        ("epochs=0", fit(epochs=0), "accept"),
        ("epochs=-1", fit(epochs=-1), "reject"),
        ("epochs=1.5", fit(epochs=1.5), "reject"),
        ("epochs=None", fit(epochs=None), "reject"),
        ("X empty (0, 2)", fit(np.zeros((0, 2)), np.zeros(0, np.int64)), "reject"),
        ("X 12 rows, y 10", fit(y=YT[:10]), "reject"),
        ("y shape (12, 1)", fit(y=YT[:, None]), "reject"),
        ("X shape (12,)", fit(X=XT[:, 0]), "reject"),
        ("X shape (12, 5)", fit(X=np.zeros((12, 5))), "reject"),
        ("X=list", fit(X=XT.tolist()), "either"),
        ("X int64", fit(X=XT.astype(np.int64)), "either"),
        ("clip_norm=nan", fit(clip_norm=NAN), "reject"),
        ("clip_norm=-1.0", fit(clip_norm=-1.0), "reject"),
        ("scheduler_interval='batch'", fit(scheduler_interval="batch"), "reject"),
        ("X_val without y_val", fit(X_val=XT), "reject"),
        ("seed=-1", fit(seed=-1), "reject"),
        ("seed='a'", fit(seed="a"), "reject"),
        ("scheduler=object()", fit(scheduler=object()), "reject"),
        ("callbacks=[object()]", fit(callbacks=[object()], keyword="callbacks"), "reject"),
    ]:
        case("training", "training.fit", what, call, expect=expect,
             names=(*tokens_of(what), "X", "y", "rows", "shape", "features", "scheduler"))

    def fit_with(what: str, make_args: Callable[[], tuple[Any, Any, Any]],
                 expect: str = "reject") -> None:
        def call() -> Any:
            model, loss, optimizer = make_args()
            return api("training.fit")(model, loss, optimizer, XT, YT, epochs=1, batch_size=4,
                                       progress=False).loss
        case("training", "training.fit", what, call, expect=expect,
             names=(*tokens_of(what), "model", "loss", "optimizer"))

    fit_with("optimizer=None", lambda: (*tiny_model()[:2], None))
    fit_with("loss_fn=None", lambda: (tiny_model()[0], None, tiny_model()[2]))
    fit_with("model=None", lambda: (None, *tiny_model()[1:]))

    logits = np.array([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
    for what, args, expect in [
        ("y shape (3, 1)", (logits, np.array([[0], [1], [1]])), "reject"),
        ("logits shape (3,)", (logits[:, 0], np.array([0, 1, 1])), "reject"),
        ("empty (0, 2)", (np.zeros((0, 2)), np.zeros(0, np.int64)), "either"),
        ("3 rows, 2 labels", (logits, np.array([0, 1])), "reject"),
        ("y float [0., 1., 1.]", (logits, np.array([0.0, 1.0, 1.0])), "either"),
        ("y=list", (logits, [0, 1, 1]), "either"),
    ]:
        case("training", "training.accuracy", what,
             lambda a=args: api("training.accuracy")(*a), expect=expect,
             names=("y", "logits", "shape", "labels", "rows", "(3, 1)", "(3,)", "empty"),
             check=lambda r: isinstance(r, float) and (0 <= r <= 1 or math.isnan(r)))
    for what, args in [("X 3 rows, y 2", (XT[:3], YT[:2])), ("X shape (4, 5)", (np.zeros((4, 5)),
                                                                               YT[:4]))]:
        case("training", "training.evaluate", what,
             lambda a=args: api("training.evaluate")(tiny_model()[0], tiny_model()[1], *a),
             names=("X", "y", "rows", "shape", "features", "batch_size"))
    for what, grads, expect in [("grads=[]", [], "accept"),
                                ("grads=[int64 array]", [np.array([3, 4])], "accept"),
                                ("grads=None", None, "reject"),
                                ("grads=[[3.0, 4.0]]", [[3.0, 4.0]], "either")]:
        case("training", "training.global_grad_norm", what,
             lambda g=grads: api("training.global_grad_norm")(g), expect=expect,
             names=("grads", "None", "NoneType"))

    def early(**kwargs: Any) -> Callable[[], Any]:
        def call() -> Any:
            stopper = api("training.EarlyStopping")(**kwargs)
            return fit(callbacks=[stopper], keyword="callbacks", X_val=XT, y_val=YT)()
        return call

    for what, kwargs, expect in [
        ("patience=-1", {"patience": -1}, "reject"), ("patience=1.5", {"patience": 1.5}, "reject"),
        ("patience='3'", {"patience": "3"}, "reject"), ("mode='maximum'", {"mode": "maximum"},
                                                        "reject"),
        ("min_delta=nan", {"min_delta": NAN, "patience": 2}, "reject"),
        ("monitor=3", {"monitor": 3, "patience": 2}, "reject"),
        ("monitor='val_acc', patience=np.int64(2)", {"monitor": "val_acc",
                                                     "patience": np.int64(2)}, "accept"),
    ]:
        case("training", "training.EarlyStopping", what, early(**kwargs), expect=expect)

    def early_without_validation() -> Any:
        stopper = api("training.EarlyStopping")(monitor="val_loss", patience=2)
        return fit(callbacks=[stopper], keyword="callbacks")()

    case("training", "training.EarlyStopping", "monitor='val_loss' without validation set",
         early_without_validation, names=("val_loss", "monitor", "validation"))


# --------------------------------------------------------------------------- data

GENERATORS = ("make_regression", "make_moons", "make_spirals", "make_blobs")


def data_cases() -> None:
    for name in GENERATORS:
        for arg, values in [
            ("n_samples", [("0", 0, "reject"), ("-5", -5, "reject"), ("100.0", 100.0, "reject"),
                           ("'100'", "100", "reject"), ("None", None, "reject"),
                           ("np.int64(50)", np.int64(50), "accept")]),
            ("noise", [("nan", NAN, "reject"), ("-0.1", -0.1, "reject"), ("inf", INF, "reject"),
                       ("'0.1'", "0.1", "reject"), ("np.float32(0.2)", np.float32(0.2),
                                                    "accept")]),
            ("seed", [("-1", -1, "reject"), ("1.5", 1.5, "reject"), ("'a'", "a", "reject"),
                      ("np.int64(3)", np.int64(3), "accept")]),
        ]:
            for text, value, expect in values:
                case("data", f"data.{name}", f"{arg}={text}",
                     lambda n=name, k={arg: value}: [api(f"data.{n}")(**k).X,
                                                     api(f"data.{n}")(**k).y],
                     expect=expect)
    for name, what, kwargs in [
        ("make_regression", "n_features=0", {"n_features": 0}),
        ("make_regression", "n_features=2.0", {"n_features": 2.0}),
        ("make_regression", "bias=nan", {"bias": NAN}),
        ("make_regression", "coef=[inf]", {"coef": [INF]}),
        ("make_spirals", "n_classes=1", {"n_classes": 1}),
        ("make_spirals", "n_classes=3.0", {"n_classes": 3.0}),
        ("make_spirals", "turns=inf", {"turns": INF}),
        ("make_blobs", "n_classes=0", {"n_classes": 0}),
        ("make_blobs", "n_features=-1", {"n_features": -1}),
        ("make_blobs", "center_box=(5, -5)", {"center_box": (5, -5)}),
        ("make_blobs", "center_box=(0, nan)", {"center_box": (0, NAN)}),
        ("make_blobs", "center_box=5.0", {"center_box": 5.0}),
    ]:
        case("data", f"data.{name}", what, lambda n=name, k=kwargs: api(f"data.{n}")(**k).X)
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    for what, call, expect in [
        ("test_fraction=nan", lambda: api("data.train_test_split")(X, y, test_fraction=NAN),
         "reject"),
        ("test_fraction='0.2'", lambda: api("data.train_test_split")(X, y, test_fraction="0.2"),
         "reject"),
        ("test_fraction=1.0", lambda: api("data.train_test_split")(X, y, test_fraction=1.0),
         "reject"),
        ("seed=-3", lambda: api("data.train_test_split")(X, y, seed=-3), "reject"),
        ("X=1.0 (a scalar)", lambda: api("data.train_test_split")(1.0, y), "reject"),
        ("X empty (0, 2)", lambda: api("data.train_test_split")(np.zeros((0, 2)), np.zeros(0)),
         "reject"),
        ("X=list, y=list", lambda: api("data.train_test_split")(X.tolist(), y.tolist()),
         "accept"),
        ("X 10 rows, y 9", lambda: api("data.train_test_split")(X, y[:9]), "reject"),
    ]:
        case("data", "data.train_test_split", what, call, expect=expect,
             names=(*tokens_of(what), "X", "y", "rows", "shape"))
    for what, args, expect in [
        ("X_train empty (0, 2)", (np.zeros((0, 2)), X), "reject"),
        ("X_train shape (10,)", (X[:, 0], X), "reject"),
        ("X_test 1 feature for 2", (X, X[:, :1]), "reject"),
        ("X_test=str array", (X, X.astype(str)), "reject"),
        ("X_train=list", (X.tolist(), X), "accept"),
    ]:
        case("data", "data.standardize", what, lambda a=args: api("data.standardize")(*a),
             expect=expect, names=("X_train", "X_test", "shape", "features", "rows"))
    for what, args, kwargs, expect in [
        ("n=-1", (-1,), {"batch_size": 4}, "reject"),
        ("n=10.0", (10.0,), {"batch_size": 4}, "reject"),
        ("n=np.int64(10)", (np.int64(10),), {"batch_size": 4}, "accept"),
        ("batch_size=0", (10,), {"batch_size": 0}, "reject"),
        ("batch_size=np.int32(4)", (10,), {"batch_size": np.int32(4)}, "accept"),
        ("batch_size=2.5", (10,), {"batch_size": 2.5}, "reject"),
        ("seed=0.5", (10,), {"batch_size": 4, "seed": 0.5}, "reject"),
    ]:
        case("data", "data.iterate_minibatches", what,
             lambda a=args, k=kwargs: list(api("data.iterate_minibatches")(*a, **k)),
             expect=expect)


# --------------------------------------------------------------------------- plots


def plots_cases() -> None:
    import matplotlib.pyplot as plt

    def figure(call: Callable[[], Any]) -> Callable[[], Any]:
        def wrapped() -> Any:
            try:
                return type(call()).__name__
            finally:
                plt.close("all")
        return wrapped

    def is_figure(result: Any) -> bool:
        return result in ("Figure", "Axes")

    def history() -> Any:
        return api("trajectory.run")(api("surfaces.get")("rosenbrock"), api("optim.SGD"),
                                     {"lr": 1e-3}, steps=5)

    curves = lambda runs, **k: figure(lambda: api("plots.loss_curves")(runs, **k))  # noqa: E731
    for what, call, expect in [
        ("losses near 1e300", curves({"a": np.array([1e300, 1e301, 1e302])}), "accept"),
        ("runs={}", curves({}), "either"),
        ("runs={'a': []}", curves({"a": np.array([])}), "either"),
        ("runs={'a': [nan, nan]}", curves({"a": np.array([NAN, NAN])}), "either"),
        ("runs=[1.0, 2.0] (not a mapping)", curves([1.0, 2.0]), "reject"),
        ("runs={'a': 'abc'}", curves({"a": "abc"}), "reject"),
        ("runs={'a': ones((3, 2))}", curves({"a": np.ones((3, 2))}), "reject"),
        ("log='yes'", figure(lambda: api("plots.loss_curves")({"a": history()}, log="yes")),
         "either"),
    ]:
        case("plots", "plots.loss_curves", what, call, expect=expect, check=is_figure,
             names=(*tokens_of(what), "runs", "losses", "mapping", "dict", "1-D", "shape"))

    def contour(levels: Any) -> Callable[[], Any]:
        return figure(lambda: api("plots.contour")(api("surfaces.get")("rosenbrock"),
                                                   levels=levels))

    for text, levels in [("0", 0), ("-3", -3), ("2.5", 2.5), ("'30'", "30")]:
        case("plots", "plots.contour", f"levels={text}", contour(levels),
             names=(*tokens_of(f"levels={text}"), "levels"))
    case("plots", "plots.contour", "surface='rosenbrock' (a name)",
         figure(lambda: api("plots.contour")("rosenbrock")), expect="either", check=is_figure,
         names=("surface", "rosenbrock", "str"))
    surface = lambda: api("surfaces.get")("rosenbrock")  # noqa: E731
    for what, runs, expect in [("trajs={}", lambda: {}, "accept"),
                               ("trajs={'a': object()}", lambda: {"a": object()}, "reject"),
                               ("trajs={'a': ones((5, 3))}", lambda: {"a": np.ones((5, 3))},
                                "reject")]:
        case("plots", "plots.trajectories", what,
             figure(lambda r=runs: api("plots.trajectories")(surface(), r())), expect=expect,
             check=is_figure, names=("trajs", "points", "object", "shape", "History", "runs"))
