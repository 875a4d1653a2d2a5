"""Make weights/decoder.onnx, weights/stylize_int8.onnx, weights/style_int8.onnx, weights/stylize_tile_int8.onnx and
weights/stylize_measured_int8.onnx from the shipped decoder.
Run after every change of the shipped decoder (or of the int8 encoder).

    python scripts/export_onnx_graphs.py

decoder.onnx: the decoder as the ONNX graph the onnx runtimes load, tagged with the SHA-1 of the
weights/decoder.npz it came from (tests/test_onnx_runtime.py fails when they disagree, and the runtime
then exports its own copy).

stylize_int8.onnx: the one-pass graph of runtime "onnx-int8" (`adain.onnx_graphs.one_pass_graph`): the
int8 encoder (weights/vgg19_int8.onnx, scripts/quantize_encoder.py), AdaIN at every level (the content's
statistics, the style's given ones, α) and the decoder written channels-first with zero padding, so a
stylization with a cached style is one graph call and no feature map leaves ONNX Runtime. It holds only
the graph: its weights are read from the two files above (ONNX external data at their byte offsets), so
it costs ~45 KiB, not another 8 MB; it is tagged with the SHA-1s of both and of weights/decoder.npz, and
the runtime ignores it when they changed.

style_int8.onnx: the int8 encoder with the per-channel statistics of the image, or of a region of it (a
video frame's place on its canvas), as outputs (`adain.onnx_graphs.style_graph`): a new style is one call
with no feature map copied out; ~37 KiB, its weights in vgg19_int8.onnx, tagged like the one-pass graph.

stylize_tile_int8.onnx: the one-pass graph with the content's statistics as inputs too, for the tiles of
a large image (the whole image's statistics, summed tile by tile first); ~41 KiB, made and tagged the same way.

stylize_measured_int8.onnx: the one-pass graph with the content's statistics measured over a region of the
image and given out too: a video frame painted with its own place's statistics, which its shot's next
frames are then painted with, in one call (a measure with the style graph and a call of the tile graph
run the encoder twice); ~50 KiB, made and tagged the same way.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import onnx
from onnx import TensorProto, external_data_helper

from adain.decoder import load_decoder
from adain.onnx_graphs import one_pass_graph, style_graph
from adain.runtimes.onnx import (INT8_ENCODER, ONE_PASS_ALPHA, ONE_PASS_GRAPH, ONE_PASS_IMAGE, ONE_PASS_OUTPUT,
                                MEASURED_GRAPH, PARTS_KEY, SHIPPED_DECODER_GRAPH, SOURCE_KEY, STATISTICS_REGION,
                                STYLE_GRAPH, TILE_GRAPH, content_input, export_graph, file_sha1, one_pass_parts,
                                style_input)
from adain.resources import SHIPPED_DECODER

EXTERNAL_MIN_BYTES = 1024  # initializers at least this big are read from the part files, smaller ones kept inline


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
    one_pass, tile, measured = (one_pass_graph(onnx.load(str(INT8_ENCODER)), SHIPPED_DECODER, ONE_PASS_IMAGE,
                                               ONE_PASS_ALPHA, ONE_PASS_OUTPUT, style_input, content, region)
                                for content, region in ((None, None), (content_input, None),
                                                        (content_input, STATISTICS_REGION)))
    style = style_graph(onnx.load(str(INT8_ENCODER)), ONE_PASS_IMAGE, style_input, STATISTICS_REGION)
    parts = {p.name: p.read_bytes() for p in (INT8_ENCODER, SHIPPED_DECODER_GRAPH)}
    graphs = ((one_pass, ONE_PASS_GRAPH), (style, STYLE_GRAPH), (tile, TILE_GRAPH), (measured, MEASURED_GRAPH))
    for model, path in graphs:
        _externalize(model, parts)
        onnx.helper.set_model_props(model, {PARTS_KEY: one_pass_parts(), SOURCE_KEY: source})
        onnx.save(model, str(path))
        print(f"wrote {path} ({path.stat().st_size / 2**10:.0f} KiB; weights in {' and '.join(parts)})")


if __name__ == "__main__":
    main()
