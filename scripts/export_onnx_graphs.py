"""Make weights/decoder.onnx: the shipped decoder as the ONNX graph the onnx runtimes load, tagged with the
SHA-1 of the weights/decoder.npz it came from (tests/test_onnx_runtime.py fails when they disagree, and the
runtime then exports its own copy). Run after every change of the shipped decoder.

    python scripts/export_onnx_graphs.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import onnx

from adain.decoder import load_decoder
from adain.onnx_runtime import SHIPPED_DECODER_GRAPH, SOURCE_KEY, export_graph, file_sha1
from adain.resources import SHIPPED_DECODER


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        model = onnx.load(str(export_graph(load_decoder(SHIPPED_DECODER), Path(tmp) / "decoder.onnx")))
    onnx.helper.set_model_props(model, {SOURCE_KEY: file_sha1(SHIPPED_DECODER)})
    onnx.save(model, str(SHIPPED_DECODER_GRAPH))
    print(f"wrote {SHIPPED_DECODER_GRAPH} ({SHIPPED_DECODER_GRAPH.stat().st_size / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
