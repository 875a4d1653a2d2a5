"""Make weights/decoder.onnx and weights/stylize_int8.onnx from the shipped decoder. Run after every change
of the shipped decoder (or of the int8 encoder).

    python scripts/export_onnx_graphs.py

decoder.onnx: the decoder as the ONNX graph the onnx runtimes load, tagged with the SHA-1 of the
weights/decoder.npz it came from (tests/test_onnx_runtime.py fails when they disagree, and the runtime
then exports its own copy).

stylize_int8.onnx: the one-pass graph of runtime "onnx-int8": the int8 encoder, AdaIN at every level
(the content's statistics, the style's given ones, α) and the decoder, so a stylization with a cached
style is one graph call and no feature map leaves ONNX Runtime. It holds only the graph: its weights
are read from the two files above (ONNX external data at their byte offsets), so it costs ~90 KiB,
not another 8 MB; it is tagged with the SHA-1 of both, and the runtime ignores it when they changed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import onnx
from onnx import TensorProto, compose, external_data_helper, helper

from adain.adain_op import EPS
from adain.decoder import load_decoder
from adain.onnx_runtime import (INT8_ENCODER, ONE_PASS_ALPHA, ONE_PASS_GRAPH, ONE_PASS_IMAGE, ONE_PASS_OUTPUT,
                                PARTS_KEY, SHIPPED_DECODER_GRAPH, SOURCE_KEY, export_graph, file_sha1, one_pass_parts,
                                style_input)
from adain.resources import SHIPPED_DECODER
from adain.vgg_spec import decoder_levels_of

EXTERNAL_MIN_BYTES = 1024  # initializers at least this big are read from the part files, smaller ones kept inline


def adain_graph(levels: tuple[str, ...], opset: int, ir_version: int) -> onnx.ModelProto:
    """AdaIN at each level: features `content_<level>` (1, H, W, C) given the style's per-channel
    `style_mean_<level>`, `style_std_<level>` (C,), blended with the features by α, as
    `adain.adain_stylizer` computes it. α·AdaIN(f) + (1 − α)·f is itself an instance normalisation
    of f, to mean α·m + (1 − α)·c_mean and std α·s + (1 − α)·c_std (c: the content's statistics, EPS
    under the root as in `adain.adain_op`), so each level is one InstanceNormalization with no
    full-size temporary. It runs channels-first: ONNX Runtime's reductions over the NHWC spatial axes
    took a quarter of the call, and the transposes meet the encoder's and the decoder's own."""
    nodes, inputs, outputs = [], [helper.make_tensor_value_info(ONE_PASS_ALPHA, TensorProto.FLOAT, [1])], []
    consts = [helper.make_tensor(name, TensorProto.FLOAT, [], [value])
              for name, value in (("one", 1.0), ("eps", EPS), ("zero", 0.0))]
    consts += [helper.make_tensor(name, TensorProto.INT64, [1], [value])
               for name, value in (("flat", -1), ("hw_start", 2), ("hw_end", 4))]
    nodes.append(helper.make_node("Sub", ["one", ONE_PASS_ALPHA], ["keep"]))
    for lvl in levels:
        f, m, s = f"content_{lvl}", style_input("mean", lvl), style_input("std", lvl)
        inputs += [helper.make_tensor_value_info(f, TensorProto.FLOAT, [1, None, None, None]),
                   helper.make_tensor_value_info(m, TensorProto.FLOAT, [None]),
                   helper.make_tensor_value_info(s, TensorProto.FLOAT, [None])]
        n = lambda op, ins, out, **kw: nodes.append(helper.make_node(op, ins, [f"{out}_{lvl}"], **kw))  # noqa: E731
        v = lambda name: f"{name}_{lvl}"  # noqa: E731
        n("Transpose", [f], "x", perm=[0, 3, 1, 2])
        n("Shape", [v("x")], "shape")
        n("Slice", [v("shape"), "hw_start", "hw_end"], "hw_dims")
        n("ReduceProd", [v("hw_dims")], "count_i", keepdims=0)
        n("Cast", [v("count_i")], "count", to=TensorProto.FLOAT)
        n("ReduceMean", [v("x")], "mean_nc", axes=[2, 3], keepdims=0)
        n("ReduceSumSquare", [v("x")], "sumsq", axes=[2, 3], keepdims=0)
        n("Div", [v("sumsq"), v("count")], "meansq")
        n("Mul", [v("mean_nc"), v("mean_nc")], "mean2")
        n("Sub", [v("meansq"), v("mean2")], "var_raw")
        n("Max", [v("var_raw"), "zero"], "var")
        n("Add", [v("var"), "eps"], "var_eps")
        n("Sqrt", [v("var_eps")], "std_nc")
        n("Reshape", [v("std_nc"), "flat"], "c_std")
        n("Reshape", [v("mean_nc"), "flat"], "c_mean")
        n("Mul", [ONE_PASS_ALPHA, s], "a_std")
        n("Mul", ["keep", v("c_std")], "k_std")
        n("Add", [v("a_std"), v("k_std")], "scale")
        n("Mul", [ONE_PASS_ALPHA, m], "a_mean")
        n("Mul", ["keep", v("c_mean")], "k_mean")
        n("Add", [v("a_mean"), v("k_mean")], "bias")
        n("InstanceNormalization", [v("x"), v("scale"), v("bias")], "normed", epsilon=EPS)
        n("Transpose", [v("normed")], "t", perm=[0, 2, 3, 1])
        outputs.append(helper.make_tensor_value_info(f"t_{lvl}", TensorProto.FLOAT, [1, None, None, None]))
    graph = helper.make_graph(nodes, "adain", inputs, outputs, initializer=consts)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir_version)


def _externalize(model: onnx.ModelProto, parts: dict[str, bytes]) -> None:
    """Point every large initializer at the same bytes inside one of `parts` (file name -> its bytes)."""
    for tensor in model.graph.initializer:
        data = tensor.raw_data
        if len(data) < EXTERNAL_MIN_BYTES:
            continue
        for name, blob in parts.items():
            offset = blob.find(data)
            if offset >= 0:
                external_data_helper.set_external_data(tensor, name, offset, len(data))
                tensor.ClearField("raw_data")
                tensor.data_location = TensorProto.EXTERNAL
                break
        else:
            raise ValueError(f"initializer {tensor.name} is in neither of {list(parts)}")


def _rename(graph: onnx.GraphProto, old: str, new: str) -> None:
    """Rename the tensor `old` wherever the graph names it (inputs, outputs, nodes)."""
    for value in (*graph.input, *graph.output):
        if value.name == old:
            value.name = new
    for node in graph.node:
        node.input[:] = [new if n == old else n for n in node.input]
        node.output[:] = [new if n == old else n for n in node.output]


def one_pass_graph(encoder_path: Path, decoder_path: Path) -> onnx.ModelProto:
    """encoder → AdaIN per level → decoder as one graph: inputs the image, the style's statistics and α."""
    enc, dec = onnx.load(str(encoder_path)), onnx.load(str(decoder_path))
    levels = decoder_levels_of(i.name for i in dec.graph.input)
    dec_input = {lvl: next(i.name for i in dec.graph.input if i.name == lvl or i.name.endswith(f"_{lvl}")) for lvl in levels}
    dec = compose.add_prefix(dec, "decoder/")  # tf2onnx names its tensors alike in both graphs
    _rename(enc.graph, enc.graph.input[0].name, ONE_PASS_IMAGE)
    _rename(dec.graph, dec.graph.output[0].name, ONE_PASS_OUTPUT)
    adain = adain_graph(levels, next(o.version for o in dec.opset_import if o.domain == ""), enc.ir_version)
    for model in (enc, dec, adain):  # merge_models wants the same opset imports on both sides
        for other in (enc, dec):
            model.opset_import.extend(o for o in other.opset_import
                                      if not any(m.domain == o.domain for m in model.opset_import))
    model = compose.merge_models(enc, adain, io_map=[(lvl, f"content_{lvl}") for lvl in levels])
    model = compose.merge_models(model, dec, io_map=[(f"t_{lvl}", f"decoder/{dec_input[lvl]}") for lvl in levels])
    _externalize(model, {p.name: p.read_bytes() for p in (encoder_path, decoder_path)})
    return model


def main() -> None:
    source = file_sha1(SHIPPED_DECODER)
    current = SHIPPED_DECODER_GRAPH.exists() and {p.key: p.value for p in onnx.load(
        str(SHIPPED_DECODER_GRAPH), load_external_data=False).metadata_props}.get(SOURCE_KEY) == source
    if current:  # the export is not byte-for-byte repeatable: don't add 5 MB to the history for the same weights
        print(f"{SHIPPED_DECODER_GRAPH} is already the graph of {SHIPPED_DECODER}")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            model = onnx.load(str(export_graph(load_decoder(SHIPPED_DECODER), Path(tmp) / "decoder.onnx")))
        onnx.helper.set_model_props(model, {SOURCE_KEY: source})
        onnx.save(model, str(SHIPPED_DECODER_GRAPH))
        print(f"wrote {SHIPPED_DECODER_GRAPH} ({SHIPPED_DECODER_GRAPH.stat().st_size / 2**20:.1f} MiB)")
    one_pass = one_pass_graph(INT8_ENCODER, SHIPPED_DECODER_GRAPH)
    onnx.helper.set_model_props(one_pass, {PARTS_KEY: one_pass_parts()})
    onnx.save(one_pass, str(ONE_PASS_GRAPH))
    print(f"wrote {ONE_PASS_GRAPH} ({ONE_PASS_GRAPH.stat().st_size / 2**10:.0f} KiB; weights in "
          f"{INT8_ENCODER.name} and {SHIPPED_DECODER_GRAPH.name})")


if __name__ == "__main__":
    main()
