"""Small data sets for the course: synthetic generators and three real sets shipped offline.

Every function returns a :class:`Dataset` ``(X, y, name, description)`` with ``X`` a float64
array of shape ``(n_samples, n_features)`` and ``y`` either int64 class labels ``0..k-1``
(classification) or a float64 target of shape ``(n_samples,)`` (regression).

The synthetic generators take ``*, n_samples, noise, seed`` and are deterministic for a
given seed. Arguments are checked: a wrong kind of value (``n_samples=100.0``, a string)
raises ``TypeError`` and an out-of-range one (``noise=nan``, ``seed=-1``) ``ValueError``,
both naming the argument; numpy integers and floats are accepted like Python's. The real
sets are read from the gzipped files in ``nnopt_lib/data_files`` (sources and licences in
``DATA_LICENSES.txt`` there); nothing is downloaded. :func:`load_mnist1d` generates MNIST-1D
on the spot with the ``mnist1d`` package's own generator (also nothing downloaded).

Helpers: :func:`train_test_split`, :func:`standardize` (statistics of the training part
only, so no information leaks from the test part), :func:`iterate_minibatches`, and
:func:`default_rng`, the seed check that every ``seed=`` argument of the library goes
through (``training.fit`` and ``trajectory.run`` included).
"""

from __future__ import annotations

import gzip
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

import numpy as np

from nnopt_lib import checks

__all__ = [
    "Dataset",
    "make_regression",
    "make_moons",
    "make_spirals",
    "make_blobs",
    "load_digits",
    "load_breast_cancer",
    "load_diabetes",
    "load_mnist1d",
    "train_test_split",
    "standardize",
    "iterate_minibatches",
    "default_rng",
]


@dataclass(frozen=True)
class Dataset:
    """Features ``X`` (n, d), targets ``y`` (n,), a short ``name`` and a ``description``."""

    X: np.ndarray
    y: np.ndarray
    name: str
    description: str

    def __repr__(self) -> str:
        return f"Dataset(name={self.name!r}, X={self.X.shape}, y={self.y.shape} {self.y.dtype})"


# Checks of the arguments. There is no torch counterpart to copy, so each one raises a
# clear TypeError (wrong kind of value) or ValueError (out of range) naming the argument.


def _check_n_samples(n_samples: object, minimum: int = 1) -> int:
    return checks.integer("n_samples", n_samples, minimum=minimum)


def _check_noise(noise: object) -> float:
    return checks.real("noise", noise, nonnegative=True)


def default_rng(seed: object) -> np.random.Generator:
    """``numpy.random.default_rng(seed)``, with an error that names ``seed`` when numpy
    refuses it.

    ``seed`` may be an integer >= 0 (numpy's included), ``None`` (fresh entropy: not
    reproducible) or a ``numpy.random.Generator`` (returned as it is, so one generator can be
    shared). A negative number raises ``ValueError``; a fraction, a string or a bool
    ``TypeError`` -- numpy's own messages ("expected non-negative integer") do not say which
    argument was wrong.
    """
    if isinstance(seed, bool):
        raise TypeError(f"seed must be an integer, None or a numpy.random.Generator, got {seed!r}")
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as error:
        raise type(error)(
            "seed must be a non-negative integer, None or a numpy.random.Generator, "
            f"got {seed!r} ({type(seed).__name__})"
        ) from error


# --------------------------------------------------------------------------- synthetic


def make_regression(
    *,
    n_samples: int = 100,
    noise: float = 0.1,
    seed: int = 0,
    n_features: int = 1,
    coef: np.ndarray | None = None,
    bias: float = 0.0,
) -> Dataset:
    """Linear regression data ``y = X @ coef + bias + noise * eps``, ``X, eps ~ N(0, 1)``.

    ``coef`` defaults to ``1, 2, ..., n_features``, so the answer a fit should recover is
    known (it is also written in the description).
    """
    n_samples = _check_n_samples(n_samples)
    noise = _check_noise(noise)
    n_features = checks.integer("n_features", n_features, minimum=1)
    bias = checks.real("bias", bias)
    coef = np.arange(1.0, n_features + 1) if coef is None else np.asarray(coef, dtype=float)
    if coef.shape != (n_features,):
        raise ValueError(f"coef must have shape ({n_features},), got {coef.shape}")
    if not np.all(np.isfinite(coef)):
        raise ValueError(f"Invalid coef: {coef.tolist()} (must be finite)")
    rng = default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    y = X @ coef + bias + noise * rng.standard_normal(n_samples)
    description = (
        f"y = X @ coef + bias + noise*N(0,1) with coef={coef.tolist()}, bias={bias}, "
        f"noise={noise}; {n_samples} samples, X ~ N(0, I_{n_features})."
    )
    return Dataset(X, y, "regression", description)


def make_moons(*, n_samples: int = 200, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Two interleaving half circles in 2-D, labels 0 (upper moon) and 1 (lower moon).

    Upper: ``(cos t, sin t)``, lower: ``(1 - cos t, 0.5 - sin t)`` for ``t`` evenly spaced
    in ``[0, pi]``; Gaussian noise of std ``noise`` is added and the rows are shuffled.
    Not linearly separable, so a linear classifier cannot fit it but a small MLP can.
    """
    n_samples = _check_n_samples(n_samples, 2)
    noise = _check_noise(noise)
    rng = default_rng(seed)
    n_upper = n_samples // 2
    n_lower = n_samples - n_upper
    t_upper = np.linspace(0, math.pi, n_upper)
    t_lower = np.linspace(0, math.pi, n_lower)
    upper = np.column_stack([np.cos(t_upper), np.sin(t_upper)])
    lower = np.column_stack([1 - np.cos(t_lower), 0.5 - np.sin(t_lower)])
    X = np.vstack([upper, lower]) + noise * rng.standard_normal((n_samples, 2))
    y = np.concatenate([np.zeros(n_upper, np.int64), np.ones(n_lower, np.int64)])
    order = rng.permutation(n_samples)
    description = f"Two interleaving half circles, {n_samples} points, Gaussian noise std {noise}."
    return Dataset(X[order], y[order], "moons", description)


def make_spirals(
    *,
    n_samples: int = 300,
    noise: float = 0.1,
    seed: int = 0,
    n_classes: int = 3,
    turns: float = 1.0,
) -> Dataset:
    """``n_classes`` interleaved spiral arms in 2-D (label = arm), a classic hard 2-D task.

    Arm ``k`` is ``r (cos a, sin a)`` with radius ``r`` evenly spaced in ``[0.05, 1]`` and
    angle ``a = 2 pi (k / n_classes + turns * r)``; Gaussian noise of std ``noise`` is
    added to the coordinates and the rows are shuffled. Classes are balanced (differ by
    at most one point).
    """
    n_classes = checks.integer("n_classes", n_classes, minimum=2)
    n_samples = _check_n_samples(n_samples, n_classes)
    noise = _check_noise(noise)
    turns = checks.real("turns", turns)
    rng = default_rng(seed)
    y = np.arange(n_samples, dtype=np.int64) % n_classes
    X = np.empty((n_samples, 2))
    for k in range(n_classes):
        rows = np.flatnonzero(y == k)
        r = np.linspace(0.05, 1.0, len(rows))
        angle = 2 * math.pi * (k / n_classes + turns * r)
        X[rows] = np.column_stack([r * np.cos(angle), r * np.sin(angle)])
    X += noise * rng.standard_normal(X.shape)
    order = rng.permutation(n_samples)
    description = (
        f"{n_classes} spiral arms with {turns} turn(s), {n_samples} points, "
        f"Gaussian noise std {noise}."
    )
    return Dataset(X[order], y[order], "spirals", description)


def make_blobs(
    *,
    n_samples: int = 300,
    noise: float = 1.0,
    seed: int = 0,
    n_classes: int = 3,
    n_features: int = 2,
    center_box: tuple[float, float] = (-5.0, 5.0),
) -> Dataset:
    """Isotropic Gaussian clusters, one per class: centres ``~ U(center_box)`` per
    coordinate, points ``centre + noise * N(0, I)`` (so ``noise`` is the cluster std).
    Classes are balanced and the rows shuffled.
    """
    n_classes = checks.integer("n_classes", n_classes, minimum=1)
    n_samples = _check_n_samples(n_samples, n_classes)
    noise = _check_noise(noise)
    n_features = checks.integer("n_features", n_features, minimum=1)
    if not isinstance(center_box, tuple | list) or len(center_box) != 2:
        raise TypeError(f"center_box must be a pair (low, high), got {center_box!r}")
    low, high = (checks.real("center_box", bound) for bound in center_box)
    if low > high:
        raise ValueError(f"center_box must be (low, high) with low <= high, got {center_box}")
    rng = default_rng(seed)
    centres = rng.uniform(low, high, size=(n_classes, n_features))
    y = rng.permutation(np.arange(n_samples, dtype=np.int64) % n_classes)
    X = centres[y] + noise * rng.standard_normal((n_samples, n_features))
    description = (
        f"{n_classes} Gaussian blobs in {n_features}-D, cluster std {noise}, "
        f"{n_samples} points, centres uniform in {center_box}."
    )
    return Dataset(X, y, "blobs", description)


# --------------------------------------------------------------------------- real data


@cache
def _read(filename: str, delimiter: str | None, skiprows: int = 0) -> np.ndarray:
    """Parse one shipped gzipped text file (cached; callers get copies)."""
    path = resources.files("nnopt_lib").joinpath("data_files", filename)
    with path.open("rb") as raw, gzip.open(raw, "rt") as text:
        return np.loadtxt(text, delimiter=delimiter, skiprows=skiprows, dtype=np.float64)


def load_digits() -> Dataset:
    """1797 handwritten digits as 8x8 images flattened to 64 features (pixels 0..16),
    labels 0-9. Alpaydin & Kaynak 1998, UCI ML Repository (CC BY 4.0)."""
    table = _read("digits.csv.gz", ",")
    description = (
        "Optical Recognition of Handwritten Digits (UCI): 1797 8x8 grey-level images, "
        "64 features with values 0..16, 10 classes (the digit)."
    )
    return Dataset(table[:, :-1].copy(), table[:, -1].astype(np.int64), "digits", description)


def load_breast_cancer() -> Dataset:
    """569 tumours, 30 real features, label 0 = malignant, 1 = benign.
    Wolberg et al. 1995, Breast Cancer Wisconsin (Diagnostic), UCI (CC BY 4.0)."""
    # The first row is a header: n_samples, n_features, class names.
    table = _read("breast_cancer.csv.gz", ",", skiprows=1)
    description = (
        "Breast Cancer Wisconsin (Diagnostic, UCI): 569 samples, 30 features computed from "
        "cell-nucleus images; label 0 = malignant, 1 = benign."
    )
    return Dataset(
        table[:, :-1].copy(), table[:, -1].astype(np.int64), "breast_cancer", description
    )


def load_diabetes() -> Dataset:
    """442 patients, 10 unscaled baseline variables, float target = disease progression
    one year later. Efron, Hastie, Johnstone & Tibshirani 2004, "Least Angle Regression"."""
    X = _read("diabetes_data.csv.gz", None).copy()
    y = _read("diabetes_target.csv.gz", None).copy()
    description = (
        "Diabetes (Efron et al. 2004): 442 patients; features age, sex, BMI, blood pressure "
        "and six serum measurements (unscaled); target: disease progression after one year."
    )
    return Dataset(X, y, "diabetes", description)


def load_mnist1d(*, n_samples: int = 4000, seed: int = 0) -> Dataset:
    """MNIST-1D (Greydanus 2020): ``n_samples`` 1-D signals of length 40, labels 0-9.

    Each of the ten digits is a hand-made 1-D template of 12 points; every sample is its
    template padded, scaled, translated, sheared, given correlated and white noise and
    resampled to 40 points (the ``mnist1d`` package's ``make_dataset``, generated here on
    the spot -- nothing is downloaded). The set is then shifted and scaled to mean 0 and
    std 1 over all samples. In the paper a logistic regression reaches about 32 % test
    accuracy, an MLP about 68 % and a CNN about 94 %: unlike MNIST, where nearly every model
    scores about 98 %, the differences between models and training methods show up -- and
    on a laptop CPU.

    ``n_samples`` must be a positive multiple of 10 (exactly ``n_samples // 10`` samples of
    each digit, rows shuffled). The package's own 80/20 train/test split is not kept:
    split with :func:`train_test_split`. ``seed`` (0 <= seed < 2**32) fixes the data; the
    same ``(n_samples, seed)`` always gives the same arrays.

    ``make_dataset`` seeds and draws from the *global* generators (``random`` and
    ``numpy.random``); their state is saved before and restored after, so loading data never
    changes the random numbers a learner's code draws next. The result is cached in memory
    per ``(n_samples, seed)`` (4000 samples take a few seconds to generate); each call
    returns fresh copies, so changing them does not change the cache.

    Reference: S. Greydanus, "Scaling down Deep Learning", arXiv:2011.14439 (2020); the
    ``mnist1d`` package is Apache-2.0 (see ``data_files/DATA_LICENSES.txt``).
    """
    n_samples = _check_n_samples(n_samples, 10)
    if n_samples % 10:
        raise ValueError(
            f"Invalid n_samples: {n_samples} (must be a multiple of 10: MNIST-1D has the same "
            "number of samples of each digit)"
        )
    seed = checks.integer("seed", seed, minimum=0)
    if seed >= 2**32:  # what numpy.random.seed accepts
        raise ValueError(f"Invalid seed: {seed} (must be an integer < 2**32)")
    X, y = _mnist1d(n_samples, seed)
    description = (
        f"MNIST-1D (Greydanus 2020, arXiv:2011.14439): {n_samples} 1-D signals of 40 points "
        f"made from 10 digit templates (pad, scale, translate, shear, noise), "
        f"{n_samples // 10} of each digit, standardised to mean 0 and std 1; seed {seed}."
    )
    return Dataset(X.copy(), y.copy(), "mnist1d", description)


@lru_cache(maxsize=8)
def _mnist1d(n_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Generate MNIST-1D once per ``(n_samples, seed)``; callers get copies."""
    # Imported here, not at the top: mnist1d pulls in scipy and matplotlib.pyplot, which
    # would slow every ``import nnopt_lib.data`` for the lessons that never use it.
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()  # the package defaults (the published data set's recipe)
    args.num_samples = n_samples
    args.seed = seed
    # The legacy global generator is exactly what must be protected here, hence NPY002.
    python_state, numpy_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    try:
        raw = make_dataset(args)  # never get_dataset: that one downloads
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)  # noqa: NPY002
    X = np.concatenate([raw["x"], raw["x_test"]]).astype(np.float64)
    y = np.concatenate([raw["y"], raw["y_test"]]).astype(np.int64)
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


# --------------------------------------------------------------------------- helpers


def train_test_split(
    X: np.ndarray, y: np.ndarray, *, test_fraction: float = 0.25, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle and split into ``X_train, X_test, y_train, y_test`` (scikit-learn's order).

    The test part has ``ceil(test_fraction * n)`` rows.
    """
    test_fraction = checks.real("test_fraction", test_fraction)
    if not 0 < test_fraction < 1:
        raise ValueError(f"Invalid test_fraction: {test_fraction} (must be in (0, 1))")
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(
            f"X and y must be arrays with one row per sample, got shapes {X.shape} and {y.shape}"
        )
    n = len(X)
    if len(y) != n:
        raise ValueError(f"X has {n} rows but y has {len(y)}")
    n_test = math.ceil(test_fraction * n)
    if n_test >= n:
        raise ValueError(f"test_fraction={test_fraction} leaves no training rows out of {n}")
    order = default_rng(seed).permutation(n)
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


def standardize(X_train: np.ndarray, X_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale both parts to ``(X - mean) / std`` with the *training* mean and std.

    Using the test statistics too would leak information about the test set into the
    model. Constant training columns (std 0, e.g. the always-blank border pixels of the
    digits) are only centred, not divided by zero.
    """
    X_train, X_test = np.asarray(X_train), np.asarray(X_test)
    for name, X in (("X_train", X_train), ("X_test", X_test)):
        if X.dtype.kind not in "iuf":
            raise TypeError(f"{name} must hold real numbers, got dtype {X.dtype}")
        if X.ndim != 2:
            raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {X.shape}")
    if len(X_train) == 0:
        raise ValueError("X_train has no rows: its mean and std are undefined")
    if X_test.shape[1] != X_train.shape[1]:
        raise ValueError(
            f"X_test has {X_test.shape[1]} features but X_train has {X_train.shape[1]}"
        )
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (X_train - mean) / std, (X_test - mean) / std


def iterate_minibatches(
    n: int,
    *,
    batch_size: int,
    shuffle: bool = True,
    seed: int | np.random.Generator | None = 0,
) -> Iterator[np.ndarray]:
    """Yield index arrays that cover ``range(n)`` once, ``batch_size`` at a time.

    The last batch may be smaller (torch's ``DataLoader(drop_last=False)``). With
    ``shuffle=True`` the order is a permutation drawn from ``seed``; pass one
    ``numpy.random.Generator`` for all epochs to get a new order every epoch that is still
    reproducible. Use as ``for idx in iterate_minibatches(len(X), batch_size=32): X[idx]``.
    """
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int | np.integer)
        or batch_size <= 0
    ):
        raise ValueError(
            f"batch_size should be a positive integer value, but got batch_size={batch_size}"
        )
    n = checks.integer("n", n, minimum=0)
    # Not a generator function itself, so that bad arguments fail at the call.
    order = default_rng(seed).permutation(n) if shuffle else np.arange(n)
    return (order[start : start + batch_size] for start in range(0, n, batch_size))
