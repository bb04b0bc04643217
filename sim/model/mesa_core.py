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
    ``create_module_logger`` and ``method_logger`` take the caller's module and class
    from ``inspect.stack()``, ``inspect.getmodule`` and ``inspect.getouterframes``.
    Those read a line of source for every frame on the stack and look for each frame's
    file among every loaded module (about 0.1 s of a command's start under the import
    machinery's deep stack; and a look at every module would load pandas, which is put
    off, below). Mesa reads only a frame, its function's name and its module, so here a
    frame's record is ``(frame, file, line, function, None, None)`` and a frame's module
    is the one its globals name: the same names (tested), without the search."""

    @staticmethod
    def _records(frame) -> list[tuple]:
        records = []
        while frame is not None:
            code = frame.f_code
            records.append((frame, code.co_filename, frame.f_lineno, code.co_name, None, None))
            frame = frame.f_back
        return records

    def stack(self, context: int = 1) -> list[tuple]:
        return self._records(sys._getframe(1))

    def getouterframes(self, frame, context: int = 1) -> list[tuple]:
        return self._records(frame)

    @staticmethod
    def getmodule(thing, filename: str | None = None):
        if inspect.isframe(thing):
            return sys.modules.get(thing.f_globals.get("__name__"))
        return inspect.getmodule(thing, filename)

    def __getattr__(self, name: str):
        return getattr(inspect, name)


class _PandasOnFirstUse(ModuleType):
    """``pandas`` until something reads one of its names: then pandas is imported and
    every name is read from it. Mesa's data recorders (``mesa.experimental.
    data_collection``, which ``mesa.model`` imports) ``import pandas`` at their top and
    use it only in methods negsim never calls, and pandas costs about 0.3 s of a
    command's start; a command that needs no table (``negsim run`` of one chunk writes
    its Parquet parts with pyarrow) never imports it.

    Written by hand, not with ``importlib.util.LazyLoader``: that loads the module at
    any attribute read, and the import system reads ``__spec__`` when a module already
    in ``sys.modules`` is imported again, so Mesa's own ``import pandas`` loaded it.
    Here ``__spec__`` and ``__file__`` are plain attributes; ``__path__`` is not, so
    importing a submodule (``import pandas.api.types``) imports pandas first."""

    def __getattr__(self, name: str):
        if sys.modules.get("pandas") is self:
            del sys.modules["pandas"]
        try:
            pandas = importlib.import_module("pandas")
        except BaseException:
            sys.modules.setdefault("pandas", self)
            raise
        return getattr(pandas, name)


def _put_off_pandas() -> None:
    """Put ``_PandasOnFirstUse`` in ``sys.modules`` where pandas is not yet imported."""
    if "pandas" in sys.modules:
        return
    spec = importlib.util.find_spec("pandas")
    if spec is None:  # not installed: Mesa's import says so
        return
    module = _PandasOnFirstUse("pandas")
    module.__spec__, module.__loader__, module.__file__ = spec, spec.loader, spec.origin
    module.__package__ = "pandas"
    sys.modules["pandas"] = module


def _load() -> ModuleType:
    if "mesa" in sys.modules:
        return sys.modules["mesa"]
    for name in _DEFERRED:
        _deferred_package(name)
    package = sys.modules["mesa"]
    _put_off_pandas()
    logging_module = importlib.import_module("mesa.mesa_logging")
    logging_module.inspect = _FramesWithoutSource()
    try:
        package.Model = importlib.import_module("mesa.model").Model
        package.Agent = importlib.import_module("mesa.agent").Agent
    finally:  # later users of Mesa's logging see it as Mesa wrote it
        logging_module.inspect = inspect
    return package


mesa = _load()
