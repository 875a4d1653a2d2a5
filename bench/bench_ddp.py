"""Training speed in one process and data-parallel under torchrun, as a user runs `adain train`.

    unshare -n sh -c 'ip link set lo up && python bench/bench_ddp.py'   # torchrun binds loopback only there
    python bench/bench_ddp.py --steps 8 --crop 64                       # quicker, coarser

Each configuration trains a fresh run of the shipped recipe's decoder (width 0.5, multi-level) on the
training folders for `--steps` steps of the same global batch, and reports the median step time of the
steps after the first two (log.csv's sec_per_step, rank 0's), steps/s and pairs/s: TensorFlow in one
process (the default trainer), the torch backend in one process, and the torch backend in N processes
under torchrun (PyTorch DDP, gloo on a CPU). Writes bench/results/train_ddp.json with the machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
DATA = ROOT.parent / "shared" / "train_data"
BIN = Path(sys.executable).parent


def _run(name: str, processes: int, backend: str, args: argparse.Namespace, out: Path) -> dict:
    """One configuration's step time; more than one process runs under torchrun."""
    from adain.train.logs import read_csv

    run = out / name
    train = [str(BIN / "adain"), "train", "--content", str(args.content), "--style", str(args.style), "--out", str(run),
             "--steps", str(args.steps), "--val-every", str(args.steps), "--batch", str(args.batch), "--crop", str(args.crop),
             "--width", "0.5", "--multilevel", "--sharp-crops", "--style-augment", "--checkpoint-minutes", "1000"]
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    launcher = [str(BIN / "torchrun"), "--standalone", f"--nproc-per-node={processes}", "--no-python"] if processes > 1 else []
    proc = subprocess.run([*launcher, *train], env=env, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{name} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    seconds = read_csv(run / "log.csv")["sec_per_step"][2:]
    step = statistics.median(seconds)
    result = {"backend": backend, "processes": processes,
              "sec_per_step": round(step, 3), "steps_per_s": round(1 / step, 3), "pairs_per_s": round(args.batch / step, 2)}
    print(f"{name:>24}: {result['sec_per_step']:.3f} s/step, {result['pairs_per_s']:.2f} pairs/s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content", type=Path, default=DATA / "content")
    parser.add_argument("--style", type=Path, default=DATA / "style")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch", type=int, default=8, help="the global batch")
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--processes", type=int, default=2, help="torchrun's processes on this machine")
    args = parser.parse_args()

    from machine import machine, save_result

    out = Path(tempfile.mkdtemp(prefix="bench_ddp_"))
    try:
        results = {"tensorflow, 1 process": _run("tf", 1, "tensorflow", args, out),
                   "torch, 1 process": _run("torch1", 1, "torch", args, out),
                   f"torch, {args.processes} processes (DDP)": _run("torchN", args.processes, "torch", args, out)}
    finally:
        shutil.rmtree(out, ignore_errors=True)
    save_result("train_ddp.json", {
        "machine": machine(), "recipe": {"width": 0.5, "multilevel": True, "batch": args.batch, "crop": args.crop,
                                         "precision": "auto", "steps": args.steps},
        "results": results,
        "gpu": "not measured: no GPU was lent in the session that wrote this (scripts/gpu_train.py takes the DDP path "
               "on a machine with several GPUs)",
    })


if __name__ == "__main__":
    main()
