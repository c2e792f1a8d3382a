"""Exercise checkers for the nnopt notebooks.

In a notebook::

    from nnopt_lib.exercises import check

    def mean_of_squares(x):
        ...                       # the learner's code goes here

    check("mean_of_squares", mean_of_squares)   # prints ✓ / ⏳ / ✗; the result is true if it passed

Every module in this package except ``core`` is a *topic*: importing the package
imports each topic module, and each one calls ``register(Exercise(...))`` for its
exercises (see ``core`` for how to write one). To add exercises, add a file
``nnopt_lib/exercises/<topic>.py``; nothing else needs editing. A topic that fails
to import makes ``import nnopt_lib.exercises`` fail with the topic's own error,
so a broken exercise module is noticed at once instead of hiding its exercises.
"""

import importlib
import pkgutil
from collections.abc import Iterable

from nnopt_lib.exercises.core import EXERCISES, Exercise, check, register

__all__ = ["EXERCISES", "Exercise", "check", "register"]


def _import_topics(package: str, path: Iterable[str]) -> list[str]:
    """Import every module of ``package`` found on ``path``, except ``core``; return the names."""
    names = sorted(info.name for info in pkgutil.iter_modules(path)
                   if info.name != "core" and not info.name.startswith("_"))
    for name in names:
        try:
            importlib.import_module(f"{package}.{name}")
        except Exception as error:
            error.add_note(f"(while importing the exercise topic module {package}.{name})")
            raise
    return names


TOPICS = _import_topics(__name__, __path__)
"""Names of the topic modules found and imported, e.g. ``["warmup", ...]``."""
