"""nnopt_lib.compress: pruning masks, CSR storage, quantization; and the torch comparisons.

The comparisons with torch are the cases of the cross-check group "compression"
(``nnopt_lib/crosscheck/compress.py``); they skip without torch. The rest runs everywhere.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from nnopt_lib import compress, losses, nn, optim, training
from nnopt_lib.crosscheck import compress as cc


def _torch():
    return pytest.importorskip("torch", exc_type=ImportError)  # also when blocked


# --------------------------------------------------------------------------- against torch


@pytest.mark.parametrize(("method", "options"), cc.PRUNING_CASES,
                         ids=[f"{m}-{o}" for m, o in cc.PRUNING_CASES])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pruning_masks_equal_torch(method, options, dtype):
    _torch()
    cc.compare_pruning(method, **options, dtype=dtype).assert_ok()


@pytest.mark.parametrize(("kind", "options"), cc.QUANTIZATION_CASES,
                         ids=[f"{k}-{o}" for k, o in cc.QUANTIZATION_CASES])
def test_fake_quantize_equals_torch_exactly(kind, options):
    _torch()
    result = cc.compare_fake_quantize(kind, **options).assert_ok()
    assert result.max_abs_diff == 0.0


@pytest.mark.parametrize(("bits", "symmetric", "per_channel"), cc.QPARAMS_CASES)
def test_qparams_equal_torch_observers(bits, symmetric, per_channel):
    _torch()
    cc.compare_qparams(bits, symmetric, per_channel).assert_ok()


@pytest.mark.parametrize("amount", [-1, 1.5, -0.1, "a", 11, None])
def test_amount_errors_are_torch_types(amount):
    torch = _torch()
    import torch.nn.utils.prune as prune

    t = torch.ones(10)
    with pytest.raises(Exception) as theirs:
        prune.L1Unstructured(amount).compute_mask(t, torch.ones_like(t))
    with pytest.raises(type(theirs.value), match=str(amount)):
        compress.l1_unstructured(np.ones(10), amount)


def test_per_channel_errors_are_torch_types():
    torch = _torch()
    x = np.zeros((3, 4), np.float32)
    scale, zp = np.ones(3, np.float32), np.zeros(3, np.int32)
    for args in [(scale[:2], zp[:2], 0, 0, 255), (scale, zp, 2, 0, 255), (scale, zp, -1, 0, 255),
                 (scale, zp + 300, 0, 0, 255), (scale, zp, 0, 10, 5)]:
        with pytest.raises(Exception) as theirs:
            torch.fake_quantize_per_channel_affine(torch.tensor(x), torch.tensor(args[0]),
                                                   torch.tensor(args[1]), *args[2:])
        with pytest.raises(type(theirs.value)):
            compress.fake_quantize_per_channel_affine(x, *args)


def test_dynamic_quantization_weights_equal_symmetric_8_bit():
    _torch()
    model = nn.mlp([64, 256, 10], rng=np.random.default_rng(0), dtype=np.float32)
    float_twin, quantized = cc.quantize_dynamic_twin(model)
    ours = compress.fake_quantize_model(model, bits=8, symmetric=True)
    for i in (0, 2):
        np.testing.assert_array_equal(quantized[i].weight().dequantize().numpy(), ours[i].weight)
    # int8 weights: about a quarter of the float32 bytes (tiny models: format overhead wins)
    assert cc.serialized_bytes(quantized) < 0.4 * cc.serialized_bytes(float_twin)
    assert cc.sparse_csr(np.eye(3)).values().numel() == 3


# --------------------------------------------------------------------------- pruning


def test_amount_rounds_half_to_even_and_counts():
    assert compress.n_to_prune(0.25, 10) == 2 and compress.n_to_prune(0.35, 10) == 4
    assert compress.n_to_prune(7, 10) == 7 and compress.n_to_prune(1.0, 10) == 10
    with pytest.raises(ValueError, match="amount=11"):
        compress.n_to_prune(11, 10)
    with pytest.raises(TypeError, match="True"):
        compress.n_to_prune(True, 10)


def test_l1_unstructured_prunes_smallest_and_lower_index_among_ties():
    w = np.array([[3.0, -0.5, 2.0], [0.1, -4.0, 1.0]])
    np.testing.assert_array_equal(compress.l1_unstructured(w, 2), [[1, 0, 1], [0, 1, 1]])
    tied = np.array([1.0, -1.0, 1.0, 2.0])
    np.testing.assert_array_equal(compress.l1_unstructured(tied, 2), [0, 0, 1, 1])
    assert compress.l1_unstructured(w.astype(np.float32), 0.5).dtype == np.float32


def test_ln_structured_prunes_whole_slices():
    w = np.array([[1.0, 1.0], [0.1, 0.1], [3.0, 0.0], [0.5, 0.5]])
    np.testing.assert_array_equal(compress.ln_structured(w, 2, 2, 0)[:, 0], [1, 0, 1, 0])
    np.testing.assert_array_equal(compress.ln_structured(w, 1, 1, 1)[0], [1, 0])  # column 1
    np.testing.assert_array_equal(compress.ln_structured(w, 1, math.inf, 0)[:, 1], [1, 0, 1, 1])
    with pytest.raises(ValueError, match="multidimensional"):
        compress.ln_structured(np.ones(4), 1, 2, 0)
    with pytest.raises(IndexError, match="got 2"):
        compress.ln_structured(w, 1, 2, 2)


def test_keep_pruned_holds_zeros_through_fine_tuning():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 5)), rng.integers(0, 3, 60)
    model = nn.mlp([5, 16, 3], rng=rng)
    masks = {name: compress.l1_unstructured(p, 0.7) for name, p in model.named_parameters()
             if p.ndim == 2}
    before = copy.deepcopy(model.state_dict())
    training.fit(model, losses.CrossEntropyLoss(),
                 optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.1), X, y, epochs=3,
                 batch_size=20, callbacks=[compress.KeepPruned(masks)], progress=False)
    state = model.state_dict()
    for name, mask in masks.items():
        assert np.all(state[name][mask == 0] == 0)
        assert not np.allclose(state[name][mask == 1], before[name][mask == 1])
    assert compress.sparsity([state[n] for n in masks]) == pytest.approx(0.7, abs=0.01)
    with pytest.raises(KeyError, match="nope"):
        training.fit(model, losses.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                     X, y, epochs=1, batch_size=20, progress=False,
                     callbacks=[compress.KeepPruned({"nope": np.ones(1)})])


# --------------------------------------------------------------------------- CSR


@pytest.mark.parametrize("density", [0.0, 0.1, 0.5, 1.0])
def test_csr_round_trip_and_matvec(density):
    rng = np.random.default_rng(1)
    A = rng.normal(size=(7, 9)) * (rng.random((7, 9)) < density)
    A[2] = 0  # an empty row
    csr = compress.dense_to_csr(A)
    np.testing.assert_array_equal(csr.to_dense(), A)
    x = rng.normal(size=9)
    np.testing.assert_allclose(compress.csr_matvec(csr, x), A @ x, rtol=1e-12, atol=1e-12)
    assert csr.nnz == np.count_nonzero(A)
    assert csr.nbytes == csr.nnz * 16 + 8 * 8  # float64 values + int64 indices, 8 offsets
    with pytest.raises(ValueError, match="shape"):
        compress.csr_matvec(csr, np.ones(3))


# --------------------------------------------------------------------------- quantization


def test_quantize_rounds_half_to_even_and_clamps():
    x = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 1e6, -1e6, np.nan, np.inf], np.float32)
    q = compress.quantize(x, 1.0, 0, -8, 7)
    np.testing.assert_array_equal(q, [0, 2, 2, 0, -2, 7, -8, -8, 7])
    np.testing.assert_array_equal(compress.dequantize(q, 0.5, 1), (q - 1) * 0.5)
    assert compress.fake_quantize_per_tensor_affine(x[:3], 1.0, 0, 0, 255).dtype == np.float32


def test_fake_quantize_errors():
    x = np.ones(3, np.float32)
    with pytest.raises(RuntimeError, match="quant_min"):
        compress.fake_quantize_per_tensor_affine(x, 1.0, 0, 5, 4)
    with pytest.raises(RuntimeError, match="zero_point=300"):
        compress.fake_quantize_per_tensor_affine(x, 1.0, 300, 0, 255)
    with pytest.raises(ValueError, match="scale"):
        compress.fake_quantize_per_tensor_affine(x, 0.0, 0, 0, 255)
    with pytest.raises(ValueError, match="bits: 0"):
        compress.quant_range(0)


@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("bits", [8, 4, 2])
def test_choose_qparams_keeps_zero_exact_and_covers_range(bits, symmetric):
    scale, zp, qmin, qmax = compress.choose_qparams(0.3, 2.7, bits=bits, symmetric=symmetric)
    assert compress.fake_quantize_per_tensor_affine(np.zeros(1, np.float32), scale, zp,
                                                    qmin, qmax)[0] == 0.0
    top = compress.fake_quantize_per_tensor_affine(np.float32([2.7]), scale, zp, qmin, qmax)[0]
    assert abs(top - 2.7) <= scale / 2 * (1 + 1e-6) or symmetric  # symmetric: a level short


def test_calibration_range_and_model_quantization():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 1000))
    lo, hi = compress.calibration_range(x)
    assert (lo, hi) == (x.min(), x.max())
    lo99, hi99 = compress.calibration_range(x, percentile=99.0, axis=0)
    assert lo99.shape == (4,) and np.all(hi99 < x.max(axis=1))
    with pytest.raises(ValueError, match="percentile: 40"):
        compress.calibration_range(x, percentile=40)
    model = nn.mlp([6, 8, 3], rng=rng, dtype=np.float32)
    before = copy.deepcopy(model.state_dict())
    q = compress.fake_quantize_model(model, bits=2, per_channel=True)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])  # the original is untouched
    for row in q.state_dict()["0.weight"]:
        assert len(np.unique(row)) <= 4  # 2 bits: at most four levels per channel
    np.testing.assert_array_equal(q.state_dict()["0.bias"], before["0.bias"])
