"""The machinery of the bad-input audit: cases, outcomes and how they are classified.

A case is registered with :func:`case` and run by :func:`classify`; the categories are
described in ``tools/audit_inputs.py``. Entry points are looked up with :func:`api` at call
time, so a case whose entry point is missing from the audited checkout counts as n/a.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import math
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CATEGORIES = ("clear", "same-as-torch", "accepted", "obscure", "rejected", "garbage", "n/a")
CLEAR_TYPES = (ValueError, TypeError, IndexError, RuntimeError, NotImplementedError)


# --------------------------------------------------------------------------- torch, if any


class _Torch:
    """Stands for the torch module once :func:`use_torch` has given it (``T.tensor``, ...);
    false while there is none, so the cases can import ``T`` before torch is imported."""

    module: Any = None

    def __getattr__(self, name: str) -> Any:
        if _Torch.module is None:
            raise RuntimeError("torch is not available")
        return getattr(_Torch.module, name)

    def __bool__(self) -> bool:
        return _Torch.module is not None


T: Any = _Torch()


def use_torch(module: Any) -> None:
    _Torch.module = module


# --------------------------------------------------------------------------- the machinery


class Missing(Exception):
    """The entry point does not exist here: the case is counted as n/a."""


class Garbage(Exception):
    """Raised by a case's own check: the call misbehaved without raising (or raised late)."""


def api(path: str) -> Any:
    """``api("nn.Linear")`` is ``nnopt_lib.nn.Linear``, or :class:`Missing`."""
    module_name, *attributes = path.split(".")
    try:
        obj = importlib.import_module(f"nnopt_lib.{module_name}")
    except ImportError as error:
        raise Missing(f"nnopt_lib.{module_name}: {error}") from None
    # An editable install's import hook finds modules of the installed checkout that the
    # audited one (PYTHONPATH) lacks; those do not count.
    root = os.path.dirname(os.path.abspath(importlib.import_module("nnopt_lib").__file__))
    if not os.path.abspath(obj.__file__).startswith(root + os.sep):
        raise Missing(f"nnopt_lib.{module_name} (not in {root})")
    for attribute in attributes:
        if not hasattr(obj, attribute):
            raise Missing(f"nnopt_lib.{path}")
        obj = getattr(obj, attribute)
    return obj


def has_keyword(path: str, keyword: str) -> None:
    """:class:`Missing` unless the callable at ``path`` takes ``keyword``."""
    if keyword not in inspect.signature(api(path)).parameters:
        raise Missing(f"nnopt_lib.{path}(..., {keyword}=)")


@dataclass
class Case:
    """One call with one bad input.

    ``module`` groups the table; ``entry`` and ``what`` say what was called with what.
    ``call()`` makes the nnopt call and returns something comparable; ``torch()``, when
    given, makes the equivalent torch call. ``expect``: ``"reject"`` (a bad input that must
    raise), ``"accept"`` (a legitimate input that must work) or ``"either"`` (a clear error
    and a correct result are both fine). ``names``: words whose presence in an error message
    shows it names the argument or the value. ``check(result)`` judges an accepted result
    when there is no torch result to compare with (default: all finite); ``compare(ours,
    theirs)`` replaces :func:`same`.
    """

    module: str
    entry: str
    what: str
    call: Callable[[], Any]
    torch: Callable[[], Any] | None = None
    expect: str = "reject"
    names: tuple[str, ...] = ()
    check: Callable[[Any], bool] | None = None
    compare: Callable[[Any, Any], bool] | None = None


@dataclass
class Outcome:
    raised: BaseException | None = None
    value: Any = None
    warnings: list[str] = field(default_factory=list)
    garbage: str | None = None  # a Garbage note from the case itself
    missing: str | None = None


@dataclass
class Verdict:
    case: Case
    category: str
    detail: str


CASES: list[Case] = []


def case(module: str, entry: str, what: str, call: Callable[[], Any], *,
         torch: Callable[[], Any] | None = None, expect: str = "reject",
         names: tuple[str, ...] | None = None, check: Callable[[Any], bool] | None = None,
         compare: Callable[[Any, Any], bool] | None = None) -> None:
    """Register one case. ``names`` defaults to the tokens of ``what`` (``"lr=nan"`` gives
    the argument ``lr`` and the value ``nan``)."""
    if names is None:
        names = tokens_of(what)
    CASES.append(Case(module, entry, what, call, torch, expect, tuple(names), check, compare))


def tokens_of(what: str) -> tuple[str, ...]:
    """Words that, found in an error message, show it names the argument or the value."""
    found = []
    for part in re.split(r",\s*(?=\w+=)", what):
        if "=" in part:
            arg, value = part.split("=", 1)
            arg = arg.strip().split(".")[-1]
            found += [arg, arg.rstrip("s"), *value_tokens_text(value.strip())]
        else:
            found += value_tokens_text(part.strip())
    return tuple(dict.fromkeys(t for t in found if t))  # unique, in order


#: words of a case description that prove nothing when a message contains them
STOPWORDS = {"with", "without", "for", "and", "the", "not", "one", "too", "many", "outside",
             "before", "after", "array", "shape", "rows", "empty", "list", "label", "labels"}


def value_tokens_text(text: str) -> list[str]:
    """The value as written, without a numpy wrapper, and its words and numbers."""
    text = text.strip()
    if text in ("0", "0.0", "1", "1.0", "True", "False", "[]", "()", "''"):
        return []  # too common in any message to prove anything
    inner = re.sub(r"^(np|numpy)\.\w+\((.*)\)$", r"\2", text)  # np.float32(0.5) -> 0.5
    tokens = [text, inner.strip("'\"")]
    for word in re.findall(r"[A-Za-z_][\w.]*|-?\d+\.?\d*(?:e-?\d+)?", text):
        if word.lower() not in STOPWORDS and word not in ("0", "1", "np", "numpy"):
            tokens.append(word)
    return tokens


def message_names(message: str, names: tuple[str, ...]) -> bool:
    """Whether ``message`` contains one of ``names``; a name of one or two characters
    (``p``, ``A``, ``-1``) must stand alone, not inside a word or number."""
    for token in names:
        if len(token) >= 3:
            if token.lower() in message.lower():
                return True
        elif re.search(rf"(?<![\w.]){re.escape(token)}(?![\w])", message):
            return True
    return False


def to_numpy(x: Any) -> Any:
    """Tensors (also inside lists, tuples and dicts) as numpy arrays; tuples as lists."""
    if T and isinstance(x, T.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, dict):
        return {k: to_numpy(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [to_numpy(v) for v in x]
    return x


def same(a: Any, b: Any, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """Results equal up to rounding (NaN equals NaN; shapes must match)."""
    a, b = to_numpy(a), to_numpy(b)
    if isinstance(a, dict) or isinstance(b, dict):
        return (isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys()
                and all(same(a[k], b[k], rtol, atol) for k in a))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y, rtol, atol) for x, y in zip(a, b, strict=True))
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    try:
        x, y = np.asarray(a, dtype=np.complex128), np.asarray(b, dtype=np.complex128)
    except (TypeError, ValueError):
        return False
    return x.shape == y.shape and bool(np.allclose(x, y, rtol=rtol, atol=atol, equal_nan=True))


def all_finite(x: Any) -> bool:
    """No NaN or infinity anywhere in ``x`` (nested lists and dicts; non-numbers pass)."""
    x = to_numpy(x)
    if isinstance(x, dict):
        return all(all_finite(v) for v in x.values())
    if isinstance(x, list):
        return all(all_finite(v) for v in x)
    if x is None or isinstance(x, str | bool):
        return True
    try:
        return bool(np.all(np.isfinite(np.asarray(x, dtype=np.complex128))))
    except (TypeError, ValueError):
        return True  # not numbers: nothing to be non-finite


def observe(call: Callable[[], Any], *, record_warnings: bool) -> Outcome:
    """Run ``call`` and record what it returned or raised, and the warnings it emitted."""
    outcome = Outcome()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outcome.value = call()
        except Missing as error:
            outcome.missing = str(error)
        except Garbage as error:
            outcome.garbage = str(error)
        except Exception as error:  # the measurement: any exception is data
            outcome.raised = error
    if record_warnings:
        outcome.warnings = [f"{w.category.__name__}: {w.message}" for w in caught]
    return outcome


def describe(outcome: Outcome) -> str:
    """``"ValueError: message"`` (shortened) or ``"returned"``."""
    if outcome.raised is not None:
        text = f"{type(outcome.raised).__name__}: {outcome.raised}"
        return text if len(text) < 160 else text[:157] + "..."
    return "returned"


def classify(case: Case) -> Verdict:
    """Run the case (and its torch twin) and decide its category; see ``audit_inputs.py``.

    In this order: a missing entry point is n/a; an exception is "rejected" for a legitimate
    input (unless torch raises the same type), "clear" if of a clear type with a message
    naming the argument or value, "same-as-torch" if torch raises the same type, else
    "obscure". Without an exception: a warning (that torch does not give too) is garbage;
    with a torch twin, torch raising is garbage (unless the input may be accepted), the
    same result is "same-as-torch", another result garbage; without one, a legitimate
    input whose result passes the check is "accepted", anything else garbage.
    """
    ours = observe(case.call, record_warnings=True)
    if ours.missing is not None:
        return Verdict(case, "n/a", ours.missing)
    if ours.garbage is not None:
        return Verdict(case, "garbage", ours.garbage)
    theirs = None
    if case.torch is not None and T:
        theirs = observe(case.torch, record_warnings=True)
    torch_text = "" if theirs is None else f"; torch: {describe(theirs)}"

    if ours.raised is not None:
        error = ours.raised
        text = describe(ours) + torch_text
        torch_raised_too = theirs is not None and theirs.raised is not None and (
            isinstance(error, type(theirs.raised)) or isinstance(theirs.raised, type(error)))
        if case.expect == "accept":
            return Verdict(case, "same-as-torch" if torch_raised_too else "rejected", text)
        if isinstance(error, CLEAR_TYPES) and message_names(str(error), case.names):
            return Verdict(case, "clear", text)
        if torch_raised_too:
            return Verdict(case, "same-as-torch", text)
        return Verdict(case, "obscure", text)

    # a warning is a defect, unless torch warns about the same input too
    if ours.warnings and not (theirs is not None and theirs.warnings):
        return Verdict(case, "garbage", f"warned: {ours.warnings[0][:140]}{torch_text}")
    lenient = case.expect in ("accept", "either")  # may be more lenient than torch
    if theirs is not None and not (theirs.raised is not None and lenient):
        if theirs.raised is not None:
            return Verdict(case, "garbage", f"accepted{torch_text}")
        equal = (case.compare or same)(ours.value, theirs.value)
        if equal:
            return Verdict(case, "same-as-torch", "accepted like torch, same result")
        return Verdict(case, "garbage", "accepted like torch, but a different result")
    if lenient:
        ok = case.check(ours.value) if case.check is not None else all_finite(ours.value)
        if ok:
            return Verdict(case, "accepted", "accepted, result checked")
        return Verdict(case, "garbage", "accepted, but the result is wrong or non-finite")
    finite = "" if all_finite(ours.value) else " (non-finite result)"
    return Verdict(case, "garbage", f"accepted without error{finite}; no torch counterpart")


# --------------------------------------------------------------------------- shared inputs

NAN, INF = math.nan, math.inf


def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def read_only(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=float)
    array.flags.writeable = False
    return array


def snapshot(obj: Any) -> Any:
    """A comparable deep copy of an optimizer's state (whatever its layout)."""
    if hasattr(obj, "state_dict"):
        try:
            return to_numpy(copy.deepcopy(obj.state_dict()))
        except Exception:  # noqa: BLE001 -- an incomplete state_dict: fall back on .state
            pass
    return to_numpy(copy.deepcopy(list(getattr(obj, "state", {}).values())))


def fails_atomically(call: Callable[[], Any], state_of: Callable[[], Any]) -> Any:
    """Run ``call``; if it raises, the state must be as before, else :class:`Garbage`."""
    before = snapshot(state_of())
    try:
        return call()
    except Exception as error:
        if not same(before, snapshot(state_of())):
            raise Garbage(f"raised {type(error).__name__} only after changing the state: "
                          f"{error}") from error
        raise
