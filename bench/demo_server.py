"""The demo as a subprocess on a free loopback port, and what /proc says about it (for the bench scripts)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def demo_server(env: dict | None = None, start_timeout: float = 180, log: Path | None = None,
                app: Path = ROOT / "demo" / "app.py", python: str = sys.executable,
                args: tuple[str, ...] = ()) -> Iterator[tuple[str, subprocess.Popen]]:
    """(url, process) of `app` (the repository's demo, or a built Space's app.py run from its folder with
    another environment's `python`, with command-line `args`) serving on 127.0.0.1 until the block ends;
    its output goes to `log`."""
    port = free_port()
    full_env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
                "GRADIO_ANALYTICS_ENABLED": "False", "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    out = open(log, "w") if log else subprocess.DEVNULL
    server = subprocess.Popen([python, str(app), *args], env=full_env, stdout=out, stderr=subprocess.STDOUT,
                              cwd=Path(app).parent)
    try:
        deadline = time.time() + start_timeout
        while True:  # ready when the page mounted last answers: Gradio accepts connections before that
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/browser/", timeout=5).close()
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError(f"the demo did not start (log: {log})") from None
                time.sleep(1)
        yield f"http://127.0.0.1:{port}/", server
    finally:
        server.terminate()
        server.wait(timeout=30)
        if log:
            out.close()


def proc_status(pid: int) -> dict:
    """Threads, resident and peak memory (MiB) and CPU seconds used so far of a process."""
    status = dict(ln.split(":", 1) for ln in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in ln)
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return {"threads": int(status["Threads"]), "rss_mib": round(int(status["VmRSS"].split()[0]) / 1024, 1),
            "peak_rss_mib": round(int(status["VmHWM"].split()[0]) / 1024, 1),
            "cpu_s": (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")}


def folder_mib(path: Path) -> float:
    """Size of the files under `path` (0 when it does not exist)."""
    return round(sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) / 2**20, 2)


def seconds_to_idle(pid: int, limit: float = 30.0, below: float = 0.2) -> float | None:
    """Seconds until the server spends a whole second using less than `below` of a core."""
    start = time.time()
    while time.time() - start < limit:
        before = proc_status(pid)["cpu_s"]
        time.sleep(1.0)
        if proc_status(pid)["cpu_s"] - before < below:
            return round(time.time() - start, 1)
    return None
