"""Compute weights/vgg19_channel_means.npz: each VGG19 tap's mean activation per channel (run once).

Dividing a tap by these means gives the "normalised VGG" of Gatys et al. (2016), the network the
original AdaIN was trained with: every channel has mean activation 1, so the style loss weighs
relu1_1 (colour) as much as relu4_1 (texture) and the paper's style weight of 10 means the same
thing here. ReLU is positively homogeneous, so this is exact, not an approximation.

    python scripts/compute_vgg_channel_means.py ../shared/train_data/content ../shared/train_data/style
"""

from __future__ import annotations

import argparse

import numpy as np

from adain.data import center_crop, list_images
from adain.encoder import CHANNEL_MEANS_PATH, build_encoder
from adain.image_io import load_image
from adain.vgg_spec import RELU_LAYERS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--per-folder", type=int, default=200)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    encoder = build_encoder(tuple(RELU_LAYERS), normalize=False)
    sums: dict[str, np.ndarray] = {}
    count = 0
    for folder in args.folders:
        files = list_images(folder)
        picks = np.random.default_rng(0).choice(len(files), min(args.per_folder, len(files)), replace=False)
        for i in picks:
            feats = encoder(center_crop(load_image(files[i]), args.size)[None])
            for name, f in feats.items():
                sums[name] = sums.get(name, 0) + np.asarray(f).mean(axis=(0, 1, 2))
            count += 1
    means = {name: (s / count).astype(np.float32) for name, s in sums.items()}
    np.savez(CHANNEL_MEANS_PATH, **means)
    for name, m in means.items():
        print(f"{name}: median {np.median(m):.2f}, min {m.min():.3f}, max {m.max():.1f} over {count} images")


if __name__ == "__main__":
    main()
