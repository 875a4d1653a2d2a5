"""Quality by the evaluate command's numbers on held-out content x style pairs: of each runtime with
the shipped decoder, or of several decoders (to compare training recipes).

    python bench/quality.py [--content DIR --style DIR]   # runtimes -> bench/results/quality.json
    python bench/quality.py --decoder a=runs/a/decoder.npz b=runs/b/decoder.npz --out recipes.json
    python bench/quality.py --full --decoder v2=weights/decoder.npz v3=runs/v3/best_decoder.npz --out full_size.json
    python bench/quality.py --full --test --decoder shipped=weights/decoder.npz --out test_set.json

The pairs are every held-out content image with every held-out style image of the training folders
(the validation split `adain train` never trains on, which selects the weights to ship), or with --test
every content with every style of the test set (`scripts/make_test_set.py`: never trained on, never used
for a decision; scored once per shipped decoder). Lower is better; the baselines are the content
image itself as output (style loss) and the style image as output (content loss).

--full scores whole pairs at 512 px (long side) instead (`adain.full_size`, the scale users see), with
each decoder's ratios to the first one's: the headline is "paper", the AdaIN paper's losses in their
unsquared form on raw VGG19 features (with the style's per-layer split); the squared losses on raw and
normalised features stand beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "scripts")]

from machine import machine, save_result  # noqa: E402
from make_test_set import DEFAULT_OUT as TEST_DATA  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content", default=str(ROOT.parent / "shared" / "train_data" / "content"))
    parser.add_argument("--style", default=str(ROOT.parent / "shared" / "train_data" / "style"))
    parser.add_argument("--count", type=int, default=8, help="held-out images of each folder")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--decoder", nargs="+", metavar="NAME=PATH", help="score these decoders (keras runtime)")
    parser.add_argument("--out", default="quality.json", help="file name under bench/results")
    parser.add_argument("--full", action="store_true", help="whole pairs at 512 px, raw and normalised VGG features")
    parser.add_argument("--test", nargs="?", const=str(TEST_DATA), metavar="DIR",
                        help=f"--full: score the test set (DIR/content x DIR/style, default {TEST_DATA}) instead of "
                             "the validation pairs")
    parser.add_argument("--styles", type=int, help="score only the first this many held-out styles (--full)")
    parser.add_argument("--grid", type=int, default=0, metavar="N",
                        help="--full: also write bench/results/<out>.jpg, N aligned pairs (rows) by decoder (columns)")
    parser.add_argument("--style-sizes", type=int, nargs="+", metavar="PX",
                        help="--full: score each decoder with the styles encoded at each of these long sides (rows NAME@PX)")
    args = parser.parse_args()
    if args.full:
        return full_size(args)

    from adain.data import held_out
    from adain.evaluate import PairScore, score_files, summarize
    from adain.stylizer import RUNTIMES

    contents, styles = held_out(args.content, args.style, args.count)
    pairs = [f"{c}:{s}" for c in contents for s in styles]
    if args.decoder:
        runs = {name: (path, "keras") for name, path in (d.split("=", 1) for d in args.decoder)}
    else:
        runs = {runtime: (None, runtime) for runtime in RUNTIMES}
    result = {"machine": machine(), "pairs": len(pairs), "size": args.size, "scores": {}}
    for name, (decoder, runtime) in runs.items():
        rows = score_files(pairs, decoder, size=args.size, runtime=runtime)
        result["scores"][name] = summarize([PairScore(r["content_loss"], r["style_loss"]) for r in rows])
        if decoder:
            result["scores"][name]["decoder"] = decoder
        print(name, result["scores"][name], flush=True)
    save_result(args.out, result)


def full_size(args: argparse.Namespace) -> None:
    """--full: decoders compared on whole held-out pairs at 512 px."""
    from adain.data import held_out
    from adain.decoder import load_decoder
    from adain.defaults import STYLE_SIZE
    from adain.full_size import FULL_SIZE, PAPER, SPACES, FullSizeValidator

    if args.test:
        from adain.data import list_images

        contents, styles = list_images(Path(args.test) / "content"), list_images(Path(args.test) / "style")
    else:
        contents, styles = held_out(args.content, args.style, args.count)
    validator = FullSizeValidator(contents, styles[:args.styles])
    result = {"machine": machine(), "split": "test" if args.test else "validation",
              "pairs": len(validator.contents) * len(validator.styles), "size": FULL_SIZE, "scores": {}}
    first, columns = None, []
    runs = [(name if size is None else f"{name}@{size}", path, size)
            for name, path in (d.split("=", 1) for d in args.decoder) for size in (args.style_sizes or [None])]
    for name, path, style_size in runs:
        scores = validator.score(load_decoder(path), keep=args.grid, style_size=style_size)
        columns.append(scores["outputs"])
        row = {"decoder": path, "style_size": style_size or STYLE_SIZE, **{space: scores[space] for space in (PAPER, *SPACES)}}
        first = first or row
        row["vs_first"] = {space: {k: round(v / first[space][k], 3) for k, v in row[space].items() if k != "per_layer"}
                           for space in (PAPER, *SPACES)}
        row["vs_first"][PAPER]["per_layer"] = {k: round(v / first[PAPER]["per_layer"][k], 3)
                                               for k, v in row[PAPER]["per_layer"].items()}
        result["scores"][name] = row
        print(name, json.dumps(row), flush=True)
    out = save_result(args.out, result)
    if args.grid:
        from adain.image_io import image_grid

        rows = zip(validator.contents[:args.grid], validator.styles[:args.grid], *columns)
        image_grid(list(rows), 256, gap=4).save(out.with_suffix(".jpg"), quality=88)
        print(f"wrote {out.with_suffix('.jpg')}")


if __name__ == "__main__":
    main()
