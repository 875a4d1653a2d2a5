"""Refresh the model card's example figures and quality table for the shipped decoder.

    python scripts/model_card_figures.py [--decoder weights/decoder.npz] [--compare weights/training_v2/best_decoder.npz]

Writes weights/examples_grid.jpg (rows: the demo's example pairs; columns: content, style, α = 1,
α = 0.6) and prints the Markdown rows of the card's tables: validation (from the committed checkpoints'
weights/training*/val*.csv) and "Quality" (`adain evaluate --size 256` on the demo pairs).
With --compare, also weights/compare_grid.jpg: held-out pairs (never trained on) at 512 px, full size,
columns content, style, the --compare decoder, this decoder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from adain.evaluate import score_files
from adain.image_io import image_grid
from adain.stylizer import Stylizer
from adain.train.logs import read_csv

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "demo" / "examples"
PAIRS = [("1_astronaut.jpg", "1_starry_night.jpg"), ("1_astronaut.jpg", "6_shipwreck.jpg"),
         ("2_coffee.jpg", "4_composition_vii.jpg"), ("3_chelsea.jpg", "2_great_wave.jpg")]
THUMB = 192
COMPARE_PAIRS = ((0, 0), (1, 6), (2, 2), (3, 5), (5, 3), (6, 1))  # (held-out content, held-out style) indices
COMPARE_SIZE = 512


def _name(file: str) -> str:
    return Path(file).stem.split("_", 1)[1]


def print_validation_tables() -> None:
    for path in sorted((ROOT / "weights").glob("training*/val*.csv")):
        val = read_csv(path)
        if "content_loss" not in val:  # val_full.csv: the 512-px validation (the model card's v3 table)
            continue
        print(f"\n{path.relative_to(ROOT)}:")
        print("| step | content loss | style loss | total (content + 10·style) |\n| --- | --- | --- | --- |")
        for step, lc, ls, total in zip(val["step"], val["content_loss"], val["style_loss"], val["total_loss"]):
            print(f"| {step:.0f} | {lc:.3f} | {ls:.3f} | {total:.2f} |")


def compare_grid(old: Path, new: Path | None, content_dir: str, style_dir: str) -> None:
    """weights/compare_grid.jpg: held-out pairs stylized by two decoders, side by side at full size."""
    from adain.data import held_out
    from adain.image_io import load_image

    contents, styles = held_out(content_dir, style_dir, 8)
    before, after = Stylizer.load(old, runtime="keras"), Stylizer.load(new, runtime="keras")
    rows = []
    for ci, si in COMPARE_PAIRS:
        c, s = load_image(contents[ci]), load_image(styles[si])
        rows.append([c, s] + [st.stylize(c, s, max_size=COMPARE_SIZE) for st in (before, after)])
    image_grid(rows, COMPARE_SIZE).save(ROOT / "weights" / "compare_grid.jpg", quality=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decoder", type=Path, default=None, help="default: the shipped decoder")
    parser.add_argument("--compare", type=Path, help="also draw weights/compare_grid.jpg against this decoder")
    parser.add_argument("--content", default=str(ROOT.parent / "shared" / "train_data" / "content"))
    parser.add_argument("--style", default=str(ROOT.parent / "shared" / "train_data" / "style"))
    args = parser.parse_args()
    if args.compare:
        compare_grid(args.compare, args.decoder, args.content, args.style)

    stylizer = Stylizer.load(args.decoder, runtime="keras")
    rows = []
    for content, style in PAIRS:
        c, s = EXAMPLES / "content" / content, EXAMPLES / "styles" / style
        rows.append([Image.open(c), Image.open(s)] + [stylizer.stylize(c, s, alpha=a, max_size=384) for a in (1.0, 0.6)])
    image_grid(rows, THUMB).save(ROOT / "weights" / "examples_grid.jpg", quality=88)

    print_validation_tables()
    print("\nQuality:")
    rows = score_files([f"{EXAMPLES / 'content' / c}:{EXAMPLES / 'styles' / s}" for c, s in PAIRS], args.decoder, 256)
    for (c, s), row in zip(PAIRS, rows):
        print(f"| {_name(c)} × {_name(s)} | {row['content_loss']:.2f} ({row['style_image_content_loss']:.2f}) "
              f"| {row['style_loss']:.2f} ({row['content_image_style_loss']:.2f}) |")


if __name__ == "__main__":
    main()
