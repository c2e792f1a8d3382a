"""nnopt_lib.training.fit: learns, equals a torch training loop step for step, diverges cleanly."""

import warnings

import numpy as np
import pytest
import torch

from nnopt_lib import crosscheck, data, losses, nn, optim, schedules, training


def _mlp(sizes, seed=0):
    return nn.mlp(sizes, rng=np.random.default_rng(seed))


def test_mlp_learns_moons():
    ds = data.make_moons(n_samples=300, noise=0.1, seed=0)
    model = _mlp([2, 32, 32, 2])
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    hist = training.fit(
        model, nn.CrossEntropyLoss(), opt, ds.X, ds.y, epochs=10, batch_size=16, progress=False
    )
    assert not hist.diverged and hist.diverged_at is None
    assert hist.train_acc[-1] > 0.95
    _, acc = training.evaluate(model, nn.CrossEntropyLoss(), ds.X, ds.y)
    assert acc > 0.95
    assert len(hist.loss) == len(hist.lr) == len(hist.grad_norm) == 10 * 19
    assert hist.batches_per_epoch == 19 and len(hist.train_loss) == 10 and hist.steps == 190
    assert hist.train_loss[-1] < 0.2 * hist.train_loss[0]
    assert hist.val_loss is None and hist.val_acc is None
    assert "10 epochs (190 steps)" in hist.status()


def test_fit_equals_a_torch_training_loop():
    ds = data.make_moons(n_samples=90, noise=0.2, seed=1)
    X_tr, X_val, y_tr, y_val = data.train_test_split(ds.X, ds.y, seed=0)
    model = _mlp([2, 16, 16, 2], seed=3)
    torch_model = crosscheck.torch_twin(model)
    options = {"lr": 0.2, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}
    clip_norm, epochs, batch_size, seed = 1.0, 4, 8, 7
    hist = training.fit(
        model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), **options),
        X_tr, y_tr, epochs=epochs, batch_size=batch_size, clip_norm=clip_norm,
        X_val=X_val, y_val=y_val, seed=seed, progress=False,
    )  # fmt: skip

    torch_opt = torch.optim.SGD(torch_model.parameters(), **options)
    rng = np.random.default_rng(seed)  # fit's documented minibatch order
    losses, norms, val_losses = [], [], []
    Xt, yt = torch.from_numpy(X_tr), torch.from_numpy(y_tr)
    for _ in range(epochs):
        for idx in data.iterate_minibatches(len(X_tr), batch_size=batch_size, seed=rng):
            idx = torch.from_numpy(idx)
            torch_opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(torch_model(Xt[idx]), yt[idx])
            loss.backward()
            norms.append(torch.nn.utils.clip_grad_norm_(torch_model.parameters(), clip_norm))
            torch_opt.step()
            losses.append(loss.item())
        with torch.no_grad():
            out = torch_model(torch.from_numpy(X_val))
            val_losses.append(torch.nn.functional.cross_entropy(out, torch.from_numpy(y_val)))

    assert len(hist.loss) == len(losses) == epochs * 9  # 68 rows -> 8 batches of 8 and one of 4
    np.testing.assert_allclose(hist.loss, losses, rtol=0, atol=1e-10)
    np.testing.assert_allclose(hist.grad_norm, [n.item() for n in norms], rtol=1e-10)
    assert hist.grad_norm.max() > clip_norm  # clipping really happened
    np.testing.assert_allclose(hist.val_loss, [v.item() for v in val_losses], atol=1e-10)
    for ours, theirs in zip(model.parameters(), torch_model.parameters(), strict=True):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), atol=1e-10)
    np.testing.assert_array_equal(hist.lr, 0.2)
    assert len(hist.val_acc) == epochs and np.all((hist.val_acc >= 0) & (hist.val_acc <= 1))


def test_huge_learning_rate_diverges_cleanly():
    ds = data.make_moons(n_samples=200, noise=0.1, seed=0)
    model = _mlp([2, 64, 64, 2])
    opt = optim.SGD(model.parameters(), lr=1e8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow RuntimeWarnings may escape
        hist = training.fit(
            model, nn.CrossEntropyLoss(), opt, ds.X, ds.y, epochs=50, batch_size=20,
            progress=False,
        )  # fmt: skip
    assert hist.diverged and hist.diverged_at is not None
    assert hist.diverged_at == len(hist.loss) == len(hist.grad_norm) < 50 * 10
    assert np.all(np.isfinite(hist.loss)) and np.all(np.isfinite(hist.grad_norm))
    assert len(hist.train_loss) == hist.diverged_at // 10  # completed epochs only
    assert hist.status() == f"diverged at step {hist.diverged_at}"
    # fit restored numpy's error state: ordinary overflow still warns afterwards
    with pytest.warns(RuntimeWarning):
        np.array([1.0]) / 0


def test_regression_history_has_no_accuracy():
    ds = data.make_regression(n_samples=64, noise=0.1, seed=0, n_features=2)
    model = nn.Sequential(nn.Linear(2, 1, rng=np.random.default_rng(0)))
    opt = optim.SGD(model.parameters(), lr=0.1)
    y = ds.y[:, None]
    hist = training.fit(
        model, nn.MSELoss(), opt, ds.X, y, epochs=30, batch_size=16,
        X_val=ds.X, y_val=y, progress=False,
    )  # fmt: skip
    assert hist.train_acc is None and hist.val_acc is None
    assert len(hist.val_loss) == 30 and hist.val_loss[-1] < 0.02
    np.testing.assert_allclose(model[0].weight, [[1.0, 2.0]], atol=0.05)


def test_progress_bar_and_validation(capsys):
    ds = data.make_blobs(n_samples=40, noise=0.5, seed=0)
    model = _mlp([2, 8, 3])
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    training.fit(model, loss_fn, opt, ds.X, ds.y, epochs=2, batch_size=10, progress=True)
    assert "2/2" in capsys.readouterr().err
    with pytest.raises(ValueError, match="'batch'"):
        training.fit(
            model, loss_fn, opt, ds.X, ds.y, epochs=1, batch_size=10,
            scheduler_interval="batch",
        )  # fmt: skip
    with pytest.raises(ValueError, match="39"):
        training.fit(model, loss_fn, opt, ds.X[:39], ds.y, epochs=1, batch_size=10)
    with pytest.raises(ValueError, match="batch_size=0"):
        training.fit(model, loss_fn, opt, ds.X, ds.y, epochs=1, batch_size=0, progress=False)


def test_per_step_one_cycle_schedule_equals_torch():
    ds = data.make_spirals(n_samples=60, noise=0.05, seed=0)
    model = _mlp([2, 12, 3], seed=1)
    torch_model = crosscheck.torch_twin(model)
    epochs, batch_size, steps = 3, 16, 3 * 4
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    hist = training.fit(
        model, nn.CrossEntropyLoss(), opt, ds.X, ds.y, epochs=epochs, batch_size=batch_size,
        scheduler=schedules.OneCycleLR(opt, max_lr=0.5, total_steps=steps),
        scheduler_interval="step", progress=False,
    )  # fmt: skip

    torch_opt = torch.optim.SGD(torch_model.parameters(), lr=0.1, momentum=0.9)
    torch_sched = torch.optim.lr_scheduler.OneCycleLR(torch_opt, max_lr=0.5, total_steps=steps)
    rng = np.random.default_rng(0)
    Xt, yt = torch.from_numpy(ds.X), torch.from_numpy(ds.y)
    losses, lrs = [], []
    for _ in range(epochs):
        for idx in data.iterate_minibatches(60, batch_size=batch_size, seed=rng):
            idx = torch.from_numpy(idx)
            torch_opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(torch_model(Xt[idx]), yt[idx])
            loss.backward()
            lrs.append(torch_opt.param_groups[0]["lr"])
            torch_opt.step()
            torch_sched.step()
            losses.append(loss.item())
    np.testing.assert_allclose(hist.lr, lrs, rtol=1e-12)
    np.testing.assert_allclose(hist.loss, losses, atol=1e-10)
    assert hist.lr[0] == pytest.approx(0.5 / 25) and hist.lr.max() > 0.45  # warm-up, peak


def test_per_epoch_schedules():
    ds = data.make_blobs(n_samples=40, noise=0.5, seed=0)
    model = _mlp([2, 8, 3])
    opt = optim.SGD(model.parameters(), lr=0.1)
    hist = training.fit(
        model, nn.CrossEntropyLoss(), opt, ds.X, ds.y, epochs=4, batch_size=10,
        scheduler=schedules.StepLR(opt, step_size=1, gamma=0.5), progress=False,
    )  # fmt: skip
    np.testing.assert_allclose(hist.lr, np.repeat(0.1 * 0.5 ** np.arange(4), 4))

    # ReduceLROnPlateau is fed the validation loss once per epoch: replay that metric
    # sequence through torch's scheduler and expect the same learning rates.
    opt = optim.SGD(model.parameters(), lr=0.1)
    options = {"mode": "max", "factor": 0.5, "patience": 1}  # loss falls: "no improvement"
    hist = training.fit(
        model, nn.CrossEntropyLoss(), opt, ds.X, ds.y, epochs=6, batch_size=10,
        scheduler=schedules.ReduceLROnPlateau(opt, **options), X_val=ds.X, y_val=ds.y,
        progress=False,
    )  # fmt: skip
    torch_opt = torch.optim.SGD([torch.zeros(1)], lr=0.1)
    torch_sched = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_opt, **options)
    expected = []
    for val_loss in hist.val_loss:
        expected += [torch_opt.param_groups[0]["lr"]] * 4
        torch_sched.step(val_loss)
    np.testing.assert_allclose(hist.lr, expected)
    assert hist.lr[-1] < 0.1


def test_batch_size_accepts_numpy_integers_and_rejects_the_rest():
    ds = data.make_blobs(n_samples=40, noise=0.5, seed=0)

    def run(batch_size):
        model = _mlp([2, 8, 3])
        return model, training.fit(
            model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), ds.X, ds.y,
            epochs=2, batch_size=batch_size, progress=False,
        )  # fmt: skip

    model_np, hist_np = run(np.int64(16))  # torch's DataLoader accepts it too
    model_py, hist_py = run(16)
    np.testing.assert_array_equal(hist_np.loss, hist_py.loss)
    assert hist_np.batches_per_epoch == 3
    for bad in (True, 16.0, 0, -4, "16", None):
        with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
            run(bad)


def test_bad_data_and_epochs_get_clear_errors():
    ds = data.make_blobs(n_samples=40, noise=0.5, seed=0)
    model = _mlp([2, 8, 3])
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()

    def fit(X=ds.X, y=ds.y, **kwargs):
        kwargs = {"epochs": 1, "batch_size": 8, "progress": False, **kwargs}
        return training.fit(model, loss_fn, opt, X, y, **kwargs)

    with pytest.raises(ValueError, match="X is empty"):
        fit(ds.X[:0], ds.y[:0])
    with pytest.raises(ValueError, match="X has 40 rows but y has 39"):
        fit(y=ds.y[:39])
    with pytest.raises(ValueError, match="X_val has 40 rows but y_val has 10"):
        fit(X_val=ds.X, y_val=ds.y[:10])
    with pytest.raises(ValueError, match="X_val is empty"):
        fit(X_val=ds.X[:0], y_val=ds.y[:0])
    with pytest.raises(ValueError, match="both X_val and y_val"):
        fit(X_val=ds.X)
    for epochs in (2.0, "2", None, True):
        with pytest.raises(TypeError, match="epochs must be an integer"):
            fit(epochs=epochs)
    with pytest.raises(ValueError, match="epochs must be non-negative"):
        fit(epochs=-1)
    assert fit(epochs=np.int32(0)).status() == "0 epochs (0 steps)"
    assert fit(epochs=np.int64(1)).steps == 5


def test_accuracy_refuses_labels_of_the_wrong_shape():
    logits = np.array([[2.0, 0.0], [0.0, 1.0], [3.0, 1.0]])
    labels = np.array([0, 1, 1])
    assert training.accuracy(logits, labels) == pytest.approx(2 / 3)
    # (N, 1) labels used to broadcast against (N,) predictions: 0.444 instead of 0.667
    with pytest.raises(ValueError, match=r"labels of shape \(N,\).*\(3, 2\).*\(3, 1\)"):
        training.accuracy(logits, labels[:, None])
    with pytest.raises(ValueError, match="ravel"):
        training.accuracy(logits, labels[:, None])
    with pytest.raises(ValueError, match=r"\(3,\)"):
        training.accuracy(logits[:, 0], labels)
    with pytest.raises(ValueError, match=r"\(2,\)"):
        training.accuracy(logits, labels[:2])


def test_accuracy_follows_the_targets_not_the_loss_class():
    ds = data.make_blobs(n_samples=60, noise=0.5, seed=0)

    def fit(model, loss_fn, y):
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        return training.fit(model, loss_fn, opt, ds.X, y, epochs=5, batch_size=10,
                            X_val=ds.X, y_val=y, progress=False)  # fmt: skip

    # NLLLoss on log-probabilities: integer labels and (N, C) outputs -> accuracy
    log_probs = nn.Sequential(*_mlp([2, 16, 3], seed=1).layers, nn.LogSoftmax(dim=1))
    nll = fit(log_probs, losses.NLLLoss(), ds.y)
    assert nll.train_acc is not None and nll.val_acc[-1] > 0.9
    # the same network with cross-entropy learns the same thing, step for step
    ce = fit(_mlp([2, 16, 3], seed=1), losses.CrossEntropyLoss(), ds.y)
    np.testing.assert_allclose(nll.loss, ce.loss, rtol=1e-12)
    np.testing.assert_allclose(nll.val_acc, ce.val_acc)
    # one-hot float targets (N, C): probability targets, no accuracy
    one_hot = np.eye(3)[ds.y]
    soft = fit(_mlp([2, 16, 3], seed=1), losses.CrossEntropyLoss(), one_hot)
    assert soft.train_acc is None and soft.val_acc is None
    np.testing.assert_allclose(soft.loss, ce.loss, rtol=1e-12)
    assert "val loss" in soft.status()


def test_accuracy_of_an_empty_batch_is_nan_without_a_warning_like_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "Mean of empty slice" used to escape
        assert np.isnan(training.accuracy(np.zeros((0, 2)), np.zeros(0, np.int64)))
    empty = torch.zeros((0, 2)).argmax(1) == torch.zeros(0, dtype=torch.int64)
    assert torch.isnan(empty.float().mean())


def _tiny_problem():
    ds = data.make_blobs(n_samples=12, noise=0.5, seed=0, n_classes=2)
    model = _mlp([2, 4, 2])
    return model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), ds


@pytest.mark.parametrize("argument", ["model", "loss_fn", "optimizer"])
@pytest.mark.parametrize("bad", [None, "sgd", 3])
def test_fit_names_a_model_loss_or_optimizer_of_the_wrong_kind(argument, bad):
    # it was an AttributeError from inside the loop ('NoneType' object has no attribute ...)
    model, loss_fn, opt, ds = _tiny_problem()
    given = {"model": model, "loss_fn": loss_fn, "optimizer": opt, argument: bad}
    before = [p.copy() for p in model.parameters()]
    with pytest.raises(TypeError, match=rf"^{argument} must be .* got {type(bad).__name__}"):
        training.fit(given["model"], given["loss_fn"], given["optimizer"], ds.X, ds.y,
                     epochs=1, batch_size=4, progress=False)  # fmt: skip
    for p, q in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p, q)  # refused before any training
    if argument != "optimizer":
        with pytest.raises(TypeError, match=rf"^{argument} must be"):
            training.evaluate(given["model"], given["loss_fn"], ds.X, ds.y)


def test_fit_checks_seed_clip_norm_and_scheduler_before_training():
    model, loss_fn, opt, ds = _tiny_problem()
    before = [p.copy() for p in model.parameters()]

    def fit(**kwargs):
        return training.fit(model, loss_fn, opt, ds.X, ds.y, epochs=1, batch_size=4,
                            progress=False, **kwargs)  # fmt: skip

    # numpy said "expected non-negative integer" without naming the argument
    with pytest.raises(ValueError, match=r"seed must be a non-negative integer.*got -1"):
        fit(seed=-1)
    with pytest.raises(TypeError, match="seed must be"):
        fit(seed=1.5)
    # the message names fit's clip_norm, not clip_grad_norm_'s max_norm
    for bad in (np.nan, -1.0):
        with pytest.raises(ValueError, match=f"Invalid clip_norm: {bad}"):
            fit(clip_norm=bad)
    # a scheduler factory (trajectory.run's form) or anything without step(): refused at once
    for bad in (lambda o: schedules.StepLR(o, step_size=1), object()):
        with pytest.raises(TypeError, match="scheduler must be an nnopt_lib.schedules"):
            fit(scheduler=bad)
    for p, q in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p, q)
    assert fit(seed=np.random.default_rng(3), clip_norm=np.inf).steps == 3


def test_evaluate_reports_an_overflowing_model_without_warnings():
    """A network whose weights blew up gives an inf/NaN loss from evaluate, not a warning."""
    model = nn.mlp([4, 8, 3], rng=np.random.default_rng(0))
    model[0].weight[...] = 1e300  # with the next line, the logits overflow to inf
    model[2].weight[...] = 1e300
    X = np.random.default_rng(1).normal(size=(6, 4))
    y = np.arange(6) % 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, _ = training.evaluate(model, losses.CrossEntropyLoss(), X, y)
    assert not np.isfinite(loss)
