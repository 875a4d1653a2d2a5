"""The fast CPU path: the same `Stylizer` with its encoder and decoder run by ONNX Runtime.

runtime="onnx" runs the exported float32 graphs (same output as Keras within float rounding, ~1.7x
faster on the 2-core CI machine); runtime="onnx-int8" also swaps the VGG encoder for the shipped
int8 copy (weights/vgg19_relu4_1_int8.onnx, made by scripts/quantize_encoder.py), about twice as fast
again; its quality against the float encoder is measured by `adain evaluate --runtime`.

Graphs are exported with Keras' own `model.export(format="onnx")` (TensorFlow backend, tf2onnx) on
first use and cached under $ADAIN_CACHE (default ~/.cache/adain), keyed by the weights' content, so
later loads take a fraction of a second.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from adain.resources import WEIGHTS_DIR

RUNTIMES = ("keras", "onnx", "onnx-int8")
INT8_ENCODER = WEIGHTS_DIR / "vgg19_relu4_1_int8.onnx"
ENCODER_FILE, DECODER_FILE = "encoder.onnx", "decoder.onnx"


def cache_dir() -> Path:
    """Where exported graphs are kept: $ADAIN_CACHE or ~/.cache/adain."""
    return Path(os.environ.get("ADAIN_CACHE") or Path.home() / ".cache" / "adain")


def _require(module: str, extra: str = "onnx"):
    try:
        return __import__(module)
    except ImportError as err:
        raise RuntimeError(f"the ONNX runtime needs {module}: pip install 'adain[{extra}]'") from err


def export_graph(model, path: str | Path) -> Path:
    """Write a Keras model of NHWC maps as an ONNX graph for one image of any H, W.

    Dict inputs (a multi-level decoder) become inputs named `args_0_<key>`; dict outputs (the VGG
    encoder) become outputs named by their keys.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        raise RuntimeError("ONNX export with dynamic image sizes needs the TensorFlow Keras backend")
    _require("tf2onnx")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    spec_of = lambda x: keras.InputSpec(shape=(1, None, None, x.shape[-1]), dtype="float32")  # noqa: E731
    spec = [{k: spec_of(v) for k, v in model.input.items()} if isinstance(model.input, dict) else spec_of(model.input)]
    model.export(str(tmp), format="onnx", input_signature=spec, verbose=False)
    return tmp.replace(path)


def export_onnx(encoder, decoder, out_dir: str | Path) -> tuple[Path, Path]:
    """Write the encoder (to the decoder's levels) and the decoder of a Keras stylizer as encoder.onnx, decoder.onnx."""
    out_dir = Path(out_dir)
    return export_graph(encoder, out_dir / ENCODER_FILE), export_graph(decoder, out_dir / DECODER_FILE)


def cached_graph(model, name: str) -> Path:
    """`model` as an ONNX graph named `name`, from the cache or freshly exported into it. Each model is
    keyed by the Keras version, its named inputs and outputs and its own weights, so a new decoder
    does not re-export the encoder."""
    import keras

    digest = hashlib.sha1(keras.__version__.encode())
    for part in (model.input, model.output):  # the encoder's taps: one weight file serves several graphs
        digest.update(repr(sorted(part) if isinstance(part, dict) else "").encode())
    for w in model.weights:
        digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(w)).tobytes())
    path = cache_dir() / "onnx" / digest.hexdigest()[:16] / name
    return path if path.exists() else export_graph(model, path)


def session(path: str | Path):
    """An ONNX Runtime CPU session with all graph optimisations (on all cores)."""
    ort = _require("onnxruntime")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxGraph:
    """Calls an ONNX session like a Keras model on NHWC float32 batches (one image at a time, as the
    graphs were exported with batch 1)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.session = session(path)
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.outputs = [o.name for o in self.session.get_outputs()]

    def __call__(self, x: np.ndarray | dict) -> np.ndarray | dict:
        """x: a batch, or a dict of batches keyed by layer (a multi-level decoder's inputs). Returns
        the one output, or a dict of outputs by name when the graph has several (the encoder's levels)."""
        feeds = {self._input(k): np.asarray(v, np.float32) for k, v in (x.items() if isinstance(x, dict) else [(None, x)])}
        n = len(next(iter(feeds.values())))
        runs = [self.session.run(None, {k: v[i:i + 1] for k, v in feeds.items()}) for i in range(n)]
        outs = [np.concatenate([r[j] for r in runs]) for j in range(len(self.outputs))]
        return outs[0] if len(outs) == 1 else dict(zip(self.outputs, outs))

    def _input(self, key: str | None) -> str:
        """The graph input fed by `key` (Keras names dict inputs args_0_<key>)."""
        if key is None:
            return self.inputs[0]
        return next(name for name in self.inputs if name == key or name.endswith(f"_{key}"))
