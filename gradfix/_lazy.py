"""Import LibCST on first use, not at start-up.

Detection runs on CPython's ``ast``; LibCST (about a second to import on a busy machine) is
needed only to build a fix that is applied. Rule modules still write ``import libcst as cst``
at the top: :func:`defer_libcst` puts a stand-in module under that name, and the first
attribute read on it (``cst.Name``, or ``from libcst.metadata import ...``) imports the real
package and turns the stand-in into a copy of it. A rule must therefore not touch ``cst.*`` at
import time (no module-level ``class X(cst.CSTTransformer)``, no ``cst.Name(...)`` constants):
that would import LibCST for every run. ``tests/test_startup.py`` checks it.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import threading
import types

_LOCK = threading.RLock()


class _Deferred(types.ModuleType):
    """Stands in for a package until one of its attributes is read, then becomes a copy of it.

    It stays in ``sys.modules`` after that, so every ``import name`` (before or after the
    load) gets this one object: a test that patches ``libcst.parse_module`` patches what
    the engine calls.
    """

    def __getattr__(self, attr: str):
        with _LOCK:
            real = _REAL.get(self.__name__)
            if real is None:
                del sys.modules[self.__name__]
                try:
                    real = importlib.import_module(self.__name__)
                finally:
                    sys.modules[self.__name__] = self
                _REAL[self.__name__] = real
                self.__dict__.update(real.__dict__)
        if attr in self.__dict__:
            return self.__dict__[attr]
        return getattr(real, attr)


_REAL: dict[str, types.ModuleType] = {}


def defer(name: str) -> None:
    """Make ``import name`` cheap until the module is used (no-op if it is already imported)."""
    if name in sys.modules or importlib.machinery.PathFinder.find_spec(name) is None:
        return
    stand_in = _Deferred(name)
    # The import statement reads __spec__ of a module found in sys.modules; answer it
    # without importing (a spec that is not being initialised).
    stand_in.__spec__ = importlib.machinery.ModuleSpec(name, None)
    sys.modules[name] = stand_in


def defer_libcst() -> None:
    defer("libcst")


def loaded(name: str) -> bool:
    """Whether ``name`` is really imported (not just deferred)."""
    module = sys.modules.get(name)
    return module is not None and (not isinstance(module, _Deferred) or name in _REAL)
