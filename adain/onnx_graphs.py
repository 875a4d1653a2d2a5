"""ONNX graphs written node by node from the shipped weights: the VGG encoder (before its int8
quantization), AdaIN at every level, and the decoder, channels-first throughout.

Written, not converted from Keras (tf2onnx), because a converted graph keeps Keras' channels-last
layout: in the first one-pass graph a third of a 576² call went to transposes, reflection pads,
repeat-based upsampling, the taps' scaling and the quantize/dequantize chains around them. Here
- the Caffe preprocessing's channel flip and each tap's normalising factors are folded into the
  conv weights (a positive factor passes through ReLU);
- the decoder pads with zeros inside its convs (no Pad op): the output differs from Keras' reflection
  padding only within REFLECTION_REACH pixels of the border, which lie inside the band that
  `AdainStylizer._render` adds and crops (BORDER_PAD);
- upsampling is one Resize, and the skip gain and the output's ×255 fold into conv weights at load.

Used by scripts/quantize_encoder.py and scripts/export_onnx_graphs.py; needs the `onnx` package,
which nothing imports at run time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Collection, NamedTuple, Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from adain import vgg_weights
from adain.adain_op import EPS
from adain.decoder import _DECODER_PLAN, SKIP_GAIN
from adain.encoder import _normalising_factors
from adain.vgg_spec import CAFFE_MEAN_BGR, CONTENT_LAYER, RELU_LAYERS, STYLE_LAYERS, conv_layers_up_to, level_stride

OPSET = 17
IR_VERSION = 8  # opset 17's: onnx writes its newest IR (14), which ONNX Runtime Web 1.30 cannot open
IMAGE = "rgb_0_255"  # the encoder graph's input: (1, H, W, 3) RGB 0-255
FIRST_CONV = "block1_conv1"  # its first conv (kept float by `quantize`: 3 input channels gain nothing from int8)
DECODER_PREFIX = "decoder/"  # the one-pass graph's decoder nodes (kept float by `quantize`)
REFLECTION_REACH = 30  # output pixels from the border where the zero-padded decoder differs from Keras' (see below)


def nchw(tap: str) -> str:
    """The encoder graph's channels-first tensor of `tap` (its output `tap` is this, transposed to NHWC)."""
    return f"{tap}_nchw"


class _Graph:
    """Nodes and initializers being collected, with names made unique by a prefix."""

    def __init__(self, prefix: str = ""):
        self.prefix, self.nodes, self.inits = prefix, [], []

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(value), self.prefix + name))
        return self.prefix + name

    def op(self, op_type: str, inputs: Sequence[str], name: str, **attrs) -> str:
        out = self.prefix + name
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out

    def conv(self, x: str, kernel_hwio: np.ndarray, bias: np.ndarray, name: str, relu: bool, scale: str | None = None,
             out: str | None = None) -> str:
        """A 'same' conv (zero padding) from a Keras kernel, named `name` (its node `name`/conv when a ReLU
        follows), output `out` or `name`; `scale`: a constant its weights and bias are multiplied by in
        the graph (ONNX Runtime folds it at load)."""
        w = self.const(f"{name}/W", np.ascontiguousarray(kernel_hwio.transpose(3, 2, 0, 1), np.float32))
        b = self.const(f"{name}/B", np.asarray(bias, np.float32))
        if scale is not None:
            w, b = self.op("Mul", [w, scale], f"{name}/W_scaled"), self.op("Mul", [b, scale], f"{name}/B_scaled")
        p = kernel_hwio.shape[0] // 2
        y = self.op("Conv", [x, w, b], f"{name}/conv" if relu else out or name, pads=[p] * 4)
        return self.op("Relu", [y], out or name) if relu else y


def encoder_graph(taps: Sequence[str] = STYLE_LAYERS) -> onnx.ModelProto:
    """The shipped VGG19 encoder to the deepest of `taps`, normalised as `adain.encoder.build_encoder`:
    input IMAGE (1, H, W, 3) RGB 0-255, an output per tap (1, H/s, W/s, C), float32. Each tap is its
    ReLU's output `nchw(tap)` times the normalising factors, on a branch of its own: folded into the
    weights they would also scale the next conv's input, whose rare large channels then set its int8
    range (relu3_1 was 47 % off)."""
    g = _Graph()
    convs = conv_layers_up_to(max(taps, key=lambda t: int(t[4])))
    weights = vgg_weights.load_shipped(layers=convs)
    tap_of = {RELU_LAYERS[t]: t for t in taps}
    x = g.op("Transpose", [IMAGE], "nchw_image", perm=[0, 3, 1, 2])
    x = g.op("Sub", [x, g.const("mean_rgb", np.array(CAFFE_MEAN_BGR[::-1], np.float32).reshape(1, 3, 1, 1))], "centred")
    outputs = []
    for name in convs:
        kernel, bias = weights[name]
        if name == convs[0]:
            kernel = kernel[:, :, ::-1, :]  # VGG reads BGR: flip its input channels instead of the image's
        if int(name[5]) > 1 and name.endswith("conv1"):
            x = g.op("MaxPool", [x], f"block{int(name[5]) - 1}_pool", kernel_shape=[2, 2], strides=[2, 2])
        tap = tap_of.get(name)
        x = g.conv(x, kernel, bias, name, relu=True, out=nchw(tap) if tap else None)
        if tap:
            scaled = g.op("Mul", [x, g.const(f"{tap}_factors", factors_of(tap).reshape(1, -1, 1, 1))],
                          f"{tap}_normalised")
            g.op("Transpose", [scaled], tap, perm=[0, 2, 3, 1])
            outputs.append(helper.make_tensor_value_info(tap, TensorProto.FLOAT, [1, None, None, None]))
    image = helper.make_tensor_value_info(IMAGE, TensorProto.FLOAT, [1, "height", "width", 3])
    graph = helper.make_graph(g.nodes, "vgg19_encoder", [image], outputs, initializer=g.inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)


def factors_of(tap: str) -> np.ndarray:
    """The normalising factors `encoder_graph` multiplies the tap's channels by."""
    return _normalising_factors()[tap].astype(np.float32)


class Statistics(NamedTuple):
    """Per-channel statistics ((C,) tensors) of a ReLU output x and of its normalised features f = k·x."""

    mean_x: str
    var_x: str  # x's variance + EPS/k²: f's variance + EPS, on x's scale
    std_x: str
    mean_f: str
    std_f: str  # sqrt(k²·var + EPS), as `adain.adain_op.channel_stats` gives it


def _statistics(g: _Graph, x: str, level: str, region: str | None = None) -> Statistics:
    """`Statistics` of channels-first `x` at encoder `level`: two reductions over the map, or over the part of
    it that covers `region`, an int64 (4,) tensor: (top, left, bottom, right) in the image's pixels."""
    n = lambda op, ins, name, **kw: g.op(op, ins, f"{name}_{level}", **kw)  # noqa: E731
    c = lambda name, value: g.const(f"{name}_{level}", np.asarray(value))  # noqa: E731
    if region is not None:  # the features whose pixels start inside it: [top // s, ceil(bottom / s)) and across
        s = level_stride(level)
        two, stride = c("two", [2]), c("stride", [s])
        starts = n("Div", [n("Slice", [region, c("zero_i", [0]), two], "region_start"), stride], "starts")
        ends = n("Div", [n("Add", [n("Slice", [region, two, c("four", [4])], "region_end"), c("round_up", [s - 1])],
                         "region_end_up"), stride], "ends")
        x = n("Slice", [x, starts, ends, c("axes_hw", [2, 3])], "region")
    k = c("factors", factors_of(level))
    count = n("Cast", [n("ReduceProd", [n("Slice", [n("Shape", [x], "shape"), c("hw_start", [2]), c("hw_end", [4])], "hw")],
                         "count_i", keepdims=0)], "count", to=TensorProto.FLOAT)
    flat = c("flat", [-1])
    mean = n("Reshape", [n("ReduceMean", [x], "mean_nc", axes=[2, 3], keepdims=0), flat], "mean")
    meansq = n("Reshape", [n("Div", [n("ReduceSumSquare", [x], "sumsq", axes=[2, 3], keepdims=0), count], "meansq_nc"), flat],
               "meansq")
    var = n("Max", [n("Sub", [meansq, n("Mul", [mean, mean], "mean2")], "var_raw"), c("zero", np.float32(0))], "var")
    eps_x = n("Div", [c("eps", np.float32(EPS)), n("Mul", [k, k], "k2")], "eps_x")
    var_x = n("Add", [var, eps_x], "var_x")
    std_x = n("Sqrt", [var_x], "std_x")
    return Statistics(mean, var_x, std_x, n("Mul", [k, mean], "c_mean"), n("Mul", [k, std_x], "c_std"))


def _given_statistics(g: _Graph, level: str, mean_f: str, std_f: str) -> Statistics:
    """`Statistics` at encoder `level` from the normalised features' given (mean, std) ((C,) tensors, as
    `adain.adain_op.channel_stats` gives them): x = f / k, so x's mean is mean_f / k and its variance
    plus EPS/k² is (std_f / k)²."""
    k = g.const(f"factors_{level}", factors_of(level))
    mean_x = g.op("Div", [mean_f, k], f"mean_{level}")
    std_x = g.op("Div", [std_f, k], f"std_x_{level}")
    return Statistics(mean_x, g.op("Mul", [std_x, std_x], f"var_x_{level}"), std_x, mean_f, std_f)


class Affine(NamedTuple):
    """A per-channel affine map of channels-first `x` not yet applied: x·scale + shift ((C,) each)."""

    x: str
    scale: str
    shift: str


def adain_nodes(g: _Graph, features: dict[str, str], alpha: str, style: dict[str, tuple[str, str]],
                fold: Collection[str] = (), content: dict[str, tuple[str, str]] | None = None,
                region: str | None = None) -> tuple[dict[str, str | Affine], dict[str, Statistics]]:
    """AdaIN at each level of the encoder's channels-first ReLU outputs `features` ({level: tensor},
    not yet normalised) to the style's per-channel (mean, std) tensors of the normalised features,
    blended with them by `alpha`, as `adain.adain_stylizer` computes it. α·AdaIN(f) + (1 − α)·f is an
    affine map of f per channel, to mean α·m + (1 − α)·c_mean and std α·s + (1 − α)·c_std (c: the
    content's statistics, EPS under the root as in `adain.adain_op`); with the normalising factors k
    (f = k·x) it is one BatchNormalization of x with x's mean and variance var + EPS/k², epsilon 0:
    `_statistics` and one pass, no full-size temporary. Returns {level: AdaIN target}, or for the
    levels in `fold` the `Affine` map itself, for the reader to fold into its weights, and {level: the
    content's `Statistics`}. `content`: the content's (mean, std) tensors per level, given instead of taken
    from `features` (a tile of a larger image takes the whole image's); `region`: the part of the image they
    are taken over (`_statistics`), else all of it."""
    keep = g.op("Sub", [g.const("one", np.array(1.0, np.float32)), alpha], "keep")
    out, measured = {}, {}
    for lvl, x in features.items():
        n = lambda op, ins, name, **kw: g.op(op, ins, f"{name}_{lvl}", **kw)  # noqa: E731
        st = _statistics(g, x, lvl, region) if content is None else _given_statistics(g, lvl, *content[lvl])
        measured[lvl] = st
        s_mean, s_std = style[lvl]
        scale = n("Add", [n("Mul", [alpha, s_std], "a_std"), n("Mul", [keep, st.std_f], "k_std")], "scale")
        bias = n("Add", [n("Mul", [alpha, s_mean], "a_mean"), n("Mul", [keep, st.mean_f], "k_mean")], "bias")
        if lvl in fold:
            a = n("Div", [scale, st.std_x], "a")
            out[lvl] = Affine(x, a, n("Sub", [bias, n("Mul", [a, st.mean_x], "a_mean_x")], "b"))
        else:
            out[lvl] = n("BatchNormalization", [x, scale, bias, st.mean_x, st.var_x], "adain", epsilon=0.0)
    return out, measured


def _skip(g: _Graph, target: str | Affine, kernel: np.ndarray, bias: np.ndarray, name: str, gain: str) -> str:
    """A skip projection (1x1 conv times `gain`) of an AdaIN target, or of an `Affine` one with the map
    folded into its weights: W·(a·x + b) + c = (W·diag(a))·x + (W·b + c), one read of x and no
    full-size AdaIN output (relu1_1 at 576² is 85 MB)."""
    if not isinstance(target, Affine):
        return g.conv(target, kernel, bias, name, relu=False, scale=gain)
    w = g.op("Mul", [g.const(f"{name}/W", np.ascontiguousarray(kernel.transpose(3, 2, 0, 1), np.float32)), gain], f"{name}/Wg")
    w_x = g.op("Mul", [w, g.op("Reshape", [target.scale, g.const(f"{name}/nc11", np.array([1, -1, 1, 1]))], f"{name}/a")],
               f"{name}/Wa")
    w2 = g.op("Reshape", [w, g.const(f"{name}/oc", np.array([kernel.shape[3], -1]))], f"{name}/W2")
    b = g.op("Add", [g.op("Mul", [g.const(f"{name}/B", np.asarray(bias, np.float32)), gain], f"{name}/Bg"),
                     g.op("MatMul", [w2, target.shift], f"{name}/Wb")], f"{name}/Bx")
    return g.op("Conv", [target.x, w_x, b], name)


def decoder_nodes(g: _Graph, targets: dict[str, str | Affine], weights: str | Path) -> str:
    """The decoder of `weights` (a decoder .npz) on channels-first AdaIN targets ({level: tensor});
    returns its (1, 3, H, W) RGB 0-255 output. Zero padding where Keras reflects: a pixel's value
    changes only through each 3x3 conv's one-pixel border at its resolution (8 px for the conv at 1/8,
    4 for each of four at 1/4, 2 for each of two at 1/2, 1 for each of two at full size), 30 px in
    all (REFLECTION_REACH)."""
    with np.load(weights) as data:
        w = {k: data[k].astype(np.float32) for k in data.files if "/" in k}
        skips = iter(tuple(data["__skips__"]) if "__skips__" in data else ())
    gain = g.const("skip_gain", np.array(SKIP_GAIN, np.float32))
    up = g.const("up_scales", np.array([1, 1, 2, 2], np.float32))
    x = targets[next(iter(targets))]
    for i, (_, upsample) in enumerate(_DECODER_PLAN):
        x = g.conv(x, w[f"conv{i}/kernel"], w[f"conv{i}/bias"], f"conv{i}", relu=True)
        if upsample:
            x = g.op("Resize", [x, "", up], f"up{i}", mode="nearest", coordinate_transformation_mode="asymmetric",
                     nearest_mode="floor")
            level = next(skips, None)
            if level:
                skip = f"skip_{level}"
                x = g.op("Add", [x, _skip(g, targets[level], w[f"{skip}/kernel"], w[f"{skip}/bias"], skip, gain)],
                         f"add_{level}")
    to_0_255 = g.const("to_0_255", np.array(255.0, np.float32))
    return g.conv(x, w["conv_out/kernel"], w["conv_out/bias"], "conv_out", relu=False, scale=to_0_255)


def _encoder_taps(encoder: onnx.ModelProto, image: str) -> tuple[list, dict[str, str]]:
    """`encoder`'s nodes (input renamed `image`) without its taps' normalising and NHWC outputs, and
    {tap: its channels-first ReLU output} for readers that fold the factors into their statistics."""
    nodes = list(encoder.graph.node)
    producer = {o: node for node in nodes for o in node.output}
    features = {}
    for tap in (o.name for o in encoder.graph.output):  # tap ← Transpose ← Mul(factors) ← the ReLU
        transpose = producer[tap]
        scale = producer[transpose.input[0]]
        features[tap] = scale.input[0]
        if producer[features[tap]].op_type == "DequantizeLinear":
            # One reader for the several: ONNX Runtime gives every reader of a dequantized tensor its own
            # DequantizeLinear, a pass over the map each (relu2_1: 7 ms at 576²), and drops an Identity.
            # The ReLU changes nothing (its input is a ReLU's) and costs one pass.
            features[tap] = f"reader_{tap}"
            nodes.append(helper.make_node("Relu", [scale.input[0]], [features[tap]], name=features[tap]))
        nodes.remove(transpose)
        nodes.remove(scale)
    for node in nodes:
        node.input[:] = [image if name == IMAGE else name for name in node.input]
    return nodes, features


def _model(encoder: onnx.ModelProto, nodes: list, inputs: list, outputs: list, initializers: list, name: str) -> onnx.ModelProto:
    """A model of `nodes` with `encoder`'s initializers (those still read), opsets and IR version."""
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=[*encoder.graph.initializer, *initializers])
    _prune(graph)  # the taps' factors: now in the statistics
    model = helper.make_model(graph, opset_imports=list(encoder.opset_import))
    model.ir_version = encoder.ir_version
    return model


def _image_input(name: str) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, "height", "width", 3])


def _statistics_outputs(g: _Graph, measured: dict[str, Statistics], name) -> list[onnx.ValueInfoProto]:
    """Graph outputs `name(kind, level)` (C,) of the normalised features' per-level "mean" and "std"."""
    outputs = []
    for lvl, st in measured.items():
        for kind, tensor in (("mean", st.mean_f), ("std", st.std_f)):
            g.nodes.append(helper.make_node("Identity", [tensor], [name(kind, lvl)], name=name(kind, lvl)))
            outputs.append(helper.make_tensor_value_info(name(kind, lvl), TensorProto.FLOAT, [None]))
    return outputs


def _region_input(name: str) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.INT64, [4])


def style_graph(encoder: onnx.ModelProto, image: str, style_input, region: str) -> onnx.ModelProto:
    """`encoder` (an `encoder_graph`, quantized or not) and the per-channel statistics of its normalised
    taps, as `adain.adain_op.channel_stats` computes them: inputs `image` (1, H, W, 3) RGB 0-255 and
    `region` (4,) int64, the part of it measured (top, left, bottom, right) px: all of it for a style, a
    video frame's place on a larger canvas for a content; outputs `style_input(kind, level)` (C,) for kind
    "mean" and "std": what the one-pass graph reads, with no feature map copied out of ONNX Runtime."""
    nodes, features = _encoder_taps(encoder, image)
    g = _Graph()
    outputs = _statistics_outputs(g, {lvl: _statistics(g, x, lvl, region) for lvl, x in features.items()}, style_input)
    inputs = [_image_input(image), _region_input(region)]
    return _model(encoder, nodes + g.nodes, inputs, outputs, g.inits, "style_statistics")


def one_pass_graph(encoder: onnx.ModelProto, decoder_weights: str | Path, image: str, alpha: str, output: str,
                   style_input, content_input=None, region: str | None = None) -> onnx.ModelProto:
    """`encoder` (an `encoder_graph`, quantized or not) → AdaIN per level → the decoder of
    `decoder_weights`, as one graph. Inputs: `image` (1, H, W, 3) RGB 0-255, `alpha` (1,), and the
    style's per-channel statistics `style_input(kind, level)` (C,) for kind "mean" and "std";
    output: `output` (1, H, W, 3) RGB 0-255, not clipped. With `content_input` (named like
    `style_input`) the content's statistics are inputs too: the graph of one tile of a larger image; with
    `region` as well (an input as `style_graph`'s), they are measured over that part of the image and are
    outputs instead: a video's frame whose statistics its shot's later frames are painted with (the
    region's slices make OpenVINO plan part of the graph per call: 17 % slower than without, at 616x376)."""
    nodes, features = _encoder_taps(encoder, image)
    g = _Graph()
    style = {lvl: (style_input("mean", lvl), style_input("std", lvl)) for lvl in features}
    content = None  # the content's statistics given: the tile graph's inputs (the measured graph's are outputs)
    if content_input and not region:
        content = {lvl: (content_input("mean", lvl), content_input("std", lvl)) for lvl in features}
    targets, measured = adain_nodes(g, features, alpha, style, fold=[lvl for lvl in features if lvl != CONTENT_LAYER],
                                    content=content, region=region)
    dec = _Graph(DECODER_PREFIX)
    rgb = decoder_nodes(dec, {lvl: targets[lvl] for lvl in sorted(targets, key=lambda t: -int(t[4]))}, decoder_weights)
    dec.nodes.append(helper.make_node("Transpose", [rgb], [output], name=output, perm=[0, 2, 3, 1]))
    inputs = [_image_input(image), helper.make_tensor_value_info(alpha, TensorProto.FLOAT, [1])]
    given = [*style.values(), *(content or {}).values()]
    inputs += [helper.make_tensor_value_info(name, TensorProto.FLOAT, [None]) for pair in given for name in pair]
    outputs = [helper.make_tensor_value_info(output, TensorProto.FLOAT, [1, None, None, 3])]
    if region:
        inputs.append(_region_input(region))
        outputs += _statistics_outputs(g, measured, content_input)
    name = "stylize_measured" if region else "stylize_tile" if content else "stylize"
    return _model(encoder, nodes + g.nodes + dec.nodes, inputs, outputs, g.inits + dec.inits, name)


def quantize(model: onnx.ModelProto, reader, out: str | Path) -> None:
    """Write `model` (an `encoder_graph`) to `out` with its convs, ReLUs and pools in int8 (ONNX Runtime's
    static QDQ quantization: per-channel int8 weights with reduce_range, uint8 activations calibrated
    by `reader`, an onnxruntime CalibrationDataReader, at percentile 99.999). The first conv stays
    float, and the readers of its ReLU (relu1_1) other than the next conv read it in float, not
    through a quantize/dequantize pass.

    reduce_range (7-bit weights) matters on CPUs without VNNI (AVX2 only): without it the u8*s8 products
    saturate and relu4_1 was 20 % off, with it 6 %.
    """
    import tempfile

    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    first = {f"{FIRST_CONV}/conv", FIRST_CONV, nchw("relu1_1")}  # its conv and ReLU (named by the tap, if one)
    todo = [n.name for n in model.graph.node if n.op_type in ("Conv", "Relu", "MaxPool") and n.name not in first]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "float.onnx"
        onnx.save(model, str(src))
        quantize_static(str(src), str(out), reader, quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, per_channel=True, reduce_range=True,
                        calibrate_method=CalibrationMethod.Percentile, nodes_to_quantize=todo)
    q = onnx.load(str(out))
    producer = {o: n for n in q.graph.node for o in n.output}

    def float_source(name: str) -> str | None:
        """The float output of the first ReLU that `name` is a Q → DQ copy of, if it is one."""
        dq = producer.get(name)
        q_node = producer.get(dq.input[0]) if dq is not None and dq.op_type == "DequantizeLinear" else None
        relu = producer.get(q_node.input[0]) if q_node is not None and q_node.op_type == "QuantizeLinear" else None
        return q_node.input[0] if relu is not None and relu.name in first else None

    for node in q.graph.node:
        if node.name not in todo:
            node.input[:] = [float_source(name) or name for name in node.input]
    _prune(q.graph)
    q.ir_version = IR_VERSION
    onnx.save(q, str(out))


def _prune(graph: onnx.GraphProto) -> None:
    """Drop the nodes and initializers nothing reads (graph outputs count as read)."""
    while True:
        read = {name for n in graph.node for name in n.input} | {o.name for o in graph.output}
        dead = [n for n in graph.node if not any(o in read for o in n.output)]
        if not dead:
            break
        for n in dead:
            graph.node.remove(n)
    read = {name for n in graph.node for name in n.input}
    kept = [t for t in graph.initializer if t.name in read]
    del graph.initializer[:]
    graph.initializer.extend(kept)
