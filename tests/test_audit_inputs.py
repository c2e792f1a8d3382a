"""tools/audit_inputs.py: how the bad-input audit classifies outcomes, and its command line."""

import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import audit_inputs  # noqa: E402
from audit.core import (  # noqa: E402
    Case,
    Garbage,
    classify,
    fails_atomically,
    message_names,
    tokens_of,
    use_torch,
)

use_torch(torch)


def verdict(call, torch_call=None, **kwargs):
    kwargs.setdefault("names", tokens_of("lr=nan"))
    return classify(Case("optim", "optim.X", "lr=nan", call, torch_call, **kwargs)).category


def raise_(error):
    def call():
        raise error

    return call


def test_exceptions():
    assert verdict(raise_(ValueError("Invalid learning rate: nan"))) == "clear"
    assert verdict(raise_(ValueError("lr must be >= 0"))) == "clear"
    assert verdict(raise_(ValueError("must be >= 0"))) == "obscure"  # names nothing
    assert verdict(raise_(AttributeError("lr is nan"))) == "obscure"  # not a clear type
    assert verdict(raise_(ZeroDivisionError("float division by zero"))) == "obscure"
    # the same type as torch, even with a poor message
    assert verdict(raise_(TypeError("bad")), raise_(TypeError("worse"))) == "same-as-torch"
    assert verdict(raise_(KeyError("x")), raise_(KeyError("y"))) == "same-as-torch"
    assert verdict(raise_(KeyError("x")), raise_(ValueError("y"))) == "obscure"
    # a legitimate input must not raise, however clearly
    assert verdict(raise_(ValueError("lr=nan")), expect="accept") == "rejected"
    assert verdict(raise_(ValueError("x")), raise_(ValueError("y")), expect="accept") == (
        "same-as-torch")


def test_results():
    assert verdict(lambda: 1.0) == "garbage"  # accepted a bad input, no torch twin
    assert verdict(lambda: 1.0, expect="either") == "accepted"
    assert verdict(lambda: math.nan, expect="accept") == "garbage"  # non-finite
    assert verdict(lambda: [1.0, 2.0], lambda: torch.tensor([1.0, 2.0])) == "same-as-torch"
    assert verdict(lambda: [1.0, 2.0], lambda: torch.tensor([1.0, 3.0])) == "garbage"
    assert verdict(lambda: 1.0, raise_(RuntimeError("no"))) == "garbage"  # torch refuses
    assert verdict(lambda: 1.0, raise_(RuntimeError("no")), expect="either") == "accepted"
    assert verdict(lambda: None, check=lambda r: False, expect="accept") == "garbage"
    assert verdict(raise_(Garbage("changed the state first"))) == "garbage"


def test_warnings_are_garbage_unless_torch_warns_too():
    def warn():
        warnings.warn("overflow", RuntimeWarning, stacklevel=1)
        return 1.0

    assert verdict(warn, expect="accept") == "garbage"
    assert verdict(warn, lambda: (warnings.warn("too", stacklevel=1), 1.0)[1]) == (
        "same-as-torch")


def test_missing_entry_points_are_not_applicable():
    from audit.core import api, has_keyword

    assert verdict(lambda: api("optim.NoSuchOptimizer")) == "n/a"
    assert verdict(lambda: api("no_such_module.f")) == "n/a"
    assert verdict(lambda: has_keyword("data.make_moons", "no_such_keyword")) == "n/a"
    assert api("data.make_moons").__name__ == "make_moons"


def test_message_names():
    assert tokens_of("lr=nan") == ("lr", "nan")
    assert "milestone" in tokens_of("milestones=[1.5]") and "1.5" in tokens_of("milestones=[1.5]")
    assert tokens_of("lr=0") == ("lr",)  # 0 proves nothing
    # short names must stand alone: "p" is not in "probability"
    assert not message_names("dropout probability out of range", ("p",))
    assert message_names("got p=2", ("p",))
    assert not message_names("got -10", ("-1",))
    assert message_names("got -1.0", ("-1",))
    assert message_names("Invalid MOMENTUM", ("momentum",))  # long names: any case
    assert not message_names("Invalid LR", ("lr",))  # short ones: exactly


def test_fails_atomically():
    state = {"n": 0}

    class Holder:
        @property
        def state(self):
            return state

    def changes_then_fails():
        state["n"] += 1
        raise ValueError("late")

    with pytest.raises(Garbage, match="only after changing the state"):
        fails_atomically(changes_then_fails, Holder)
    with pytest.raises(ValueError, match="early"):
        fails_atomically(raise_(ValueError("early")), Holder)
    assert fails_atomically(lambda: 5, Holder) == 5


@pytest.fixture
def keep_torch_threads():
    """main() sets torch to one thread (a measurement); give the other tests theirs back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_command_line(capsys, keep_torch_threads):
    assert audit_inputs.main(["--only", "surfaces,data"]) == 0
    out = capsys.readouterr().out
    assert "nnopt_lib from" in out and "surfaces" in out and "We tried" in out
    header, *rows = [line for line in out.splitlines() if line.startswith(("module", "total"))]
    assert header.split() == ["module", "cases", *audit_inputs.CATEGORIES]
    # surfaces and data have legitimate inputs ("accepted"), so this must fail
    assert audit_inputs.main(["--only", "surfaces", "--fail-on", "accepted"]) == 1
    assert audit_inputs.main(["--only", "data", "-v", "--fail-on", "obscure,garbage"]) == 0
    assert "== accepted" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        audit_inputs.main(["--fail-on", "bogus"])
    with pytest.raises(SystemExit):
        audit_inputs.main(["--only", "bogus"])


def test_every_module_builds_its_cases():
    from audit.core import CASES

    for name, build in audit_inputs.BUILDERS.items():
        CASES.clear()
        build()
        assert len(CASES) >= 15, name
        assert {c.module for c in CASES} == {name}
        assert all(c.expect in ("reject", "accept", "either") for c in CASES)
    assert np.all([callable(c.call) for c in CASES])
