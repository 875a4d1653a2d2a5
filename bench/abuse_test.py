"""Loopback abuse test of the demo: impatient and careless users, bounded in count and time.

    python bench/abuse_test.py [--rounds 5] [--fast-clients 3] [--fast-requests 6]   # writes bench/results/abuse.json

On a free 127.0.0.1 port, with its own temporary folder, while the server's threads, memory and CPU are
sampled every half second:
1. after a fast job with each upload and a cancelled classic job (the baseline: a warm server), fast
   jobs alone from the same number of clients;
2. at the same time: classic jobs submitted and cancelled `--rounds` times, classic jobs whose client
   process is killed mid-job (a closed tab), and fast jobs from several clients with realistic uploads
   (a 12-megapixel phone JPEG, a PNG with alpha, an animated GIF);
3. how long the server takes to fall back to idle after the last cancel, and its threads and memory then.
Every request loop is bounded; the whole run stops by itself.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench")]
from demo_server import demo_server, folder_mib, proc_status, seconds_to_idle  # noqa: E402
from machine import machine  # noqa: E402

STYLE = ROOT / "demo" / "examples" / "styles" / "1_starry_night.jpg"
COLOURS = "Use the style's colours"
CLASSIC = (200, COLOURS, 256)  # steps, colours, size: minutes of work unless stopped
UPLOADS = ("phone_12mp.jpg", "alpha.png", "animated.gif")  # what the fast clients send, in turn


def make_uploads(folder: Path) -> dict[str, Path]:
    """A 12-MP phone-like JPEG, a PNG with an alpha channel, a 3-frame animated GIF, a 256² classic input."""
    rng = np.random.default_rng(0)
    h, w = 3000, 4000
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    phone = np.stack([x / w * 255, y / h * 255, 128 + 60 * np.sin(x / 90) * np.cos(y / 70)], -1)
    phone += rng.normal(0, 12, phone.shape)
    paths = {"phone_12mp.jpg": folder / "phone_12mp.jpg", "alpha.png": folder / "alpha.png",
             "animated.gif": folder / "animated.gif", "classic.png": folder / "classic.png"}
    Image.fromarray(np.clip(phone, 0, 255).astype(np.uint8)).save(paths["phone_12mp.jpg"], quality=92)
    rgba = np.concatenate([np.clip(phone[:600, :800], 0, 255), np.tile(np.linspace(0, 255, 800), (600, 1))[..., None]], -1)
    Image.fromarray(rgba.astype(np.uint8), "RGBA").save(paths["alpha.png"])
    frames = [Image.fromarray(np.roll(phone[:300, :400], 40 * i, axis=1).clip(0, 255).astype(np.uint8)) for i in range(3)]
    frames[0].save(paths["animated.gif"], save_all=True, append_images=frames[1:], duration=100, loop=0)
    Image.fromarray(np.clip(phone[:256, :256], 0, 255).astype(np.uint8)).save(paths["classic.png"])
    return paths


class Sampler(threading.Thread):
    """The server's threads, RSS and CPU every `every` seconds, with a label of the phase."""

    def __init__(self, pid: int, every: float = 0.5):
        super().__init__(daemon=True)
        self.pid, self.every, self.phase, self.rows = pid, every, "idle", []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.rows.append({"t": time.time(), "phase": self.phase, **proc_status(self.pid)})
            time.sleep(self.every)

    def summary(self, phase: str) -> dict:
        rows = [r for r in self.rows if r["phase"] == phase]
        if len(rows) < 2:
            return {}
        span = rows[-1]["t"] - rows[0]["t"]
        return {"threads_max": max(r["threads"] for r in rows), "rss_mib_max": max(r["rss_mib"] for r in rows),
                "cpu_cores_mean": round((rows[-1]["cpu_s"] - rows[0]["cpu_s"]) / span, 2) if span else None}


def wait_running(job, timeout: float = 120) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        progress = job.status().progress_data
        if progress and (progress[0].desc or "").startswith("step "):
            return True
        time.sleep(0.3)
    return False


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    arr = np.array(values)
    return {"n": len(values), "p50_s": round(float(np.percentile(arr, 50)), 2),
            "p95_s": round(float(np.percentile(arr, 95)), 2), "max_s": round(float(arr.max()), 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5, help="classic submit-and-cancel rounds")
    parser.add_argument("--disconnects", type=int, default=2, help="classic jobs whose client is killed mid-job")
    parser.add_argument("--fast-clients", type=int, default=3)
    parser.add_argument("--fast-requests", type=int, default=6, help="per client while classic jobs run")
    parser.add_argument("--note", default="", help="recorded with the result (e.g. what else ran)")
    args = parser.parse_args()
    from gradio_client import Client, handle_file

    work = Path(tempfile.mkdtemp(prefix="adain-abuse-"))
    uploads = make_uploads(work)
    gradio_tmp = work / "gradio"
    failures: list[str] = []
    lock = threading.Lock()

    def fail(what: str, exc: Exception) -> None:
        with lock:
            failures.append(f"{what}: {exc!r}"[:240])

    with demo_server({"GRADIO_TEMP_DIR": str(gradio_tmp)}) as (url, server):
        fast_args = lambda name, size=512: (handle_file(str(uploads[name])), handle_file(str(STYLE)),  # noqa: E731
                                            0.8, COLOURS, size, None, 0.5)
        client = Client(url, verbose=False)
        for name in UPLOADS:  # warm up both modes: the baseline is the server with its caches for these sizes
            client.predict(*fast_args(name), api_name="/stylize")
        warm = client.submit(handle_file(str(uploads["classic.png"])), handle_file(str(STYLE)), *CLASSIC,
                             api_name="/optimize")
        wait_running(warm)
        warm.cancel()
        seconds_to_idle(server.pid)
        baseline = proc_status(server.pid)
        sampler = Sampler(server.pid)
        sampler.start()

        def fast_loop(latencies: list, count: int) -> None:
            c = Client(url, verbose=False)
            for i in range(count):
                t0 = time.perf_counter()
                try:
                    c.predict(*fast_args(UPLOADS[i % len(UPLOADS)]), api_name="/stylize")
                    with lock:
                        latencies.append(time.perf_counter() - t0)
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    fail("fast", exc)

        sampler.phase = "fast alone"
        alone: list[float] = []
        loops = [threading.Thread(target=fast_loop, args=(alone, 2), daemon=True) for _ in range(args.fast_clients)]
        for t in loops:
            t.start()
        for t in loops:
            t.join(timeout=300)

        sampler.phase = "abuse"
        cancels = {"cancelled": 0, "disconnected": 0}

        def classic_abuse() -> None:
            c = Client(url, verbose=False)
            for _ in range(args.rounds):
                try:
                    job = c.submit(handle_file(str(uploads["classic.png"])), handle_file(str(STYLE)), *CLASSIC,
                                   api_name="/optimize")
                    if not wait_running(job):
                        raise TimeoutError("classic job never started")
                    time.sleep(3)
                    job.cancel()
                    cancels["cancelled"] += 1
                except Exception as exc:  # noqa: BLE001
                    fail("classic cancel", exc)
            script = (f"import time\nfrom gradio_client import Client, handle_file\n"
                      f"c = Client({url!r}, verbose=False)\n"
                      f"job = c.submit(handle_file({str(uploads['classic.png'])!r}), handle_file({str(STYLE)!r}), "
                      f"*{CLASSIC!r}, api_name='/optimize')\n"
                      f"while not (job.status().progress_data or [None])[0]: time.sleep(0.3)\n"
                      f"print('running', flush=True)\ntime.sleep(600)\n")
            for _ in range(args.disconnects):
                child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
                try:
                    if child.stdout.readline().strip() == "running":
                        time.sleep(3)
                        cancels["disconnected"] += 1
                    else:
                        fail("classic disconnect", RuntimeError("the job did not start"))
                finally:
                    child.kill()
                    child.wait()

        during: list[float] = []
        threads = [threading.Thread(target=classic_abuse, daemon=True)]
        threads += [threading.Thread(target=fast_loop, args=(during, args.fast_requests), daemon=True)
                    for _ in range(args.fast_clients)]
        start = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=max(1.0, 900 - (time.time() - start)))
        last_cancel = time.time()
        sampler.phase = "after"
        idle_after = seconds_to_idle(server.pid)
        time.sleep(2)
        after = proc_status(server.pid)
        sampler.stop.set()
        sampler.join()
        result = {
            "machine": machine(), "note": args.note,
            "requests": {"fast_alone": 2 * args.fast_clients, "fast_during_abuse": args.fast_clients * args.fast_requests,
                         "classic_cancelled": cancels["cancelled"], "classic_disconnected": cancels["disconnected"]},
            "failures": len(failures), "failure_examples": failures[:5],
            "fast_latency_alone": percentiles(alone), "fast_latency_during_abuse": percentiles(during),
            "uploads": {name: f"{Image.open(p).size[0]}x{Image.open(p).size[1]}, {p.stat().st_size / 2**20:.1f} MiB"
                        for name, p in uploads.items()},
            "server_before": {k: baseline[k] for k in ("threads", "rss_mib")},
            "server_during": sampler.summary("abuse"),
            "seconds_to_idle_after_last_cancel": idle_after,
            "server_after": {k: after[k] for k in ("threads", "rss_mib", "peak_rss_mib")},
            "abuse_wall_s": round(last_cancel - start, 1),
            "temp_mib": {"gradio_cache": folder_mib(gradio_tmp),
                         "demo_results": folder_mib(Path(tempfile.gettempdir()) / "adain-demo")},
        }
    print(json.dumps(result, indent=1))
    (ROOT / "bench" / "results" / "abuse.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
