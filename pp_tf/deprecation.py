"""Old import paths and names that answer for one release after a rename, with a warning.

A module that lost public names ends with one line naming where each went::

    __getattr__ = deprecation.moved(__name__, {"old_name": "pp_tf.new.module:new_name"})

A renamed module keeps a file at its old path holding only `renamed(...)`: every name
of the new module answers there too, and `moves` adds those that were renamed or
moved elsewhere. Using an old name warns with a FutureWarning (Python shows it to
the person running the code, as it does for a renamed method's name,
`protections.current_name`) naming the new place; importing the old module alone
is silent, so a package that imports all of its modules does not warn.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any, Callable

REMOVAL = "the next release"


def _resolve(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _warn(old: str, new: str) -> None:
    warnings.warn(f"{old} is now {new}; the old name goes in {REMOVAL}", FutureWarning,
                  stacklevel=3)


def names_in(module: str, names) -> dict[str, str]:
    """`moves` entries for `names` that kept their name in `module`."""
    return {name: f"{module}:{name}" for name in names}


def moved(module: str, moves: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` answering each old name of `moves` ("module:name")."""

    def __getattr__(name: str) -> Any:
        if name not in moves:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        _warn(f"{module}.{name}", moves[name].replace(":", "."))
        return _resolve(moves[name])

    return __getattr__


def renamed(module: str, new_module: str,
            moves: dict[str, str] | None = None) -> Callable[[str], Any]:
    """The `__getattr__` of a renamed module's old path: `moves` first, then `new_module`'s names."""
    moves = dict(moves or {})

    def __getattr__(name: str) -> Any:
        if name in moves:
            _warn(f"{module}.{name}", moves[name].replace(":", "."))
            return _resolve(moves[name])
        if name.startswith("__"):
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        target = importlib.import_module(new_module)
        if not hasattr(target, name):
            raise AttributeError(f"module {module!r} (now {new_module!r}) has no attribute "
                                 f"{name!r}")
        _warn(f"{module}.{name}", f"{new_module}.{name}")
        return getattr(target, name)

    return __getattr__
