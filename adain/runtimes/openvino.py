"""The shipped ONNX graphs on OpenVINO: its CPU plugin runs the int8 encoder on the CPU's int8 units (AMX,
VNNI) and everything else in bfloat16 where the CPU has AMX or AVX-512 BF16 (float32 elsewhere), which ONNX
Runtime's CPU kernels do not.

Measured on a 2-vCPU Xeon with AMX, 576² bordered 512² content, the shipped graphs compiled for its shape:
one pass (int8 encoder, AdaIN, decoder) 0.075-0.10 s against ONNX Runtime's 0.345 s, the style graph
0.04-0.06 s against 0.18 s; on 8 held-out pairs at 512 px 2.00/255 from Keras against onnx-int8's 1.97/255
(README, "Runtimes"). A dependency on x86-64 (`pip install 'adain[openvino]'` elsewhere).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import cache, cached_property
from pathlib import Path

import numpy as np

from adain.defaults import OPENVINO_CACHE_MB, OPENVINO_SHAPES
from adain.memory import arenas_shrink
from adain.runtimes.onnx import OnnxGraph, OnnxStylizer
from adain.resources import cache_dir
from adain.vgg_spec import STRIDE


@cache
def _core():
    """One OpenVINO core per process, which keeps compiled graphs under $ADAIN_CACHE/openvino where it can
    write (`_prune` bounds it): a process that meets a graph and shape again loads it in about half the
    compile time."""
    import openvino as ov

    core = ov.Core()
    folder = _cache_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only home: compile every time
        return core
    core.set_property({"CACHE_DIR": str(folder)})
    return core


def _cache_folder() -> Path:
    return cache_dir() / "openvino"


def _prune(folder: Path, limit_mb: float = OPENVINO_CACHE_MB) -> None:
    """Delete the oldest compiled graphs under `folder` until the rest fit in `limit_mb`."""
    try:
        blobs = sorted(((p.stat().st_mtime, p.stat().st_size, p) for p in folder.glob("*.blob")), reverse=True)
    except OSError:  # another process pruned it meanwhile: the next compile prunes again
        return
    total = 0
    for _, size, blob in blobs:
        total += size
        if total > limit_mb * 2**20:
            blob.unlink(missing_ok=True)


class OpenVinoGraph(OnnxGraph):
    """An ONNX graph compiled by OpenVINO for the CPU, called like `OnnxGraph` (names, levels, metadata, outputs).

    Compiled for each new set of input shapes (the last OPENVINO_SHAPES kept): OpenVINO then plans the graph's
    memory ahead, which on a Xeon with AMX made the one-pass graph at 576² 0.075 s against 0.10 s and its
    working memory 130 MB against 285 MB compiled for any shape, for a compile (0.1-0.2 s, less from the
    disk cache) per new shape. Tiles all have one shape (`adain.tiling`); a video's zoom paints canvases of
    one shape and its other frames another (with one kept, each switch compiled again: bench_video's zoom
    lost 8 ms a frame).

    Args:
        path: the .onnx file.
        precision: OpenVINO's inference precision ("bf16", "f32"); None lets the plugin choose (bf16
            where the CPU has it).
    """

    def __init__(self, path: str | Path, precision: str | None = None):
        super().__init__(path)
        self.precision = precision
        self.compiled: OrderedDict = OrderedDict()  # {shapes: (compiled graph, its infer request)}, newest last
        self._lock = threading.Lock()  # one infer request per shape: one call at a time

    @cached_property
    def model(self):
        return _core().read_model(str(self.path))

    @cached_property
    def inputs(self) -> list[str]:
        return [i.get_any_name() for i in self.model.inputs]

    @cached_property
    def outputs(self) -> list[str]:
        return [o.get_any_name() for o in self.model.outputs]

    @cached_property
    def metadata(self) -> dict[str, str]:
        info = self.model.get_rt_info()
        return {k: v.astype(str) for k, v in info["framework"].items()} if "framework" in info else {}

    def _compile(self, shapes: tuple) -> tuple:
        """The graph compiled for `shapes` ((name, shape) pairs) and an infer request of it."""
        self.model.reshape({name: list(shape) for name, shape in shapes})
        hints = {"INFERENCE_PRECISION_HINT": self.precision} if self.precision else {}
        compiled = _core().compile_model(self.model, "CPU", {"PERFORMANCE_HINT": "LATENCY", **hints})
        _prune(_cache_folder())
        return compiled, compiled.create_infer_request()

    def _run(self, feeds: dict) -> list:
        """The outputs (copies) for one image's inputs by name; where `adain.memory.arenas_shrink()` (the
        CLI, the demo) the graph's working memory is handed back after the call (as ONNX Runtime's arena)."""
        shapes = tuple((name, np.shape(value)) for name, value in feeds.items())
        with self._lock:
            if shapes not in self.compiled:
                self.compiled[shapes] = self._compile(shapes)
                while len(self.compiled) > OPENVINO_SHAPES:
                    self.compiled.popitem(last=False)
            self.compiled.move_to_end(shapes)
            compiled, request = self.compiled[shapes]
            results = request.infer(feeds)
            outputs = [results[out] for out in compiled.outputs]
            if arenas_shrink():
                compiled.release_memory()
        return outputs


class OpenVinoStylizer(OnnxStylizer):
    """`Stylizer` of runtime "openvino": the onnx-int8 runtime's graphs (the one-pass and the style graph
    included) compiled by OpenVINO.

    Example: `Stylizer.load(runtime="openvino")` (`pip install 'adain[openvino]'`).
    """

    graph = OpenVinoGraph
    # OpenVINO 2026.4 on a Xeon with AMX ran the one-pass graph (Nx360) 4-21 % slower per pixel at input widths
    # that are odd multiples of 8 (mean 9 %; 584, a video pan's canvas: 21 %) than at multiples of 16 (0-5 %);
    # heights made no difference, nor did widths for ONNX Runtime. Padding costs at most 8 columns.
    width_step = 2 * STRIDE

    @classmethod
    def load(cls, decoder: str | Path, encoder_weights: str | Path = "shipped") -> "OpenVinoStylizer":
        """The onnx-int8 stylizer's graphs for `decoder` (see `OnnxStylizer.load`), compiled by OpenVINO."""
        return super().load(decoder, int8=True, encoder_weights=encoder_weights)
