"""Mesa's ``Model`` and ``Agent`` without the rest of ``import mesa``.

``import mesa`` runs Mesa's package ``__init__``, which imports every part of Mesa:
its grids and networks (scipy.spatial, networkx), its batch runner and data collector,
and its experimental spaces — about 0.4 s of a command's start on a quiet machine, for
two classes. ``mesa`` here is Mesa's package with only ``mesa.model`` and
``mesa.agent`` (and what they import) loaded: its ``__init__`` and that of
``mesa.experimental`` are not run until something asks the package for a name it does
not yet hold (``mesa.DataCollector``, ``from mesa import batch_run``), which then
runs them, in place: a notebook that imports negsim and then uses Mesa fully sees all
of Mesa. Where Mesa was already imported, it is used as it is.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from types import ModuleType

#: Mesa's packages whose ``__init__`` is put off (parents first).
_DEFERRED = ("mesa", "mesa.experimental")


def _deferred_package(name: str) -> ModuleType:
    """The package ``name`` as an importable module whose ``__init__`` has not run."""
    spec = importlib.util.find_spec(name)
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    if "." in name:
        parent, _, child = name.rpartition(".")
        setattr(sys.modules[parent], child, package)
    package.__getattr__ = _completing(name)
    return package


def _completing(name: str):
    """A module ``__getattr__`` (PEP 562) that runs the deferred ``__init__`` files
    once, then answers as the complete package would."""

    def __getattr__(attribute: str):
        if attribute.startswith("__"):  # the import system's probes, not a user's name
            raise AttributeError(attribute)
        complete()
        return getattr(sys.modules[name], attribute)

    return __getattr__


def complete() -> None:
    """Run the ``__init__`` files that were put off (the innermost first, as a normal
    import of ``mesa`` would have finished them), so that Mesa is whole."""
    for name in reversed(_DEFERRED):
        package = sys.modules[name]
        if package.__dict__.pop("__getattr__", None) is not None:
            package.__spec__.loader.exec_module(package)


class _FramesWithoutSource:
    """``inspect`` for ``mesa.mesa_logging`` while Mesa's model is imported. Its
    ``create_module_logger`` and ``method_logger`` ask ``inspect.stack()`` and
    ``inspect.getouterframes`` for the name of a caller's module and class, and those
    read a line of source for every frame on the stack (about 0.1 s of a command's
    start, under the import machinery's deep stack). The names are the same without
    the source lines: here every frame is listed with ``context=0``."""

    @staticmethod
    def stack(context: int = 0):
        return inspect.getouterframes(sys._getframe(1), 0)

    @staticmethod
    def getouterframes(frame, context: int = 0):
        return inspect.getouterframes(frame, 0)

    def __getattr__(self, name: str):
        return getattr(inspect, name)


def _load() -> ModuleType:
    if "mesa" in sys.modules:
        return sys.modules["mesa"]
    for name in _DEFERRED:
        _deferred_package(name)
    package = sys.modules["mesa"]
    logging_module = importlib.import_module("mesa.mesa_logging")
    logging_module.inspect = _FramesWithoutSource()
    try:
        package.Model = importlib.import_module("mesa.model").Model
        package.Agent = importlib.import_module("mesa.agent").Agent
    finally:  # later users of Mesa's logging see it as Mesa wrote it
        logging_module.inspect = inspect
    return package


mesa = _load()
