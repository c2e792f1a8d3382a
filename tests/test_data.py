"""nnopt_lib.data: shapes, label ranges, determinism, splitting and standardising."""

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
