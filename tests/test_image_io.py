"""Image loading: every mode becomes sensible RGB, every bad input a clear ImageError."""

import io

import numpy as np
import pytest
from corpus import png_bomb
from PIL import Image

from adain.image_io import ImageError, fit_size, load_image


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("name, data, message", [
    ("empty.jpg", b"", "empty"),
    ("text.jpg", b"this is not an image\n" * 10, "not a readable image"),
    ("truncated.jpg", None, "corrupt or truncated"),
    ("bomb.png", png_bomb(), "above the limit"),
])
def test_bad_files_name_the_problem(tmp_path, name, data, message):
    if data is None:
        data = encode(Image.new("RGB", (64, 64), "blue"), "JPEG")[:200]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ImageError, match=message) as info:
        load_image(path)
    assert name in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "nope.png")


def test_bad_arrays_and_types():
    with pytest.raises(ImageError, match="shape"):
        load_image(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ImageError, match="dtype"):
        load_image(np.zeros((4, 4, 3), np.int64))
    with pytest.raises(ImageError, match="NaN"):
        load_image(np.full((4, 4, 3), np.nan, np.float32))
    with pytest.raises(ImageError, match="unsupported image input"):
        load_image(12345)
    with pytest.raises(ImageError, match="above the limit"):
        load_image(np.zeros((100, 100, 3), np.uint8), max_pixels=5000)


def test_rgba_composited_on_white():
    img = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    img.putpixel((0, 0), (255, 0, 0, 255))
    rgb = np.asarray(load_image(encode(img, "PNG")))
    assert tuple(rgb[0, 0]) == (255, 0, 0) and tuple(rgb[1, 1]) == (255, 255, 255)


def test_la_palette_cmyk_and_16bit():
    la = Image.new("LA", (3, 3), (100, 255))
    assert tuple(np.asarray(load_image(encode(la, "PNG")))[0, 0]) == (100, 100, 100)
    pal = Image.new("P", (3, 3))
    pal.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    pal.putpixel((1, 1), 1)
    assert tuple(np.asarray(load_image(encode(pal, "GIF")))[1, 1]) == (10, 200, 30)
    cmyk = Image.new("CMYK", (3, 3), (0, 255, 255, 0))  # pure red in CMYK
    r, g, b = np.asarray(load_image(encode(cmyk, "JPEG")))[1, 1]
    assert r > 200 and g < 60 and b < 60
    arr16 = np.full((3, 3), 65535 // 2, np.uint16)
    i16 = Image.fromarray(arr16)
    v = np.asarray(load_image(encode(i16, "PNG")))[0, 0]
    assert abs(int(v[0]) - 128) <= 1 and v[0] == v[1] == v[2]


def test_animated_gif_uses_first_frame():
    frames = [Image.new("RGB", (4, 4), c) for c in ((255, 0, 0), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    r, g, b = np.asarray(load_image(data))[0, 0]
    assert r > 200 and b < 50


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (40, 20), "white")
    img.paste((255, 0, 0), (0, 0, 10, 20))  # red stripe on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW when displayed
    out = load_image(encode(img, "JPEG", exif=exif, quality=95))
    assert out.size == (20, 40)
    arr = np.asarray(out)
    assert arr[2, 10, 0] > 200 and arr[2, 10, 1] < 80  # the red stripe is now at the top


def test_webp_and_float_arrays():
    img = Image.new("RGB", (8, 8), (10, 120, 240))
    assert np.abs(np.asarray(load_image(encode(img, "WEBP", lossless=True)), int) - [10, 120, 240]).max() <= 1
    arr = np.full((2, 2, 3), 0.5, np.float32)
    assert np.asarray(load_image(arr))[0, 0, 0] == 128


def test_fit_size():
    assert fit_size((4000, 3000), 1024) == (1024, 768)
    assert fit_size((100, 50), 1024) == (100, 50)
    assert fit_size((100, 50), None) == (100, 50)


def test_too_small_images_are_refused():
    with pytest.raises(ImageError, match="too small"):
        fit_size((1, 1), 1024)
    with pytest.raises(ImageError, match="max_size"):
        fit_size((100, 100), 4)
