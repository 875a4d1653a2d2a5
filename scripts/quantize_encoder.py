"""Make weights/vgg19_int8.onnx: the shipped VGG19 encoder (to relu4_1, normalised) with int8
weights and activations, for `Stylizer.load(runtime="onnx-int8")`. Run once; the result is committed
(then scripts/export_onnx_graphs.py, whose one-pass graph reads its weights).

    python scripts/quantize_encoder.py --content ../shared/train_data/content --style ../shared/train_data/style [--multilevel]

--multilevel: the graph also outputs relu1_1, relu2_1 and relu3_1 (what a multi-level decoder reads).

Static QDQ quantization by `adain.onnx_graphs.quantize` of `adain.onnx_graphs.encoder_graph`, calibrated
on photos and paintings at 256 px.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adain.data import center_crop, list_images  # noqa: E402
from adain.image_io import load_image  # noqa: E402
from adain.onnx_graphs import IMAGE, encoder_graph, quantize  # noqa: E402
from adain.runtimes.onnx import INT8_ENCODER  # noqa: E402
from adain.vgg_spec import CONTENT_LAYER, STYLE_LAYERS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content", required=True)
    parser.add_argument("--style", required=True)
    parser.add_argument("--count", type=int, default=32, help="calibration images from each folder")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--out", type=Path, default=INT8_ENCODER)
    parser.add_argument("--multilevel", action="store_true", help="output relu1_1..relu4_1, not relu4_1 alone")
    args = parser.parse_args()

    from onnxruntime.quantization import CalibrationDataReader

    files = []
    for folder in (args.content, args.style):
        found = list_images(folder)
        files += [found[i] for i in np.linspace(0, len(found) - 1, args.count).astype(int)]

    class Reader(CalibrationDataReader):
        def __init__(self, name: str):
            self.name, self.files = name, iter(files)

        def get_next(self):
            path = next(self.files, None)
            return None if path is None else {self.name: center_crop(load_image(path), args.size)[None]}

    quantize(encoder_graph(STYLE_LAYERS if args.multilevel else (CONTENT_LAYER,)), Reader(IMAGE), args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 2**20:.1f} MiB) from {len(files)} calibration images")


if __name__ == "__main__":
    main()
