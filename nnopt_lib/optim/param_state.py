"""``optimizer.state``: per-parameter state keyed by the parameter array itself.

torch keys ``optimizer.state`` by the parameter tensors. NumPy arrays are not hashable, so
this mapping keys by identity (``id``) internally but takes and yields the arrays
themselves: ``opt.state[p]["exp_avg"]``, ``p in opt.state``, ``for p, s in
opt.state.items()``. Like torch's ``defaultdict(dict)``, ``opt.state[p]`` for a parameter
without state yields (and stores) an empty dict.

Copying and pickling keep the state (the bug of the earlier ``id(param) -> state`` dict,
whose keys pointed at the ORIGINAL arrays after a copy): the mapping reduces to its
``(param, state)`` pairs, so ``copy.deepcopy`` and ``pickle`` copy each parameter once,
through their memo, and the copied optimizer's state is keyed by the copied parameters --
the same arrays that sit in its ``param_groups``.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

import numpy as np


def _key(param: Any) -> int:
    if not isinstance(param, np.ndarray):
        raise TypeError(
            "optimizer.state is keyed by the parameter arrays themselves (as torch keys it by "
            f"tensors): use opt.state[param], not a {type(param).__name__}"
        )
    return id(param)


class ParamState(MutableMapping):
    """Mapping parameter array -> that parameter's state dict (torch's key names)."""

    def __init__(self) -> None:
        # id -> (param, state); holding the param keeps its id from being reused
        self._entries: dict[int, tuple[np.ndarray, dict[str, Any]]] = {}

    def __getitem__(self, param: np.ndarray) -> dict[str, Any]:
        key = _key(param)
        if key not in self._entries:
            self._entries[key] = (param, {})  # torch's defaultdict(dict)
        return self._entries[key][1]

    def get(self, param: np.ndarray, default: Any = None) -> Any:
        """The state of ``param``, or ``default`` (nothing is stored, unlike ``[]``)."""
        entry = self._entries.get(_key(param))
        return default if entry is None else entry[1]

    def __contains__(self, param: object) -> bool:
        return isinstance(param, np.ndarray) and id(param) in self._entries

    def __setitem__(self, param: np.ndarray, state: dict[str, Any]) -> None:
        if not isinstance(state, dict):
            raise TypeError(f"a parameter's state must be a dict, but got {type(state).__name__}")
        self._entries[_key(param)] = (param, state)

    def __delitem__(self, param: np.ndarray) -> None:
        del self._entries[_key(param)]

    def __iter__(self) -> Iterator[np.ndarray]:
        return (param for param, _ in self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    # Arrays have no usable ==, so Mapping's dict comparison would fail; compare by identity.
    __eq__ = object.__eq__
    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        # rebuilt by `copy[param] = state` for each pair (pickle's and deepcopy's "dictitems")
        return (type(self), (), None, None, iter(list(self._entries.values())))

    def __repr__(self) -> str:
        items = ", ".join(
            f"<param shape {param.shape}>: {state!r}" for param, state in self._entries.values()
        )
        return f"{type(self).__name__}({{{items}}})"
