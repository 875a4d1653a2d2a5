"""`adain stylize-dataset` on Ray Data (issue #31): outputs, names and manifest as specified, each output
the library's own stylization, the same assignment for the same seed on any number of workers, bad
files listed and skipped, a killed command resumed, a killed worker retried, a two-node cluster on
loopback giving the local run's outputs.

Every test that starts Ray runs it inside a private network namespace (`unshare -n`, loopback up),
where Ray finds only 127.0.0.1: tests here may use loopback only.
"""

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from namespace import in_namespace, run_in_namespace
from PIL import Image

from adain.dataset import Plan

pytest.importorskip("ray")
RUNTIME = "onnx-int8"
OPTIONS = ["--max-size", "64", "--format", "png", "--runtime", RUNTIME, "--styles-per-image", "2", "--seed", "3"]


def _image(path: Path, seed: int, size=(80, 60), mode="RGB", **save) -> Path:
    rng = np.random.default_rng(seed)
    base = rng.uniform(0, 255, (1, 1, 3)) + np.linspace(0, 60, size[0])[None, :, None]
    arr = np.clip(base + rng.normal(0, 25, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    Image.fromarray(arr).convert(mode).save(path, **save)
    return path


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Class folders of photos (odd but valid files among them), a bad file of each kind, five styles."""
    root = tmp_path_factory.mktemp("dataset")
    content, style = root / "content", root / "style"
    for cls, n in (("cat", 3), ("dog", 2)):
        (content / cls).mkdir(parents=True)
        for i in range(n):
            _image(content / cls / f"{cls}{i}.jpg", 10 * n + i)
    odd = content / "odd"
    odd.mkdir()
    _image(odd / "cmyk.JPG", 1, mode="CMYK")
    _image(odd / "grey.png", 2, mode="L")
    _image(odd / "alpha.png", 3, mode="RGBA")
    rotated = Image.open(_image(odd / "tmp.jpg", 4))
    exif = rotated.getexif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    rotated.save(odd / "rotated.jpg", exif=exif)
    (odd / "tmp.jpg").unlink()
    Image.fromarray((np.random.default_rng(5).integers(0, 65535, (60, 80))).astype(np.uint16)).save(odd / "deep16.png")
    bad = content / "bad"
    bad.mkdir()
    (bad / "empty.jpg").write_bytes(b"")
    (bad / "text.jpg").write_text("not an image")
    data = _image(bad / "whole.jpg", 6).read_bytes()
    (bad / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (bad / "whole.jpg").unlink()
    Image.new("1", (20000, 20000)).save(bad / "bomb.png")  # 400 MP: refused before decoding
    style.mkdir()
    for i in range(5):
        _image(style / f"painting{i}.png", 100 + i, size=(64, 64))
    return content, style


BAD = {"bad/empty.jpg": "empty", "bad/text.jpg": "not a readable image", "bad/truncated.jpg": "corrupt or truncated",
       "bad/bomb.png": "above the limit"}


def _in_namespace(script: str, **popen) -> subprocess.Popen:
    return in_namespace(script, {"RAY_AUTH_MODE": "token"}, **popen)


def _command(content, style, out, *extra) -> str:
    return " ".join([sys.executable, "-m", "adain.cli", "stylize-dataset", str(content), str(style), str(out), *OPTIONS,
                     *map(str, extra)])


def _run(script: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return run_in_namespace(script, timeout, {"RAY_AUTH_MODE": "token"})


def _rows(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _outputs(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*.png")}


def _assert_same_images(a: Path, b: Path, names) -> None:
    """The images under both folders agree up to the runtime's rounding between processes (measured: at
    most 0.01/255 mean; identical bytes in most files)."""
    for name in names:
        x, y = (np.asarray(Image.open(folder / name), np.float32) for folder in (a, b))
        assert x.shape == y.shape and np.abs(x - y).mean() <= 0.5, name


@pytest.fixture(scope="module")
def local_run(dataset, tmp_path_factory):
    content, style = dataset
    out = tmp_path_factory.mktemp("local") / "out"
    result = _run(_command(content, style, out))
    assert result.returncode == 0, result.stdout[-3000:]
    return out, result.stdout


def test_plan_is_a_pure_function_of_seed_and_path():
    styles = tuple(f"s{i}.jpg" for i in range(6))
    plan = Plan(styles, styles_per_image=3, seed=7, alpha_range=(0.2, 0.6))
    rows = plan.assign("cls/photo.JPEG")
    assert rows == Plan(styles, styles_per_image=3, seed=7, alpha_range=(0.2, 0.6)).assign("cls/photo.JPEG")
    assert len({r["style"] for r in rows}) == 3 and all(0.2 <= r["alpha"] <= 0.6 for r in rows)
    assert {r["output"] for r in rows} == {f"cls/photo-stylized-{Path(r['style']).stem}.JPEG" for r in rows}
    others = [Plan(styles, 3, seed).assign("cls/photo.JPEG") for seed in range(8)]
    assert len({tuple(r["style"] for r in o) for o in others}) > 1  # the seed matters
    assert Plan(styles, 1, fmt="png").assign("a.jpg")[0]["output"].endswith(".png")
    with pytest.raises(ValueError, match="holds only 6 styles"):
        Plan(styles, styles_per_image=7)
    with pytest.raises(ValueError, match="share the name"):
        Plan(("a/x.jpg", "b/x.png"))


def test_outputs_names_manifest_and_errors(dataset, local_run):
    content, style = dataset
    out, log = local_run
    readable = sorted(p.relative_to(content).as_posix() for p in content.rglob("*") if p.is_file() and "bad/" not in
                      p.relative_to(content).as_posix())
    manifest = _rows(out / "manifest.csv")
    assert list(manifest[0]) == ["content", "style", "alpha", "output"]
    assert sorted({r["content"] for r in manifest}) == readable and len(manifest) == 2 * len(readable)
    for row in manifest:
        assert row["output"] == Path(row["content"]).with_name(
            f"{Path(row['content']).stem}-stylized-{Path(row['style']).stem}.png").as_posix()
        assert (out / row["output"]).exists() and (style / row["style"]).exists()
    assert sorted(_outputs(out)) == sorted(r["output"] for r in manifest)
    assert not [p for p in out.rglob("*") if "partial" in p.name]
    errors = {r["content"]: r["reason"] for r in _rows(out / "errors.csv")}
    assert set(errors) == set(BAD)
    for name, reason in BAD.items():
        assert reason in errors[name], errors[name]
    assert f"{len(manifest)} stylized, 0 skipped" in log and f"{len(BAD)} failed" in log


def test_each_output_is_the_librarys_stylization(dataset, local_run):
    from adain import Stylizer

    content, style = dataset
    out, _ = local_run
    stylizer = Stylizer.load(runtime=RUNTIME)
    for row in _rows(out / "manifest.csv"):
        expected = stylizer.stylize(content / row["content"], style / row["style"], alpha=float(row["alpha"]), max_size=64)
        got = np.asarray(Image.open(out / row["output"]).convert("RGB"), np.float32)
        assert got.shape == np.asarray(expected).shape
        assert np.abs(got - np.asarray(expected, np.float32)).mean() <= 1.0, row


def test_a_rerun_skips_what_is_done_and_strict_fails_on_bad_files(dataset, local_run):
    content, style = dataset
    out, _ = local_run
    before = _outputs(out)
    result = _run(_command(content, style, out, "--strict"))
    assert result.returncode == 1 and "0 stylized" in result.stdout, result.stdout[-2000:]
    assert _outputs(out) == before


def test_a_killed_command_resumes_and_a_killed_worker_is_retried(dataset, local_run, tmp_path):
    """kill -9 of the command mid-run, then the same command: every output once, nothing half-written.
    In that second run a worker process is killed too (kill -9): the engine restarts it and the run
    still finishes with every output."""
    content, style = dataset
    out = tmp_path / "out"
    big = tmp_path / "content"
    shutil.copytree(content, big)
    for i in range(24):  # enough work that the kills land mid-run
        _image(big / "cat" / f"extra{i}.jpg", 500 + i)
    proc = _in_namespace("exec " + _command(big, style, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and len(list(out.rglob("*-stylized-*.png"))) < 3:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    first = len(list(out.rglob("*-stylized-*.png")))
    assert first >= 3 and not (out / "manifest.csv").exists()

    second = _in_namespace("exec " + _command(big, style, out), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    killed = None
    while killed is None and second.poll() is None and time.time() < deadline:
        pids = subprocess.run(["pgrep", "-f", "MapWorker"], capture_output=True, text=True).stdout.split()
        if pids and len(list(out.rglob("*-stylized-*.png"))) > first:
            killed = int(pids[0])
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    log, _ = second.communicate(timeout=600)
    assert second.returncode == 0 and killed is not None, log[-3000:]
    manifest = _rows(out / "manifest.csv")
    assert len(manifest) == len({r["output"] for r in manifest}) == 2 * (len(list(big.rglob("*.*"))) - len(BAD))
    assert sorted(_outputs(out)) == sorted(r["output"] for r in manifest)
    assert not [p for p in out.rglob("*") if "partial" in p.name]
    _assert_same_images(local_run[0], out, _outputs(local_run[0]))  # the images of an uninterrupted run


def test_a_two_node_cluster_gives_the_local_runs_outputs(dataset, local_run, tmp_path):
    """`ray start --head` plus a second `ray start --address` on loopback, one CPU each; the job through
    --address on two workers: the same manifest and the same images as the local run."""
    content, style = dataset
    out = tmp_path / "out"
    ray = Path(sys.executable).with_name("ray")
    script = (f"{ray} start --head --num-cpus 1 --port 6391 --node-ip-address 127.0.0.1 --include-dashboard false "
              f"--disable-usage-stats > /dev/null && "
              f"{ray} start --address 127.0.0.1:6391 --num-cpus 1 --node-ip-address 127.0.0.1 > /dev/null && "
              f"{_command(content, style, out, '--address', '127.0.0.1:6391')}; status=$?; {ray} stop --force > /dev/null; "
              "exit $status")
    result = _run(script)
    assert result.returncode == 0, result.stdout[-3000:]
    assert (out / "manifest.csv").read_bytes() == (local_run[0] / "manifest.csv").read_bytes()
    assert sorted(_outputs(out)) == sorted(_outputs(local_run[0]))
    _assert_same_images(local_run[0], out, _outputs(local_run[0]))


def test_a_bad_style_stops_the_run_before_any_work(dataset, tmp_path):
    """A style that cannot be read is found while the styles are encoded, before Ray starts or a file is
    written; more styles per image than styles likewise."""
    from adain.dataset import stylize_dataset
    from adain.image_io import ImageError

    content, style = dataset
    styles = tmp_path / "styles"
    shutil.copytree(style, styles)
    (styles / "broken.jpg").write_bytes(b"not a painting")
    out = tmp_path / "out"
    with pytest.raises(ImageError, match="broken.jpg"):
        stylize_dataset(content, styles, out, runtime=RUNTIME, max_size=64)
    with pytest.raises(ValueError, match="holds only 5 styles"):
        stylize_dataset(content, style, out, styles_per_image=6, runtime=RUNTIME)
    assert not out.exists()
