"""The `adain` command end to end on tiny images; bad input gives one line and exit status 2."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from adain.cli import main


def test_stylize_end_to_end(tmp_path, fixtures, tiny_decoder_path, capsys):
    out = tmp_path / "out" / "result.png"
    code = main(["stylize", str(fixtures / "content.png"), str(fixtures / "style.png"), "-o", str(out),
                 "--alpha", "0.7", "--max-size", "64", "--decoder", str(tiny_decoder_path)])
    assert code == 0
    assert Image.open(out).size == (64, 64)
    assert "wrote" in capsys.readouterr().out


def test_stylize_two_styles_with_masks(tmp_path, fixtures, tiny_decoder_path):
    mask = tmp_path / "left.png"
    arr = np.zeros((96, 96), np.uint8)
    arr[:, :48] = 255
    Image.fromarray(arr).save(mask)
    inverse = tmp_path / "right.png"
    Image.fromarray(255 - arr).save(inverse)
    out = tmp_path / "masked.png"
    code = main(["stylize", str(fixtures / "content.png"), str(fixtures / "style.png"), str(fixtures / "content.png"),
                 "-o", str(out), "--mask", str(mask), str(inverse), "--decoder", str(tiny_decoder_path)])
    assert code == 0 and Image.open(out).size == (96, 96)


def test_optimize_end_to_end(tmp_path, fixtures):
    out = tmp_path / "opt.png"
    code = main(["optimize", str(fixtures / "content.png"), str(fixtures / "style.png"), "-o", str(out),
                 "--steps", "2", "--size", "40", "--method", "adam"])
    assert code == 0 and Image.open(out).size == (40, 40)


def test_bad_inputs_give_one_clear_line(tmp_path, fixtures, tiny_decoder_path, capsys):
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    assert main(["stylize", str(bad), str(fixtures / "style.png"), "-o", str(tmp_path / "x.png"),
                 "--decoder", str(tiny_decoder_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.jpg" in err and "not a readable image" in err
    assert main(["stylize", str(fixtures / "content.png"), str(fixtures / "style.png"), "-o", str(tmp_path / "x.png"),
                 "--alpha", "2", "--decoder", str(tiny_decoder_path)]) == 2
    assert "alpha" in capsys.readouterr().err


def test_console_script_runs_as_a_process(tmp_path):
    """Through the real entry point: a missing file is one line on stderr, no traceback."""
    proc = subprocess.run([sys.executable, "-m", "adain.cli", "optimize", str(tmp_path / "none.png"),
                           str(tmp_path / "none.png"), "-o", str(tmp_path / "o.png")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "no such file" in proc.stderr


# Every option of `adain stylize`: the command's picture is the library's for the same arguments, and the
# library's picture without the option is another one (so a command that drops the option fails here).
# Each row: the command's extra arguments, Stylizer.load's and Stylizer.stylize's keyword arguments.
def _mask_files(folder):
    arr = np.zeros((96, 96), np.uint8)
    arr[:, :48] = 255
    Image.fromarray(arr).save(folder / "left.png")
    Image.fromarray(255 - arr).save(folder / "right.png")
    return [str(folder / "left.png"), str(folder / "right.png")]


OPTION_CASES = {
    "alpha": (["--alpha", "0.4"], {}, {"alpha": 0.4}),
    "weights": (["--weights", "0.2", "0.8"], {}, {"weights": [0.2, 0.8]}),
    "masks": (["--mask", "{left}", "{right}"], {}, {"masks": ["{left}", "{right}"]}),
    "luminance": (["--preserve-color", "luminance"], {}, {"preserve_color": "luminance"}),
    "histogram": (["--preserve-color", "histogram"], {}, {"preserve_color": "histogram"}),
    "style_size": (["--style-size", "40"], {}, {"style_size": 40}),
    "max_size": (["--max-size", "64"], {}, {"max_size": 64}),
    "runtime": (["--runtime", "onnx-int8"], {"runtime": "onnx-int8"}, {}),
}


@pytest.mark.parametrize("case", OPTION_CASES, ids=str)
def test_every_stylize_option_reaches_the_library(case, tmp_path, fixtures, tiny_decoder_path, monkeypatch):
    from adain import Stylizer

    monkeypatch.setenv("ADAIN_CACHE", str(tmp_path / "cache"))  # the tiny decoder's ONNX graphs
    left, right = _mask_files(tmp_path)
    flags, load, options = OPTION_CASES[case]
    fill = {"{left}": left, "{right}": right}
    flags = [fill.get(f, f) for f in flags]
    options = {k: [fill.get(x, x) for x in v] if k == "masks" else v for k, v in options.items()}
    content, styles = str(fixtures / "content.png"), [str(fixtures / "style.png"), str(fixtures / "content.png")]
    styles = styles if case in ("weights", "masks") else styles[:1]
    out = tmp_path / "cli.png"
    runtime = [] if "runtime" in load else ["--runtime", "keras"]
    assert main(["stylize", content, *styles, "-o", str(out), "--decoder", str(tiny_decoder_path), *runtime, *flags]) == 0
    got = np.asarray(Image.open(out).convert("RGB"), np.float32)
    stylizer = Stylizer.load(tiny_decoder_path, **{"runtime": "keras", **load})
    style_arg = styles if len(styles) > 1 else styles[0]
    want = np.asarray(stylizer.stylize(content, style_arg, **options), np.float32)
    assert got.shape == want.shape and np.array_equal(got, want)
    plain = Stylizer.load(tiny_decoder_path, runtime="keras")
    control = np.asarray(plain.stylize(content, style_arg, **({"weights": [0.8, 0.2]} if case == "weights" else {})),
                         np.float32)  # the same call without the option (the weights' control: the other mix)
    assert control.shape != want.shape or np.abs(control - want).mean() > 0.5, case


@pytest.mark.parametrize("argv", [
    ["optimize", "{missing}", "{missing}", "-o", "{out}"],
    ["evaluate", "--pairs", "{pair}"],
    ["export", "{out}", "--decoder", "{missing}"],
    ["train", "--content", "{missing}", "--style", "{missing}", "--out", "{out}"],
], ids=lambda a: a[0])
def test_bad_input_is_one_line_before_tensorflow_loads(argv, tmp_path):
    """Commands that run on TensorFlow check their files first: one line on stderr, and TensorFlow never
    imported (it took 3-5 s and printed 6 lines of start-up notices before the error)."""
    missing = str(tmp_path / "missing.png")
    fill = {"{missing}": missing, "{out}": str(tmp_path / "out"), "{pair}": f"{missing}:{missing}"}
    probe = ("import sys\nfrom adain.cli import main\nstatus = main(sys.argv[1:])\n"
             "print('tensorflow' in sys.modules, status)")
    proc = subprocess.run([sys.executable, "-c", probe, *[fill.get(a, a) for a in argv]], capture_output=True, text=True)
    assert proc.stdout.split() == ["False", "2"], proc.stdout + proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "missing.png" in proc.stderr


def test_a_tensorflow_command_prints_none_of_tensorflows_start_up_lines(tmp_path, fixtures):
    proc = subprocess.run([sys.executable, "-m", "adain.cli", "optimize", str(fixtures / "content.png"),
                           str(fixtures / "style.png"), "-o", str(tmp_path / "o.png"), "--steps", "1", "--size", "32"],
                          capture_output=True, text=True, env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"})
    assert proc.returncode == 0 and Image.open(tmp_path / "o.png").size == (32, 32)
    notices = [ln for ln in proc.stderr.splitlines() if "absl" in ln or "oneDNN" in ln or "cuda" in ln.lower()]
    assert not notices, notices  # 6 such lines before (TensorFlow 2.21 prints them whatever TF_CPP_MIN_LOG_LEVEL says)


def test_ctrl_c_ends_the_command_with_status_130(monkeypatch, capsys):
    import adain.cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(adain.cli, "_run", interrupted)
    assert main(["doctor"]) == 130
    assert capsys.readouterr().err.strip() == "adain: interrupted"


@pytest.mark.parametrize("module", ["keras", "tensorflow", "scipy", "matplotlib", "tf2onnx", "tensorflow_hub", "imageio",
                                    "openvino", "ray", "cv2", "torch"])
def test_a_missing_optional_package_names_the_extra_to_install(module, monkeypatch, capsys):
    import adain.cli
    from adain.errors import EXTRAS

    def missing(args):
        raise ModuleNotFoundError(f"No module named '{module}'", name=module)

    monkeypatch.setattr(adain.cli, "_run", missing)
    assert main(["doctor"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"pip install 'adain[{EXTRAS[module]}]'" in err and f"needs {module}" in err


def test_export_tfhub_and_stylize_with_model(tmp_path, fixtures, tiny_decoder_path, tiny_stylizer):
    """`adain export --format tfhub` carries the decoder (the module paints as the Keras stylizer does), and
    `adain stylize --model` paints with that module as the library's from_hub does."""
    pytest.importorskip("tensorflow_hub")
    from adain import Stylizer

    module = tmp_path / "module"
    assert main(["export", str(module), "--format", "tfhub", "--decoder", str(tiny_decoder_path)]) == 0
    out = tmp_path / "hub.png"
    content, style = str(fixtures / "content.png"), str(fixtures / "style.png")
    assert main(["stylize", content, style, "-o", str(out), "--model", str(module), "--alpha", "1", "--max-size", "64"]) == 0
    got = np.asarray(Image.open(out).convert("RGB"), np.float32)
    want = np.asarray(Stylizer.from_hub(module).stylize(content, style, max_size=64), np.float32)
    keras = np.asarray(tiny_stylizer.stylize(content, style, max_size=64), np.float32)
    assert np.array_equal(got, want)
    assert np.abs(got - keras).mean() < 2.0 and keras.std() > 10  # the exported decoder is the tiny one
    other = np.asarray(tiny_stylizer.stylize(style, content, max_size=64), np.float32)
    assert np.abs(got - other).mean() > 5  # control: swapped inputs are another picture
