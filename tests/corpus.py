"""A generated corpus of awkward and hostile image files (shared by the API, CLI and demo tests)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

# name -> True if a correct output is expected, False if a clear error is expected
EXPECT_OK = {
    "rgba.png": True, "la.png": True, "palette_animated.gif": True, "cmyk.jpg": True, "16bit.png": True,
    "exif_rotated.jpg": True, "photo.webp": True,
    "zero.jpg": False, "truncated.jpg": False, "text.jpg": False, "one_pixel.png": False, "bomb.png": False,
}


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A PNG whose header claims a huge image but whose body is tiny (no big allocation to make it)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")


def _photo(size=(48, 40)) -> Image.Image:
    y, x = np.mgrid[0:size[1], 0:size[0]]
    arr = np.stack([x * 255 // size[0], y * 255 // size[1], (x + y) % 256], -1).astype(np.uint8)
    return Image.fromarray(arr)


def make_corpus(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    photo = _photo()
    files = {}

    def save(name, img=None, data=None, **kw):
        path = folder / name
        if data is None:
            buf = io.BytesIO()
            img.save(buf, kw.pop("format"), **kw)
            data = buf.getvalue()
        path.write_bytes(data)
        files[name] = path

    save("rgba.png", photo.convert("RGBA"), format="PNG")
    save("la.png", photo.convert("LA"), format="PNG")
    frames = [photo.convert("P"), photo.rotate(90).convert("P")]
    save("palette_animated.gif", frames[0], format="GIF", save_all=True, append_images=frames[1:])
    save("cmyk.jpg", photo.convert("CMYK"), format="JPEG")
    save("16bit.png", Image.fromarray((np.asarray(photo.convert("L"), np.uint16) * 257)), format="PNG")
    exif = Image.Exif()
    exif[0x0112] = 6
    save("exif_rotated.jpg", photo, format="JPEG", exif=exif)
    save("photo.webp", photo, format="WEBP")
    save("zero.jpg", data=b"")
    buf = io.BytesIO()
    photo.save(buf, "JPEG")
    save("truncated.jpg", data=buf.getvalue()[:150])
    save("text.jpg", data=b"hello, I am not a picture\n" * 20)
    save("one_pixel.png", Image.new("RGB", (1, 1), "red"), format="PNG")
    save("bomb.png", data=png_bomb())
    return files
