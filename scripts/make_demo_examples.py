"""Make demo/examples/: procedural 'paintings' drawn here, and public-domain/CC0 photos from scikit-image.

    pip install scikit-image && python scripts/make_demo_examples.py

Everything written is free to redistribute (see demo/examples/LICENSES.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from make_fixtures import draw_style

OUT = Path(__file__).resolve().parent.parent / "demo" / "examples"
SIZE = 384


def waves() -> Image.Image:
    """Swirling bands of blue, teal and cream, in the spirit of a Van Gogh sky."""
    y, x = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    phase = 10 * x + 3 * np.sin(6 * y + 4 * np.sin(5 * x)) + 2 * np.sin(9 * y)
    t = (np.sin(phase) + 1) / 2
    palette = np.array([[20, 40, 110], [40, 120, 170], [240, 220, 150], [230, 170, 40]], float)
    idx = t * (len(palette) - 1)
    lo = np.floor(idx).astype(int).clip(0, len(palette) - 2)
    frac = (idx - lo)[..., None]
    rgb = palette[lo] * (1 - frac) + palette[lo + 1] * frac
    rgb += np.random.default_rng(3).normal(0, 12, rgb.shape)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1))


def mosaic() -> Image.Image:
    """Voronoi tiles in warm colours with dark grout, like a Byzantine mosaic."""
    rng = np.random.default_rng(5)
    seeds = rng.uniform(0, SIZE, (260, 2))
    colours = rng.choice(np.array([[200, 150, 40], [160, 50, 30], [230, 200, 120], [60, 90, 140], [240, 235, 210]]), 260)
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    d = (x[..., None] - seeds[:, 0]) ** 2 + (y[..., None] - seeds[:, 1]) ** 2
    order = np.argsort(d, axis=-1)
    nearest, second = order[..., 0], order[..., 1]
    gap = np.sqrt(np.take_along_axis(d, second[..., None], -1)) - np.sqrt(np.take_along_axis(d, nearest[..., None], -1))
    rgb = colours[nearest].astype(float)
    rgb[gap[..., 0] < 2.5] = [35, 30, 30]
    return Image.fromarray(rgb.astype(np.uint8))


def ink() -> Image.Image:
    """Dark ink blots and hatching on cream paper."""
    rng = np.random.default_rng(11)
    img = Image.new("RGB", (SIZE, SIZE), (238, 228, 205))
    d = ImageDraw.Draw(img)
    for _ in range(40):
        x, y, r = rng.uniform(0, SIZE), rng.uniform(0, SIZE), rng.uniform(4, 30)
        d.ellipse([x - r, y - r, x + r, y + r], fill=(25, 25, 35))
    for _ in range(120):
        x, y = rng.uniform(0, SIZE, 2)
        d.line([(x, y), (x + 25, y - 25)], fill=(60, 55, 60), width=2)
    return img.filter(ImageFilter.GaussianBlur(1.2))


def main() -> None:
    from skimage import data

    (OUT / "styles").mkdir(parents=True, exist_ok=True)
    (OUT / "content").mkdir(parents=True, exist_ok=True)
    draw_style(SIZE, seed=7).save(OUT / "styles" / "1_strokes.png")
    waves().save(OUT / "styles" / "2_waves.png")
    mosaic().save(OUT / "styles" / "3_mosaic.png")
    ink().save(OUT / "styles" / "4_ink.png")
    for i, name in enumerate(("astronaut", "coffee", "chelsea")):
        img = Image.fromarray(getattr(data, name)())
        img.thumbnail((512, 512))
        img.save(OUT / "content" / f"{i + 1}_{name}.jpg", quality=92)


if __name__ == "__main__":
    main()
