"""Throughput of `adain stylize-dataset` (Ray Data) against a plain in-process loop of
`Stylizer.load().stylize` + save over the same files, same runtime and sizes; Ray's start-up apart.

    unshare -n sh -c 'ip link set lo up && python bench/bench_dataset.py'   # Ray binds loopback only there

The dataset: `--images` photos of the training folder (`--content`) and `--styles` paintings, one
output each (the plan's seeded assignment, so both sides stylize the same pairs), JPEG out. Each
configuration of workers x CPUs each runs on a fresh output folder. Steady rates leave out what
comes before the first output (loading the stylizers, the first compile): they are measured between
the first and the last output file written. The plain loop runs twice: with the style files as a plain
loop passes them, and with the styles encoded once as stylize-dataset does. Writes
bench/results/dataset.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from machine import machine, save_result  # noqa: E402


def steady_rate(out: Path) -> float:
    """Outputs per second between the first and the last output file written (their modification times)."""
    times = sorted(p.stat().st_mtime_ns for p in out.rglob("*-stylized-*"))
    return (len(times) - 1) / ((times[-1] - times[0]) / 1e9)


def plain_loop(content: Path, style: Path, out: Path, size: int, runtime: str | None, encoded: bool) -> dict:
    """Stylizer.load().stylize + save_image over the plan's pairs in one process, the styles given as
    files (what a plain loop does) or encoded once (`encoded`, what stylize-dataset does)."""
    from adain.dataset import Plan, _listing
    from adain.image_io import save_image
    from adain.stylizer import Stylizer

    plan = Plan(tuple(_listing(style)), fmt="jpg")
    t0 = time.perf_counter()
    stylizer = Stylizer.load(runtime=runtime)
    styles = {s: stylizer.encode_style(style / s) if encoded else style / s for s in plan.styles}
    count = 0
    for c in _listing(content):
        for row in plan.assign(c):
            (out / row["output"]).parent.mkdir(parents=True, exist_ok=True)
            save_image(stylizer.stylize(content / c, styles[row["style"]], max_size=size), out / row["output"])
            count += 1
    return {"images": count, "steady_images_per_s": round(steady_rate(out), 3),
            "overall_images_per_s": round(count / (time.perf_counter() - t0), 3), "runtime": type(stylizer).__name__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content", type=Path, default=ROOT.parent / "shared" / "train_data" / "content")
    parser.add_argument("--style", type=Path, default=ROOT.parent / "shared" / "train_data" / "style")
    parser.add_argument("--images", type=int, default=48)
    parser.add_argument("--styles", type=int, default=8)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--configs", nargs="+", default=["1x2", "2x1"], metavar="WORKERSxCPUS",
                        help="worker processes x CPUs each, to compare (the default of adain.dataset.CPUS_PER_WORKER "
                             "was chosen by this)")
    parser.add_argument("--runtime", help="as in adain stylize (default: the fastest installed)")
    parser.add_argument("--out", default="dataset.json", help="file name under bench/results")
    args = parser.parse_args()

    from adain.dataset import stylize_dataset

    work = Path(tempfile.mkdtemp(prefix="adain-bench-dataset-"))
    content, style = work / "content", work / "style"
    for src, dst, n in ((args.content, content, args.images), (args.style, style, args.styles)):
        dst.mkdir()
        for p in sorted(src.glob("*.jpg"))[:n]:
            shutil.copy(p, dst / p.name)
    result = {"machine": machine(), "images": args.images, "styles": args.styles, "runs": []}
    try:
        for size in args.sizes:
            loop = plain_loop(content, style, work / f"loop{size}", size, args.runtime, encoded=False)
            encoded = plain_loop(content, style, work / f"encoded{size}", size, args.runtime, encoded=True)
            print(f"{size} px plain loop: {loop}; styles encoded once: {encoded}", flush=True)
            for config in args.configs:
                n, cpus = map(int, config.split("x"))
                out = work / f"ray{size}-{config}"
                report = stylize_dataset(content, style, out, max_size=size, fmt="jpg",
                                         runtime=args.runtime, workers=n, cpus_per_worker=cpus, progress=False)
                steady = steady_rate(out)
                row = {"size": size, "workers": n, "cpus_per_worker": cpus, "plain_loop": loop,
                       "plain_loop_styles_encoded": encoded, "ray_startup_s": round(report.startup_s, 2),
                       "first_output_s": round(report.first_s, 2), "steady_images_per_s": round(steady, 3),
                       "overall_images_per_s": round(report.images_per_s, 3),
                       "vs_plain_loop_steady": round(steady / loop["steady_images_per_s"], 3),
                       "vs_encoded_loop_steady": round(steady / encoded["steady_images_per_s"], 3)}
                result["runs"].append(row)
                print(f"{size} px, {n} worker(s) x {cpus} CPU: {row}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    save_result(args.out, result)


if __name__ == "__main__":
    main()
