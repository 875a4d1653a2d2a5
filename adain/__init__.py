"""adain: arbitrary neural style transfer with AdaIN (one pass) and Gatys optimisation (fallback).

`import adain` and the command line's argument parsing load neither TensorFlow nor Keras: the
classes below are imported on first use (PEP 562), so `adain --help` starts in a fraction of a second.
"""

from importlib import import_module

from adain import _moved
from adain.errors import Cancelled, install_hint
from adain.image_io import ImageError, load_image

_moved.install()  # adain.onnx_runtime and the other runtimes' old paths: now adain.runtimes.*

_LAZY = {"Stylizer": "adain.stylizer", "optimize": "adain.gatys"}

__all__ = ["Stylizer", "optimize", "Cancelled", "load_image", "ImageError"]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name in _LAZY:
        try:
            module = import_module(_LAZY[name])
        except ModuleNotFoundError as exc:  # `optimize` on the core install: say which extra has it
            if install_hint(exc) is None:
                raise
            raise ModuleNotFoundError(f"adain.{name} needs {exc.name}, which is not installed: {install_hint(exc)}",
                                      name=exc.name) from exc
        return getattr(module, name)
    raise AttributeError(f"module 'adain' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
