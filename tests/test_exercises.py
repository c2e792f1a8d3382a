"""Tests of the exercise checker (nnopt_lib.exercises) and of every registered exercise."""

import inspect
import re
import sys

import numpy as np
import pytest

from nnopt_lib import exercises
from nnopt_lib.exercises import EXERCISES, Exercise, check, register

NOT_DONE = "not done yet — fill in the function and run this cell again."


@pytest.fixture
def registry():
    """Let a test register throw-away exercises; the registry is restored afterwards."""
    saved = dict(EXERCISES)
    yield
    EXERCISES.clear()
    EXERCISES.update(saved)


def _secret_reference(x, w):
    # A distinctive expression, so the tests can tell whether the source leaked.
    return np.sum(x * w) + 0.5 * np.dot(w, w)


def _weighted_sum_cases(rng):
    return [(rng.normal(size=4), rng.normal(size=4)) for _ in range(6)]


def _scale(x):
    return 3.0 * x


def _scale_cases(rng):
    return [(rng.normal(size=(2, 3)),) for _ in range(5)]


def _clip_value_(grads, clip_value):
    """In-place exercise: clamp every gradient to [−c, c], return nothing."""
    for g in grads:
        np.clip(g, -clip_value, clip_value, out=g)


def _register_test_exercises():
    register(Exercise(name="t_weighted_sum", reference=_secret_reference, cases=_weighted_sum_cases,
                      hint="Multiply elementwise and add the penalty."))
    register(Exercise(name="t_scale", reference=_scale, cases=_scale_cases,
                      hint="Multiply by three."))


# --------------------------------------------------------------------------- verdicts


def test_reference_passes_and_prints_success(registry, capsys):
    _register_test_exercises()
    assert check("t_weighted_sum", _secret_reference)
    assert capsys.readouterr().out == "✓ t_weighted_sum: all 6 cases match the reference.\n"


def test_wrong_answer_fails_showing_the_first_failing_case(registry, capsys):
    _register_test_exercises()

    def fails_from_case_three(x, w):
        calls.append(1)
        return _secret_reference(x, w) + (1.0 if len(calls) >= 3 else 0.0)

    calls = []
    assert not check("t_weighted_sum", fails_from_case_three)
    out = capsys.readouterr().out
    assert out.startswith("✗ t_weighted_sum: case 3 of 6 does not match the reference.")
    x, w = _weighted_sum_cases(np.random.default_rng(0))[2]
    expected = _secret_reference(x, w)
    assert np.array2string(x, precision=4) in out          # the failing inputs, by name
    assert "x = array of shape (4,)" in out and "w = array of shape (4,)" in out
    assert f"expected: {expected:.6g}" in out
    assert f"got:      {expected + 1.0:.6g}" in out
    assert "max |expected − got| = 1" in out
    assert "Hint: Multiply elementwise and add the penalty." in out
    assert "Traceback" not in out


def test_array_mismatch_reports_count_and_first_index(registry, capsys):
    _register_test_exercises()

    def off_in_one_entry(x):
        y = 3.0 * x
        y[1, 2] += 0.25
        return y

    assert not check("t_scale", off_in_one_entry)
    out = capsys.readouterr().out
    assert "case 1 of 5 does not match" in out
    assert "max |expected − got| = 0.25 (1 of 6 entries differ; first at index (1, 2))" in out


def test_within_tolerance_passes_and_outside_fails(registry, capsys):
    _register_test_exercises()
    assert check("t_scale", lambda x: 3.0 * x * (1 + 1e-9))
    assert not check("t_scale", lambda x: 3.0 * x * (1 + 1e-5))


@pytest.mark.parametrize("stub_body", ["ellipsis", "return_none", "not_implemented",
                                       "return_ellipsis"])
def test_unfinished_stub_is_not_done_yet(registry, capsys, stub_body):
    _register_test_exercises()

    def stub_ellipsis(x): ...

    def stub_none(x):
        return None  # your code here

    def stub_raises(x):
        raise NotImplementedError("write this")

    def stub_returns_ellipsis(x):
        return ...

    stubs = {"ellipsis": stub_ellipsis, "return_none": stub_none,
             "not_implemented": stub_raises, "return_ellipsis": stub_returns_ellipsis}
    assert not check("t_scale", stubs[stub_body])
    assert capsys.readouterr().out == f"⏳ t_scale: {NOT_DONE}\n"


def test_none_on_a_later_case_is_a_failure_not_a_stub(registry, capsys):
    _register_test_exercises()

    def forgets_a_return(x):
        if x[0, 0] > -10 and forgets_a_return.calls > 0:
            return None
        forgets_a_return.calls += 1
        return 3.0 * x

    forgets_a_return.calls = 0
    assert not check("t_scale", forgets_a_return)
    out = capsys.readouterr().out
    assert "case 2 of 5 does not match" in out
    assert "expected an array, got None" in out
    assert "is a `return` missing on some path?" in out


def test_exception_in_learner_is_reported_not_raised(registry, capsys):
    _register_test_exercises()

    def broken(x, w):
        return x @ np.ones(3)

    assert not check("t_weighted_sum", broken)
    out = capsys.readouterr().out
    assert out.startswith("✗ t_weighted_sum: case 1 of 6 made your function raise ValueError:")
    assert "raised at line" in out and "of broken: return x @ np.ones(3)" in out
    x, _ = _weighted_sum_cases(np.random.default_rng(0))[0]
    assert np.array2string(x, precision=4) in out
    assert "Hint: Multiply elementwise" in out
    assert "Traceback" not in out


def test_wrong_number_of_arguments_is_reported(registry, capsys):
    _register_test_exercises()
    assert not check("t_weighted_sum", lambda x: x)
    assert "made your function raise TypeError" in capsys.readouterr().out


def test_passing_a_result_instead_of_a_function(registry, capsys):
    _register_test_exercises()
    assert not check("t_scale", 3.0)
    assert "needs your function itself" in capsys.readouterr().out


# --------------------------------------------------------------------------- inputs


def test_mutating_an_input_is_detected_and_cannot_corrupt_the_reference(registry, capsys):
    _register_test_exercises()

    def right_value_but_mutates(x):
        x *= 3.0          # writes into the caller's array...
        return x          # ...and returns the right values

    assert not check("t_scale", right_value_but_mutates)
    out = capsys.readouterr().out
    assert "returns the right value, but leaves its inputs wrong" in out
    assert "Your function changed its input `x` in place" in out
    assert "Hint: Multiply by three." in out

    def wrong_and_mutates(x):
        x[...] = 0.0      # if the reference saw this array, it would expect zeros too
        return x

    assert not check("t_scale", wrong_and_mutates)
    out = capsys.readouterr().out
    assert "does not match the reference" in out
    assert "Also: your function changed its input `x` in place" in out
    x = _scale_cases(np.random.default_rng(0))[0][0]
    # the expected value was computed on a clean copy of the input
    assert np.array2string(3.0 * x, precision=4).splitlines()[0] in out


def test_cases_are_not_changed_by_the_learner(registry, capsys):
    originals = [np.arange(4.0), np.ones(4)]
    seen = []

    def reference(x):
        seen.append(x.copy())
        return 2 * x

    register(Exercise(name="t_double", reference=reference,
                      cases=lambda rng: [(originals[0],), (originals[1],)], hint=""))

    def mutates(x):
        x += 100
        return 2 * (x - 100)

    check("t_double", mutates)
    assert np.array_equal(originals[0], np.arange(4.0))
    assert np.array_equal(seen[0], np.arange(4.0))


def test_in_place_exercise(registry, capsys):
    register(Exercise(
        name="t_clip_value_", reference=_clip_value_,
        cases=lambda rng: [((([rng.normal(size=3) * 3, rng.normal(size=(2, 2)) * 3], 1.0), {}))
                           for _ in range(4)],
        hint="Clamp every entry to [−c, c], in place."))

    def good(grads, clip_value):
        for g in grads:
            g[...] = np.minimum(np.maximum(g, -clip_value), clip_value)

    def stub(grads, clip_value): ...

    def only_upper(grads, clip_value):
        for g in grads:
            np.minimum(g, clip_value, out=g)

    assert check("t_clip_value_", good)
    assert not check("t_clip_value_", stub)
    assert not check("t_clip_value_", only_upper)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "✓ t_clip_value_: all 4 cases match the reference."
    assert out[1] == f"⏳ t_clip_value_: {NOT_DONE}"
    rest = "\n".join(out[2:])
    assert "returns the right value, but leaves its inputs wrong" in rest
    words = r"this exercise updates `grads\[\d\]` in place, but your function left different values"
    assert re.search(words.replace(" ", r"\s+"), rest, flags=re.IGNORECASE)
    assert "after the call, `grads[" in rest and "max |expected − got| =" in rest


def test_keyword_and_mixed_cases():
    from nnopt_lib.exercises.core import _split_case

    x = np.ones(2)
    assert _split_case((x,), "e") == ((x,), {})
    assert _split_case({"lr": 0.1}, "e") == ((), {"lr": 0.1})
    assert _split_case(((x,), {"lr": 0.1}), "e") == ((x,), {"lr": 0.1})
    with pytest.raises(TypeError, match="write a single argument x as"):
        _split_case(x, "e")


def test_keyword_cases_are_passed_by_name(registry, capsys):
    register(Exercise(name="t_step", reference=lambda p, g, *, lr: p - lr * g,
                      cases=lambda rng: [((rng.normal(size=2), rng.normal(size=2)),
                                          {"lr": float(rng.uniform(0.01, 1))}) for _ in range(3)],
                      hint="θ − lr·g"))

    def step(p, g, *, lr):
        return p + lr * g

    assert check("t_step", lambda p, g, *, lr: p - lr * g)
    assert not check("t_step", step)
    out = capsys.readouterr().out
    assert "lr = 0." in out and "p = array of shape (2,)" in out


# --------------------------------------------------------------------------- comparison


def test_shape_mismatch_message_names_both_shapes(registry, capsys):
    _register_test_exercises()
    assert not check("t_scale", lambda x: (3.0 * x).reshape(3, 2))
    out = capsys.readouterr().out
    assert "shape differs: expected shape (2, 3), got shape (3, 2)" in out

    # a broadcastable (n, 1) answer where (n,) is expected is still wrong
    register(Exercise(name="t_vector", reference=lambda x: 2 * x,
                      cases=lambda rng: [(rng.normal(size=3),)], hint=""))
    assert not check("t_vector", lambda x: (2 * x)[:, None])
    assert "expected shape (3,), got shape (3, 1)" in capsys.readouterr().out


def test_structured_results_tuple_and_dict(registry, capsys):
    register(Exercise(name="t_pair", reference=lambda x: (x.sum(), {"m": x.mean(), "v": x}),
                      cases=lambda rng: [(rng.normal(size=3),)], hint=""))
    assert check("t_pair", lambda x: [x.sum(), {"m": x.mean(), "v": x.copy()}])
    assert not check("t_pair", lambda x: (x.sum(), {"m": x.mean()}))
    assert "dict keys differ: missing 'v'" in capsys.readouterr().out
    assert not check("t_pair", lambda x: (x.sum(), {"m": x.mean(), "v": x[:2]}))
    out = capsys.readouterr().out
    assert "expected (in result[1]['v'])" in out and "got shape (2,)" in out
    assert not check("t_pair", lambda x: x.sum())
    assert "expected a tuple of 2 values, got a float" in capsys.readouterr().out


def test_custom_compare(registry, capsys):
    # eigenvectors are defined up to sign: compare |v|
    register(Exercise(name="t_sign", reference=lambda x: x, hint="",
                      cases=lambda rng: [(rng.normal(size=3),)],
                      compare=lambda e, g: np.allclose(np.abs(e), np.abs(g))))
    assert check("t_sign", lambda x: -x)
    assert not check("t_sign", lambda x: 2 * x)
    assert not check("t_sign", lambda x: "oops")
    assert "could not be compared" in capsys.readouterr().out


def test_reference_source_is_never_printed(registry, capsys):
    _register_test_exercises()
    def divides_by_zero(x, w):
        return 1 / 0

    answers = [_secret_reference, lambda x, w: 0.0, divides_by_zero, lambda x, w: None,
               lambda x, w: np.zeros(3)]
    for answer in answers:
        check("t_weighted_sum", answer)
    out = capsys.readouterr().out
    assert "✓" in out and "✗" in out and "⏳" in out
    source = inspect.getsource(_secret_reference)
    for line in source.splitlines()[1:]:
        assert line.strip() not in out
    assert "np.sum(x * w)" not in out and "_secret_reference" not in out


# --------------------------------------------------------------------------- registry


def test_unknown_name_raises_keyerror_with_close_names(registry):
    _register_test_exercises()
    with pytest.raises(KeyError, match="Did you mean: t_weighted_sum"):
        check("t_weighted_summ", _secret_reference)
    with pytest.raises(KeyError, match="Known exercises: .*t_scale"):
        check("zzqqxx", _secret_reference)


def test_duplicate_registration_is_an_error(registry):
    _register_test_exercises()
    with pytest.raises(ValueError, match="'t_scale' is already registered"):
        register(Exercise(name="t_scale", reference=lambda x: x, cases=_scale_cases, hint=""))
    # re-registering the same reference (a module reload) replaces the entry
    again = Exercise(name="t_scale", reference=_scale, cases=_scale_cases, hint="new hint")
    register(again)
    assert EXERCISES["t_scale"] is again


def test_exercise_validation():
    with pytest.raises(ValueError, match="Invalid rtol: -1"):
        Exercise(name="e", reference=abs, cases=lambda rng: [], hint="", rtol=-1)
    with pytest.raises(TypeError, match="reference must be callable"):
        Exercise(name="e", reference=3, cases=lambda rng: [], hint="")
    with pytest.raises(TypeError, match="expects an Exercise"):
        register("e")


def test_same_seed_same_cases_different_seed_different_cases(registry, capsys):
    _register_test_exercises()
    first_inputs = []

    def record(x):
        first_inputs.append(x.copy())
        return x  # wrong on purpose: stops at the first case

    for seed in (0, 0, 1):
        check("t_scale", record, seed=seed)
    outputs = capsys.readouterr().out.split("✗")
    assert np.array_equal(first_inputs[0], first_inputs[1])
    assert not np.array_equal(first_inputs[0], first_inputs[2])
    assert outputs[1] == outputs[2] != outputs[3]


# --------------------------------------------------------------------------- discovery and topics


def test_topic_modules_are_discovered():
    assert "warmup" in exercises.TOPICS
    assert "nnopt_lib.exercises.warmup" in sys.modules
    assert {"mean_of_squares", "gradient_of_quadratic"} <= set(EXERCISES)


def test_a_broken_topic_module_fails_loudly(tmp_path, monkeypatch):
    package = tmp_path / "fake_topics"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "core.py").write_text("raise AssertionError('core must be skipped')\n")
    (package / "good.py").write_text("VALUE = 1\n")
    (package / "broken.py").write_text("import numpy as np\nnp.this_does_not_exist\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(AttributeError, match="this_does_not_exist") as info:
        exercises._import_topics("fake_topics", [str(package)])
    assert any("fake_topics.broken" in note for note in info.value.__notes__)
    (package / "broken.py").unlink()
    assert exercises._import_topics("fake_topics", [str(package)]) == ["good"]
    for name in ("fake_topics", "fake_topics.good", "fake_topics.broken"):
        monkeypatch.delitem(sys.modules, name, raising=False)


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_every_registered_reference_passes_its_own_checker(name, capsys):
    """Guards every topic module: cases are well formed and the reference checks out."""
    assert check(name, EXERCISES[name].reference)
    assert capsys.readouterr().out.startswith(f"✓ {name}: all ")


def test_warmup_common_mistakes(capsys):
    assert not check("mean_of_squares", lambda x: np.mean(x) ** 2)
    assert not check("mean_of_squares", lambda x: np.mean(x**2, axis=0))
    assert check("mean_of_squares", lambda x: np.sum(x**2) / x.size)
    assert not check("gradient_of_quadratic", lambda x, A: A @ x)
    assert check("gradient_of_quadratic", lambda x, A: 0.5 * (A @ x + x @ A))
    out = capsys.readouterr().out
    assert "shape differs: expected shape () (a single number), got shape (" in out
    assert "Hint: Write f(x) = ½ Σ_ij x_i A_ij x_j" in out


def test_the_verdict_is_truthy_and_shows_nothing_more_in_a_notebook(registry, capsys):
    _register_test_exercises()
    verdict = check("t_scale", lambda x: None)
    assert not verdict and verdict.name == "t_scale"
    # IPython calls _ipython_display_ instead of showing an Out[] line: no stray "False".
    assert verdict._ipython_display_() is None
    assert "not done yet" in capsys.readouterr().out
