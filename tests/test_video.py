"""Video in and out, streamed (issue #33, first part): frames decoded, stylized and encoded one at a time,
so memory does not grow with the clip's length; the sound, the frame count and the frame rate kept; a clip
that cannot be read is one line; a stopped run leaves nothing under the final name."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from clips import clip_meta as _meta
from clips import make_clip as _clip

pytest.importorskip("imageio_ffmpeg")
ROOT = Path(__file__).resolve().parent.parent


def _command(clip: Path, out: Path, *extra) -> list[str]:
    return [sys.executable, "-m", "adain.cli", "stylize", str(clip), str(ROOT / "tests" / "fixtures" / "style.png"), "-o",
            str(out), "--max-size", "64", "--runtime", "onnx-int8", *extra]


def _stylize(clip: Path, out: Path, *extra) -> subprocess.CompletedProcess:
    """`adain stylize` on a clip in a process of its own."""
    return subprocess.run(_command(clip, out, *extra), capture_output=True, text=True, timeout=600, cwd=ROOT,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


def _peak_mib(clip: Path, out: Path) -> float:
    """The peak resident memory of stylizing `clip` (bench/machine.py's measure of a process's own peak)."""
    from machine import timed_process

    return timed_process(_command(clip, out), runs=1)["peak_rss_mib"]


def test_sound_frames_and_rate_are_kept(tmp_path):
    clip = _clip(tmp_path / "clip.mp4", 2.0)
    out = tmp_path / "out.mp4"
    result = _stylize(clip, out)
    assert result.returncode == 0, result.stderr[-2000:]
    src, got = _meta(clip), _meta(out)
    assert got["audio_codec"] == "aac" and got["fps"] == src["fps"] == 12
    assert got["frames"] == src["frames"] == 24 and abs(got["seconds"] - src["seconds"]) < 0.1
    assert got["size"] == (64, 44)  # 96x64 fitted to 64 (64x43), made even for yuv420p
    assert f"wrote {src['frames']} frames" in result.stdout
    assert not list(tmp_path.glob(".*partial*"))


def test_a_clip_without_sound_and_webm_out(tmp_path):
    clip = _clip(tmp_path / "silent.mp4", 1.0, audio=False)
    out = tmp_path / "out.webm"
    assert _stylize(clip, out).returncode == 0
    got = _meta(out)
    assert got["codec"] == "vp9" and got.get("audio_codec") is None and got["frames"] == 12


def test_memory_does_not_grow_with_the_clips_length(tmp_path):
    """Ten times the frames, the same peak memory (a list of every frame grew it: 1.86 GB for 25 s of 720p;
    here the 240 frames of 640x480 alone are 221 MB)."""
    short = _peak_mib(_clip(tmp_path / "short.mp4", 2.0, size="640x480"), tmp_path / "a.mp4")
    long = _peak_mib(_clip(tmp_path / "long.mp4", 20.0, size="640x480"), tmp_path / "b.mp4")
    print(f"peak MiB: 24 frames {short:.0f}, 240 frames {long:.0f}")
    assert long < short * 1.1


def test_a_clip_that_cannot_be_read_is_one_line(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    result = _stylize(bad, tmp_path / "out.mp4")
    assert result.returncode == 2
    err = result.stderr.strip()
    assert err.startswith("adain: error:") and err.count("\n") == 0 and "bad.mp4" in err, err
    assert not (tmp_path / "out.mp4").exists()


def test_the_flow_blend_holds_a_moving_scene_steadier_than_per_frame():
    """`temporal="flow"` on bench/bench_video.py's clip of an object moving over a still background: less
    short-term warping error than per-frame AdaIN (measured: 2.4x less at the default weight)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import bench_video

    from adain.stylizer import Stylizer

    frames, boxes = bench_video.clips()["object"]
    frames = frames[:8]
    stylizer = Stylizer.load(runtime="onnx-int8")
    style = bench_video.STYLE
    errors = {mode: bench_video.warping_error("object", [np.asarray(o, np.float32) for o in stylizer.stylize_frames(
        frames, style, max_size=bench_video.W, temporal=mode)], boxes, 1) for mode in ("off", "flow")}
    assert errors["flow"] < 0.7 * errors["off"], errors
    with pytest.raises(ValueError, match="temporal"):
        stylizer.stylize_frames(frames, style, temporal="smooth")
