"""Import paths that moved: `import adain.onnx_runtime` (and the other runtimes' old modules) still gives
the module, now under `adain.runtimes`, with a DeprecationWarning that names the new path."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

MOVED = {"adain.keras_runtime": "adain.runtimes.keras", "adain.onnx_runtime": "adain.runtimes.onnx",
         "adain.openvino_runtime": "adain.runtimes.openvino", "adain.hub_runtime": "adain.runtimes.hub"}


class _Alias(importlib.abc.Loader):
    """Loads an old name as the module at its new path (the same module object)."""

    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module) -> None:
        pass


class MovedModules(importlib.abc.MetaPathFinder):
    """Finds the old names of MOVED."""

    def find_spec(self, name, path=None, target=None):
        if name not in MOVED:
            return None
        warnings.warn(f"{name} moved to {MOVED[name]}; import it from there", DeprecationWarning, stacklevel=2)
        return importlib.util.spec_from_loader(name, _Alias(MOVED[name]))


def install() -> None:
    """Put the finder on sys.meta_path (once)."""
    if not any(isinstance(f, MovedModules) for f in sys.meta_path):
        sys.meta_path.append(MovedModules())
