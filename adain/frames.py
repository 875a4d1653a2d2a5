"""Frame sequences for batch and video stylization: a folder of images, an animated GIF/WebP, or a
video file (through imageio, when it and its ffmpeg plugin are installed).

No input is ever lost or overwritten: an output folder may not be (or contain) the input folder, a
folder's frames keep their own file names (and formats), so `a.jpg` and `a.png` stay two files, and
every output file is written under a temporary name and renamed when whole, so a stopped run leaves
nothing half-written under a final name. Folder frames are read in natural order (frame_2 before
frame_10). `check_output` refuses a bad output before any work is done.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from PIL import Image, ImageSequence

from adain.image_io import IMAGE_SUFFIXES, ImageError, partial_name, save_image, to_rgb

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".avi", ".mkv", ".webm"})
ANIMATED_SUFFIXES = frozenset({".gif", ".webp"})
DEFAULT_FPS = 12.0  # a folder's frame rate, and a file's that reports none (or 0)


def natural_key(path: Path) -> tuple:
    """Sort key of a file name with its runs of digits compared as numbers: frame_2 < frame_10."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part.lower())
                 for part in re.split(r"(\d+)", path.name) if part)


def is_sequence(path: Path) -> bool:
    """True for a folder, a video file, or an animated image with more than one frame."""
    if path.is_dir() or path.suffix.lower() in VIDEO_SUFFIXES:
        return True
    if path.suffix.lower() in ANIMATED_SUFFIXES and path.is_file():
        try:
            with Image.open(path) as img:
                return getattr(img, "n_frames", 1) > 1
        except OSError:
            return False
    return False


def check_output(content: Path, out: Path) -> None:
    """Raise ImageError, before any work, for an output that cannot hold the frames of `content` or
    would overwrite inputs: one still image's name, a path under a file, the input itself, or a
    folder that is or contains the input folder."""
    suffix = out.suffix.lower()
    if suffix in IMAGE_SUFFIXES - ANIMATED_SUFFIXES and not out.is_dir():
        raise ImageError(f"'{out}' names one image: frames go to a folder (a path without an extension), "
                         f"an animated {'/'.join(sorted(ANIMATED_SUFFIXES))} or a video ({', '.join(sorted(VIDEO_SUFFIXES))})")
    if suffix not in ANIMATED_SUFFIXES | VIDEO_SUFFIXES and out.is_file():
        raise ImageError(f"'{out}' is a file: frames go to a folder")
    existing = next(p for p in (out, *out.parents) if p.exists())  # "." or "/" at the latest
    if existing != out and not existing.is_dir():
        raise ImageError(f"cannot write '{out}': '{existing}' is not a folder")
    source, target = content.resolve(), out.resolve()
    if target == source or (content.is_dir() and source.is_relative_to(target)):
        raise ImageError(f"'{out}' would overwrite the input '{content}': choose another output")


def _fps(value) -> float:
    """A frame rate as read from a file: DEFAULT_FPS where it is missing, zero or not a number."""
    try:
        fps = float(value)
    except (TypeError, ValueError):
        return DEFAULT_FPS
    return fps if fps > 0 else DEFAULT_FPS


@dataclass
class FrameSequence:
    """A sequence's frames and what its output keeps of it.

    Attributes:
        frames: file paths (a folder, in natural order), RGB PIL images (an animation, each frame's
            transparency over white and EXIF orientation as `load_image` does) or, for a video, an
            iterator of HxWx3 uint8 arrays decoded one at a time (memory does not grow with length).
        fps: frames per second.
        count: the number of frames (a video's from its duration; None where unknown).
        audio: a video whose sound a video output copies (None: no sound).
    """

    frames: Iterable
    fps: float
    count: int | None
    audio: Path | None = None


def _ffmpeg():
    try:
        import imageio_ffmpeg
    except ImportError:
        raise ImageError("video needs `pip install 'adain[video]'` (imageio's ffmpeg)") from None
    return imageio_ffmpeg


def read_frames(path: Path) -> FrameSequence:
    """The frames of a folder, an animated GIF/WebP or a video (`FrameSequence`)."""
    if path.is_dir():
        files = sorted((p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()), key=natural_key)
        if not files:
            raise ImageError(f"'{path}': no image files in this folder")
        return FrameSequence(files, DEFAULT_FPS, len(files))
    if path.suffix.lower() in ANIMATED_SUFFIXES:
        try:
            with Image.open(path) as img:
                duration = img.info.get("duration") or 0
                frames = [to_rgb(frame.copy()) for frame in ImageSequence.Iterator(img)]
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageError(f"'{path}': the animation is corrupt or truncated ({exc})") from None
        return FrameSequence(frames, _fps(1000.0 / duration if duration else None), len(frames))
    ffmpeg = _ffmpeg()
    try:
        reader = ffmpeg.read_frames(str(path))
        meta = next(reader)
    except (OSError, RuntimeError, StopIteration) as exc:
        raise ImageError(f"'{path}': cannot read the video ({str(exc).strip().splitlines()[-1] if str(exc).strip() else exc})") from None
    width, height = meta["size"]
    fps = _fps(meta.get("fps"))
    duration = meta.get("duration") or 0

    def frames() -> Iterator[np.ndarray]:
        try:
            for raw in reader:
                yield np.frombuffer(raw, np.uint8).reshape(height, width, 3)
        except RuntimeError as exc:
            raise ImageError(f"'{path}': the video stopped being readable ({exc})") from None
        finally:
            reader.close()

    return FrameSequence(frames(), fps, round(duration * fps) or None, path if meta.get("audio_codec") else None)


VIDEO_CODECS = {".webm": ("libvpx-vp9", "libopus"), ".avi": ("mpeg4", "libmp3lame")}  # else H.264 with AAC


def write_video(frames: Iterable, out: Path, fps: float, audio: Path | None = None) -> int:
    """Encode frames (PIL images or uint8 arrays) to a video one at a time, whole or not at all (a
    temporary name, renamed at the end): H.264 / yuv420p in MP4, MOV or MKV (VP9 in WebM, MPEG-4 in AVI),
    sides made even, at `fps`, with the sound of the video `audio` (re-encoded for the container)."""
    ffmpeg = _ffmpeg()
    codec, audio_codec = VIDEO_CODECS.get(out.suffix.lower(), ("libx264", "aac"))
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        raise ImageError("no frames to write")
    first = np.asarray(first)
    tmp = partial_name(out)
    writer = ffmpeg.write_frames(str(tmp), (first.shape[1], first.shape[0]), fps=fps, codec=codec, macro_block_size=2,
                                 quality=None, bitrate=None, ffmpeg_log_level="error",
                                 output_params=["-crf", "20", *(["-shortest"] if audio else [])],
                                 audio_path=str(audio) if audio else None, audio_codec=audio_codec if audio else None)
    count = 0
    try:
        writer.send(None)  # start ffmpeg
        for frame in itertools.chain([first], frames):
            writer.send(np.ascontiguousarray(np.asarray(frame, np.uint8)))
            count += 1
        writer.close()
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(out)
    return count


def write_frames(frames: Iterable[Image.Image], out: Path, fps: float, names: list[str] | None = None,
                 audio: Path | None = None) -> int:
    """Write frames to a folder, an animated GIF/WebP, or a video (`write_video`, with the sound of
    `audio`); returns the count.

    A folder gets one file per frame: the input's file name where `names` gives it (its format kept),
    else frame_00000.png, ... Check the output first with `check_output`.
    """
    suffix = out.suffix.lower()
    try:
        if suffix in ANIMATED_SUFFIXES:
            images = list(frames)
            tmp = partial_name(out)
            images[0].save(tmp, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)
            tmp.replace(out)
            return len(images)
        if suffix in VIDEO_SUFFIXES:
            return write_video(frames, out, fps, audio)
        out.mkdir(parents=True, exist_ok=True)
        count = 0
        for i, frame in enumerate(frames):
            save_image(frame, out / (Path(names[i]).name if names else f"frame_{i:05d}.png"))
            count += 1
        return count
    except (OSError, RuntimeError) as exc:
        raise ImageError(f"cannot write '{out}': {exc}") from None
