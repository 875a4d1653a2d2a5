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

from adain.vgg_spec import CONTENT_LAYER

RUNTIMES = ("keras", "onnx", "onnx-int8")
INT8_ENCODER = Path(__file__).resolve().parent.parent / "weights" / "vgg19_relu4_1_int8.onnx"
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
    """Write a single-input Keras model as an ONNX graph for one NHWC image of any H, W.

    A model returning a dict (the VGG encoder) is cut to its relu4_1 output first.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        raise RuntimeError("ONNX export with dynamic image sizes needs the TensorFlow Keras backend")
    _require("tf2onnx")
    if isinstance(model.output, dict):
        model = keras.Model(model.input, model.output[CONTENT_LAYER])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    spec = [keras.InputSpec(shape=(1, None, None, model.input.shape[-1]), dtype="float32")]
    model.export(str(tmp), format="onnx", input_signature=spec, verbose=False)
    return tmp.replace(path)


def export_onnx(encoder, decoder, out_dir: str | Path) -> tuple[Path, Path]:
    """Write the relu4_1 encoder and the decoder of a Keras stylizer as encoder.onnx, decoder.onnx."""
    out_dir = Path(out_dir)
    return export_graph(encoder, out_dir / ENCODER_FILE), export_graph(decoder, out_dir / DECODER_FILE)


def cached_graph(model, name: str) -> Path:
    """`model` as an ONNX graph named `name`, from the cache or freshly exported into it. Each model is
    keyed by the Keras version and its own weights, so a new decoder does not re-export the encoder."""
    import keras

    digest = hashlib.sha1(keras.__version__.encode())
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
    """Calls an ONNX session like a Keras model on one NHWC float32 batch (one image at a time,
    as the graphs were exported with batch 1)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.session = session(path)
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, x) -> np.ndarray:
        x = np.asarray(x, np.float32)
        return np.concatenate([self.session.run(None, {self.input_name: x[i:i + 1]})[0] for i in range(len(x))])
