"""The `adain` command end to end on tiny images; bad input gives one line and exit status 2."""

import subprocess
import sys

import numpy as np
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
