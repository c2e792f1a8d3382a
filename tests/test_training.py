"""nnopt_lib.training.fit: learns, equals a torch training loop step for step, diverges cleanly."""

import warnings

import numpy as np
import pytest
import torch

from nnopt_lib import crosscheck, data, nn, optim, schedules, training


def _mlp(sizes, seed=0):
    rng = np.random.default_rng(seed)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out, rng=rng))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


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
    assert hist.steps_per_epoch == 19 and len(hist.train_loss) == 10
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
