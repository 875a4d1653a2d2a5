"""Image input/output with Pillow: any common file or array in, RGB out, with clear errors.

Handles EXIF orientation, transparency (composited on white), palette, greyscale, CMYK and 16-bit
images and embedded colour profiles (converted to sRGB: a phone's Display P3 photo keeps its colours),
and refuses images whose pixel count could exhaust memory before decoding them. Outputs carry an sRGB
profile (`to_pil`), which PNG files keep.
"""

from __future__ import annotations

import io
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from adain.defaults import MAX_INPUT_PIXELS, MIN_SIDE

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})

# What counts as one image input everywhere (the stylizers, the classic mode, masks): a path, encoded
# bytes, a PIL image or an array. Anything else (a list, say) is not one image.
IMAGE_TYPES = (str, Path, bytes, bytearray, Image.Image, np.ndarray)
ImageLike = Union[str, Path, bytes, bytearray, Image.Image, np.ndarray]


def is_image(x) -> bool:
    """True for one image input (`ImageLike`), False for a sequence of them."""
    return isinstance(x, IMAGE_TYPES)


class ImageError(ValueError):
    """An input image that cannot be used; the message names the file and the problem. A ValueError, so
    callers that validate arguments catch it too.

    Example:

    >>> try:
    ...     load_image(b"not an image")
    ... except ImageError as e:
    ...     print(e)
    the given bytes: not a readable image file
    """


def _describe(source) -> str:
    if isinstance(source, (str, Path)):
        return f"'{source}'"
    return f"the given {type(source).__name__}"


def _open(source, max_pixels: int) -> Image.Image:
    name = _describe(source)
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ImageError(f"{name}: no such file")
        if path.stat().st_size == 0:
            raise ImageError(f"{name}: the file is empty")
        fp = path
    else:
        fp = io.BytesIO(source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(fp)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        if isinstance(exc, UnidentifiedImageError):
            raise ImageError(f"{name}: not a readable image file") from None
        raise ImageError(f"{name}: image is too large to decode, above the limit of {max_pixels / 1e6:.0f} MP") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{name}: the image data is corrupt or truncated ({exc})") from None
    _check_pixels(img.size, max_pixels, name)
    try:
        img.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{name}: the image data is corrupt or truncated ({exc})") from None
    return img


def _check_pixels(size: tuple[int, int], max_pixels: int, name: str) -> None:
    w, h = size
    if w < 1 or h < 1:
        raise ImageError(f"{name}: image has no pixels ({w}x{h})")
    if w * h > max_pixels:
        raise ImageError(
            f"{name}: image is {w}x{h} = {w * h / 1e6:.0f} MP, above the limit of {max_pixels / 1e6:.0f} MP"
        )


FLOAT_SLACK = 1e-3  # float inputs this far outside [0, 1] are rounding, clipped; further out is an error


def unit_floats(arr: np.ndarray, what: str) -> np.ndarray:
    """A float array of an image or mask on the 0-1 scale, checked: NaN, infinity and values outside
    [0, 1] (beyond rounding) raise ImageError instead of being clipped silently (a 0-255 float array,
    as `adain.pipeline.image_array` returns, would otherwise turn white)."""
    if not np.isfinite(arr).all():
        raise ImageError(f"float {what} array contains NaN or infinity")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < -FLOAT_SLACK or hi > 1 + FLOAT_SLACK:
        hint = " (a 0-255 array: pass arr / 255, or arr.astype(np.uint8))" if hi <= 255 + FLOAT_SLACK and lo >= -FLOAT_SLACK else ""
        raise ImageError(f"float {what} array with values in [{lo:.4g}, {hi:.4g}]: float {what}s are read on a "
                         f"0-1 scale{hint}")
    return np.clip(arr, 0.0, 1.0)


def _from_array(arr: np.ndarray) -> Image.Image:
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
        raise ImageError(f"array of shape {arr.shape}: expected HxW, HxWx3 or HxWx4")
    if arr.dtype == np.uint8:
        pass
    elif np.issubdtype(arr.dtype, np.floating):
        arr = (unit_floats(arr, "image") * 255.0 + 0.5).astype(np.uint8)
    elif arr.dtype == np.uint16:
        arr = (arr >> 8).astype(np.uint8)
    else:
        raise ImageError(f"array of dtype {arr.dtype}: expected uint8, uint16 or float in [0, 1]")
    return Image.fromarray(np.ascontiguousarray(arr))


@lru_cache(maxsize=1)
def srgb_icc() -> bytes:
    """The sRGB ICC profile (littlecms' built-in) that outputs are tagged with, made byte-stable: its
    creation time (header bytes 24-36) fixed and its MD5 ID (84-100) left uncomputed, so the same
    stylization gives the same file in every process."""
    from PIL import ImageCms

    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    icc[24:36] = bytes([0x07, 0xD0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0])  # 2000-01-01 00:00:00
    icc[84:100] = bytes(16)
    return bytes(icc)


def to_srgb(img: Image.Image) -> Image.Image:
    """`img` with its embedded colour profile (if any, and not sRGB already) converted to sRGB; an RGB,
    RGBA or CMYK image whose profile cannot be read is left as it is."""
    icc = img.info.get("icc_profile")
    if not icc or img.mode not in ("RGB", "RGBA", "CMYK"):
        return img
    from PIL import ImageCms

    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in (source.profile.profile_description or "").lower():
            return img
        return ImageCms.profileToProfile(img, source, ImageCms.ImageCmsProfile(io.BytesIO(srgb_icc())),
                                         outputMode="RGBA" if img.mode == "RGBA" else "RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return img


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> RGB: colour profile to sRGB, transparency over white, 16-bit and float scaled
    to 8 bit."""
    img = to_srgb(ImageOps.exif_transpose(img))
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        img = Image.fromarray((np.clip(arr / top, 0, 1) * 255 + 0.5).astype(np.uint8), "L")
    elif img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        top = 1.0 if arr.max() <= 1.0 else 255.0
        img = Image.fromarray((np.clip(arr / top, 0, 1) * 255 + 0.5).astype(np.uint8), "L")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("RGB")


def load_image(source: ImageLike, max_pixels: int = MAX_INPUT_PIXELS) -> Image.Image:
    """Open a path, encoded bytes, PIL image or array as an RGB PIL image (first frame if animated).

    EXIF orientation, transparency (composited on white), palette, greyscale, CMYK and 16-bit images
    are handled; anything that cannot be used raises `ImageError` naming the input and the problem.

    Args:
        source: a path (str or Path), encoded bytes (bytes, bytearray), a PIL image, or an HxW / HxWx3 /
            HxWx4 array: uint8 (0-255), uint16 (0-65535) or float in [0, 1]; a float array outside
            [0, 1] raises ImageError (divide a 0-255 float array by 255).
        max_pixels: refuse larger images before decoding them (decompression bombs).

    Example:

    >>> import numpy as np
    >>> load_image(np.zeros((20, 30, 3), np.uint8)).size
    (30, 20)
    >>> load_image(b"not an image")
    Traceback (most recent call last):
    ...
    adain.image_io.ImageError: the given bytes: not a readable image file
    """
    if isinstance(source, np.ndarray):
        _check_pixels((source.shape[1], source.shape[0]) if source.ndim >= 2 else (0, 0), max_pixels, "array")
        img = _from_array(source)
    elif isinstance(source, Image.Image):
        _check_pixels(source.size, max_pixels, _describe(source))
        img = source
    elif is_image(source):
        img = _open(source, max_pixels)
    else:
        raise ImageError(f"unsupported image input of type {type(source).__name__}: give a path, bytes, PIL image or array")
    try:
        return to_rgb(img)
    except (OSError, ValueError) as exc:
        raise ImageError(f"{_describe(source)}: unsupported image mode {img.mode!r} ({exc})") from None


def fit_size(size: tuple[int, int], max_size: int | None) -> tuple[int, int]:
    """(w, h) scaled down so the long side is at most max_size (None: unchanged).

    Raises ImageError when the image is smaller than MIN_SIDE on a side, or max_size is below it.
    """
    w, h = size
    if min(w, h) < MIN_SIDE:
        raise ImageError(f"image of {w}x{h} pixels is too small: at least {MIN_SIDE}x{MIN_SIDE} is needed")
    if max_size is not None:
        if max_size < MIN_SIDE:
            raise ImageError(f"max_size {max_size} is too small (minimum {MIN_SIDE})")
        scale = min(1.0, max_size / max(w, h))
        w, h = max(MIN_SIDE, round(w * scale)), max(MIN_SIDE, round(h * scale))
    return w, h


def to_array(img: Image.Image, size: tuple[int, int] | None = None) -> np.ndarray:
    """PIL RGB -> float32 HxWx3 in 0-255, resized (Lanczos) to `size` = (w, h) if given."""
    if size is not None and img.size != tuple(size):
        img = img.resize(size, Image.LANCZOS)
    return np.asarray(img, np.float32)


def to_pil(arr) -> Image.Image:
    """float HxWx3 in 0-255 -> PIL RGB (clipped and rounded), tagged sRGB."""
    img = Image.fromarray(np.clip(np.asarray(arr, np.float32) + 0.5, 0, 255).astype(np.uint8), "RGB")
    img.info["icc_profile"] = srgb_icc()
    return img


JPEG_QUALITY = 95  # outputs written as JPEG (as stylize-datasets writes Stylized-ImageNet)


def partial_name(path: Path) -> Path:
    """The temporary name a file is written under before it is renamed to `path` (same suffix, so
    writers that choose the format by it still do)."""
    return path.with_name(f".{path.stem}.partial{path.suffix}")


def save_image(image: Image.Image, path: str | Path) -> None:
    """Write an output image whole or not at all (a temporary name, then renamed), tagged sRGB, JPEG at
    JPEG_QUALITY; the format follows the suffix."""
    path = Path(path)
    tmp = partial_name(path)
    options = {"quality": JPEG_QUALITY} if path.suffix.lower() in (".jpg", ".jpeg") else {}
    try:
        image.save(tmp, icc_profile=srgb_icc(), **options)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)


def image_grid(rows, cell: int | tuple[int, int], gap: int = 0) -> Image.Image:
    """Rows of images (PIL images or HxWx3 arrays in 0-255) as one RGB picture on white: each scaled to
    fit a cell (`cell` pixels square, or (width, height)), aspect kept, centred in it; `gap` pixels between cells.

    >>> image_grid([[np.zeros((4, 8, 3)), Image.new("RGB", (2, 2))]], cell=16, gap=2).size
    (34, 16)
    """
    w, h = (cell, cell) if isinstance(cell, int) else cell
    columns = max(len(row) for row in rows)
    grid = Image.new("RGB", (columns * (w + gap) - gap, len(rows) * (h + gap) - gap), "white")
    for r, row in enumerate(rows):
        for c, img in enumerate(row):
            img = ImageOps.contain(img.convert("RGB") if isinstance(img, Image.Image) else to_pil(img), (w, h), Image.LANCZOS)
            grid.paste(img, (c * (w + gap) + (w - img.width) // 2, r * (h + gap) + (h - img.height) // 2))
    return grid
