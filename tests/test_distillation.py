"""nnopt_lib.distillation: Hinton et al.'s loss against PyTorch's formulation (every case of
the cross-check matrix, float64 and float32), its validation, and its use with fit."""

import math

import numpy as np
import pytest

from nnopt_lib import crosscheck, nn, optim, training
from nnopt_lib.crosscheck import matrix
from nnopt_lib.crosscheck.distillation import DISTILLATION_CASES, compare_distillation
from nnopt_lib.distillation import DistillationLoss, distillation_targets, softened_softmax
from nnopt_lib.exercises import distillation as exercises

RNG = np.random.default_rng(0)
STUDENT = 2 * RNG.standard_normal((6, 5))
TEACHER = 3 * RNG.standard_normal((6, 5))
LABELS = RNG.integers(0, 5, 6)
TARGETS = distillation_targets(TEACHER, LABELS)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("options", "scale"), DISTILLATION_CASES,
                         ids=[f"{o}-x{s}" for o, s in DISTILLATION_CASES])
def test_every_matrix_case_matches_torch(options, scale, dtype):
    pytest.importorskip("torch")
    result = compare_distillation(options, teacher_scale=scale, dtype=dtype).assert_ok()
    if dtype == "float64":
        assert result.max_abs_diff <= 1e-12 * max(1.0, np.abs(result.ours).max()), result


def test_the_group_is_in_the_matrix():
    group = next(cases for name, cases in matrix._groups("float64") if name == "distillation")
    assert len(group) == len(DISTILLATION_CASES)


def test_value_and_gradient_equal_the_exercise_references():
    for temperature, alpha in [(4.0, 0.9), (1.0, 0.5), (0.3, 1.0), (10.0, 0.0)]:
        loss = DistillationLoss(temperature=temperature, alpha=alpha)
        value = loss(STUDENT, TARGETS)
        expected = exercises._distillation_loss(STUDENT, TEACHER, LABELS, temperature, alpha)
        assert type(value) is float and math.isclose(value, expected, rel_tol=1e-12)
        np.testing.assert_allclose(
            loss.backward(),
            exercises._distillation_gradient(STUDENT, TEACHER, LABELS, temperature, alpha),
            rtol=1e-10, atol=1e-15)


def test_gradient_by_finite_differences():
    loss = DistillationLoss(temperature=3.0, alpha=0.6, reduction="sum")
    loss(STUDENT, TARGETS)
    grad, h = loss.backward(), 1e-6
    numeric = np.zeros_like(STUDENT)
    for index in np.ndindex(STUDENT.shape):
        step = np.zeros_like(STUDENT)
        step[index] = h
        numeric[index] = (loss(STUDENT + step, TARGETS) - loss(STUDENT - step, TARGETS)) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_limits_and_the_identical_teacher():
    hard = DistillationLoss(alpha=0.0)(STUDENT, TARGETS)
    ce = -np.mean(np.log(softened_softmax(STUDENT))[np.arange(6), LABELS])
    assert math.isclose(hard, ce, rel_tol=1e-12)
    same = DistillationLoss(alpha=1.0, temperature=5.0)
    assert abs(same(STUDENT, distillation_targets(STUDENT, LABELS))) < 1e-12  # KL(p || p) = 0
    assert np.abs(same.backward()).max() < 1e-15


def test_soft_gradient_without_t_squared_shrinks_like_one_over_t_squared():
    norms = []
    for temperature in (30.0, 300.0):
        loss = DistillationLoss(temperature=temperature, alpha=1.0)
        loss(STUDENT, TARGETS)
        norms.append(np.linalg.norm(loss.backward()) / temperature**2)  # T^2 taken back out
    assert math.isclose(norms[0] / norms[1], 100.0, rel_tol=0.02)


def test_float32_and_float16_inputs_keep_their_dtype():
    for dtype in (np.float32, np.float16):
        loss = DistillationLoss()
        value = loss(STUDENT.astype(dtype), TARGETS)
        assert math.isclose(value, DistillationLoss()(STUDENT, TARGETS), rel_tol=2e-3)
        assert loss.backward().dtype == dtype


def test_softened_softmax():
    z = np.array([[1000.0, 0.0, -1000.0]])
    np.testing.assert_allclose(softened_softmax(z, 0.1), [[1.0, 0.0, 0.0]])
    assert np.allclose(softened_softmax(STUDENT, 1e6), 0.2, atol=1e-5)
    np.testing.assert_allclose(softened_softmax(STUDENT, 2.0),
                               exercises._softened_softmax(STUDENT, 2.0), rtol=1e-14)


@pytest.mark.parametrize("temperature", [0, -1.0, math.nan, math.inf, "4", True])
def test_bad_temperature(temperature):
    with pytest.raises(ValueError, match=r"Invalid temperature: " + repr(temperature)[:3]):
        DistillationLoss(temperature=temperature)


@pytest.mark.parametrize("alpha", [-0.1, 1.5, math.nan, None])
def test_bad_alpha(alpha):
    with pytest.raises(ValueError, match=r"Invalid alpha: " + repr(alpha)[:3]):
        DistillationLoss(alpha=alpha)


def test_bad_reduction_and_targets():
    with pytest.raises(ValueError, match="batchmean is not a valid value"):
        DistillationLoss(reduction="batchmean")
    loss = DistillationLoss()
    with pytest.raises(TypeError, match="distillation_targets"):
        loss(STUDENT, LABELS)
    with pytest.raises(RuntimeError, match="teacher has 4 classes but the student 5"):
        loss(STUDENT, distillation_targets(TEACHER[:, :4], LABELS))
    with pytest.raises(RuntimeError, match=r"shape \(N, C\), got \(5,\)"):
        loss(STUDENT[0], TARGETS[:1])
    with pytest.raises(ValueError, match=r"Expected input batch_size \(6\) to match target "
                                         r"batch_size \(5\)"):
        loss(STUDENT, TARGETS[:5])
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        loss(STUDENT, distillation_targets(TEACHER, np.full(6, 7)))
    with pytest.raises(NotImplementedError):
        loss(STUDENT.astype(int), TARGETS)
    with pytest.raises(RuntimeError, match="forward pass first"):
        DistillationLoss().backward()
    with pytest.raises(ValueError, match=r"labels of shape \(5,\)"):
        distillation_targets(TEACHER, LABELS[:5])
    with pytest.raises(ValueError, match="integer class indices"):
        distillation_targets(TEACHER, LABELS.astype(float))
    with pytest.raises(ValueError, match=r"shape \(N, C\)"):
        distillation_targets(TEACHER[0], LABELS)


def test_trains_with_fit_and_learns_the_teacher():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 4))
    teacher_logits = X @ rng.normal(size=(4, 3)) * 2
    labels = teacher_logits.argmax(1)
    student = nn.mlp([4, 16, 3], rng=rng)
    loss = DistillationLoss(temperature=2.0, alpha=1.0)
    history = training.fit(student, loss, optim.Adam(student.parameters(), lr=1e-2), X,
                           distillation_targets(teacher_logits, labels), epochs=30,
                           batch_size=20, progress=False)
    assert history.diverged_at is None and history.train_loss[-1] < 0.2 * history.train_loss[0]
    assert np.mean(student(X).argmax(1) == labels) > 0.9


def test_repr():
    assert repr(DistillationLoss()) == "DistillationLoss(temperature=4.0, alpha=0.9)"
    assert "reduction='sum'" in repr(DistillationLoss(reduction="sum"))
    assert crosscheck.import_torch is not None
