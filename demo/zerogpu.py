"""The demo on a ZeroGPU Space: both modes on a GPU that is attached only while they run.

ZeroGPU (https://huggingface.co/docs/hub/spaces-zerogpu) gives a Gradio Space a GPU for the duration of
each call to a function decorated with `spaces.GPU(duration=...)`, within a daily quota per visitor, and
works with PyTorch only: the ZeroGPU Space's entry point (scripts/space.py build --zerogpu) sets
KERAS_BACKEND=torch and ADAIN_ZEROGPU=1, and the models are built once at start-up (ZeroGPU keeps their
weights on the CPU and moves them to the GPU inside a decorated call). Off a ZeroGPU Space the `spaces`
decorator does nothing, and without the `spaces` package `gpu` returns the function itself: one app for
the CPU Space, the ZeroGPU Space and a local run.
"""

from __future__ import annotations

import os
from typing import Callable

ENABLED = os.environ.get("ADAIN_ZEROGPU") == "1"  # the ZeroGPU Space's entry point sets it
ON_ZEROGPU = os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")  # set by the Hub on ZeroGPU hardware


def gpu(duration: float) -> Callable[[Callable], Callable]:
    """`spaces.GPU(duration=duration)` where the `spaces` package is installed (a no-op off ZeroGPU), else
    a decorator that returns the function as it is."""
    try:
        import spaces
    except ImportError:
        return lambda fn: fn
    return spaces.GPU(duration=int(duration))


def has_gpu() -> bool:
    """Whether a GPU can compute the demo's jobs here: a ZeroGPU Space (one is attached per call), or a
    CUDA device of PyTorch's. Only in the ZeroGPU build (ENABLED): elsewhere the CPU path is the fast one."""
    if not ENABLED:
        return False
    if ON_ZEROGPU:
        return True
    import torch

    return torch.cuda.is_available()


def refused(exc: BaseException) -> bool:
    """Whether `exc` is ZeroGPU refusing a GPU (the visitor's quota spent, the queue timed out, a duration
    over the limit): the `spaces` package raises them as gr.Error with a title that starts "ZeroGPU"."""
    return str(getattr(exc, "title", "") or "").startswith("ZeroGPU")
