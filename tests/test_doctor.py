"""`adain doctor` (issue #34): the installed runtimes timed on this machine, the fastest stored for this CPU
and these package versions and used by `Stylizer.load()` without measuring again; ADAIN_RUNTIME overrides."""

import json

import pytest

from adain import stylizer
from adain.cli import main
from adain.runtimes import choice as doctor


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ADAIN_CACHE", str(tmp_path))
    monkeypatch.delenv("ADAIN_RUNTIME", raising=False)
    return tmp_path


def test_the_measured_winner_is_the_default_and_is_not_measured_again(cache, monkeypatch, capsys):
    assert main(["doctor", "--size", "64", "--repeats", "1"]) == 0
    printed = capsys.readouterr().out
    saved = json.loads((cache / doctor.WINNER_FILE).read_text())
    timed = [r for r in saved["rows"] if "error" not in r]
    assert timed and saved["winner"] == min(timed, key=lambda r: r["cached_style_s"])["runtime"]
    assert "CPU:" in printed and f"{saved['winner']:<10}" in printed and "<- fastest" in printed
    # Stored: the default from now on, with no timing on the way (a measurement here would fail).
    monkeypatch.setattr(doctor, "_time_runtime", lambda *a: pytest.fail("measured again"))
    assert stylizer.fastest_runtime() == saved["winner"]
    assert type(stylizer.Stylizer.load()).__name__ == {"openvino": "OpenVinoStylizer", "onnx-int8": "OnnxStylizer"}[saved["winner"]]


def test_a_stored_winner_holds_only_for_its_cpu_and_versions(cache, monkeypatch):
    doctor.measure(("onnx-int8",), size=64, repeats=1)  # a winner that differs from the rule on an AMX Xeon
    assert stylizer.fastest_runtime() == "onnx-int8"
    monkeypatch.setattr(doctor, "cpu_model", lambda: "another CPU")
    monkeypatch.setattr(doctor, "cpu_flags", lambda: frozenset({"amx_int8", "amx_bf16"}))
    assert stylizer.fastest_runtime() == ("openvino" if doctor.installed("openvino") else "onnx-int8")  # the rule
    monkeypatch.setenv("ADAIN_RUNTIME", "keras")
    assert stylizer.fastest_runtime() == "keras"
