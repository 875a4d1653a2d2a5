"""Frame sequences for batch and video stylization: a folder of images, an animated GIF/WebP, or a
video file (through imageio, when it and its ffmpeg plugin are installed)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from PIL import Image, ImageSequence

from adain.image_io import IMAGE_SUFFIXES, ImageError

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".avi", ".mkv", ".webm"})
ANIMATED_SUFFIXES = frozenset({".gif", ".webp"})
DEFAULT_FPS = 12.0


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


def read_frames(path: Path) -> tuple[list, float]:
    """(frames, fps): file paths for a folder (sorted by name), PIL/arrays for animations and videos."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ImageError(f"'{path}': no image files in this folder")
        return files, DEFAULT_FPS
    if path.suffix.lower() in ANIMATED_SUFFIXES:
        with Image.open(path) as img:
            duration = img.info.get("duration") or 1000 / DEFAULT_FPS
            return [f.convert("RGB") for f in ImageSequence.Iterator(img)], 1000.0 / duration
    try:
        import imageio.v3 as iio
    except ImportError:
        raise ImageError(f"'{path}': reading video needs `pip install adain[video]` (imageio with ffmpeg)") from None
    try:
        fps = float(iio.immeta(path).get("fps", DEFAULT_FPS))
        return list(iio.imiter(path)), fps
    except Exception as exc:  # noqa: BLE001 - imageio raises many kinds on a bad video
        raise ImageError(f"'{path}': cannot read the video ({exc})") from None


def write_frames(frames: Iterable[Image.Image], out: Path, fps: float, names: list[str] | None = None) -> int:
    """Write frames to a folder (PNG per frame), an animated GIF/WebP, or a video; returns the count."""
    suffix = out.suffix.lower()
    if suffix in ANIMATED_SUFFIXES:
        images = list(frames)
        images[0].save(out, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)
        return len(images)
    if suffix in VIDEO_SUFFIXES:
        import imageio.v3 as iio
        import numpy as np

        images = [np.asarray(f) for f in frames]
        iio.imwrite(out, np.stack(images), fps=fps)
        return len(images)
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for i, frame in enumerate(frames):
        name = Path(names[i]).stem if names else f"frame_{i:05d}"
        frame.save(out / f"{name}.png")
        count += 1
    return count

