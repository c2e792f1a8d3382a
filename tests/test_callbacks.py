"""fit's callbacks: the protocol, early stopping, weight penalties, gradient accumulation and
soft-target losses -- each expressed without editing fit."""

import copy

import numpy as np
import pytest

from nnopt_lib import callbacks, data, losses, nn, optim, training
from nnopt_lib.callbacks import Callback, TrainingState


def _mlp(sizes, seed=0):
    return nn.mlp(sizes, rng=np.random.default_rng(seed))


def _blobs(n=40):
    return data.make_blobs(n_samples=n, noise=0.5, seed=0)


def _fit(model, X, y, *, lr=0.1, momentum=0.0, loss_fn=None, **kwargs):
    kwargs = {"epochs": 2, "batch_size": 10, "progress": False, **kwargs}
    opt = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    return training.fit(model, loss_fn or losses.CrossEntropyLoss(), opt, X, y, **kwargs)


# ------------------------------------------------------------------------------- protocol


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, state):
        self.calls.append(("train_begin", state.epoch, state.step))

    def on_epoch_begin(self, state):
        self.calls.append(("epoch_begin", state.epoch, state.step))

    def on_after_backward(self, state):
        self.calls.append(("after_backward", state.epoch, state.batch))
        assert len(state.grads) == len(state.model.parameters())
        assert state.output.shape == (len(state.inputs), 3) and np.isfinite(state.loss)

    def on_step_end(self, state):
        self.calls.append(("step_end", state.epoch, state.step))

    def on_epoch_end(self, state):
        self.calls.append(("epoch_end", state.epoch, sorted(state.metrics)))
        assert len(state.history.train_loss) == state.epoch  # this epoch is in metrics

    def on_train_end(self, state):
        self.calls.append(("train_end", state.epoch, state.step))


def test_hooks_are_called_in_the_documented_order():
    ds = _blobs(20)
    recorder = Recorder()
    _fit(_mlp([2, 8, 3]), ds.X, ds.y, X_val=ds.X, y_val=ds.y, callbacks=[recorder])
    metrics = ["train_acc", "train_loss", "val_acc", "val_loss"]
    assert recorder.calls == [
        ("train_begin", 0, 0),
        ("epoch_begin", 0, 0),
        ("after_backward", 0, 0), ("step_end", 0, 1),
        ("after_backward", 0, 1), ("step_end", 0, 2),
        ("epoch_end", 0, metrics),
        ("epoch_begin", 1, 2),
        ("after_backward", 1, 0), ("step_end", 1, 3),
        ("after_backward", 1, 1), ("step_end", 1, 4),
        ("epoch_end", 1, metrics),
        ("train_end", 1, 4),
    ]  # fmt: skip


def test_state_gives_the_model_optimizer_and_history_so_far():
    ds = _blobs()
    seen = {}

    class Spy(Callback):
        def on_step_end(self, state):
            assert isinstance(state, TrainingState)
            seen.setdefault("history_steps", []).append(state.history.steps)
            seen["lr"] = state.optimizer.param_groups[0]["lr"]
            seen["model"] = state.model

    model = _mlp([2, 8, 3])
    hist = _fit(model, ds.X, ds.y, callbacks=[Spy()], lr=0.05)
    assert seen["history_steps"] == list(range(1, 9)) and hist.steps == 8
    assert seen["lr"] == 0.05 and seen["model"] is model


def test_stop_training_from_a_step_stops_at_once():
    ds = _blobs()

    class StopAfter(Callback):
        def on_step_end(self, state):
            state.stop_training = state.step == 6

    hist = _fit(_mlp([2, 8, 3]), ds.X, ds.y, epochs=5, callbacks=[StopAfter()])
    assert hist.steps == 6 and not hist.diverged
    assert len(hist.train_loss) == 1  # the unfinished second epoch records no epoch metrics


def test_callbacks_may_record_epoch_metrics():
    ds = _blobs()

    class WeightNorm(Callback):
        def on_epoch_end(self, state):
            if state.epoch >= 1:  # from the second epoch on: earlier epochs read NaN
                weights = state.model.parameters()[0]
                state.metrics["weight_norm"] = float(np.linalg.norm(weights))

    hist = _fit(_mlp([2, 8, 3]), ds.X, ds.y, epochs=3, callbacks=[WeightNorm()])
    norms = hist.epoch_metrics["weight_norm"]
    assert norms.shape == (3,) and np.isnan(norms[0]) and np.all(norms[1:] > 0)


def test_callbacks_must_be_a_list_of_callback_objects():
    ds = _blobs()
    for bad in (callbacks.EarlyStopping, callbacks.EarlyStopping(), [object()], [print]):
        with pytest.raises(TypeError, match="callbacks must be a list of Callback objects"):
            _fit(_mlp([2, 8, 3]), ds.X, ds.y, callbacks=bad)


def test_training_exports_the_callbacks():
    assert training.EarlyStopping is callbacks.EarlyStopping
    assert training.WeightPenalty is callbacks.WeightPenalty
    assert training.GradientAccumulation is callbacks.GradientAccumulation
    assert training.Callback is callbacks.Callback


# ------------------------------------------------------------------------- early stopping


def _overfitting_problem():
    """20 noisy points and a wide net: the validation loss falls for a few epochs, then
    climbs while the training loss keeps falling."""
    ds = data.make_moons(n_samples=40, noise=0.4, seed=3)
    X_tr, X_val, y_tr, y_val = data.train_test_split(ds.X, ds.y, test_fraction=0.5, seed=0)
    return X_tr, y_tr, X_val, y_val


def _overfit(epochs, *, early_stopping=None):
    X_tr, y_tr, X_val, y_val = _overfitting_problem()
    model = _mlp([2, 64, 64, 2], seed=0)
    opt = optim.Adam(model.parameters(), lr=0.005)
    hist = training.fit(
        model, losses.CrossEntropyLoss(), opt, X_tr, y_tr, epochs=epochs, batch_size=10,
        X_val=X_val, y_val=y_val, progress=False,
        callbacks=[] if early_stopping is None else [early_stopping],
    )  # fmt: skip
    val_loss, _ = training.evaluate(model, losses.CrossEntropyLoss(), X_val, y_val)
    return model, hist, val_loss


def test_early_stopping_stops_and_restores_the_best_epoch():
    _, free, _ = _overfit(60)
    best = int(np.argmin(free.val_loss))
    assert 0 < best < 20 and free.val_loss[-1] > 2 * free.val_loss[best]  # it overfits

    stopper = training.EarlyStopping(patience=5)
    model, hist, val_loss = _overfit(60, early_stopping=stopper)
    assert stopper.best_epoch == best and stopper.best_score == free.val_loss[best]
    assert stopper.stopped_epoch == best + 5 and len(hist.val_loss) == best + 6
    np.testing.assert_array_equal(hist.val_loss, free.val_loss[: best + 6])  # same run so far
    assert val_loss == stopper.best_score  # the best epoch's weights are back

    # without restoring, the model is the one of the last epoch
    keep = training.EarlyStopping(patience=5, restore_best_weights=False)
    _, hist, val_loss = _overfit(60, early_stopping=keep)
    assert val_loss == hist.val_loss[-1] > keep.best_score


def test_early_stopping_restores_also_when_the_epochs_run_out():
    _, free, _ = _overfit(30)
    stopper = training.EarlyStopping(patience=100)
    _, hist, val_loss = _overfit(30, early_stopping=stopper)
    assert stopper.stopped_epoch is None and len(hist.val_loss) == 30
    assert val_loss == free.val_loss.min() < free.val_loss[-1]


class FakeModel:
    """Just enough model for EarlyStopping: a state that says which epoch it is from."""

    def __init__(self):
        self.epoch = None
        self.loaded = None

    def state_dict(self):
        return {"epoch": np.array(self.epoch)}

    def load_state_dict(self, state_dict):
        self.loaded = int(state_dict["epoch"])


def _feed(stopper, values, monitor="val_loss"):
    """Run EarlyStopping over a sequence of epoch metrics; return the fake model."""
    model = FakeModel()
    state = TrainingState(model=model, loss_fn=None, optimizer=None, scheduler=None,
                          epochs=len(values), batches_per_epoch=1, history_so_far=None)
    stopper.on_train_begin(state)
    for epoch, value in enumerate(values):
        model.epoch = state.epoch = epoch
        state.metrics = {monitor: value}
        stopper.on_epoch_end(state)
        if state.stop_training:
            break
    stopper.on_train_end(state)
    return model


def test_early_stopping_semantics():
    # improvement = better than the best by MORE than min_delta
    stopper = training.EarlyStopping(min_delta=0.05, patience=2)
    model = _feed(stopper, [1.0, 0.96, 0.95, 0.94, 0.5])
    assert (stopper.best_epoch, stopper.best_score, stopper.stopped_epoch) == (0, 1.0, 2)
    assert model.loaded == 0
    stopper = training.EarlyStopping(min_delta=0.05, patience=2)
    _feed(stopper, [1.0, 0.949, 0.96, 0.89, 0.95, 0.95, 0.1])
    assert (stopper.best_epoch, stopper.best_score, stopper.stopped_epoch) == (3, 0.89, 5)
    # patience=0 (the default, as in Keras): stop at the first epoch without improvement
    stopper = training.EarlyStopping()
    _feed(stopper, [1.0, 0.9, 0.9, 0.1])
    assert (stopper.best_epoch, stopper.stopped_epoch) == (1, 2)
    # mode="max" watches an accuracy; NaN never improves
    stopper = training.EarlyStopping(monitor="val_acc", mode="max", patience=2)
    model = _feed(stopper, [0.5, np.nan, 0.7, 0.7, 0.6, 0.9], monitor="val_acc")
    assert (stopper.best_epoch, stopper.best_score, stopper.stopped_epoch) == (2, 0.7, 4)
    assert model.loaded == 2
    # nothing restored when no epoch ever improved
    assert _feed(training.EarlyStopping(patience=3), [np.nan] * 5).loaded is None
    # a callback object can be used again: its bookkeeping restarts with each fit
    _feed(stopper, [0.1, 0.2, 0.3], monitor="val_acc")
    assert stopper.stopped_epoch is None and stopper.best_epoch == 2


def test_early_stopping_needs_its_metric():
    ds = _blobs()
    with pytest.raises(ValueError, match=r"'val_loss'.*X_val.*\['train_acc', 'train_loss'\]"):
        _fit(_mlp([2, 8, 3]), ds.X, ds.y, callbacks=[training.EarlyStopping()])
    with pytest.raises(ValueError, match="'val_accuracy'"):
        _fit(_mlp([2, 8, 3]), ds.X, ds.y, X_val=ds.X, y_val=ds.y,
             callbacks=[training.EarlyStopping(monitor="val_accuracy")])  # fmt: skip


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"mode": "auto"}, "mode must be 'min' or 'max'"),
        ({"patience": -1}, r"Invalid patience: -1 \(must be an integer >= 0\)"),
        ({"min_delta": -0.1}, r"Invalid min_delta: -0.1 \(must be >= 0\)"),
        ({"min_delta": float("nan")}, r"Invalid min_delta: nan \(must be finite\)"),
    ],
)
def test_early_stopping_validates_its_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        training.EarlyStopping(**kwargs)
    with pytest.raises(TypeError):
        training.EarlyStopping("val_loss")  # keyword-only
    with pytest.raises(TypeError, match="patience must be an integer"):
        training.EarlyStopping(patience=2.5)


# ------------------------------------------------------------------------------ penalties


def test_l2_penalty_equals_weight_decay():
    ds = _blobs()
    decayed = _mlp([2, 8, 3])
    opt = optim.SGD(decayed.parameters(), lr=0.1, weight_decay=0.01)
    plain = training.fit(decayed, losses.CrossEntropyLoss(), opt, ds.X, ds.y, epochs=3,
                         batch_size=10, progress=False)  # fmt: skip
    penalised = _mlp([2, 8, 3])
    hist = _fit(penalised, ds.X, ds.y, epochs=3, callbacks=[training.WeightPenalty(l2=0.01)])
    for ours, theirs in zip(penalised.parameters(), decayed.parameters(), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)
    # the reported loss includes the penalty ½λ‖w‖², computed before each update
    assert np.all(hist.loss > plain.loss)


def test_l1_penalty_on_chosen_parameters():
    ds = _blobs(10)
    model = _mlp([2, 4, 3])
    reference = copy.deepcopy(model)
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    l1, lr = 0.3, 0.1
    hist = _fit(model, ds.X, ds.y, epochs=1, lr=lr,
                callbacks=[training.WeightPenalty(l1=l1, params=weights)])  # fmt: skip
    assert hist.steps == 1  # one full batch: one update, easy to replay by hand
    loss_fn = losses.CrossEntropyLoss()
    loss = loss_fn(reference(ds.X), ds.y)
    reference.backward(loss_fn.backward())
    named = dict(reference.named_parameters())
    penalty = l1 * sum(np.abs(w).sum() for name, w in named.items() if name.endswith("weight"))
    assert hist.loss[0] == pytest.approx(loss + penalty, rel=1e-14)
    for (name, w0), g, w1 in zip(named.items(), reference.gradients(), model.parameters(),
                                 strict=True):  # fmt: skip
        expected = w0 - lr * (g + (l1 * np.sign(w0) if name.endswith("weight") else 0.0))
        np.testing.assert_allclose(w1, expected, rtol=1e-14, atol=1e-16)


def test_weight_penalty_validation():
    with pytest.raises(ValueError, match="Invalid l1"):
        training.WeightPenalty(l1=-1.0)
    with pytest.raises(ValueError, match="Invalid l2"):
        training.WeightPenalty(l2=float("inf"))
    ds = _blobs()
    stranger = np.zeros((8, 2))  # not one of the model's arrays
    with pytest.raises(ValueError, match=r"model.parameters\(\)"):
        _fit(_mlp([2, 8, 3]), ds.X, ds.y, callbacks=[training.WeightPenalty(l2=0.1,
                                                                             params=[stranger])])


# ----------------------------------------------------------------- gradient accumulation


def test_gradient_accumulation_equals_one_step_on_the_concatenated_batch():
    ds = _blobs(24)
    accumulated = _mlp([2, 8, 3])
    big = copy.deepcopy(accumulated)
    # 4 minibatches of 6, one update per 4: the same as one batch of 24 in the same order
    hist = _fit(accumulated, ds.X, ds.y, epochs=3, batch_size=6, lr=0.5,
                callbacks=[training.GradientAccumulation(batches=4)])  # fmt: skip
    big_hist = _fit(big, ds.X, ds.y, epochs=3, batch_size=24, lr=0.5)
    assert hist.steps == big_hist.steps == 3 and hist.batches_per_epoch == 4
    for ours, theirs in zip(accumulated.parameters(), big.parameters(), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
    # the recorded loss of an update is the mean over its minibatches: the big batch's loss
    np.testing.assert_allclose(hist.loss, big_hist.loss, rtol=1e-12)
    np.testing.assert_allclose(hist.grad_norm, big_hist.grad_norm, rtol=1e-12)
    np.testing.assert_allclose(hist.train_loss, big_hist.train_loss, rtol=1e-12)


def test_gradient_accumulation_updates_at_the_end_of_each_epoch():
    ds = _blobs(10)  # batches of 4, 4, 2: updates after the 2nd and after the 3rd (alone)
    steps = []

    class Steps(Callback):
        def on_step_end(self, state):
            steps.append((state.epoch, state.batch))

    hist = _fit(_mlp([2, 8, 3]), ds.X, ds.y, epochs=2, batch_size=4,
                callbacks=[training.GradientAccumulation(batches=2), Steps()])  # fmt: skip
    assert steps == [(0, 1), (0, 2), (1, 1), (1, 2)] and hist.steps == 4
    with pytest.raises(ValueError, match=r"Invalid batches: 0 \(must be an integer >= 1\)"):
        training.GradientAccumulation(batches=0)


# ------------------------------------------------------------------- soft-target losses


class DistillationLoss:
    """Hinton et al. (2015): T² · KL(softmax(teacher/T) || softmax(student/T)), from the
    teacher's logits as targets. A user loss: forward and backward only, no __call__."""

    def __init__(self, temperature):
        self.T = temperature

    def forward(self, student_logits, teacher_logits):
        z = student_logits / self.T
        z = z - z.max(axis=1, keepdims=True)
        log_q = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        t = teacher_logits / self.T
        p = np.exp(t - t.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        self._p, self._q = p, np.exp(log_q)
        return float(self.T**2 * np.mean(np.sum(p * (np.log(p) - log_q), axis=1)))

    def backward(self):
        return self.T * (self._q - self._p) / len(self._p)


def test_a_student_learns_from_soft_targets():
    ds = data.make_spirals(n_samples=90, noise=0.05, seed=0)
    teacher = _mlp([2, 32, 32, 3], seed=0)
    _fit(teacher, ds.X, ds.y, epochs=150, lr=0.1, momentum=0.9, batch_size=15)
    teacher_logits = teacher(ds.X)
    assert training.accuracy(teacher_logits, ds.y) > 0.95

    student = _mlp([2, 32, 32, 3], seed=1)
    # the T² factor scales the gradient by T: a smaller learning rate than the teacher's
    hist = _fit(student, ds.X, teacher_logits, epochs=150, lr=0.03, momentum=0.9, batch_size=15,
                loss_fn=DistillationLoss(temperature=2.0))  # fmt: skip
    assert hist.train_acc is None  # float targets: no accuracy
    assert hist.train_loss[-1] < 0.2 * hist.train_loss[0]
    agreement = np.mean(student(ds.X).argmax(axis=1) == teacher_logits.argmax(axis=1))
    assert agreement > 0.9

    # probability targets with the library's cross-entropy work the same way
    probabilities = np.exp(teacher_logits - teacher_logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    student = _mlp([2, 32, 32, 3], seed=1)
    hist = _fit(student, ds.X, probabilities, epochs=150, lr=0.1, momentum=0.9, batch_size=15)
    assert hist.train_acc is None and np.all(np.isfinite(hist.loss))
    agreement = np.mean(student(ds.X).argmax(axis=1) == teacher_logits.argmax(axis=1))
    assert agreement > 0.9
