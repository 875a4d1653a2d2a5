"""What a benchmark ran on, recorded next to every result."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import time
from pathlib import Path


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    import keras

    from adain.cpu import cpu_flags

    matrix_flags = sorted(f for f in cpu_flags() if f.startswith(("avx", "amx", "fma")))  # what kernels can use
    return {"cpu": cpu, "cpu_flags": matrix_flags, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(),
            "keras": keras.__version__, "backend": keras.backend.backend(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def save_result(name: str, result: dict) -> Path:
    """Write a benchmark's result to bench/results/`name` (JSON) and say so."""
    out = Path(__file__).resolve().parent / "results" / name
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")
    return out


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed_process(cmd: list[str], runs: int = 3) -> dict:
    """Median wall seconds and the largest peak RSS (MiB) of `runs` fresh processes of `cmd` (os.wait4:
    each process's own peak)."""
    walls, peaks = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        _, status, usage = os.wait4(proc.pid, 0)
        walls.append(time.perf_counter() - t0)
        peaks.append(usage.ru_maxrss / 1024)
        if status:
            raise RuntimeError(f"{' '.join(cmd)} failed ({status})")
    return {"wall_s": round(statistics.median(walls), 2), "peak_rss_mib": round(max(peaks))}
