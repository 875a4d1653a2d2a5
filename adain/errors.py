"""Exceptions of the public API that need nothing heavy to import (the demo and the CLI catch them)."""


class Cancelled(Exception):
    """`optimize` was stopped through its `cancel` event (raised within one loss evaluation).

    Example (a server stopping a job whose visitor left):

    ```python
    import threading
    from adain import Cancelled, optimize

    stop = threading.Event()  # stop.set() from another thread ends the job within one step
    try:
        image = optimize("photo.jpg", "painting.jpg", cancel=stop)
    except Cancelled:
        image = None
    ```
    """


# A module that may be missing -> the pyproject extra that installs it (the core install is the ONNX fast path).
EXTRAS = {"keras": "tf", "tensorflow": "tf", "scipy": "tf", "matplotlib": "train", "tf2onnx": "onnx", "onnx": "onnx",
          "tensorflow_hub": "hub", "imageio": "video", "openvino": "openvino", "ray": "dataset", "cv2": "video",
          "imageio_ffmpeg": "video", "torch": "distributed"}


def install_hint(exc: ModuleNotFoundError) -> str | None:
    """"pip install 'adain[extra]'" for a missing optional dependency, None for anything else."""
    extra = EXTRAS.get((exc.name or "").split(".")[0])
    return None if extra is None else f"pip install 'adain[{extra}]'"


class RuntimeUnavailable(ImportError):
    """A runtime whose packages are installed but cannot be imported on this machine (a DLL that fails
    to load, a build for another CPU): the message names the runtime and what its import raised.
    `Stylizer.load()` with no runtime named falls back to the next one instead.

    Example:

    ```python
    from adain import Stylizer
    from adain.errors import RuntimeUnavailable

    try:
        s = Stylizer.load(runtime="openvino")
    except RuntimeUnavailable as e:
        print(e)  # e.g. runtime 'openvino' cannot be imported here: OSError: ...
        s = Stylizer.load(runtime="onnx-int8")
    ```
    """
