"""Exercise checkers: run a learner's function against a hidden reference.

A notebook exercise is a function the learner writes. The course ships a
*reference* implementation and a generator of random inputs; ``check`` calls
both on every input and tells the learner, in plain text, whether their answer
matches, and if not, the first input where it does not, with a hint. The
reference solution itself is never printed.

Writing an exercise (one module per topic, ``nnopt_lib/exercises/<topic>.py``;
the package imports it automatically)::

    import numpy as np
    from nnopt_lib.exercises.core import Exercise, register

    def _mse_gradient(X, y, w):
        return 2 / len(y) * X.T @ (X @ w - y)

    register(Exercise(
        name="mse_gradient",
        reference=_mse_gradient,
        cases=lambda rng: [(rng.normal(size=(5, 3)), rng.normal(size=5), rng.normal(size=3))
                           for _ in range(20)],
        hint="The gradient of (1/n)·Σ r_i² with r = Xw − y is (2/n)·Xᵀr.",
    ))

``cases(rng)`` returns a list (any iterable) of cases. Each case is one of

* a tuple of positional arguments: ``(x, A)``; a single argument is ``(x,)``;
* a dict of keyword arguments: ``{"lr": 0.1, "momentum": 0.9}``;
* a pair ``(args_tuple, kwargs_dict)``: ``((param, grad, {}), {"lr": 0.1})``.

A 2-tuple whose first item is a tuple and second a dict is always read as the
pair form; to pass such a tuple and dict positionally, write ``((t, d), {})``.

How results are compared (``compare=None``): numbers and arrays with
``np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)`` after an
exact shape check (a Python float and a 0-d array both have shape ``()``);
tuples/lists item by item (a list is accepted where a tuple is expected and vice
versa, the length must match); dicts key by key (same keys); booleans, strings
and other values with ``==``. A custom ``compare(expected, got) -> bool``
replaces all of this.

Inputs: the reference and the learner each get their own deep copy of every
case, so a learner that changes an input array cannot corrupt the reference
run. After the call, every array inside the arguments must end up as the
reference left it: for an ordinary (pure) exercise that means unchanged, and a
learner who writes ``x *= 2`` on an input is told so; for an in-place exercise
(a reference that updates its arguments, like ``clip_grad_norm_``) the learner's
arguments must be updated the same way. Only numpy arrays (also inside
tuples/lists/dicts) are compared this way; other argument objects are not.
"""

from __future__ import annotations

import copy
import difflib
import inspect
import textwrap
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["EXERCISES", "Exercise", "check", "register"]

# Values that an unfinished stub returns: a body of `...` or `pass` returns None;
# `return ...` and `return NotImplemented` are the other usual placeholders.
_STUB_RESULTS = (None, Ellipsis, NotImplemented)

_INDENT = "    "


@dataclass(frozen=True)
class Exercise:
    """One checkable exercise.

    Attributes:
        name: unique id used in ``check(name, fn)``, e.g. ``"mse_gradient"``.
        reference: the reference solution; called exactly like the learner's function.
            It is never printed by the checker.
        cases: ``cases(rng) -> list`` of cases (see the module docstring for the three
            accepted forms); ``rng`` is ``np.random.default_rng(seed)``.
        hint: shown under every failure report. State the idea, not the code.
        rtol, atol: tolerances of the default comparison (``np.allclose``).
        compare: optional ``compare(expected, got) -> bool`` replacing the default
            comparison (which checks shapes exactly, then ``np.allclose``).
    """

    name: str
    reference: Callable[..., Any]
    cases: Callable[[np.random.Generator], Iterable[Any]]
    hint: str
    rtol: float = 1e-7
    atol: float = 1e-10
    compare: Callable[[Any, Any], bool] | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Invalid exercise name: {self.name!r}")
        for field in ("reference", "cases"):
            if not callable(getattr(self, field)):
                raise TypeError(f"Exercise {self.name!r}: {field} must be callable, "
                                f"got {type(getattr(self, field)).__name__}")
        if self.compare is not None and not callable(self.compare):
            raise TypeError(f"Exercise {self.name!r}: compare must be callable or None, "
                            f"got {type(self.compare).__name__}")
        if not isinstance(self.hint, str):
            raise TypeError(f"Exercise {self.name!r}: hint must be a str, "
                            f"got {type(self.hint).__name__}")
        if not self.rtol >= 0.0:
            raise ValueError(f"Invalid rtol: {self.rtol}")
        if not self.atol >= 0.0:
            raise ValueError(f"Invalid atol: {self.atol}")


EXERCISES: dict[str, Exercise] = {}
"""Every registered exercise, by name. Filled by ``register`` when a topic module is imported."""


def register(exercise: Exercise) -> Exercise:
    """Add ``exercise`` to ``EXERCISES`` and return it.

    Raises ``ValueError`` if another exercise already uses the name. Re-registering
    the same reference (same module and qualified name), which is what
    ``importlib.reload`` or IPython's autoreload of a topic module does, replaces
    the old entry instead, so a lecturer can edit a topic module live.
    """
    if not isinstance(exercise, Exercise):
        raise TypeError(f"register() expects an Exercise, got {type(exercise).__name__}")
    old = EXERCISES.get(exercise.name)
    if old is not None and _origin(old.reference) != _origin(exercise.reference):
        raise ValueError(f"Exercise {exercise.name!r} is already registered "
                         f"(reference {'.'.join(_origin(old.reference))}); pick another name")
    EXERCISES[exercise.name] = exercise
    return exercise


@dataclass(frozen=True)
class Verdict:
    """What :func:`check` returns: true when every case matched, so ``assert check(...)`` works.

    The verdict has already been printed, so in a notebook it displays nothing more
    (a plain ``bool`` would add a stray ``False`` under every unfinished exercise).
    """

    name: str
    passed: bool

    def __bool__(self) -> bool:
        return self.passed

    def _ipython_display_(self) -> None:
        pass


def check(name: str, learner_fn: Callable[..., Any], *, seed: int = 0) -> Verdict:
    """Check the learner's function against the reference of exercise ``name``.

    Runs both on every case of ``EXERCISES[name].cases(np.random.default_rng(seed))``
    and prints one plain-text verdict:

    * ``✓ <name>: all N cases match the reference.`` -> a true verdict;
    * ``⏳ <name>: not done yet ...`` when the function is still a stub (returns
      None, ``...`` or raises NotImplementedError) -> a false verdict;
    * ``✗ <name>: ...`` with the first failing case (inputs, expected, got, largest
      difference) or the exception it raised, and the hint -> a false verdict.

    Mistakes in the learner's function never raise; an unknown ``name`` raises
    ``KeyError`` naming the closest known exercises.
    """
    return Verdict(name, _run_cases(name, learner_fn, seed))


def _run_cases(name: str, learner_fn: Callable[..., Any], seed: int) -> bool:
    """The checking loop of :func:`check`: prints the verdict, returns whether it passed."""
    exercise = _lookup(name)
    if not callable(learner_fn):
        print(f"✗ {name}: check() needs your function itself, e.g. check({name!r}, my_function),"
              f" not the result of calling it (got a {type(learner_fn).__name__}).")
        return False

    cases = [_split_case(case, name) for case in exercise.cases(np.random.default_rng(seed))]
    if not cases:
        raise ValueError(f"Exercise {name!r}: cases(rng) returned no cases")

    total = len(cases)
    for number, (args, kwargs) in enumerate(cases, start=1):
        # Each side gets its own copy, so neither can change what the other sees.
        ref_args, ref_kwargs = copy.deepcopy((args, kwargs))
        expected = exercise.reference(*ref_args, **ref_kwargs)

        my_args, my_kwargs = copy.deepcopy((args, kwargs))
        labels = _argument_labels(learner_fn, exercise.reference, args, kwargs)
        try:
            got = learner_fn(*my_args, **my_kwargs)
        except NotImplementedError:
            _print_not_done(name)
            return False
        except Exception as error:  # the learner's bug: report it, do not raise
            _print_exception(exercise, learner_fn, error, number, total, labels, args, kwargs)
            return False

        before = _array_leaves(labels, args, kwargs)
        after_ref = _array_leaves(labels, ref_args, ref_kwargs)
        after_mine = _array_leaves(labels, my_args, my_kwargs)
        # A stub on the first case is "not done yet". For an in-place exercise whose
        # reference returns None, a stub is one that also leaves the inputs untouched.
        did_nothing = _same_leaves(before, after_mine) and not _same_leaves(before, after_ref)
        if number == 1 and _is_stub_result(got) and (expected is not None or did_nothing):
            _print_not_done(name)
            return False

        mismatch = _compare_result(exercise, expected, got)
        argument_problem = _compare_arguments(before, after_ref, after_mine, exercise)
        if mismatch is not None:
            _print_mismatch(exercise, mismatch, number, total, labels, args, kwargs,
                            returned_stub=_is_stub_result(got) and not _is_stub_result(expected),
                            argument_problem=argument_problem)
            return False
        if argument_problem is not None:
            _print_argument_problem(exercise, argument_problem, number, total, labels, args, kwargs)
            return False

    print(f"✓ {name}: all {total} cases match the reference.")
    return True


# --------------------------------------------------------------------------- lookup, cases


def _origin(fn: Callable) -> tuple[str, str]:
    return (getattr(fn, "__module__", "?") or "?", getattr(fn, "__qualname__", repr(fn)))


def _lookup(name: str) -> Exercise:
    try:
        return EXERCISES[name]
    except (KeyError, TypeError):
        pass
    known = sorted(EXERCISES)
    close = difflib.get_close_matches(str(name), known, n=5, cutoff=0.5)
    if close:
        raise KeyError(f"No exercise named {name!r}. Did you mean: {', '.join(close)}?")
    raise KeyError(f"No exercise named {name!r}. Known exercises: {', '.join(known) or 'none'}")


def _split_case(case: Any, name: str) -> tuple[tuple, dict]:
    """Normalise one case to ``(args, kwargs)``; the accepted forms are in the module docstring."""
    if isinstance(case, Mapping):
        return (), dict(case)
    if isinstance(case, tuple):
        if len(case) == 2 and isinstance(case[0], tuple) and isinstance(case[1], Mapping):
            return case[0], dict(case[1])
        return case, {}
    raise TypeError(f"Exercise {name!r}: a case must be a tuple of positional arguments, a dict "
                    f"of keyword arguments or an (args_tuple, kwargs_dict) pair, got "
                    f"{type(case).__name__}; write a single argument x as (x,)")


def _argument_labels(learner_fn: Callable, reference: Callable, args: tuple,
                     kwargs: dict) -> list[str]:
    """Names of the positional arguments, as the learner called them (``x``, ``A``, ...)."""
    names: list[str] = []
    for fn in (learner_fn, reference):
        try:
            params = inspect.signature(fn).parameters.values()
        except (TypeError, ValueError):
            continue
        kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        names = [p.name for p in params if p.kind in kinds]
        if names:
            break
    labels = [names[i] if i < len(names) else f"argument {i + 1}" for i in range(len(args))]
    return labels + list(kwargs)


def _is_stub_result(value: Any) -> bool:
    return any(value is stub for stub in _STUB_RESULTS)


# --------------------------------------------------------------------------- comparison


@dataclass
class _Mismatch:
    """The first difference found between the expected and the learner's result."""

    reason: str                       # one line, e.g. "shape differs: expected (3,), got (3, 1)"
    expected: Any
    got: Any
    where: str = ""                   # path inside a tuple/list/dict result, e.g. "[1]"
    difference: str | None = None     # "max |expected − got| = ..." line when numeric


def _compare_result(exercise: Exercise, expected: Any, got: Any) -> _Mismatch | None:
    if exercise.compare is None:
        return _mismatch(expected, got, rtol=exercise.rtol, atol=exercise.atol)
    try:
        ok = bool(exercise.compare(expected, got))
        reason = "does not match the reference"
    except Exception as error:  # a result of the wrong kind can break a custom comparison
        ok, reason = False, f"could not be compared ({type(error).__name__}: {error})"
    if ok:
        return None
    return _Mismatch(reason, expected, got,
                     difference=_difference(expected, got, exercise.rtol, exercise.atol))


def _mismatch(expected: Any, got: Any, *, rtol: float, atol: float,
              where: str = "") -> _Mismatch | None:
    """Default comparison; returns None when ``got`` matches ``expected``."""
    if isinstance(expected, Mapping):
        if not isinstance(got, Mapping):
            return _Mismatch(f"expected a dict, got {_kind(got)}", expected, got, where)
        missing, extra = set(expected) - set(got), set(got) - set(expected)
        if missing or extra:
            parts = [f"missing {', '.join(sorted(map(repr, missing)))}" if missing else "",
                     f"unexpected {', '.join(sorted(map(repr, extra)))}" if extra else ""]
            return _Mismatch("dict keys differ: " + ", ".join(p for p in parts if p),
                             expected, got, where)
        for key in expected:
            found = _mismatch(expected[key], got[key], rtol=rtol, atol=atol,
                              where=f"{where}[{key!r}]")
            if found is not None:
                return found
        return None

    if isinstance(expected, tuple | list):
        if not isinstance(got, tuple | list):
            return _Mismatch(f"expected a {type(expected).__name__} of {len(expected)} values, "
                             f"got {_kind(got)}", expected, got, where)
        if len(got) != len(expected):
            return _Mismatch(f"expected {len(expected)} values, got {len(got)}",
                             expected, got, where)
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            found = _mismatch(e, g, rtol=rtol, atol=atol, where=f"{where}[{i}]")
            if found is not None:
                return found
        return None

    expected_array = np.asarray(expected)
    if expected_array.dtype.kind not in "biufc":  # strings, None, objects: plain equality
        try:
            equal = bool(expected == got)
        except Exception:
            equal = False
        return None if equal else _Mismatch("different value", expected, got, where)

    try:
        got_array = np.asarray(got)
    except Exception:  # e.g. a ragged list
        got_array = np.asarray(None)
    if got_array.dtype.kind not in "biufc":
        wanted = "a number" if expected_array.ndim == 0 else "an array"
        return _Mismatch(f"expected {wanted}, got {_kind(got)}", expected, got, where)
    if got_array.shape != expected_array.shape:
        return _Mismatch(f"shape differs: expected {_shape(expected_array)}, "
                         f"got {_shape(got_array)}", expected, got, where)
    if expected_array.dtype.kind == "b" or got_array.dtype.kind == "b":
        equal = np.array_equal(expected_array, got_array)
    else:
        # allclose(a, b) tolerates atol + rtol·|b|: b is the expected value.
        equal = np.allclose(got_array, expected_array, rtol=rtol, atol=atol, equal_nan=True)
    if equal:
        return None
    return _Mismatch("values differ", expected, got, where,
                     difference=_difference(expected_array, got_array, rtol, atol))


def _difference(expected: Any, got: Any, rtol: float, atol: float) -> str | None:
    """``max |expected − got| = ...`` with how many entries differ and where the first is."""
    try:
        e, g = np.asarray(expected), np.asarray(got)
        if e.shape != g.shape or e.dtype.kind not in "iufc" or g.dtype.kind not in "iufc":
            return None
        with np.errstate(all="ignore"):
            bad = ~np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
            gap = np.abs(g.astype(np.complex128 if np.iscomplexobj(g) else np.float64) - e)
            gap = np.where(np.isnan(gap) & bad, np.inf, gap)  # NaN on one side only
    except Exception:
        return None
    if not bad.any():
        return None
    line = f"max |expected − got| = {np.max(gap[bad]):.3g}"
    if e.ndim > 0:
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        line += f" ({int(bad.sum())} of {bad.size} entries differ; first at index {first})"
    return line


# --------------------------------------------------------------------------- input mutation


def _array_leaves(labels: list[str], args: tuple, kwargs: dict) -> dict[str, np.ndarray]:
    """Every numpy array inside the arguments, keyed by a readable path like ``grads[0]``."""
    leaves: dict[str, np.ndarray] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, np.ndarray):
            leaves[path] = value
        elif isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, f"{path}[{key!r}]")
        elif isinstance(value, tuple | list):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")

    for label, value in zip(labels, (*args, *kwargs.values()), strict=True):
        walk(value, label)
    return leaves


def _same_leaves(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(_identical(a[k], b[k]) for k in a)


def _identical(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")


def _compare_arguments(before, after_ref, after_mine, exercise: Exercise) -> str | None:
    """Describe how the learner left an input differently from the reference, or None."""
    if after_mine.keys() != after_ref.keys():
        return "your function changed what its inputs contain (added or removed items)"
    for path, ref_value in after_ref.items():
        mine = after_mine[path]
        if _identical(before[path], ref_value):
            # The reference leaves this array alone: any change is the learner writing
            # into the caller's data, e.g. `x -= lr * g` or `x[0] = 0`.
            if not _identical(before[path], mine):
                return (f"your function changed its input `{path}` in place, so the caller's "
                        f"array would change too. Build a new array instead:\n{_INDENT * 2}"
                        f"`y = 2 * x` rather than `x *= 2`, or start with `x = x.copy()`.")
        else:
            found = _mismatch(ref_value, mine, rtol=exercise.rtol, atol=exercise.atol)
            if found is not None:
                unchanged = _identical(before[path], mine)
                return (f"this exercise updates `{path}` in place, but your function "
                        + ("left it unchanged." if unchanged else "left different values in it.")
                        + f"\n{_INDENT}after the call, `{path}` should be: "
                        + _describe(ref_value, 2)
                        + f"\n{_INDENT}yours is: " + _describe(mine, 2)
                        + f"\n{_INDENT}{found.difference or found.reason}")
    return None


# --------------------------------------------------------------------------- reports


def _print_not_done(name: str) -> None:
    print(f"⏳ {name}: not done yet — fill in the function and run this cell again.")


def _header(name: str, number: int, total: int, what: str) -> str:
    return f"✗ {name}: case {number} of {total} {what}"


def _inputs(labels: list[str], args: tuple, kwargs: dict) -> list[str]:
    lines = [f"{_INDENT}inputs:"]
    for label, value in zip(labels, (*args, *kwargs.values()), strict=True):
        lines.append(f"{_INDENT * 2}{label} = {_describe(value, 3)}")
    return lines


def _hint(exercise: Exercise) -> list[str]:
    if not exercise.hint:
        return []
    paragraphs = exercise.hint.strip().split("\n")
    return [textwrap.fill(p, width=88, initial_indent=f"{_INDENT}Hint: " if i == 0 else _INDENT * 2,
                          subsequent_indent=_INDENT * 2)
            for i, p in enumerate(paragraphs)]


def _print_exception(exercise, learner_fn, error, number, total, labels, args, kwargs) -> None:
    lines = [_header(exercise.name, number, total,
                     f"made your function raise {type(error).__name__}: {error}")]
    where = _where_raised(learner_fn, error)
    if where:
        lines.append(f"{_INDENT}{where}")
    lines += _inputs(labels, args, kwargs) + _hint(exercise)
    print("\n".join(lines))


def _where_raised(learner_fn: Callable, error: BaseException) -> str | None:
    """``raised at line 3 of my_fn: return x @ A`` for the deepest frame in the learner's code."""
    code = getattr(learner_fn, "__code__", None)
    if code is None:
        return None
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if f.filename == code.co_filename]
    if not frames:
        return None
    frame = frames[-1]
    source = f": {frame.line.strip()}" if frame.line else ""
    return f"raised at line {frame.lineno} of {frame.name}{source}"


def _print_mismatch(exercise, mismatch, number, total, labels, args, kwargs, *,
                    returned_stub, argument_problem) -> None:
    where = f" (in result{mismatch.where})" if mismatch.where else ""
    lines = [_header(exercise.name, number, total, "does not match the reference."),
             *_inputs(labels, args, kwargs),
             f"{_INDENT}expected{where}: {_describe(mismatch.expected, 2)}",
             f"{_INDENT}got{where}:      {_describe(mismatch.got, 2)}"]
    lines.append(f"{_INDENT}{mismatch.difference or mismatch.reason}")
    if returned_stub:
        lines.append(f"{_INDENT}Your function returned {mismatch.got!r} for this case: "
                     f"is a `return` missing on some path?")
    if argument_problem is not None:
        lines.append(_wrap_first_line(f"{_INDENT}Also: {argument_problem}"))
    lines += _hint(exercise)
    print("\n".join(lines))


def _print_argument_problem(exercise, problem, number, total, labels, args, kwargs) -> None:
    lines = [_header(exercise.name, number, total,
                     "returns the right value, but leaves its inputs wrong."),
             *_inputs(labels, args, kwargs),
             _wrap_first_line(f"{_INDENT}{problem[0].upper()}{problem[1:]}"),
             *_hint(exercise)]
    print("\n".join(lines))


def _wrap_first_line(text: str) -> str:
    """Wrap the first line of a report entry at 88 columns; later lines hold arrays, keep them."""
    first, newline, rest = text.partition("\n")
    return textwrap.fill(first, width=88, subsequent_indent=_INDENT * 2) + newline + rest


def _kind(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, tuple | list):
        return f"a {type(value).__name__} of {len(value)} values"
    return f"a {type(value).__name__}"


def _shape(array: np.ndarray) -> str:
    return "shape () (a single number)" if array.ndim == 0 else f"shape {array.shape}"


def _describe(value: Any, depth: int) -> str:
    """Compact plain-text summary of a value; arrays via np.array2string, precision 4.

    ``depth`` is the indentation level (in units of four spaces) of continuation lines,
    one level deeper than the line the summary starts on.
    """
    pad = _INDENT * depth
    if isinstance(value, np.ndarray) and value.ndim > 0:
        body = np.array2string(value, precision=4, threshold=40, edgeitems=3,
                               max_line_width=max(40, 96 - len(pad)))
        return f"array of shape {value.shape}, {value.dtype}\n" + textwrap.indent(body, pad)
    if isinstance(value, np.ndarray | np.number | float | int) and not isinstance(value, bool):
        number = value.item() if isinstance(value, np.ndarray | np.number) else value
        text = f"{number:.6g}" if isinstance(number, float) else repr(number)
        if isinstance(number, float) and text.lstrip("-").isdigit():
            text += ".0"  # keep 1.0 recognisable as a float
        return text + (" (0-d array)" if isinstance(value, np.ndarray) else "")
    if isinstance(value, tuple | list):
        open_, close = ("(", ")") if isinstance(value, tuple) else ("[", "]")
        if all(_is_short(v) for v in value):
            return open_ + ", ".join(_describe(v, depth) for v in value) + close
        items = [f"{pad}[{i}] {_describe(v, depth + 1)}" for i, v in enumerate(value)]
        return f"{type(value).__name__} of {len(value)} values\n" + "\n".join(items)
    if isinstance(value, Mapping):
        items = [f"{pad}{k!r}: {_describe(v, depth + 1)}" for k, v in value.items()]
        return "dict\n" + "\n".join(items) if items else "{}"
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _is_short(value: Any) -> bool:
    return not isinstance(value, np.ndarray | tuple | list | Mapping) or (
        isinstance(value, np.ndarray) and value.ndim == 0)
