"""The decoder graph on OpenVINO: its CPU plugin computes in bfloat16 where the CPU has AVX-512 BF16 or
AMX (float32 elsewhere), which ONNX Runtime's default CPU kernels do not.

Measured on a 2-vCPU Zen 4 EPYC (AVX-512 BF16, no AMX), the shipped graphs on a 576² bordered 512² content:
the decoder 0.225 s in bf16 against ONNX Runtime's 0.452 s (float32 in OpenVINO: 0.458 s; its output
0.45/255 from ONNX Runtime's in mean absolute difference), while the int8 encoder stays faster on ONNX
Runtime (0.24 s against 0.34 s): runtime "openvino" is the int8 encoder on ONNX Runtime and the decoder
here. `pip install 'adain[openvino]'`.
"""

from __future__ import annotations

from pathlib import Path

from adain.onnx_runtime import OnnxGraph, OnnxStylizer


class OpenVinoGraph(OnnxGraph):
    """An ONNX graph compiled by OpenVINO for the CPU, called like `OnnxGraph` (names, levels, outputs).

    Args:
        path: the .onnx file.
        precision: OpenVINO's inference precision ("bf16", "f32"); None lets the plugin choose (bf16
            where the CPU has it).
    """

    def __init__(self, path: str | Path, precision: str | None = None):
        import openvino as ov

        self.path = Path(path)
        config = {"PERFORMANCE_HINT": "LATENCY", **({"INFERENCE_PRECISION_HINT": precision} if precision else {})}
        core = ov.Core()
        model = core.read_model(str(path))
        self.inputs = [i.get_any_name() for i in model.inputs]
        self.outputs = [o.get_any_name() for o in model.outputs]
        self.metadata = {}
        self.compiled = core.compile_model(model, "CPU", config)
        self.request = self.compiled.create_infer_request()

    def _run(self, feeds: dict) -> list:
        results = self.request.infer(feeds)
        return [results[out] for out in self.compiled.outputs]


class OpenVinoStylizer(OnnxStylizer):
    """`Stylizer` of runtime "openvino": the int8 encoder on ONNX Runtime, the decoder graph on OpenVINO.

    Example: `Stylizer.load(runtime="openvino")` (`pip install 'adain[openvino]'`).
    """

    uses_one_pass = False  # its decoder runs on OpenVINO, not in ONNX Runtime's one-pass graph

    @classmethod
    def load(cls, decoder: str | Path, encoder_weights: str | Path = "shipped") -> "OpenVinoStylizer":
        """The onnx-int8 stylizer's graphs for `decoder` (see `OnnxStylizer.load`), its decoder compiled by OpenVINO."""
        stylizer = super().load(decoder, int8=True, encoder_weights=encoder_weights)
        stylizer.decoder = OpenVinoGraph(stylizer.decoder.path)
        return stylizer
