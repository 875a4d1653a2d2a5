"""Build the decoder's test set: content photos and paintings that no training run has seen and no
decision has used, from the example inputs of the reference AdaIN implementation.

    python scripts/make_test_set.py CHECKOUT [--out ../shared/test_data]

CHECKOUT is a copy of naoto0804/pytorch-AdaIN at commit 47950d0 (MIT; its input/ images come from the
original AdaIN, xunhuang1995/AdaIN-style): `git clone https://github.com/naoto0804/pytorch-AdaIN &&
git -C pytorch-AdaIN checkout 47950d0`. The files are copied byte for byte into OUT/content and
OUT/style with a SOURCES.csv (as ../shared/train_data has), and checked against the SHA-1s in
bench/test_set.csv, the set's definition in the repository (the images themselves stay out of it, as the
training images do: research use, no redistribution).

Left out: lenna.jpg (the Lena image: its use is discouraged and its rights are doubtful) and the two
`_cropped` styles (crops of woman_in_peasant_dress and mondrian, which are in). None of the files is a
resized copy of a training image: each one's 16x16 grey thumbnail correlates at most 0.91 with any
training or validation image's (an exact or resized copy gives above 0.98; measured when the set was made).

The test set is scored once per shipped decoder (`python bench/quality.py --full --test`), never during
training or to choose a recipe: validation (the held-out split of the training folders) does that.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFINITION = ROOT / "bench" / "test_set.csv"  # kind, file, sha1: the test set
DEFAULT_OUT = ROOT.parent / "shared" / "test_data"
SOURCE = "naoto0804/pytorch-AdaIN@47950d0"
LICENCE = "research use (the repository is MIT; the images come from the original AdaIN's examples)"


def build(checkout: Path, out: Path) -> None:
    """Copy the set's files from `checkout` to `out`, verified against bench/test_set.csv."""
    with DEFINITION.open(newline="") as f:
        rows = list(csv.DictReader(f))
    sources = []
    for row in rows:
        src = checkout / "input" / row["kind"] / row["file"]
        if not src.exists():
            raise SystemExit(f"{src} is missing: is {checkout} a checkout of {SOURCE}?")
        digest = hashlib.sha1(src.read_bytes()).hexdigest()
        if digest != row["sha1"]:
            raise SystemExit(f"{src}: SHA-1 {digest}, the test set's is {row['sha1']}")
        (out / row["kind"]).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, out / row["kind"] / row["file"])
        sources.append({"file": f"{row['kind']}/{row['file']}", "kind": row["kind"], "source": SOURCE,
                        "original_path": f"input/{row['kind']}/{row['file']}", "licence_note": LICENCE})
    with (out / "SOURCES.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(sources[0]))
        writer.writeheader()
        writer.writerows(sources)
    print(f"wrote {len(rows)} files to {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path, help=f"a checkout of {SOURCE}")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    build(args.checkout, args.out)


if __name__ == "__main__":
    main()
