"""nnopt_lib.data: shapes, label ranges, determinism, splitting and standardising."""

import random
import subprocess
import sys
import time

import numpy as np
import pytest

from nnopt_lib import data

SYNTHETIC = [data.make_regression, data.make_moons, data.make_spirals, data.make_blobs]


@pytest.mark.parametrize("make", SYNTHETIC)
def test_synthetic_shapes_and_determinism(make):
    a = make(n_samples=101, noise=0.2, seed=3)
    b = make(n_samples=101, noise=0.2, seed=3)
    c = make(n_samples=101, noise=0.2, seed=4)
    assert isinstance(a, data.Dataset)
    assert a.X.shape[0] == a.y.shape[0] == 101 and a.y.ndim == 1
    assert a.X.dtype == np.float64
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    assert a.name and a.description


@pytest.mark.parametrize(
    ("make", "n_classes"),
    [
        (lambda: data.make_moons(n_samples=200, noise=0.1, seed=0), 2),
        (lambda: data.make_spirals(n_samples=300, noise=0.1, seed=0), 3),
        (lambda: data.make_spirals(n_samples=301, noise=0.1, seed=0, n_classes=5), 5),
        (lambda: data.make_blobs(n_samples=300, noise=1.0, seed=0, n_classes=4), 4),
    ],
)
def test_classification_labels_are_balanced_ints(make, n_classes):
    ds = make()
    assert ds.y.dtype == np.int64 and ds.X.shape[1] == 2
    counts = np.bincount(ds.y)
    assert len(counts) == n_classes
    assert counts.max() - counts.min() <= 1


def test_moons_without_noise_lie_on_the_two_half_circles():
    ds = data.make_moons(n_samples=100, noise=0.0, seed=0)
    upper = ds.X[ds.y == 0]
    lower = ds.X[ds.y == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0)
    assert upper[:, 1].min() >= 0 and lower[:, 1].max() <= 0.5


def test_regression_recovers_its_coefficients():
    ds = data.make_regression(n_samples=500, noise=0.1, seed=0, n_features=3, bias=2.0)
    design = np.column_stack([ds.X, np.ones(500)])
    solution = np.linalg.lstsq(design, ds.y, rcond=None)[0]
    np.testing.assert_allclose(solution, [1.0, 2.0, 3.0, 2.0], atol=0.02)
    assert ds.y.dtype == np.float64


def test_blobs_noise_is_the_cluster_std():
    ds = data.make_blobs(n_samples=3000, noise=0.5, seed=1, n_features=3)
    for k in range(3):
        points = ds.X[ds.y == k]
        assert abs(points.std(axis=0).mean() - 0.5) < 0.03


def test_generator_validation():
    with pytest.raises(ValueError, match="-1"):
        data.make_moons(n_samples=100, noise=-1, seed=0)
    with pytest.raises(ValueError, match="n_classes"):
        data.make_spirals(n_samples=100, noise=0.1, seed=0, n_classes=1)


def test_load_digits():
    ds = data.load_digits()
    assert ds.X.shape == (1797, 64) and ds.y.shape == (1797,)
    assert ds.X.min() == 0 and ds.X.max() == 16
    assert np.array_equal(ds.X, np.round(ds.X))
    assert ds.y.dtype == np.int64 and set(ds.y.tolist()) == set(range(10))
    assert np.bincount(ds.y).min() >= 170  # roughly 180 of each digit


def test_load_breast_cancer():
    ds = data.load_breast_cancer()
    assert ds.X.shape == (569, 30) and ds.y.dtype == np.int64
    # the data set's documented class sizes: 212 malignant (0), 357 benign (1)
    assert np.bincount(ds.y).tolist() == [212, 357]
    assert np.all(ds.X >= 0)


def test_load_diabetes():
    ds = data.load_diabetes()
    assert ds.X.shape == (442, 10) and ds.y.shape == (442,)
    assert ds.y.dtype == np.float64
    assert set(np.unique(ds.X[:, 1]).tolist()) == {1.0, 2.0}  # sex, unscaled
    assert 19 <= ds.X[:, 0].min() and ds.X[:, 0].max() <= 79  # age in years
    assert 25 <= ds.y.min() and ds.y.max() <= 346


def test_loaders_return_copies():
    first = data.load_digits()
    first.X[0, 0] = -99
    assert data.load_digits().X[0, 0] == 0


# --------------------------------------------------------------------------- MNIST-1D


def test_load_mnist1d_shapes_dtypes_and_balance():
    ds = data.load_mnist1d(n_samples=4000, seed=0)
    assert isinstance(ds, data.Dataset) and ds.name == "mnist1d"
    assert ds.X.shape == (4000, 40) and ds.X.dtype == np.float64
    assert ds.y.shape == (4000,) and ds.y.dtype == np.int64
    assert np.bincount(ds.y).tolist() == [400] * 10  # exactly balanced
    assert np.all(np.isfinite(ds.X))
    # standardised over the whole set by the generator
    assert abs(ds.X.mean()) < 1e-12 and abs(ds.X.std() - 1) < 1e-12
    assert "Greydanus 2020" in ds.description and "4000" in ds.description
    # the rows are shuffled, not sorted by digit
    assert len(set(ds.y[:20].tolist())) > 3


def test_load_mnist1d_is_the_packages_own_generator():
    """Our arrays are exactly make_dataset's, train and test parts put back together."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.seed = 200, 3
    raw = make_dataset(args)
    ds = data.load_mnist1d(n_samples=200, seed=3)
    np.testing.assert_array_equal(ds.X, np.concatenate([raw["x"], raw["x_test"]]))
    np.testing.assert_array_equal(ds.y, np.concatenate([raw["y"], raw["y_test"]]))


def test_load_mnist1d_is_deterministic_per_seed():
    a = data.load_mnist1d(n_samples=100, seed=1)
    b = data.load_mnist1d(n_samples=np.int64(100), seed=np.uint32(1))
    c = data.load_mnist1d(n_samples=100, seed=2)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    # the cache holds its own arrays: a caller's change does not reach the next caller
    a.X[0, 0], a.y[0] = 1e6, 99
    again = data.load_mnist1d(n_samples=100, seed=1)
    assert again.X[0, 0] != 1e6 and again.y[0] != 99
    assert again.X.flags.writeable and again.X is not b.X


def test_load_mnist1d_leaves_the_global_generators_alone():
    random.seed(11)
    np.random.seed(11)  # noqa: NPY002  (the legacy global generator is what is tested)
    expected = (random.random(), np.random.rand())  # noqa: NPY002
    random.seed(11)
    np.random.seed(11)  # noqa: NPY002
    data.load_mnist1d(n_samples=30, seed=4)  # a key no other test uses: really generated
    assert (random.random(), np.random.rand()) == expected  # noqa: NPY002


def test_load_mnist1d_downloads_nothing(monkeypatch):
    import mnist1d.data

    def refuse(*args, **kwargs):
        raise AssertionError("load_mnist1d tried to download")

    monkeypatch.setattr(mnist1d.data.requests, "get", refuse)
    monkeypatch.setattr(mnist1d.data, "get_dataset", refuse)
    assert data.load_mnist1d(n_samples=20, seed=5).X.shape == (20, 40)


def test_load_mnist1d_speed():
    start = time.perf_counter()
    data.load_mnist1d(n_samples=1000, seed=6)  # a key no other test uses
    first = time.perf_counter() - start
    start = time.perf_counter()
    data.load_mnist1d(n_samples=1000, seed=6)
    cached = time.perf_counter() - start
    # 1000 samples take well under a second on one free core; generous for a busy CI
    assert first < 10, f"generating 1000 samples took {first:.1f} s"
    assert cached < 0.05, f"a cached load took {cached:.3f} s"


def test_importing_data_does_not_import_mnist1d():
    """mnist1d pulls in scipy and pyplot: only a lesson that loads MNIST-1D pays for them."""
    script = "import sys, nnopt_lib.data; assert 'mnist1d' not in sys.modules"
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_samples": 0}, ValueError, r"Invalid n_samples: 0 \(must be an integer >= 10\)"),
        ({"n_samples": 105}, ValueError, r"Invalid n_samples: 105 \(must be a multiple of 10"),
        ({"n_samples": 100.0}, TypeError, "n_samples must be an integer"),
        ({"n_samples": True}, TypeError, "n_samples must be an integer"),
        ({"seed": -1}, ValueError, r"Invalid seed: -1 \(must be an integer >= 0\)"),
        ({"seed": 2**32}, ValueError, r"Invalid seed: 4294967296 \(must be an integer < 2\*\*32\)"),
        ({"seed": 1.0}, TypeError, "seed must be an integer"),
        ({"seed": None}, TypeError, "seed must be an integer"),
    ],
)
def test_load_mnist1d_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        data.load_mnist1d(**kwargs)


def test_load_mnist1d_takes_keywords_only():
    with pytest.raises(TypeError):
        data.load_mnist1d(100)


def test_train_test_split():
    X = np.arange(40.0).reshape(20, 2)
    y = np.arange(20)
    X_tr, X_te, y_tr, y_te = data.train_test_split(X, y, test_fraction=0.25, seed=1)
    assert X_tr.shape == (15, 2) and X_te.shape == (5, 2)
    np.testing.assert_array_equal(X_tr[:, 0], 2 * y_tr)  # rows stay aligned
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == list(range(20))  # a partition
    again = data.train_test_split(X, y, test_fraction=0.25, seed=1)
    np.testing.assert_array_equal(again[3], y_te)
    other = data.train_test_split(X, y, test_fraction=0.25, seed=2)
    assert not np.array_equal(other[3], y_te)
    assert len(data.train_test_split(X, y, test_fraction=0.11)[1]) == 3  # ceil(2.2)
    with pytest.raises(ValueError, match="1.5"):
        data.train_test_split(X, y, test_fraction=1.5)


def test_standardize_uses_training_statistics():
    rng = np.random.default_rng(0)
    X_train = 5 + 3 * rng.standard_normal((200, 3))
    X_train[:, 2] = 7.0  # a constant column must not be divided by zero
    X_test = 100 + rng.standard_normal((50, 3))
    tr, te = data.standardize(X_train, X_test)
    np.testing.assert_allclose(tr[:, :2].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(tr[:, :2].std(axis=0), 1, rtol=1e-12)
    assert np.all(tr[:, 2] == 0) and np.all(np.isfinite(te))
    expected = (X_test[:, :2] - X_train[:, :2].mean(axis=0)) / X_train[:, :2].std(axis=0)
    np.testing.assert_allclose(te[:, :2], expected)
    assert te[:, 0].mean() > 20  # the test part is NOT centred on its own mean


def test_iterate_minibatches():
    batches = list(data.iterate_minibatches(10, batch_size=4, seed=0))
    assert [len(b) for b in batches] == [4, 4, 2]  # last partial batch kept
    assert sorted(np.concatenate(batches).tolist()) == list(range(10))
    again = list(data.iterate_minibatches(10, batch_size=4, seed=0))
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))
    ordered = list(data.iterate_minibatches(10, batch_size=4, shuffle=False))
    assert np.concatenate(ordered).tolist() == list(range(10))
    rng = np.random.default_rng(0)
    epoch1 = np.concatenate(list(data.iterate_minibatches(10, batch_size=3, seed=rng)))
    epoch2 = np.concatenate(list(data.iterate_minibatches(10, batch_size=3, seed=rng)))
    assert not np.array_equal(epoch1, epoch2)  # a shared generator reshuffles every epoch
    with pytest.raises(ValueError, match="batch_size=0"):
        data.iterate_minibatches(10, batch_size=0)


# --------------------------------------------------------------------------- bad input

# each generator with the smallest n_samples it accepts
GENERATORS = [
    (data.make_regression, 1),
    (data.make_moons, 2),
    (data.make_spirals, 3),
    (data.make_blobs, 3),
]


@pytest.mark.parametrize(("make", "smallest"), GENERATORS)
def test_n_samples_range(make, smallest):
    assert len(make(n_samples=smallest).y) == smallest
    for bad in (smallest - 1, 0, -5):
        with pytest.raises(ValueError, match=rf"Invalid n_samples: {bad} \(.* >= {smallest}\)"):
            make(n_samples=bad)


@pytest.mark.parametrize(("make", "smallest"), GENERATORS)
@pytest.mark.parametrize("bad", [100.0, 1e2, "100", None, True, [100]])
def test_n_samples_must_be_an_integer(make, smallest, bad):
    with pytest.raises(TypeError, match="n_samples must be an integer"):
        make(n_samples=bad)


@pytest.mark.parametrize(("make", "smallest"), GENERATORS)
def test_numpy_integers_and_seeds_are_accepted(make, smallest):
    reference = make(n_samples=30, seed=5)
    for cast in (np.int64, np.int32, np.uint16):
        ds = make(n_samples=cast(30), seed=cast(5))
        np.testing.assert_array_equal(ds.X, reference.X)
        np.testing.assert_array_equal(ds.y, reference.y)
        assert ds.description == reference.description


@pytest.mark.parametrize(("make", "smallest"), GENERATORS)
def test_noise_must_be_finite_and_nonnegative(make, smallest):
    for bad in (np.nan, np.inf, -0.1):
        with pytest.raises(ValueError, match="Invalid noise"):
            make(noise=bad)
    for bad in ("0.1", None, True):
        with pytest.raises(TypeError, match="noise must be a real number"):
            make(noise=bad)
    assert make(noise=np.float32(0.0)).X.dtype == np.float64


@pytest.mark.parametrize(("make", "smallest"), GENERATORS)
def test_bad_seeds_name_the_seed(make, smallest):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        make(seed=-1)
    for bad in (1.5, "0", np.float64(2.0), True):
        with pytest.raises(TypeError, match="seed must be"):
            make(seed=bad)
    # a Generator is also a valid seed
    np.testing.assert_array_equal(
        make(seed=np.random.default_rng(7)).X, make(seed=np.random.default_rng(7)).X
    )


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: data.make_regression(n_features=0), ValueError, r"Invalid n_features: .*>= 1"),
        (lambda: data.make_regression(n_features=2.0), TypeError, "n_features must be an integer"),
        (lambda: data.make_regression(bias=np.nan), ValueError, "Invalid bias"),
        (lambda: data.make_regression(coef=[np.inf]), ValueError, "Invalid coef"),
        (lambda: data.make_regression(coef=[1.0, 2.0]), ValueError, r"coef must have shape \(1,\)"),
        (lambda: data.make_spirals(n_classes=1), ValueError, r"Invalid n_classes: .*>= 2"),
        (lambda: data.make_spirals(n_classes=3.0), TypeError, "n_classes must be an integer"),
        (lambda: data.make_spirals(turns=np.inf), ValueError, "Invalid turns"),
        (lambda: data.make_blobs(n_classes=0), ValueError, r"Invalid n_classes: .*>= 1"),
        (lambda: data.make_blobs(n_features=-1), ValueError, r"Invalid n_features: .*>= 1"),
        (lambda: data.make_blobs(center_box=(5, -5)), ValueError, "low <= high"),
        (lambda: data.make_blobs(center_box=(0, np.nan)), ValueError, "Invalid center_box"),
        (lambda: data.make_blobs(center_box=5.0), TypeError, "center_box must be a pair"),
    ],
)
def test_other_generator_parameters(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_spirals_with_too_few_samples_for_the_classes():
    with pytest.raises(ValueError, match=r"Invalid n_samples: 4 \(must be an integer >= 5\)"):
        data.make_spirals(n_samples=4, n_classes=5)


def test_train_test_split_bad_input():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    for bad in (np.nan, 0.0, 1.0, -0.5):
        with pytest.raises(ValueError, match="Invalid test_fraction"):
            data.train_test_split(X, y, test_fraction=bad)
    with pytest.raises(TypeError, match="test_fraction must be a real number"):
        data.train_test_split(X, y, test_fraction="0.2")
    with pytest.raises(ValueError, match="seed must be"):
        data.train_test_split(X, y, seed=-3)
    with pytest.raises(ValueError, match="got shapes"):
        data.train_test_split(np.float64(1.0), y)
    with pytest.raises(ValueError, match="no training rows out of 0"):
        data.train_test_split(np.zeros((0, 2)), np.zeros(0))
    # nested lists work like arrays
    lists = data.train_test_split(X.tolist(), y.tolist(), seed=3)
    for a, b in zip(lists, data.train_test_split(X, y, seed=3), strict=True):
        np.testing.assert_array_equal(a, b)


def test_standardize_bad_input():
    X = np.arange(12.0).reshape(4, 3)
    with pytest.raises(ValueError, match="X_train has no rows"):
        data.standardize(np.zeros((0, 3)), X)
    with pytest.raises(ValueError, match=r"X_train must be 2-D .* got shape \(4,\)"):
        data.standardize(np.arange(4.0), X)
    with pytest.raises(ValueError, match="X_test has 2 features but X_train has 3"):
        data.standardize(X, X[:, :2])
    with pytest.raises(TypeError, match="X_test must hold real numbers"):
        data.standardize(X, X.astype(str))
    tr, te = data.standardize(X.astype(np.int64).tolist(), X[:0])  # lists, empty test part
    assert tr.dtype == np.float64 and te.shape == (0, 3)


def test_iterate_minibatches_bad_n_and_seed():
    assert len(list(data.iterate_minibatches(np.int64(5), batch_size=np.int32(2)))) == 3
    assert list(data.iterate_minibatches(0, batch_size=4)) == []
    with pytest.raises(ValueError, match=r"Invalid n: -1 \(must be an integer >= 0\)"):
        data.iterate_minibatches(-1, batch_size=4)
    with pytest.raises(TypeError, match="n must be an integer"):
        data.iterate_minibatches(10.0, batch_size=4)
    with pytest.raises(TypeError, match="seed must be"):
        data.iterate_minibatches(10, batch_size=4, seed=0.5)
    with pytest.raises(ValueError, match="batch_size=True"):
        data.iterate_minibatches(10, batch_size=True)


def test_default_rng_is_public_and_names_the_seed():
    # the one seed check, shared by training.fit and trajectory.run
    assert "default_rng" in data.__all__
    np.testing.assert_array_equal(data.default_rng(4).random(3),
                                  np.random.default_rng(4).random(3))
    np.testing.assert_array_equal(data.default_rng(np.uint8(4)).random(3),
                                  np.random.default_rng(4).random(3))
    generator = np.random.default_rng(0)
    assert data.default_rng(generator) is generator
    assert isinstance(data.default_rng(None), np.random.Generator)
    with pytest.raises(ValueError, match=r"seed must be a non-negative integer.*got -1"):
        data.default_rng(-1)
    for bad in (1.5, "a", True, object()):
        with pytest.raises(TypeError, match="seed must be"):
            data.default_rng(bad)
