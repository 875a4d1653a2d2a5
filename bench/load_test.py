"""Bounded load test of the demo on 127.0.0.1: N clients x M requests through gradio_client.

    python bench/load_test.py [--clients 20] [--requests 5]   # writes bench/results/load_test.json

Starts the demo on a free loopback port, sends small images (so the queue, not the model, is what
is measured), stops by itself, and reports failures, throughput, p50/p95 latency and the server's
peak memory (VmHWM) before and after.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench")]
from demo_server import demo_server, proc_status  # noqa: E402
from machine import machine  # noqa: E402

CONTENT = ROOT / "tests" / "fixtures" / "content.png"
STYLE = ROOT / "tests" / "fixtures" / "style.png"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=600, help="stop waiting after this many seconds")
    parser.add_argument("--note", default="", help="recorded with the result (e.g. what else ran)")
    args = parser.parse_args()
    from gradio_client import Client, handle_file

    with demo_server() as (url, server):
        warm = Client(url, verbose=False)
        warm.predict(handle_file(str(CONTENT)), handle_file(str(STYLE)), 1.0, "Use the style's colours", 128, None, 0.5,
                     api_name="/stylize")
        rss_before = proc_status(server.pid)["peak_rss_mib"]
        latencies, failures = [], []
        lock = threading.Lock()

        def client_loop():
            c = Client(url, verbose=False)
            for _ in range(args.requests):
                t0 = time.perf_counter()
                try:
                    c.predict(handle_file(str(CONTENT)), handle_file(str(STYLE)), 0.8, "Use the style's colours", 128,
                              None, 0.5, api_name="/stylize")
                    with lock:
                        latencies.append(time.perf_counter() - t0)
                except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
                    with lock:
                        failures.append(repr(exc)[:200])

        threads = [threading.Thread(target=client_loop, daemon=True) for _ in range(args.clients)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=max(1.0, args.timeout - (time.perf_counter() - start)))
        wall = time.perf_counter() - start
        lat = np.array(latencies)
        result = {"machine": machine(), "clients": args.clients, "requests_each": args.requests,
                  "completed": len(latencies), "failed": len(failures), "failures": failures[:5],
                  "wall_s": round(wall, 1), "throughput_rps": round(len(latencies) / wall, 2),
                  "latency_p50_s": round(float(np.percentile(lat, 50)), 2) if lat.size else None,
                  "latency_p95_s": round(float(np.percentile(lat, 95)), 2) if lat.size else None,
                  "server_peak_rss_mib_after_warmup": rss_before,
                  "server_peak_rss_mib_after_load": proc_status(server.pid)["peak_rss_mib"],
                  "image": "96x96 content, 96x96 style, output 96x96; queue concurrency 1", "note": args.note}
    print(json.dumps(result, indent=1))
    out = ROOT / "bench" / "results" / "load_test.json"
    out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
