"""The ZeroGPU Space (scripts/space.py build --zerogpu, demo/zerogpu.py): its folder asks for ZeroGPU and runs
Keras on torch; a push creates it on ZeroGPU hardware; both modes give on the torch backend what they give on
TensorFlow; a GPU that ZeroGPU refuses sends the fast mode to the CPU path and ends a classic job with the
reason; and, installed from its own requirements into a fresh environment (no GPU: `spaces.GPU` is a no-op
off the Hub), it serves both modes through gradio_client."""

import os
import subprocess
import sys
import venv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "demo")]

import space  # noqa: E402  (scripts/space.py)

CONTENT = ROOT / "demo" / "examples" / "content" / "3_chelsea.jpg"
STYLE = ROOT / "demo" / "examples" / "styles" / "1_starry_night.jpg"


@pytest.fixture(scope="module")
def zerogpu_dir(tmp_path_factory):
    return space.build(tmp_path_factory.mktemp("zerogpu") / "space", zerogpu=True)


def test_the_zerogpu_folder_asks_for_zerogpu_and_runs_keras_on_torch(zerogpu_dir, tmp_path):
    from huggingface_hub import SpaceHardware

    assert space.ZEROGPU_HARDWARE == SpaceHardware.ZERO_A10G.value  # as huggingface_hub spells it
    front = (zerogpu_dir / "README.md").read_text().split("---")[1]
    assert f"suggested_hardware: {SpaceHardware.ZERO_A10G.value}" in front.splitlines()
    requirements = (zerogpu_dir / "requirements.txt").read_text().splitlines()
    cpu = space.build(tmp_path / "cpu")
    cpu_requirements = (cpu / "requirements.txt").read_text().splitlines()
    assert requirements == cpu_requirements + list(space.ZEROGPU_PINS)  # the demo's pins, then spaces and torch
    assert {pin.split("==")[0] for pin in space.ZEROGPU_PINS} == {"spaces", "torch"}
    entry = (zerogpu_dir / "app.py").read_text()
    assert entry.index('"KERAS_BACKEND", "torch"') < entry.index("import spaces") < entry.index("from app import main")
    assert "spaces" not in (cpu / "app.py").read_text() and "suggested_hardware" not in (cpu / "README.md").read_text()
    assert {p.name for p in (zerogpu_dir / "demo").iterdir()} >= {"app.py", "zerogpu.py", "browser.py", "examples"}


def test_push_creates_the_zerogpu_space_on_zerogpu_hardware(monkeypatch):
    calls = []

    class FakeApi:
        def create_repo(self, repo_id, **kwargs):
            calls.append(("create", repo_id, kwargs))

        def upload_folder(self, folder_path, **kwargs):
            calls.append(("upload", (Path(folder_path) / "app.py").read_text(), kwargs))
            return "ok"

    monkeypatch.setattr(space, "_api", FakeApi)
    monkeypatch.setattr(space, "build_static", lambda out: (out.mkdir(), (out / "app.py").write_text("static"), out)[-1])
    for target in ("zerogpu", "cpu", "static"):
        space.push(f"someone/adain-{target}", target)
    (_, _, gpu), (_, gpu_app, gpu_upload), (_, _, cpu), _, (_, _, static), _ = calls
    assert gpu == {"repo_type": "space", "exist_ok": True, "space_sdk": "gradio", "space_hardware": "zero-a10g"}
    assert "import spaces" in gpu_app and gpu_upload["repo_type"] == "space"
    assert cpu == {"repo_type": "space", "exist_ok": True, "space_sdk": "gradio"}
    assert static == {"repo_type": "space", "exist_ok": True, "space_sdk": "static"}


def _on_torch(script: str, tmp_path: Path) -> dict:
    """Run `script` with KERAS_BACKEND=torch in a fresh process; it writes its results to OUT (a .npz)."""
    out = tmp_path / "torch.npz"
    proc = subprocess.run([sys.executable, "-c", script, str(out)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "KERAS_BACKEND": "torch", "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(out) as f:
        return {k: f[k] for k in f.files}


def test_both_modes_on_the_torch_backend_give_what_they_give_on_tensorflow(tmp_path):
    """What the ZeroGPU Space computes (Keras on torch) against this process's TensorFlow and the shipped int8 ONNX
    path: the fast picture and the classic mode's loss curve over a few steps."""
    pytest.importorskip("torch")
    from adain import Stylizer, optimize

    got = _on_torch(f"""
import sys, keras, numpy as np
from adain import Stylizer, optimize
assert keras.backend.backend() == "torch"
fast = np.asarray(Stylizer.load(runtime="keras").stylize({str(CONTENT)!r}, {str(STYLE)!r}, max_size=256, alpha=0.8))
losses = []
optimize({str(CONTENT)!r}, {str(STYLE)!r}, steps=5, size=128, callback=lambda step, l, image: losses.append(l["total"]))
np.savez(sys.argv[1], fast=fast, losses=np.array(losses, np.float64))
""", tmp_path)
    fast = got["fast"].astype(np.float32)
    keras_tf = np.asarray(Stylizer.load(runtime="keras").stylize(CONTENT, STYLE, max_size=256, alpha=0.8), np.float32)
    int8 = np.asarray(Stylizer.load(runtime="onnx-int8").stylize(CONTENT, STYLE, max_size=256, alpha=0.8), np.float32)
    assert fast.shape == keras_tf.shape and keras_tf.std() > 10
    assert np.abs(fast - keras_tf).mean() <= 1.0  # measured 0.0: the same float graph
    assert np.abs(fast - int8).mean() < 8  # the Keras-vs-int8 bound of tests/test_onnx_runtime.py; measured 3.1
    losses = []
    optimize(CONTENT, STYLE, steps=5, size=128, callback=lambda step, l, image: losses.append(l["total"]))
    assert len(got["losses"]) == 5 and got["losses"][-1] < 0.6 * got["losses"][0]
    np.testing.assert_allclose(got["losses"], losses, rtol=1e-4)  # measured 3e-7 relative


@pytest.fixture
def demo_app(monkeypatch):
    import app  # noqa: E402  (demo/app.py)
    import zerogpu

    monkeypatch.setattr(zerogpu, "has_gpu", lambda: True)
    return app


def _refusal():
    import gradio as gr

    return gr.Error("You have exceeded your free ZeroGPU quota (20s requested vs. 0s left).", title="ZeroGPU quota exceeded")


def test_a_refused_gpu_sends_the_fast_mode_to_the_cpu_path(demo_app, monkeypatch):
    import gradio as gr

    def refused(*args, **kwargs):
        raise _refusal()

    warnings = []
    monkeypatch.setattr(demo_app, "_stylize_on_gpu", refused)
    monkeypatch.setattr(gr, "Warning", warnings.append)
    options = {"alpha": 1.0, "weights": None, "max_size": 128, "preserve_color": None}
    got = np.asarray(demo_app._paint(Image.open(CONTENT), Image.open(STYLE), options), np.float32)
    want = np.asarray(demo_app._stylizer().stylize(Image.open(CONTENT), Image.open(STYLE), **options), np.float32)
    assert np.array_equal(got, want) and len(warnings) == 1 and "painted on the CPU" in warnings[0]

    def broken(*args, **kwargs):  # any other error is the job's own: not hidden by a CPU retry
        raise gr.Error("The upload: too small")

    monkeypatch.setattr(demo_app, "_stylize_on_gpu", broken)
    with pytest.raises(gr.Error, match="too small"):
        demo_app._paint(Image.open(CONTENT), Image.open(STYLE), options)


def test_a_refused_gpu_ends_a_classic_job_with_the_reason(demo_app, monkeypatch):
    import gradio as gr

    def refused(*args, **kwargs):
        raise _refusal()
        yield  # a generator, as the GPU wrapper of one is

    monkeypatch.setattr(demo_app, "_classic_on_gpu", refused)
    with pytest.raises(gr.Error) as info:
        list(demo_app.classic_job(str(CONTENT), str(STYLE), 20, None, 128))
    assert "none is available for you now" in info.value.message and "exceeded your free ZeroGPU quota" in info.value.message
    assert "on this Space's GPU" in demo_app.classic_estimate(100, 512)


@pytest.mark.network
def test_the_zerogpu_space_runs_from_a_fresh_environment(zerogpu_dir, tmp_path):
    """As the Hub installs it (PyTorch's CPU build first: no GPU here), then both modes through gradio_client:
    the fast picture equals the library's CPU path, the classic one is painted (Keras on torch)."""
    from demo_server import demo_server
    from gradio_client import Client, handle_file

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    torch_pin = next(p for p in space.ZEROGPU_PINS if p.startswith("torch=="))
    subprocess.run([python, "-m", "pip", "install", "-q", torch_pin, "--index-url", "https://download.pytorch.org/whl/cpu"],
                   check=True, timeout=1800)
    subprocess.run([python, "-m", "pip", "install", "-q", "-r", str(zerogpu_dir / "requirements.txt")], check=True,
                   timeout=1800)
    content, style = (zerogpu_dir / p.relative_to(ROOT) for p in (CONTENT, STYLE))
    env = {"PYTHONPATH": "", "VIRTUAL_ENV": str(env_dir)}
    with demo_server(env=env, app=zerogpu_dir / "app.py", python=python, log=tmp_path / "space.log") as (url, _):
        client = Client(url, verbose=False)
        fast, _ = client.predict(handle_file(str(content)), handle_file(str(style)), 1.0, "Use the style's colours", 256,
                                 None, 0.5, api_name="/stylize")
        painted, _ = client.predict(handle_file(str(content)), handle_file(str(style)), 20, "Use the style's colours", 128,
                                    api_name="/optimize")
    from adain import Stylizer

    want = np.asarray(Stylizer.load().stylize(str(content), str(style), max_size=256), np.float32)
    got = np.asarray(Image.open(fast).convert("RGB"), np.float32)
    assert got.shape == want.shape and np.abs(got - want).mean() < 1.0  # no GPU: the CPU path, as here
    classic = np.asarray(Image.open(painted).convert("RGB"), np.float32)
    photo = np.asarray(Image.open(content).convert("RGB").resize(classic.shape[1::-1]), np.float32)
    assert max(classic.shape[:2]) == 128 and np.abs(classic - photo).mean() > 5  # painted, not the photo back
    log = (tmp_path / "space.log").read_text()
    assert "Traceback" not in log, log[-3000:]
