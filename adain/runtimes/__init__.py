"""The runtimes that run the AdaIN networks behind the `adain.stylizer.Stylizer` contract, one module
each with its export, and the choice between them:

- `keras`: the Keras models (any backend); exports to TF-Hub (`hub` loads such modules);
- `onnx`: the ONNX graphs in ONNX Runtime ("onnx", and "onnx-int8" with the int8 encoder; no TensorFlow
  with the shipped weights);
- `openvino`: the onnx-int8 graphs compiled by OpenVINO (int8 and bf16 on the CPU's matrix units);
- `hub`: a TF-Hub module of the Magenta convention (`Stylizer.from_hub`);
- `choice`: `fastest_runtime`, the default, and `adain doctor`'s measurement behind it.

The tree reads contract (`adain.stylizer`) → pipeline (`adain.pipeline`, `adain.adain_stylizer`) →
runtimes (here) → networks (`adain.encoder`, `adain.decoder`, `adain.onnx_graphs`). Modules imported
before this package existed (`adain.onnx_runtime`, ...) still import, with a DeprecationWarning naming
the new path (`adain._moved`).
"""
