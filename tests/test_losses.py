"""nnopt_lib.losses against torch.nn: values and gradients to 1e-12 (float64), edge cases,
and the exception type torch raises for each kind of bad input.

The comparisons with torch are ``crosscheck.compare_layer``'s (every loss case of the
cross-check matrix, then the given inputs and targets below through the same function, the
torch loss built by the one mapping ``crosscheck.torch_twin``); this file adds edge cases,
NaN results, low precision and validation.
"""

import math
import warnings

import numpy as np
import pytest
import torch

from nnopt_lib import crosscheck, losses, nn

TOL = 1e-12
RNG = np.random.default_rng(0)
LOSS_NAMES = {cls.__name__ for cls in crosscheck.LOSS_TWINS}
LOSS_CASES = [case for case in crosscheck.LAYER_CASES if case[0] in LOSS_NAMES]


def _softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _tensor(array, grad=False):
    array = np.asarray(array)
    if array.dtype.kind in "iu":
        return torch.from_numpy(array.astype(np.int64))  # torch wants int64 labels
    return torch.tensor(array, requires_grad=grad)


def _torch_value_and_grad(torch_loss, input, target):
    x = _tensor(input, grad=True)
    value = torch_loss(x, _tensor(target))
    value.backward()
    return value.item(), x.grad.numpy()


def _check(loss, input, target):
    """Value and gradient of ``loss`` equal torch's, warning-free.

    By ``crosscheck.compare_layer``; where the value is NaN (the mean of nothing) by hand,
    since a comparison fails on NaN by design: torch's value is NaN too, and the gradients
    (zeros) agree.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = loss(input, target)
        grad = loss.backward()
    assert type(value) is float
    assert grad.shape == np.shape(input) and grad.dtype == np.asarray(input).dtype
    if math.isnan(value):
        their_value, their_grad = _torch_value_and_grad(crosscheck.torch_twin(loss), input,
                                                        target)
        assert math.isnan(their_value)
        np.testing.assert_array_equal(grad, their_grad)
    else:
        result = crosscheck.compare_layer(loss, input=input, target=target).assert_ok()
        assert result.max_abs_diff <= TOL * max(1.0, np.abs(result.ours).max()), result


@pytest.mark.parametrize(("name", "options", "target"), LOSS_CASES,
                         ids=[f"{n}-{o}-{t}" for n, o, t in LOSS_CASES])
def test_every_loss_case_of_the_matrix_matches_torch(name, options, target):
    result = crosscheck.compare_layer_case(name, options, target).assert_ok()
    assert result.max_abs_diff <= TOL * max(1.0, np.abs(result.ours).max()), result


LOGITS = 3 * RNG.standard_normal((7, 4))
LABELS = RNG.integers(0, 4, 7)
PROBS = _softmax(RNG.standard_normal((7, 4)))
LOGITS_3D = RNG.standard_normal((3, 4, 5))
LABELS_3D = RNG.integers(0, 4, (3, 5))
WITH_IGNORED = np.where(np.arange(7) % 3 == 0, -100, LABELS)

# (id, our loss, input, target)
CROSS_ENTROPY_CASES = [
    ("labels", losses.CrossEntropyLoss(), LOGITS, LABELS),
    ("labels-sum", losses.CrossEntropyLoss(reduction="sum"), LOGITS, LABELS),
    ("int32-labels", losses.CrossEntropyLoss(), LOGITS, LABELS.astype(np.int32)),
    ("unbatched", losses.CrossEntropyLoss(), LOGITS[0], LABELS[0]),
    ("spatial", losses.CrossEntropyLoss(), LOGITS_3D, LABELS_3D),
    ("ignored", losses.CrossEntropyLoss(), LOGITS, WITH_IGNORED),
    ("ignore-index-2", losses.CrossEntropyLoss(ignore_index=2), LOGITS, LABELS),
    ("all-ignored", losses.CrossEntropyLoss(), LOGITS, np.full(7, -100)),
    ("smoothing", losses.CrossEntropyLoss(label_smoothing=0.2), LOGITS, WITH_IGNORED),
    ("smoothing-sum", losses.CrossEntropyLoss(label_smoothing=0.2, reduction="sum"),
     LOGITS, WITH_IGNORED),
    ("smoothing-spatial", losses.CrossEntropyLoss(label_smoothing=0.1), LOGITS_3D, LABELS_3D),
    ("probabilities", losses.CrossEntropyLoss(), LOGITS, PROBS),
    ("unnormalised-targets", losses.CrossEntropyLoss(), LOGITS, RNG.uniform(0, 1, (7, 4))),
    ("probabilities-smoothing", losses.CrossEntropyLoss(label_smoothing=0.3), LOGITS, PROBS),
    ("probabilities-sum", losses.CrossEntropyLoss(reduction="sum"), LOGITS, PROBS),
    ("probabilities-unbatched", losses.CrossEntropyLoss(), LOGITS[0], PROBS[0]),
    ("probabilities-spatial", losses.CrossEntropyLoss(), LOGITS_3D,
     _softmax(LOGITS_3D, axis=1)),
    ("empty", losses.CrossEntropyLoss(), np.zeros((0, 4)), np.zeros(0, dtype=np.int64)),
    ("empty-sum", losses.CrossEntropyLoss(reduction="sum"), np.zeros((0, 4)),
     np.zeros(0, dtype=np.int64)),
    ("empty-probabilities", losses.CrossEntropyLoss(), np.zeros((0, 4)), np.zeros((0, 4))),
]

NLL_CASES = [
    ("labels", losses.NLLLoss(), LOGITS, LABELS),
    ("sum", losses.NLLLoss(reduction="sum"), LOGITS, LABELS),
    ("unbatched", losses.NLLLoss(), LOGITS[0], LABELS[0]),
    ("spatial", losses.NLLLoss(), LOGITS_3D, LABELS_3D),
    ("ignored", losses.NLLLoss(), LOGITS, WITH_IGNORED),
    ("ignore-index-0", losses.NLLLoss(ignore_index=0), LOGITS, LABELS),
    ("all-ignored", losses.NLLLoss(), LOGITS, np.full(7, -100)),
    ("empty", losses.NLLLoss(), np.zeros((0, 4)), np.zeros(0, dtype=np.int64)),
]

PRED, REGRESSION_TARGET = RNG.standard_normal((6, 2)), RNG.standard_normal((6, 2))
MSE_CASES = [
    ("mean", losses.MSELoss(), PRED, REGRESSION_TARGET),
    ("sum", losses.MSELoss(reduction="sum"), PRED, REGRESSION_TARGET),
    ("1-D", losses.MSELoss(), PRED[:, 0], REGRESSION_TARGET[:, 0]),
    ("empty", losses.MSELoss(), np.zeros(0), np.zeros(0)),
]

BINARY_LOGITS = 4 * RNG.standard_normal((8, 3))
BINARY_TARGET = RNG.uniform(0, 1, (8, 3))
HUGE = np.array([1e4, -1e4, 800.0, -800.0, 0.0, 30.0])
POS_WEIGHT = np.array([0.5, 2.0, 3.0])
WEIGHT = RNG.uniform(0.5, 2.0, (8, 3))
BCE_CASES = [
    ("mean", losses.BCEWithLogitsLoss(), BINARY_LOGITS, BINARY_TARGET),
    ("sum", losses.BCEWithLogitsLoss(reduction="sum"), BINARY_LOGITS, BINARY_TARGET),
    ("huge-logits", losses.BCEWithLogitsLoss(), HUGE, np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.3])),
    ("pos-weight", losses.BCEWithLogitsLoss(pos_weight=POS_WEIGHT), BINARY_LOGITS, BINARY_TARGET),
    ("weight", losses.BCEWithLogitsLoss(weight=WEIGHT), BINARY_LOGITS, BINARY_TARGET),
    ("both-weights-sum",
     losses.BCEWithLogitsLoss(weight=WEIGHT[0], pos_weight=POS_WEIGHT, reduction="sum"),
     BINARY_LOGITS, BINARY_TARGET),
    ("empty", losses.BCEWithLogitsLoss(), np.zeros(0), np.zeros(0)),
]

LOG_P = np.log(_softmax(RNG.standard_normal((5, 4))))
Q = _softmax(RNG.standard_normal((5, 4)))
Q_WITH_ZEROS = np.where(Q < 0.15, 0.0, Q)
KL_CASES = [
    ("batchmean", losses.KLDivLoss(reduction="batchmean"), LOG_P, Q),
    ("sum", losses.KLDivLoss(reduction="sum"), LOG_P, Q),
    ("zero-targets", losses.KLDivLoss(reduction="batchmean"), LOG_P, Q_WITH_ZEROS),
    ("log-target", losses.KLDivLoss(reduction="batchmean", log_target=True), LOG_P, np.log(Q)),
    ("0-D", losses.KLDivLoss(reduction="batchmean"), np.array(-0.7), np.array(0.3)),
    ("empty", losses.KLDivLoss(reduction="batchmean"), np.zeros((0, 4)), np.zeros((0, 4))),
]


CASES = (*CROSS_ENTROPY_CASES, *NLL_CASES, *MSE_CASES, *BCE_CASES, *KL_CASES)


@pytest.mark.parametrize(("loss", "input", "target"), [case[1:] for case in CASES],
                         ids=[f"{type(case[1]).__name__}-{case[0]}" for case in CASES])
def test_value_and_gradient_equal_torchs(loss, input, target):
    _check(loss, input, target)


def test_kl_mean_divides_by_every_element_and_warns_like_torch():
    kl = losses.KLDivLoss()
    with pytest.warns(UserWarning, match="batchmean"):
        value = kl(LOG_P, Q)
    with pytest.warns(UserWarning, match="batchmean"):
        their_value, their_grad = _torch_value_and_grad(crosscheck.torch_twin(kl), LOG_P, Q)
    assert abs(value - their_value) < TOL
    np.testing.assert_allclose(kl.backward(), their_grad, rtol=TOL)
    np.testing.assert_allclose(kl.backward(), -Q / Q.size, rtol=TOL)  # batch * classes


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 1e4], [3e4, 3e4, 3e4]])
    target = np.array([1, 2, 0])
    _check(losses.CrossEntropyLoss(), logits, target)
    loss = losses.CrossEntropyLoss()(logits, target)
    assert abs(loss - (1e4 + np.log(2) + np.log(3)) / 3) < 1e-9


def test_log_softmax_then_nll_is_cross_entropy():
    log_softmax, nll, ce = nn.LogSoftmax(dim=1), losses.NLLLoss(), losses.CrossEntropyLoss()
    value = nll(log_softmax(LOGITS), LABELS)
    grad = log_softmax.backward(nll.backward())
    assert abs(value - ce(LOGITS, LABELS)) < TOL
    np.testing.assert_allclose(grad, ce.backward(), atol=TOL)


@pytest.mark.parametrize(("dtype", "tol"), [(np.float32, 1e-6), (np.float16, 2e-3)])
@pytest.mark.parametrize("case", [CROSS_ENTROPY_CASES[0], CROSS_ENTROPY_CASES[12], NLL_CASES[0],
                                  MSE_CASES[0], BCE_CASES[0], KL_CASES[0]],
                         ids=lambda case: f"{type(case[1]).__name__}-{case[0]}")
def test_low_precision_inputs_give_gradients_of_their_dtype(case, dtype, tol):
    # nnopt itself computes in low precision here: by hand (a comparison's reference is a
    # float64 nnopt run)
    _, loss, input, target = case
    torch_loss = crosscheck.torch_twin(loss)
    low_input = input.astype(dtype)
    low_target = target.astype(dtype) if target.dtype.kind == "f" else target
    value = loss(low_input, low_target)
    grad = loss.backward()
    assert grad.dtype == dtype and type(value) is float
    x = torch.from_numpy(low_input).requires_grad_(True)
    their_value = torch_loss(x, _tensor(low_target))
    their_value.backward()
    assert abs(value - their_value.item()) <= tol * max(1.0, abs(value))
    np.testing.assert_allclose(grad.astype(np.float64), x.grad.double().numpy(),
                               rtol=10 * tol, atol=tol)


# (id, our call, torch's call): both must raise the same exception type
F = torch.nn.functional
BAD_INPUT = [
    ("float-labels", lambda: losses.CrossEntropyLoss()(LOGITS, LABELS.astype(float)),
     lambda: F.cross_entropy(_tensor(LOGITS), _tensor(LABELS.astype(float)))),
    ("bool-labels", lambda: losses.CrossEntropyLoss()(LOGITS, LABELS > 1),
     lambda: F.cross_entropy(_tensor(LOGITS), torch.from_numpy(LABELS > 1))),
    ("label-too-big", lambda: losses.CrossEntropyLoss()(LOGITS, np.r_[LABELS[:-1], 4]),
     lambda: F.cross_entropy(_tensor(LOGITS), _tensor(np.r_[LABELS[:-1], 4]))),
    ("negative-label", lambda: losses.CrossEntropyLoss()(LOGITS, np.r_[LABELS[:-1], -1]),
     lambda: F.cross_entropy(_tensor(LOGITS), _tensor(np.r_[LABELS[:-1], -1]))),
    ("batch-mismatch", lambda: losses.CrossEntropyLoss()(LOGITS, LABELS[:5]),
     lambda: F.cross_entropy(_tensor(LOGITS), _tensor(LABELS[:5]))),
    ("2-D-labels", lambda: losses.CrossEntropyLoss()(LOGITS, LABELS[:, None]),
     lambda: F.cross_entropy(_tensor(LOGITS), _tensor(LABELS[:, None]))),
    ("probabilities-wrong-shape", lambda: losses.CrossEntropyLoss()(LOGITS, PROBS[:, :3]),
     lambda: F.cross_entropy(_tensor(LOGITS), _tensor(PROBS[:, :3]))),
    ("spatial-wrong-target", lambda: losses.CrossEntropyLoss()(LOGITS_3D, LABELS_3D[:, :4]),
     lambda: F.cross_entropy(_tensor(LOGITS_3D), _tensor(LABELS_3D[:, :4]))),
    ("integer-logits", lambda: losses.CrossEntropyLoss()(LABELS[:, None] * [1, 1], LABELS % 2),
     lambda: F.cross_entropy(_tensor(LABELS[:, None] * [1, 1]), _tensor(LABELS % 2))),
    ("0-D-logits", lambda: losses.CrossEntropyLoss()(np.array(1.0), np.array(0)),
     lambda: F.cross_entropy(_tensor(np.array(1.0)), _tensor(np.array(0)))),
    ("probabilities-with-ignore-index",
     lambda: losses.CrossEntropyLoss(ignore_index=0)(LOGITS, PROBS),
     lambda: F.cross_entropy(_tensor(LOGITS), _tensor(PROBS), ignore_index=0)),
    ("smoothing-too-big", lambda: losses.CrossEntropyLoss(label_smoothing=1.5),
     lambda: F.cross_entropy(_tensor(LOGITS), _tensor(LABELS), label_smoothing=1.5)),
    ("bad-reduction", lambda: losses.CrossEntropyLoss(reduction="avg"),
     lambda: F.cross_entropy(_tensor(LOGITS), _tensor(LABELS), reduction="avg")),
    ("nll-float-labels", lambda: losses.NLLLoss()(LOGITS, LABELS.astype(float)),
     lambda: F.nll_loss(_tensor(LOGITS), _tensor(LABELS.astype(float)))),
    ("nll-probabilities", lambda: losses.NLLLoss()(LOGITS, PROBS),
     lambda: F.nll_loss(_tensor(LOGITS), _tensor(PROBS))),
    ("nll-label-too-big", lambda: losses.NLLLoss()(LOGITS, np.r_[LABELS[:-1], 9]),
     lambda: F.nll_loss(_tensor(LOGITS), _tensor(np.r_[LABELS[:-1], 9]))),
    ("nll-batch-mismatch", lambda: losses.NLLLoss()(LOGITS, LABELS[:3]),
     lambda: F.nll_loss(_tensor(LOGITS), _tensor(LABELS[:3]))),
    ("mse-integer-input", lambda: losses.MSELoss()(LABELS, LABELS),
     lambda: F.mse_loss(_tensor(LABELS), _tensor(LABELS))),
    ("bce-shape", lambda: losses.BCEWithLogitsLoss()(BINARY_LOGITS[:, :1], BINARY_TARGET[:, 0]),
     lambda: F.binary_cross_entropy_with_logits(_tensor(BINARY_LOGITS[:, :1]),
                                                _tensor(BINARY_TARGET[:, 0]))),
    ("bce-pos-weight", lambda: losses.BCEWithLogitsLoss(pos_weight=np.ones(4))(BINARY_LOGITS,
                                                                               BINARY_TARGET),
     lambda: F.binary_cross_entropy_with_logits(_tensor(BINARY_LOGITS), _tensor(BINARY_TARGET),
                                                pos_weight=torch.ones(4, dtype=torch.float64))),
    ("bce-integer-logits", lambda: losses.BCEWithLogitsLoss()(LABELS % 2, LABELS % 2),
     lambda: F.binary_cross_entropy_with_logits(_tensor(LABELS % 2), _tensor(LABELS % 2))),
    ("kl-integers", lambda: losses.KLDivLoss(reduction="sum")(LABELS, LABELS),
     lambda: F.kl_div(_tensor(LABELS), _tensor(LABELS), reduction="sum")),
    ("kl-log-target-not-bool", lambda: losses.KLDivLoss(log_target="yes"),
     lambda: F.kl_div(_tensor(LOG_P), _tensor(Q), reduction="sum", log_target="yes")),
]


@pytest.mark.parametrize(("ours", "theirs"), [case[1:] for case in BAD_INPUT],
                         ids=[case[0] for case in BAD_INPUT])
def test_bad_input_raises_torchs_exception_type(ours, theirs):
    with pytest.raises(Exception) as their_error:
        theirs()
    with pytest.raises(their_error.type):
        ours()


def test_error_messages_name_the_problem():
    ce = losses.CrossEntropyLoss()
    with pytest.raises(IndexError, match="Target 4 is out of bounds"):
        ce(LOGITS, np.r_[LABELS[:-1], 4])
    with pytest.raises(ValueError, match=r"Expected input batch_size \(7\) to match target "
                                         r"batch_size \(5\)"):
        ce(LOGITS, LABELS[:5])
    with pytest.raises(RuntimeError, match="float64.*class-probability targets"):
        ce(LOGITS, LABELS.astype(float))
    with pytest.raises(RuntimeError, match=r"expected a target of shape \(\) .* got \(1,\)"):
        ce(LOGITS[0], LABELS[:1])  # one unbatched example has a 0-D label
    with pytest.raises(ValueError, match="reduction='none' is not supported"):
        losses.MSELoss(reduction="none")
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        losses.KLDivLoss(reduction="avg")
    with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0"):
        losses.CrossEntropyLoss(label_smoothing=math.nan)
    with pytest.raises(TypeError, match="ignore_index"):
        losses.NLLLoss(ignore_index=1.5)


def test_broadcasting_shape_mismatches_are_refused():
    # torch warns (MSE) or broadcasts silently (KL); an (N, 1) vs (N,) mix trains on nonsense
    with pytest.raises(ValueError, match=r"\(6,\)"):
        losses.MSELoss()(PRED[:, :1], REGRESSION_TARGET[:, 0])
    with pytest.raises(ValueError, match="target shape"):
        losses.KLDivLoss(reduction="sum")(LOG_P, Q[:, :1])


def test_lenient_targets_give_torchs_answer():
    # integer 0/1 labels for BCE and integer regression targets: cast, torch needs floats
    labels = (BINARY_TARGET > 0.5).astype(np.int64)
    _, their_grad = _torch_value_and_grad(crosscheck.torch_twin(losses.BCEWithLogitsLoss()),
                                          BINARY_LOGITS, labels.astype(float))
    bce = losses.BCEWithLogitsLoss()
    bce(BINARY_LOGITS, labels)
    np.testing.assert_allclose(bce.backward(), their_grad, atol=TOL)
    bce(BINARY_LOGITS, labels.astype(bool))
    np.testing.assert_allclose(bce.backward(), their_grad, atol=TOL)
    mse = losses.MSELoss()
    assert mse(PRED[:, 0], LABELS[:6]) == pytest.approx(np.mean((PRED[:, 0] - LABELS[:6]) ** 2))


def test_backward_needs_a_successful_forward():
    ce = losses.CrossEntropyLoss()
    with pytest.raises(RuntimeError, match="forward pass first"):
        ce.backward()
    ce(LOGITS, LABELS)
    with pytest.raises(IndexError):
        ce(LOGITS, np.r_[LABELS[:-1], 9])
    with pytest.raises(RuntimeError, match="forward pass first"):
        ce.backward()  # not the gradient of an earlier call


def test_repr_and_protocol():
    assert repr(losses.CrossEntropyLoss()) == "CrossEntropyLoss()"
    assert repr(losses.CrossEntropyLoss(label_smoothing=0.1, reduction="sum")) == \
        "CrossEntropyLoss(reduction='sum', label_smoothing=0.1)"
    assert repr(losses.KLDivLoss(reduction="batchmean", log_target=True)) == \
        "KLDivLoss(reduction='batchmean', log_target=True)"
    assert repr(losses.NLLLoss(ignore_index=0)) == "NLLLoss(ignore_index=0)"
    for name in losses.__all__:
        assert issubclass(getattr(losses, name), losses.Loss)
