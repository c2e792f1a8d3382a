"""nnopt_lib.parallel: simulated data parallelism, all-reduce, staleness, local SGD."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

from nnopt_lib import data, losses, nn, optim, parallel


@pytest.fixture(scope="module")
def problem():
    mnist = data.load_mnist1d(n_samples=240, seed=0)
    return mnist.X, mnist.y


def _model(seed=0):
    return nn.mlp([40, 16, 10], rng=np.random.default_rng(seed))


def _flat(model):
    return np.concatenate([p.ravel() for p in model.parameters()])


@pytest.mark.parametrize("workers", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("shape", [(1,), (5,), (12,), (3, 4), (101,)])
def test_ring_allreduce_sums_on_every_worker_and_counts_its_traffic(workers, shape):
    rng = np.random.default_rng(workers)
    arrays = [rng.normal(size=shape) for _ in range(workers)]
    log = []
    out = parallel.ring_allreduce(arrays, log=log)
    assert len(out) == workers and all(o.shape == shape for o in out)
    assert all(np.array_equal(o, out[0]) for o in out)  # every worker holds the same bits
    np.testing.assert_allclose(out[0], np.sum(arrays, axis=0), rtol=1e-13, atol=1e-13)
    sent, received = parallel.traffic(log, workers)
    n = int(np.prod(shape))
    assert sent.sum() == received.sum() == 2 * (workers - 1) * n
    assert sent.max() <= 2 * (workers - 1) * -(-n // workers)  # chunks of at most ceil(n/K)
    assert {m.phase for m in log} == ({"reduce-scatter", "all-gather"} if workers > 1 else set())
    assert all(m.dst == (m.src + 1) % workers for m in log)  # only to the right neighbour


def test_ring_allreduce_leaves_its_inputs_alone():
    arrays = [np.arange(6.0), np.ones(6)]
    before = copy.deepcopy(arrays)
    parallel.ring_allreduce(arrays)
    assert all(np.array_equal(a, b) for a, b in zip(arrays, before, strict=True))


@pytest.mark.parametrize("workers", [1, 2, 5])
def test_parameter_server_traffic_is_concentrated_at_the_server(workers):
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=30) for _ in range(workers)]
    log = []
    out = parallel.parameter_server_allreduce(arrays, log=log)
    np.testing.assert_allclose(out[-1], np.sum(arrays, axis=0), rtol=1e-13)
    sent, received = parallel.traffic(log, workers)
    assert sent[0] == received[0] == (workers - 1) * 30
    assert np.all(sent[1:] == 30) and np.all(received[1:] == 30)


@pytest.mark.parametrize("bad", [[], [np.ones(3), np.ones(4)]])
def test_allreduce_rejects_no_workers_and_mismatched_shapes(bad):
    for allreduce in (parallel.ring_allreduce, parallel.parameter_server_allreduce):
        with pytest.raises(ValueError, match="worker"):
            allreduce(bad)


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_bad_worker_counts_raise(workers):
    with pytest.raises(ValueError, match=f"got {workers!r}"):
        parallel.shard(np.arange(10), workers)


def test_shard_gradients_average_to_the_full_batch_gradient(problem):
    X, y = problem[0][:60], problem[1][:60]
    model, ce = _model(), losses.CrossEntropyLoss()
    ce(model(X), y)
    model.backward(ce.backward())
    full = [g.copy() for g in model.gradients()]
    equal = parallel.shard(np.arange(60), 4)
    grads, _ = parallel.shard_gradients(model, ce, X, y, equal)
    for a, b in zip(parallel.average_gradients(grads), full, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    unequal = [np.arange(0, 10), np.arange(10, 60)]
    grads, _ = parallel.shard_gradients(model, ce, X, y, unequal)
    weighted = parallel.average_gradients(grads, sizes=[10, 50])
    plain = parallel.average_gradients(grads)
    for w, b in zip(weighted, full, strict=True):
        np.testing.assert_allclose(w, b, rtol=1e-12, atol=1e-15)
    assert not np.allclose(plain[0], full[0])
    with pytest.raises(ValueError, match="sizes"):
        parallel.average_gradients(grads, sizes=[1, 2, 3])


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_data_parallel_steps_equal_large_batch_steps(problem, momentum):
    X, y = problem
    ours, reference = _model(), _model()
    ce = losses.CrossEntropyLoss()
    opt = optim.SGD(ours.parameters(), lr=0.1, momentum=momentum)
    ref_opt = optim.SGD(reference.parameters(), lr=0.1, momentum=momentum)
    for start in range(0, 240, 48):
        idx = np.arange(start, start + 48)
        loss = parallel.data_parallel_step(ours, ce, opt, X[idx], y[idx], workers=3)
        ref_loss = ce(reference(X[idx]), y[idx])
        reference.backward(ce.backward())
        ref_opt.step(reference.gradients())
        assert loss == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(_flat(ours), _flat(reference), rtol=1e-11, atol=1e-13)


def test_worker_batches_stay_in_each_workers_shard():
    batches = parallel.worker_batches(30, workers=3, batch_size=4, steps=8, seed=1)
    owned = [set(np.concatenate([b[k] for b in batches])) for k in range(3)]
    assert all(len(b) == 3 and all(len(i) == 4 for i in b) for b in batches)
    assert not (owned[0] & owned[1]) and not (owned[1] & owned[2]) and not (owned[0] & owned[2])
    with pytest.raises(ValueError, match="batch_size"):
        parallel.worker_batches(30, workers=3, batch_size=11, steps=1)


def test_local_sgd_with_period_one_is_synchronous_data_parallel_sgd(problem):
    X, y = problem
    ce = losses.CrossEntropyLoss()
    local = _model()
    history = parallel.local_sgd(local, ce, X, y, workers=3, period=1, lr=0.1, batch_size=8,
                                 steps=12, seed=2)
    sync = _model()
    sgd = optim.SGD(sync.parameters(), lr=0.1)
    for t, step in enumerate(parallel.worker_batches(len(X), workers=3, batch_size=8, steps=12,
                                                     seed=2)):
        idx = np.concatenate(step)
        loss = parallel.data_parallel_step(sync, ce, sgd, X[idx], y[idx], workers=3)
        assert history.loss[t] == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(_flat(local), _flat(sync), rtol=1e-11, atol=1e-13)


def test_local_sgd_with_longer_periods_drifts_apart_and_validates(problem):
    X, y = problem
    ce = losses.CrossEntropyLoss()
    finals = []
    for period in (1, 4):
        model = _model()
        parallel.local_sgd(model, ce, X, y, workers=2, period=period, lr=0.1, batch_size=8,
                           steps=8, seed=0)
        finals.append(_flat(model))
    assert not np.allclose(*finals)
    with pytest.raises(ValueError, match="period"):
        parallel.local_sgd(_model(), ce, X, y, workers=2, period=0, lr=0.1, batch_size=8,
                           steps=2)


@pytest.mark.parametrize("delay", [0, 1, 2, 4, 9])
def test_the_delay_stability_bound_is_sharp(delay):
    h = 3.0
    bound = parallel.max_stable_lr(h, delay)
    # the roots of z^(tau+1) - z^tau + lr h = 0 cross the unit circle at the bound
    for factor, stable in ((0.97, True), (1.03, False)):
        coefficients = np.zeros(delay + 2)
        coefficients[:2] = 1.0, -1.0
        coefficients[-1] += factor * bound * h
        assert (np.max(np.abs(np.roots(coefficients))) < 1) == stable
        xs = parallel.delayed_gradient_descent(lambda x: h * x, 1.0, lr=factor * bound,
                                               delay=delay, steps=3000)
        assert (len(xs) == 3001 and abs(xs[-1]) < 1e-3) == stable
    assert parallel.max_stable_lr(h, 0) == pytest.approx(2 / h)
    with pytest.raises(ValueError, match="delay"):
        parallel.max_stable_lr(h, -1)
    with pytest.raises(ValueError, match="curvature"):
        parallel.max_stable_lr(0.0, 1)


def test_delayed_gradient_descent_uses_the_old_iterate():
    xs = parallel.delayed_gradient_descent(lambda x: x, 1.0, lr=0.5, delay=2, steps=4)
    # before step 2 only x0 exists: x1 = x0 - .5 x0, x2 = x1 - .5 x0, x3 = x2 - .5 x0,
    # then x4 = x3 - .5 x1
    np.testing.assert_allclose(xs, [1.0, 0.5, 0.0, -0.5, -0.75])


def test_async_sgd_without_delay_is_sgd_and_diverges_cleanly(problem):
    X, y = problem
    ce = losses.CrossEntropyLoss()
    model = _model()
    history = parallel.async_sgd(model, ce, X, y, lr=0.1, delay=0, batch_size=16, steps=10)
    reference = _model()
    sgd = optim.SGD(reference.parameters(), lr=0.1)
    for t, (idx,) in enumerate(parallel.worker_batches(len(X), workers=1, batch_size=16,
                                                       steps=10)):
        assert history.loss[t] == pytest.approx(ce(reference(X[idx]), y[idx]), rel=1e-12)
        reference.backward(ce.backward())
        sgd.step(reference.gradients())
    np.testing.assert_allclose(_flat(model), _flat(reference), rtol=1e-11, atol=1e-13)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wild = parallel.async_sgd(_model(), ce, X * 50, y, lr=50.0, delay=3, batch_size=16,
                                  steps=200)
    assert wild.diverged and wild.status().startswith("diverged at step")
    with pytest.raises(ValueError, match="delay"):
        parallel.async_sgd(_model(), ce, X, y, lr=0.1, delay=-1, batch_size=8, steps=1)
