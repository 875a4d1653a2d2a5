"""Make demo/examples/styles/: public-domain paintings people know, taken from the example folders of
public style-transfer repositories at fixed commits, resized for the page; and demo/examples/LICENSES.md.

    python scripts/make_demo_examples.py [--mirrors DIR]

DIR holds clones named OWNER+NAME (as the workplace's fetch tool writes them); a repository missing
there is cloned from GitHub into a temporary folder. The photos in demo/examples/content/ are
scikit-image's public-domain / CC0 samples (made once with `skimage.data`; see LICENSES.md).
"""

from __future__ import annotations

import argparse
import io
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

OUT = Path(__file__).resolve().parent.parent / "demo" / "examples"
LONG_SIDE = 512  # the demo's default output size: examples need no more, and the page loads fast
QUALITY = 88


@dataclass(frozen=True)
class Painting:
    file: str
    title: str
    artist: str
    year: str
    repo: str
    commit: str
    path: str
    repo_licence: str


PAINTINGS = (
    Painting("1_starry_night.jpg", "The Starry Night", "Vincent van Gogh", "1889", "jcjohnson/neural-style",
             "07c4b8299f8fbdafec0c514fc820ff1d7ff62e46", "examples/inputs/starry_night.jpg", "MIT"),
    Painting("2_great_wave.jpg", "The Great Wave off Kanagawa", "Katsushika Hokusai", "c. 1831",
             "lengstrom/fast-style-transfer", "0d3d981f7ab948253d355585bdbdfa914247b4d0", "examples/style/wave.jpg",
             "GPL-3.0"),
    Painting("3_the_scream.jpg", "The Scream", "Edvard Munch", "1893", "jcjohnson/neural-style",
             "07c4b8299f8fbdafec0c514fc820ff1d7ff62e46", "examples/inputs/the_scream.jpg", "MIT"),
    Painting("4_composition_vii.jpg", "Composition VII", "Wassily Kandinsky", "1913", "cysmith/neural-style-tf",
             "a2c374f9ee2938f0022e1e0b720f4eb28cf7d0a8", "styles/kandinsky.jpg", "GPL-3.0"),
    Painting("5_water_lilies.jpg", "Water Lilies", "Claude Monet", "1919", "titu1994/Neural-Style-Transfer",
             "d09334855211579ea1adb9ad04f09fc8a7573850", "images/inputs/style/water-lilies-1919-2.jpg", "Apache-2.0"),
    Painting("6_shipwreck.jpg", "The Shipwreck", "J. M. W. Turner", "1805", "jcjohnson/neural-style",
             "07c4b8299f8fbdafec0c514fc820ff1d7ff62e46", "examples/inputs/shipwreck.jpg", "MIT"),
    Painting("7_udnie.jpg", "Udnie (Young American Girl, The Dance)", "Francis Picabia", "1913",
             "lengstrom/fast-style-transfer", "0d3d981f7ab948253d355585bdbdfa914247b4d0", "examples/style/udnie.jpg",
             "GPL-3.0"),
)
PHOTOS = (
    ("1_astronaut.jpg", "scikit-image `data.astronaut()`: Eileen Collins, NASA", "public domain"),
    ("2_coffee.jpg", "scikit-image `data.coffee()`: Rachel Michetti", "CC0"),
    ("3_chelsea.jpg", "scikit-image `data.chelsea()`: Stéfan van der Walt", "CC0"),
)


def _blob(repo: str, commit: str, path: str, mirrors: Path, clones: dict[str, Path]) -> bytes:
    """A file of `repo` at `commit`, from a local clone (made once per repository when missing)."""
    if repo not in clones:
        local = mirrors / repo.replace("/", "+")
        local = next((p for p in (local / "repo", local / "repo" / ".git", local) if (p / "HEAD").exists()
                      or (p / ".git").exists()), None)
        if local is None:
            local = Path(tempfile.mkdtemp()) / repo.replace("/", "+")
            subprocess.run(["git", "clone", "-q", "--filter=blob:none", f"https://github.com/{repo}", str(local)],
                           check=True)
        clones[repo] = local
    return subprocess.run(["git", "-C", str(clones[repo]), "show", f"{commit}:{path}"], check=True,
                          capture_output=True).stdout


def licences_markdown() -> str:
    """demo/examples/LICENSES.md, from the tables above (one source of truth)."""
    lines = ["# Example images", "",
             "Paintings: public-domain works (their artists died more than 70 years ago; all were published before",
             "1929), reproduced as 2-D photographs, which add no copyright of their own in the US (Bridgeman v. Corel)",
             "and under Wikimedia Commons' policy. Each file was taken from a public style-transfer repository at the",
             f"commit given and resized to {LONG_SIDE} px on the long side by `scripts/make_demo_examples.py`.", "",
             "| file | painting | source (repository @ commit : path) | repository licence |", "| --- | --- | --- | --- |"]
    for p in PAINTINGS:
        lines.append(f"| `styles/{p.file}` | {p.artist}, *{p.title}*, {p.year} | {p.repo} @ {p.commit[:10]} : "
                     f"`{p.path}` | {p.repo_licence} (the painting itself: public domain) |")
    lines += ["", "| file | origin | licence |", "| --- | --- | --- |"]
    lines += [f"| `content/{f}` | {origin} | {licence} |" for f, origin, licence in PHOTOS]
    lines += ["", "Honest examples: six of the seven paintings are also among the training styles of the shipped",
              "decoder (`../shared/train_data`, research use; none of its files is shipped); Turner's *The Shipwreck*",
              "is not. The held-out pairs of `weights/MODEL_CARD.md` show unseen styles.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"), help="folder of OWNER+NAME clones")
    args = parser.parse_args()
    styles = OUT / "styles"
    styles.mkdir(parents=True, exist_ok=True)
    for old in styles.iterdir():
        old.unlink()
    clones: dict[str, Path] = {}
    for p in PAINTINGS:
        img = Image.open(io.BytesIO(_blob(p.repo, p.commit, p.path, args.mirrors, clones))).convert("RGB")
        img.thumbnail((LONG_SIDE, LONG_SIDE), Image.LANCZOS)
        img.save(styles / p.file, quality=QUALITY, optimize=True)
        print(f"{p.file}: {img.size[0]}x{img.size[1]}, {(styles / p.file).stat().st_size // 1024} KB")
    (OUT / "LICENSES.md").write_text(licences_markdown())


if __name__ == "__main__":
    main()
