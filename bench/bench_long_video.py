"""A long clip streamed through `adain stylize`: the memory, the sound, the frame count and the duration
(issue #33's bar: a 10-minute 1080p clip at 512 px under 1.5 GB peak RSS, sound and length kept).

    python bench/bench_long_video.py [--minutes 10] [--fps 24]   # -> bench/results/long_video.json

The clip is the video tests' own (tests/clips.py: ffmpeg's moving test pattern with a 440 Hz tone, H.264
and AAC), made in a temporary folder. The peak RSS is sampled every half second over the whole process
tree: the adain process and the ffmpeg processes that decode and encode for it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "tests")]

from clips import clip_meta, make_clip  # noqa: E402
from machine import machine, save_result  # noqa: E402

STYLE = ROOT / "demo" / "examples" / "styles" / "1_starry_night.jpg"
LIMIT_MIB = 1536  # the bar


def tree_rss_mib(pid: int) -> float:
    """The resident memory of a process and all its descendants (Linux /proc), MiB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration):  # gone meanwhile, or a zombie
            continue
    return total / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--fps", type=int, default=24)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--max-size", type=int, default=512)
    parser.add_argument("--temporal", default=None, help="as adain stylize's (default: its default)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        clip, out = Path(tmp) / "clip.mp4", Path(tmp) / "out.mp4"
        t0 = time.perf_counter()
        make_clip(clip, args.minutes * 60, args.fps, args.size)
        made_s = time.perf_counter() - t0
        source = clip_meta(clip)
        print(f"made {clip.name}: {source['frames']} frames, {source['seconds']:.1f} s, {source['size']} in {made_s:.0f} s", flush=True)
        cmd = [sys.executable, "-m", "adain.cli", "stylize", str(clip), str(STYLE), "-o", str(out),
               "--max-size", str(args.max_size), *(["--temporal", args.temporal] if args.temporal else [])]
        log = Path(tmp) / "stderr.txt"  # the progress bar's; a pipe would fill and stop the command
        t0, peak = time.perf_counter(), 0.0
        with log.open("wb") as stderr:
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr, cwd=ROOT,
                                    env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
            while proc.poll() is None:
                peak = max(peak, tree_rss_mib(proc.pid))
                time.sleep(0.5)
        seconds = time.perf_counter() - t0
        if proc.returncode:
            raise SystemExit(f"adain stylize failed ({proc.returncode}): {log.read_text(errors='replace')[-2000:]}")
        result = clip_meta(out)
    row = {"machine": machine(), "command": " ".join(["adain", *cmd[3:]]), "input": {
               "size": source["size"], "fps": source["fps"], "frames": source["frames"], "seconds": round(source["seconds"], 2),
               "audio": source.get("audio_codec")},
           "output": {"size": result["size"], "fps": result["fps"], "frames": result["frames"],
                      "seconds": round(result["seconds"], 2), "audio": result.get("audio_codec")},
           "wall_s": round(seconds, 1), "frames_per_s": round(result["frames"] / seconds, 2),
           "peak_rss_mib_tree": round(peak), "limit_mib": LIMIT_MIB}
    row["bar_met"] = bool(row["peak_rss_mib_tree"] < LIMIT_MIB and row["output"]["audio"]
                          and row["output"]["frames"] == row["input"]["frames"]
                          and abs(row["output"]["seconds"] - row["input"]["seconds"]) < 1.0 / source["fps"] + 0.05)
    print(row, flush=True)
    save_result("long_video.json", row)


if __name__ == "__main__":
    main()
