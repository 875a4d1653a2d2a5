"""The fast CPU path: the same AdaIN pipeline (`AdainStylizer`) with its encoder and decoder run by ONNX Runtime.

runtime="onnx" runs float32 graphs (same output as Keras within float rounding, ~1.7x faster on the
2-core CI machine); runtime="onnx-int8" also swaps the VGG encoder for the shipped int8 copy
(weights/vgg19_int8.onnx, made by scripts/quantize_encoder.py), about twice as fast again; its
quality against the float encoder is measured by `adain evaluate --runtime`.

The shipped decoder's graph ships too (weights/decoder.onnx, made by scripts/export_onnx_graphs.py and
tagged with the SHA-1 of the decoder.npz it came from), so `onnx-int8` with the shipped weights imports
neither TensorFlow nor Keras. Any other graph (another decoder, the float encoder) is exported with
Keras' own `model.export(format="onnx")` (TensorFlow backend, tf2onnx) on first use and cached under
$ADAIN_CACHE (default ~/.cache/adain), keyed by the weights' content.

With the shipped weights, onnx-int8 stylizes in one call of weights/stylize_int8.onnx (int8 encoder, AdaIN
at every level with the style's statistics and α as inputs, decoder) and encodes a new style in one call of
weights/style_int8.onnx; both read their weights from the two graph files (`adain.onnx_graphs` writes
them). No feature map is copied out of the runtime. Each tile of a large image is one call of
weights/stylize_tile_int8.onnx (the one-pass graph given the whole image's content statistics); a video frame
whose place's statistics its shot is painted with, one of weights/stylize_measured_int8.onnx; masks use
the two graphs. The same graphs run on OpenVINO in `adain.runtimes.openvino` (`graph` names the class that
runs a file).
"""

from __future__ import annotations

import hashlib
import sys
from functools import cached_property
from pathlib import Path
from typing import ClassVar

import numpy as np

from adain.adain_stylizer import AdainStylizer
from adain.memory import arenas_shrink
from adain.resources import WEIGHTS_DIR, cache_dir
from adain.vgg_spec import CONTENT_LAYER, decoder_feed, decoder_levels_of

INT8_ENCODER = WEIGHTS_DIR / "vgg19_int8.onnx"
SHIPPED_DECODER_GRAPH = WEIGHTS_DIR / "decoder.onnx"
SOURCE_KEY = "source_sha1"  # metadata of a shipped graph: the SHA-1 of the weights file it was made from
# The one-pass graph (int8 encoder, AdaIN, decoder; its weights read from the two files above), its feeds and output.
ONE_PASS_GRAPH = WEIGHTS_DIR / "stylize_int8.onnx"
ONE_PASS_IMAGE, ONE_PASS_ALPHA, ONE_PASS_OUTPUT = "image", "alpha", "stylized"
STYLE_GRAPH = WEIGHTS_DIR / "style_int8.onnx"  # the int8 encoder and the style's statistics: input image, outputs style_input()
STATISTICS_REGION = "region"  # its input (top, left, bottom, right): the part of the image it measures
TILE_GRAPH = WEIGHTS_DIR / "stylize_tile_int8.onnx"  # the one-pass graph of a tile: the content's statistics are inputs too
MEASURED_GRAPH = WEIGHTS_DIR / "stylize_measured_int8.onnx"  # the one-pass graph measuring a region, content_input()
PARTS_KEY = "parts_sha1"  # their metadata: the SHA-1s of the files holding their weights
ENCODER_FILE, DECODER_FILE = "encoder.onnx", "decoder.onnx"


def export_graph(model, path: str | Path) -> Path:
    """Write a Keras model of NHWC maps as an ONNX graph for one image of any H, W.

    Dict inputs (a multi-level decoder) become inputs named `args_0_<key>`; dict outputs (the VGG
    encoder) become outputs named by their keys.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        raise RuntimeError("ONNX export with dynamic image sizes needs the TensorFlow Keras backend")
    import tf2onnx  # noqa: F401 - Keras' ONNX export needs it (the onnx extra); fail before writing anything
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    spec_of = lambda x: keras.InputSpec(shape=(1, None, None, x.shape[-1]), dtype="float32")  # noqa: E731
    spec = [{k: spec_of(v) for k, v in model.input.items()} if isinstance(model.input, dict) else spec_of(model.input)]
    model.export(str(tmp), format="onnx", input_signature=spec, verbose=False)
    return tmp.replace(path)


def export_onnx(encoder, decoder, out_dir: str | Path) -> tuple[Path, Path]:
    """Write the encoder (to the decoder's levels) and the decoder of a Keras stylizer as encoder.onnx, decoder.onnx.

    Example: `s = Stylizer.load(runtime="keras"); export_onnx(s.encoder, s.decoder, "exported/")` (`adain export --format onnx`).
    """
    out_dir = Path(out_dir)
    return export_graph(encoder, out_dir / ENCODER_FILE), export_graph(decoder, out_dir / DECODER_FILE)


def graph_key(model) -> str:
    """The cache key of `model`'s exported graph: the Keras version, the source of the modules that
    build and export the networks, the model's configuration (its named inputs and outputs, and every
    constant that is not a weight: the encoder's channel scales, the decoder's skip gain) and its
    weights. Any change to one of them exports anew; a new decoder does not re-export the encoder."""
    import json

    import keras

    from adain import decoder, encoder

    digest = hashlib.sha1(keras.__version__.encode())
    for module in (encoder, decoder, sys.modules[__name__]):
        digest.update(Path(module.__file__).read_bytes())
    digest.update(json.dumps(model.get_config(), sort_keys=True, default=repr).encode())
    for part in (model.input, model.output):  # the encoder's taps: one weight file serves several graphs
        digest.update(repr(sorted(part) if isinstance(part, dict) else "").encode())
    for w in model.weights:
        digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(w)).tobytes())
    return digest.hexdigest()[:16]


def cached_graph(model, name: str) -> Path:
    """`model` as an ONNX graph named `name`, from the cache (`graph_key`) or freshly exported into it."""
    path = cache_dir() / "onnx" / graph_key(model) / name
    return path if path.exists() else export_graph(model, path)


def session(path: str | Path):
    """An ONNX Runtime CPU session with all graph optimisations (on all cores) and its memory arena: a call
    reuses its own buffers instead of faulting fresh pages in (the one-pass graph, 2-vCPU Zen 4: 576²
    0.51-0.55 s against 0.59-0.91 s without, 1088² 1.8-2.0 s against 3.2 s). The arena keeps the largest
    call's memory (576²: 544 MiB peak, 1088²: 1.4 GiB); a process that called
    `adain.memory.map_large_blocks` (the CLI, the demo) has it shrunk after every call (`OnnxGraph._run`)."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _run_options():
    """Run options: the arena's free memory returned after the call where `adain.memory.arenas_shrink()`."""
    import onnxruntime as ort

    options = ort.RunOptions()
    if arenas_shrink():
        options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    return options


def file_sha1(path: str | Path) -> str:
    """The SHA-1 of a file's bytes (what a shipped graph records of the weights it was made from)."""
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


def style_input(kind: str, level: str) -> str:
    """The one-pass graph's input of the style's per-channel `kind` ("mean" or "std") at `level`."""
    return f"style_{kind}_{level}"


def content_input(kind: str, level: str) -> str:
    """The content's per-channel `kind` ("mean" or "std") at `level`: the one-pass graph's output (of the
    region it measures), the tile graph's input (of the whole image)."""
    return f"content_{kind}_{level}"


def one_pass_parts() -> str:
    """What the one-pass graph must record to be used: the SHA-1s of the encoder and decoder graphs
    whose bytes hold its weights."""
    return f"{file_sha1(INT8_ENCODER)} {file_sha1(SHIPPED_DECODER_GRAPH)}"


class OnnxGraph:
    """Calls an ONNX session like a Keras model on NHWC float32 batches (one image at a time, as the
    graphs were exported with batch 1). The file is read on first use: a stylizer that never tiles or
    masks never opens its encoder and decoder graphs."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @cached_property
    def session(self):
        return session(self.path)

    @cached_property
    def inputs(self) -> list[str]:
        return [i.name for i in self.session.get_inputs()]

    @cached_property
    def outputs(self) -> list[str]:
        return [o.name for o in self.session.get_outputs()]

    @cached_property
    def metadata(self) -> dict[str, str]:
        return dict(self.session.get_modelmeta().custom_metadata_map)

    def _run(self, feeds: dict) -> list:
        """The graph's outputs (in order) for one image's inputs by name."""
        return self.session.run(None, feeds, _run_options())

    @property
    def levels(self) -> tuple[str, ...]:
        """The encoder layers a decoder graph reads: relu4_1, then its skip levels (from its input names)."""
        return decoder_levels_of(self.inputs)

    def __call__(self, x: np.ndarray | dict) -> np.ndarray | dict:
        """x: a batch, or a dict of batches keyed by layer (a multi-level decoder's inputs). Returns
        the one output, or a dict of outputs by name when the graph has several (the encoder's levels)."""
        feeds = {self._input(k): np.asarray(v, np.float32) for k, v in (x.items() if isinstance(x, dict) else [(None, x)])}
        n = len(next(iter(feeds.values())))
        runs = [self._run({k: v[i:i + 1] for k, v in feeds.items()}) for i in range(n)]
        outs = runs[0] if n == 1 else [np.concatenate([r[j] for r in runs]) for j in range(len(self.outputs))]
        return outs[0] if len(outs) == 1 else dict(zip(self.outputs, outs))

    def _input(self, key: str | None) -> str:
        """The graph input fed by `key` (Keras names dict inputs args_0_<key>)."""
        if key is None:
            return self.inputs[0]
        return next(name for name in self.inputs if name == key or name.endswith(f"_{key}"))


class OnnxStylizer(AdainStylizer):
    """`Stylizer` whose encoder and decoder are ONNX Runtime sessions (no TensorFlow, no Keras).

    Args:
        encoder: the VGG graph (float or int8); one output (relu4_1) or one per level.
        decoder: the decoder graph; one input (relu4_1) or one per level (a multi-level decoder).
        one_pass: the graph of encoder, AdaIN and decoder in one (stylize_int8.onnx), used for every
            stylization without masks or tiles; the two graphs serve masks (and tiles, without tile_graph).
        style_graph: the encoder with the style's statistics as its outputs (style_int8.onnx), used to
            encode every style; else the encoder graph and numpy.
        tile_graph: the one-pass graph with the content's statistics as inputs (stylize_tile_int8.onnx),
            used for each tile of a large image without masks; else the two graphs and numpy.
        measured_graph: the one-pass graph that measures the content's statistics over a region and
            gives them out (stylize_measured_int8.onnx), for a video frame whose statistics its shot
            takes; else the style graph measures and the tile graph paints.
    """

    graph: ClassVar[type[OnnxGraph]] = OnnxGraph  # what runs a graph file: OnnxGraph (ONNX Runtime), OpenVinoGraph (OpenVINO)

    def __init__(self, encoder: OnnxGraph, decoder: OnnxGraph, one_pass: OnnxGraph | None = None,
                 style_graph: OnnxGraph | None = None, tile_graph: OnnxGraph | None = None,
                 measured_graph: OnnxGraph | None = None):
        super().__init__((one_pass or decoder).levels)  # the one-pass graph has a style input per level
        if one_pass is None and len(self.levels) > 1 and not set(self.levels) <= set(encoder.outputs):
            raise ValueError(f"{encoder.path.name} gives {encoder.outputs}, and this decoder reads {list(self.levels)}: "
                             "re-make it with scripts/quantize_encoder.py --multilevel")
        self.encoder, self.decoder, self.one_pass = encoder, decoder, one_pass
        self.style_graph, self.tile_graph, self.measured_graph = style_graph, tile_graph, measured_graph

    @classmethod
    def load(cls, decoder: str | Path, int8: bool = False, encoder_weights: str | Path = "shipped") -> "OnnxStylizer":
        """The graphs for the decoder weights at `decoder`: shipped ones where they match, else exported
        through Keras (once, then cached). int8: the shipped int8 VGG encoder (shipped weights only)."""
        if int8 and encoder_weights != "shipped":
            raise ValueError("runtime 'onnx-int8' quantizes the shipped VGG weights: use encoder_weights='shipped'")
        source = file_sha1(decoder)
        if int8 and ONE_PASS_GRAPH.exists():
            tags = {PARTS_KEY: one_pass_parts(), SOURCE_KEY: source}
            graphs = [cls._current(path, tags) for path in (ONE_PASS_GRAPH, STYLE_GRAPH, TILE_GRAPH, MEASURED_GRAPH)]
            if all(graphs):  # made from these weights: the encoder and decoder graphs are opened when first needed
                return cls(cls.graph(INT8_ENCODER), cls.graph(SHIPPED_DECODER_GRAPH), *graphs)
        graph = cls.graph(SHIPPED_DECODER_GRAPH) if SHIPPED_DECODER_GRAPH.exists() else None
        if graph is None or graph.metadata.get(SOURCE_KEY) != source:
            from adain.decoder import load_decoder

            graph = cls.graph(cached_graph(load_decoder(decoder), DECODER_FILE))
        if int8:
            return cls(cls.graph(INT8_ENCODER), graph)
        from adain.encoder import build_encoder

        return cls(cls.graph(cached_graph(build_encoder(graph.levels, encoder_weights), ENCODER_FILE)), graph)

    @classmethod
    def _current(cls, path: Path, tags: dict[str, str]) -> OnnxGraph | None:
        """The shipped graph at `path` if its metadata has `tags` (the SHA-1s of the files holding its
        weights and of the decoder weights it was made from); None when it is absent or stale
        (scripts/export_onnx_graphs.py remakes it)."""
        graph = cls.graph(path) if path.exists() else None
        return graph if graph is not None and all(graph.metadata.get(k) == v for k, v in tags.items()) else None

    def _features(self, images: np.ndarray) -> dict:
        out = self.encoder(images)
        feats = out if isinstance(out, dict) else {CONTENT_LAYER: out}
        return {k: feats[k] for k in self.levels}

    def _image(self, t: dict) -> np.ndarray:
        return self.decoder(decoder_feed(self.levels, t))

    def _style_graph(self, image: np.ndarray, region: tuple[int, int, int, int]) -> dict | None:
        if self.style_graph is None:
            return None
        feeds = {ONE_PASS_IMAGE: image, STATISTICS_REGION: np.asarray(region, np.int64)}
        out = dict(zip(self.style_graph.outputs, self.style_graph._run(feeds)))
        return _read_statistics(out, style_input, self.levels)

    def _one_pass(self, image: np.ndarray, stats: dict, alpha: float) -> np.ndarray | None:
        if self.one_pass is None:
            return None
        return self.one_pass._run(_statistics_feeds(image, alpha, {style_input: stats}))[0]

    def _measured_pass(self, image: np.ndarray, stats: dict, alpha: float,
                       region: tuple[int, int, int, int]) -> tuple[np.ndarray, dict] | None:
        if self.measured_graph is None:
            return None
        feeds = _statistics_feeds(image, alpha, {style_input: stats})
        feeds[STATISTICS_REGION] = np.asarray(region, np.int64)
        out = dict(zip(self.measured_graph.outputs, self.measured_graph._run(feeds)))
        return out[ONE_PASS_OUTPUT], _read_statistics(out, content_input, self.levels)

    def _tile_pass(self, image: np.ndarray, content: dict, stats: dict, alpha: float) -> np.ndarray | None:
        if self.tile_graph is None:
            return None
        return self.tile_graph._run(_statistics_feeds(image, alpha, {style_input: stats, content_input: content}))[0]


def _read_statistics(outputs: dict, name, levels: tuple[str, ...]) -> dict:
    """{level: (mean, std)} (each (1, 1, 1, C), as `channel_stats` gives them) from a graph's `outputs` by name,
    named by `name` (style_input, content_input)."""
    return {lvl: tuple(outputs[name(kind, lvl)].reshape(1, 1, 1, -1) for kind in ("mean", "std")) for lvl in levels}


def _statistics_feeds(image: np.ndarray, alpha: float, statistics: dict) -> dict:
    """A one-pass graph's feeds: the image, α, and for each naming function (style_input, content_input)
    its {level: (mean, std)} as (C,) arrays."""
    feeds = {ONE_PASS_IMAGE: image, ONE_PASS_ALPHA: np.array([alpha], np.float32)}
    for name, stats in statistics.items():
        for level, pair in stats.items():
            for kind, value in zip(("mean", "std"), pair):
                feeds[name(kind, level)] = np.asarray(value, np.float32).reshape(-1)
    return feeds
