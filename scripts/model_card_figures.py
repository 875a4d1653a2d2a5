"""Refresh the model card's example figure and quality table for the shipped decoder.

    python scripts/model_card_figures.py [--decoder weights/decoder.npz]

Writes weights/examples_grid.jpg (rows: the demo's example pairs; columns: content, style, α = 1,
α = 0.6) and prints the Markdown rows of the card's tables: validation (from the committed checkpoint's
weights/training/val*.csv) and "Quality" (`adain evaluate --size 256` on the demo pairs).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from PIL import Image

from adain.evaluate import score_files
from adain.stylizer import Stylizer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "demo" / "examples"
PAIRS = [("1_astronaut.jpg", "2_waves.png"), ("1_astronaut.jpg", "1_strokes.png"),
         ("2_coffee.jpg", "3_mosaic.png"), ("3_chelsea.jpg", "4_ink.png")]
THUMB = 192


def _name(file: str) -> str:
    return Path(file).stem.split("_", 1)[1]


def print_validation_tables() -> None:
    for path in sorted((ROOT / "weights" / "training").glob("val*.csv")):
        print(f"\n{path.relative_to(ROOT)}:")
        print("| step | content loss | style loss | total (content + 10·style) |\n| --- | --- | --- | --- |")
        with path.open() as f:
            for row in csv.DictReader(f):
                print(f"| {row['step']} | {float(row['content_loss']):.3f} | {float(row['style_loss']):.3f} "
                      f"| {float(row['total_loss']):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decoder", type=Path, default=None, help="default: the shipped decoder")
    args = parser.parse_args()

    stylizer = Stylizer.load(args.decoder)
    grid = Image.new("RGB", (4 * THUMB, len(PAIRS) * THUMB), "white")
    for r, (content, style) in enumerate(PAIRS):
        c, s = EXAMPLES / "content" / content, EXAMPLES / "styles" / style
        cells = [Image.open(c), Image.open(s)] + [stylizer.stylize(c, s, alpha=a, max_size=384) for a in (1.0, 0.6)]
        for col, img in enumerate(cells):
            img = img.convert("RGB")
            img.thumbnail((THUMB, THUMB), Image.LANCZOS)
            grid.paste(img, (col * THUMB + (THUMB - img.width) // 2, r * THUMB + (THUMB - img.height) // 2))
    grid.save(ROOT / "weights" / "examples_grid.jpg", quality=88)

    print_validation_tables()
    print("\nQuality:")
    rows = score_files([f"{EXAMPLES / 'content' / c}:{EXAMPLES / 'styles' / s}" for c, s in PAIRS], args.decoder, 256)
    for (c, s), row in zip(PAIRS, rows):
        print(f"| {_name(c)} × {_name(s)} | {row['content_loss']:.2f} ({row['style_image_content_loss']:.2f}) "
              f"| {row['style_loss']:.2f} ({row['content_image_style_loss']:.2f}) |")


if __name__ == "__main__":
    main()
