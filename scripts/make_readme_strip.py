"""The README's strip of results, made from the shipped weights so it stays true: a photo, four of the
demo's example paintings, and the photo painted in each (Stylizer.load(), the default runtime, 512 px).

    python scripts/make_readme_strip.py     # -> docs/strip.jpg
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "demo" / "examples"
PHOTO = "content/2_coffee.jpg"
PAINTINGS = ("styles/1_starry_night.jpg", "styles/2_great_wave.jpg", "styles/4_composition_vii.jpg", "styles/7_udnie.jpg")
CELL = 220  # px of each cell's long side
INSET = 0.36  # the painting's size in its result's corner, as a fraction of the cell


def strip() -> Image.Image:
    """One row: the photo, then each painting's result with the painting inset in its corner."""
    sys.path.insert(0, str(ROOT))
    from adain import Stylizer

    stylizer = Stylizer.load()
    photo = Image.open(EXAMPLES / PHOTO).convert("RGB")
    cells = [ImageOps.fit(photo, (CELL, CELL), Image.LANCZOS)]
    for name in PAINTINGS:
        painting = Image.open(EXAMPLES / name).convert("RGB")
        cell = ImageOps.fit(stylizer.stylize(photo, painting, max_size=512), (CELL, CELL), Image.LANCZOS)
        inset = ImageOps.fit(painting, (round(CELL * INSET), round(CELL * INSET)), Image.LANCZOS)
        cell.paste(ImageOps.expand(inset, border=2, fill="white"), (CELL - inset.width - 6, CELL - inset.height - 6))
        cells.append(cell)
    gap = 6
    out = Image.new("RGB", (len(cells) * (CELL + gap) - gap, CELL), "white")
    for i, cell in enumerate(cells):
        out.paste(cell, (i * (CELL + gap), 0))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "strip.jpg")
    args = parser.parse_args()
    strip().save(args.out, quality=88, optimize=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
