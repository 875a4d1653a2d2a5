"""Test clips made by the ffmpeg that imageio-ffmpeg ships, and what a clip holds (for the video tests)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def make_clip(path: Path, seconds: float, fps: int = 12, size: str = "96x64", audio: bool = True) -> Path:
    """A moving test pattern with a 440 Hz tone (or silent), H.264 in `path`."""
    import imageio_ffmpeg

    sound = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"] if audio else []
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"testsrc=size={size}:rate={fps}", *sound, "-t", str(seconds), "-shortest", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", *(["-c:a", "aac"] if audio else []), str(path)], check=True)
    return path


def clip_meta(path: Path) -> dict:
    """ffmpeg's metadata of a clip (size, fps, audio_codec, ...) with its frame count and seconds."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    reader.close()
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    return {**meta, "frames": frames, "seconds": seconds}
