"""Issue #38: the library on every platform and every input path. Frame sequences never lose or
overwrite a file and fail with the CLI's one line; arrays mean what they say; the exported-graph
cache follows every constant; the package imports and stylizes where the C library has no glibc
functions (Windows); a runtime that cannot be imported is named and, when chosen automatically,
replaced by the next one."""

import io
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from adain.cli import main
from adain.frames import natural_key, read_frames
from adain.image_io import ImageError, load_image

ROOT = Path(__file__).resolve().parent.parent


def _frame(path: Path, value: int, size=(40, 32)) -> Path:
    rng = np.random.default_rng(value)
    Image.fromarray(rng.integers(0, 255, (*size[::-1], 3), dtype=np.uint8)).save(path)
    return path


def _stylize(content, out, style, decoder, *extra) -> int:
    return main(["stylize", str(content), str(style), "-o", str(out), "--max-size", "48", "--decoder", str(decoder),
                 "--runtime", "keras", *map(str, extra)])


def test_folder_frames_keep_their_names_and_order(tmp_path, fixtures, tiny_decoder_path, tiny_stylizer):
    """a.jpg and a.png stay two outputs (they were one before: 'wrote 3 frames', 2 files), each in its own
    format, and frames are read in natural order."""
    frames = tmp_path / "frames"
    frames.mkdir()
    for name, value in (("a.jpg", 1), ("a.png", 2), ("frame_10.png", 3), ("frame_2.png", 4)):
        _frame(frames / name, value)
    assert [p.name for p in read_frames(frames).frames] == ["a.jpg", "a.png", "frame_2.png", "frame_10.png"]
    out = tmp_path / "out"
    assert _stylize(frames, out, fixtures / "style.png", tiny_decoder_path, "--temporal", "off") == 0  # per-frame
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg", "a.png", "frame_10.png", "frame_2.png"]
    assert Image.open(out / "a.jpg").format == "JPEG" and Image.open(out / "a.png").format == "PNG"
    expected = tiny_stylizer.stylize(frames / "a.png", fixtures / "style.png", max_size=48)
    diff = np.abs(np.asarray(Image.open(out / "a.png"), np.float32) - np.asarray(expected, np.float32))
    assert diff.mean() < 0.01  # the same frame as the library's (PNG: exact up to rounding)


def test_sorting_is_natural():
    names = ["frame_10.png", "frame_2.png", "Frame_1.png", "frame_2b.png"]
    assert sorted(names, key=lambda n: natural_key(Path(n))) == ["Frame_1.png", "frame_2.png", "frame_2b.png", "frame_10.png"]


@pytest.mark.parametrize("where", ["same", "parent"])
def test_an_output_folder_that_is_or_contains_the_input_is_refused(tmp_path, fixtures, tiny_decoder_path, capsys, where):
    frames = tmp_path / "frames"
    frames.mkdir()
    original = _frame(frames / "f.png", 1).read_bytes()
    out = frames if where == "same" else tmp_path
    assert _stylize(frames, out, fixtures / "style.png", tiny_decoder_path) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "would overwrite the input" in err
    assert (frames / "f.png").read_bytes() == original and sorted(os.listdir(frames)) == ["f.png"]


def _animated(path: Path, frames: int = 3, **options) -> Path:
    images = [Image.fromarray(np.full((32, 40, 3), 40 * i + 30, np.uint8)) for i in range(frames)]
    images[0].save(path, save_all=True, append_images=images[1:], **{"duration": 100, "loop": 0, **options})
    return path


@pytest.mark.parametrize("case", ["truncated", "under_a_file", "one_image", "alpha"])
def test_sequence_errors_are_one_line_and_create_nothing(tmp_path, fixtures, tiny_decoder_path, capsys, case):
    """Each of these was a traceback, a folder named result.png or an empty output folder."""
    gif = _animated(tmp_path / "clip.gif")
    out, extra = tmp_path / "out", []
    if case == "truncated":
        data = gif.read_bytes()
        gif.write_bytes(data[: len(data) * 2 // 3])
    elif case == "under_a_file":
        (tmp_path / "file").write_text("x")
        out = tmp_path / "file" / "out.gif"
    elif case == "one_image":
        out = tmp_path / "result.png"
    else:
        extra = ["--alpha", "5"]
    before = set(tmp_path.rglob("*"))
    assert _stylize(gif, out, fixtures / "style.png", tiny_decoder_path, *extra) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("adain: error:") and err.count("\n") == 0, err
    assert set(tmp_path.rglob("*")) == before  # nothing created


def test_animations_get_alpha_on_white_and_fps_never_zero(tmp_path):
    rgba = [Image.new("RGBA", (32, 32), (255, 0, 0, 0)), Image.new("RGBA", (32, 32), (0, 0, 255, 255))]
    path = tmp_path / "alpha.webp"
    rgba[0].save(path, save_all=True, append_images=rgba[1:], duration=0, lossless=True)
    sequence = read_frames(path)
    frames, fps = sequence.frames, sequence.fps
    assert fps > 0
    assert np.asarray(frames[0]).reshape(-1, 3).mean(0).round().tolist() == [255, 255, 255]  # transparent -> white
    assert np.asarray(frames[1])[0, 0].tolist() == [0, 0, 255]


def test_animated_frames_are_closed(tmp_path):
    gif = _animated(tmp_path / "clip.gif")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        frames = read_frames(gif).frames
        del frames
        import gc

        gc.collect()


def test_stylize_frames_checks_its_options_when_called(tiny_stylizer, fixtures):
    with pytest.raises(ValueError, match="alpha"):
        tiny_stylizer.stylize_frames([fixtures / "content.png"], fixtures / "style.png", alpha=5.0)


def test_a_stopped_frame_write_leaves_no_half_file(tmp_path, monkeypatch):
    """Frames are written under a temporary name and renamed: a write that dies leaves no file under
    the final name."""
    from adain import frames as frames_module

    def dies(self, fp, *args, **kwargs):
        Path(fp).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", dies)
    with pytest.raises(ImageError, match="disk full"):
        frames_module.write_frames([Image.new("RGB", (8, 8))], tmp_path / "out.gif", 10.0)
    with pytest.raises(ImageError, match="disk full"):
        frames_module.write_frames([Image.new("RGB", (8, 8))], tmp_path / "folder", 10.0)
    assert not (tmp_path / "out.gif").exists() and not (tmp_path / "folder" / "frame_00000.png").exists()


def test_a_float_array_outside_0_1_is_an_error_not_white(tiny_stylizer, fixtures, content_arr):
    """A 0-255 float array (image_array's output) was clipped to white without a word (56/255 off)."""
    from adain.pipeline import image_array

    arr = image_array(fixtures / "content.png", 64)
    with pytest.raises(ImageError, match=r"0-1 scale.*/ 255"):
        tiny_stylizer.stylize(arr, fixtures / "style.png")
    fed_back = tiny_stylizer.stylize(arr / 255, fixtures / "style.png", max_size=64)
    direct = tiny_stylizer.stylize(fixtures / "content.png", fixtures / "style.png", max_size=64)
    assert np.abs(np.asarray(fed_back, np.float32) - np.asarray(direct, np.float32)).mean() < 0.5
    with pytest.raises(ImageError, match="mask"):
        tiny_stylizer.stylize(fixtures / "content.png", [fixtures / "style.png"] * 2,
                              masks=[np.full((96, 96), 255.0), np.zeros((96, 96))])
    assert load_image(np.full((4, 4, 3), 1.0004)).getpixel((0, 0)) == (255, 255, 255)  # rounding is not an error


def test_the_onnx_cache_key_follows_every_constant():
    """A changed channel scale (a constant, not a weight) or skip gain gives another exported graph."""
    from adain.encoder import build_encoder
    from adain.runtimes.onnx import graph_key

    a, b = build_encoder(("relu1_1",), weights=None), build_encoder(("relu1_1",), weights=None)
    b.set_weights(a.get_weights())
    assert graph_key(a) == graph_key(b)
    b.get_layer("relu1_1_norm").factors[0] *= 2
    assert graph_key(a) != graph_key(b)


WINDOWS_LIKE = """
import ctypes, sys
real = ctypes.CDLL
def cdll(name, *a, **k):
    if name is None:
        raise TypeError("LoadLibrary() argument 1 must be str, not None")  # CPython on Windows
    return real(name, *a, **k)
ctypes.CDLL = cdll
import adain.cli
sys.exit(adain.cli.main(sys.argv[1:]))
"""


def test_imports_and_stylizes_without_the_c_librarys_symbols(tmp_path, fixtures):
    """On Windows `ctypes.CDLL(None)` raises TypeError; adain.memory ran it at import, so `adain` and
    every default runtime failed there. Simulated here: the command runs and writes its image."""
    out = tmp_path / "out.png"
    proc = subprocess.run([sys.executable, "-c", WINDOWS_LIKE, "stylize", str(fixtures / "content.png"),
                           str(fixtures / "style.png"), "-o", str(out), "--max-size", "48"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert Image.open(out).size == (48, 48)


def test_a_runtime_that_cannot_be_imported_is_named_and_skipped_when_chosen_automatically(monkeypatch, tiny_decoder_path):
    import adain.stylizer as stylizer_module
    from adain.errors import RuntimeUnavailable
    from adain.runtimes import choice

    import importlib

    real = importlib.import_module

    def broken(name, *args):
        if name == "adain.runtimes.openvino":
            raise OSError("DLL load failed while importing _pyopenvino")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", broken)
    with pytest.raises(RuntimeUnavailable, match="runtimes.openvino.*DLL load failed"):
        stylizer_module.Stylizer.load(runtime="openvino")
    monkeypatch.setattr(choice, "fastest_runtime", lambda: "openvino")
    with pytest.warns(RuntimeWarning, match="'openvino' is unavailable.*'onnx-int8'"):
        s = stylizer_module.Stylizer.load()
    assert type(s).__name__ == "OnnxStylizer"


def _display_p3_icc() -> bytes:
    """A minimal ICC v2 RGB profile with Display P3's primaries (D50-adapted, as Apple's profile gives
    them) and a 2.2 gamma: what phones embed in their photos."""
    import struct

    def s15(x):
        return struct.pack(">i", round(x * 65536))

    def xyz(x, y, z):
        return b"XYZ " + bytes(4) + s15(x) + s15(y) + s15(z)

    text = b"Display P3 (test)\0"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(4 + 4 + 2 + 1 + 67)
    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, round(2.2 * 256)) + bytes(2)
    tags = [(b"desc", desc), (b"wtpt", xyz(0.9642, 1.0, 0.8249)), (b"rXYZ", xyz(0.5151, 0.2412, -0.0011)),
            (b"gXYZ", xyz(0.2920, 0.6922, 0.0419)), (b"bXYZ", xyz(0.1571, 0.0666, 0.7841)),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    offset, table, data = 128 + 4 + 12 * len(tags), b"", b""
    for sig, body in tags:
        body += bytes(-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (struct.pack(">I", size) + bytes(4) + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ " + bytes(12) + b"acsp"
              + bytes(4 + 4 + 4 + 4 + 8 + 4) + s15(0.9642) + s15(1.0) + s15(0.8249) + bytes(4 + 44))
    return header + struct.pack(">I", len(tags)) + table + data


def test_embedded_colour_profiles_become_srgb_and_outputs_are_tagged(tmp_path, tiny_stylizer, fixtures):
    """A Display P3 photo's pixels mean other colours than the same numbers in sRGB: they are converted
    on input (they were read as sRGB, the colours shifted), and outputs carry an sRGB profile."""
    from PIL import ImageCms

    icc = _display_p3_icc()
    pixel = (200, 100, 50)
    path = tmp_path / "p3.jpg"
    Image.new("RGB", (32, 32), pixel).save(path, icc_profile=icc, quality=100)
    loaded = np.asarray(load_image(path), np.float32)[16, 16]
    expected = ImageCms.profileToProfile(Image.new("RGB", (1, 1), pixel), ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                                         ImageCms.createProfile("sRGB")).getpixel((0, 0))
    assert np.abs(loaded - expected).max() <= 2 and np.abs(loaded - pixel).max() > 10  # P3's red is redder
    out = tiny_stylizer.stylize(path, fixtures / "style.png", max_size=32)
    out.save(tmp_path / "out.png")
    tagged = Image.open(tmp_path / "out.png").info.get("icc_profile")
    assert tagged and "sRGB" in ImageCms.ImageCmsProfile(io.BytesIO(tagged)).profile.profile_description


def test_the_runtimes_live_in_their_subpackage_and_old_paths_still_import():
    """adain.runtimes holds the runtimes (#34); `import adain.onnx_runtime` gives the same module with a
    DeprecationWarning naming the new path."""
    import importlib

    import adain.runtimes.onnx

    sys.modules.pop("adain.onnx_runtime", None)
    with pytest.warns(DeprecationWarning, match="adain.runtimes.onnx"):
        old = importlib.import_module("adain.onnx_runtime")
    assert old is adain.runtimes.onnx
