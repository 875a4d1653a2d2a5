"""scripts/space.py: the Space's folder passes the Hub's rules (every binary file through LFS, no
checkpoints, small) and runs as the Hub runs it (its requirements.txt in a fresh virtual environment,
its app_file served, a stylized image back through gradio_client); the model repository's card parses
as the Hub's format."""

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import space  # noqa: E402

CHECKPOINT_NAMES = {"state.json", "optimizer.npz", "ema_decoder.npz", "best_decoder.npz", "best_full_decoder.npz",
                    "log.csv", "val.csv", "val_full.csv"}


@pytest.fixture(scope="module")
def space_dir(tmp_path_factory):
    return space.build(tmp_path_factory.mktemp("space") / "space")


def _is_binary(path: Path) -> bool:
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return b"\0" in data


def _files_with_binaries_through_lfs(folder: Path) -> list[Path]:
    """The folder's files, after checking with git that each binary one is stored through LFS."""
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    files = [p for p in folder.rglob("*") if p.is_file() and ".git" not in p.relative_to(folder).parts]
    binaries = [str(p.relative_to(folder)) for p in files if _is_binary(p)]
    assert len(binaries) >= 10  # weights, graphs and example images
    attrs = subprocess.run(["git", "-C", str(folder), "check-attr", "filter", "--", *binaries], check=True,
                           capture_output=True, text=True).stdout.splitlines()
    assert all(line.endswith(": filter: lfs") for line in attrs), [a for a in attrs if not a.endswith("lfs")]
    return files


def _front_matter(folder: Path) -> str:
    front = (folder / "README.md").read_text().split("---")[1]
    description = next(ln for ln in front.splitlines() if ln.startswith("short_description:"))
    assert len(description.split(":", 1)[1].strip()) <= 60  # the Hub's limit
    return front


def test_every_binary_file_is_stored_through_lfs_and_nothing_else_ships(space_dir):
    files = _files_with_binaries_through_lfs(space_dir)
    assert not [p for p in files if p.name in CHECKPOINT_NAMES or "training" in p.relative_to(space_dir).parts[:-1]]
    assert sum(p.stat().st_size for p in files) <= space.MAX_SPACE_MB * 1e6
    front = _front_matter(space_dir)
    assert "app_file: app.py" in front and (space_dir / "app.py").exists()
    gradio_pin = next(ln for ln in (space_dir / "requirements.txt").read_text().splitlines() if ln.startswith("gradio=="))
    assert f"sdk_version: {gradio_pin.split('==')[1]}" in front
    assert len(list((space_dir / "demo" / "examples" / "styles").glob("*.jpg"))) >= 6


def test_the_static_space_holds_the_page_its_runtime_and_models(tmp_path):
    pytest.importorskip("playwright")  # (the page itself is driven in tests/test_browser.py)
    if shutil.which("npm") is None:
        pytest.skip("npm not installed")
    out = space.build_static(tmp_path / "static")
    _files_with_binaries_through_lfs(out)
    front = _front_matter(out)
    assert "sdk: static" in front and "cross-origin-embedder-policy: require-corp" in front
    assert {"index.html", "app.js", "adain.js"} <= {p.name for p in out.iterdir()}
    assert {"ort.wasm.min.mjs", "ort-wasm-simd-threaded.wasm"} <= {p.name for p in (out / "ort").iterdir()}
    assert sum(p.stat().st_size for p in (out / "models").iterdir()) <= 15e6


def test_model_card_is_in_the_hubs_format(tmp_path):
    from huggingface_hub import ModelCard

    out = space.build_model(tmp_path / "model")
    card = ModelCard.load(out / "README.md")
    assert card.data.license == "other" and card.data.license_name and (out / card.data.license_link).exists()
    assert card.data.pipeline_tag == "image-to-image" and card.data.library_name == "adain"
    assert "style-transfer" in card.data.tags and card.data.datasets
    assert card.text.lstrip().startswith("# Model card")
    graphs = {"decoder.onnx", "vgg19_int8.onnx", "stylize_int8.onnx", "style_int8.onnx", "stylize_tile_int8.onnx",
              "stylize_measured_int8.onnx"}
    assert {"decoder.npz", *graphs} <= {p.name for p in out.iterdir()}
    shown = space.card_images(card.text)  # five of these were missing on the Hub
    assert len(shown) >= 9 and all((out / name).is_file() for name in shown), [n for n in shown if not (out / n).is_file()]


@pytest.mark.network
def test_the_space_runs_from_a_fresh_environment(space_dir, tmp_path):
    """As the Hub runs it: `pip install -r requirements.txt` in a new environment, then its app_file from
    its folder; the result equals the library's own output for the same inputs (its default runtime here,
    the same rule in both environments)."""
    from demo_server import demo_server
    from gradio_client import Client, handle_file

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "-r", str(space_dir / "requirements.txt")], check=True,
                   timeout=1800)
    content = space_dir / "demo" / "examples" / "content" / "3_chelsea.jpg"
    style = space_dir / "demo" / "examples" / "styles" / "1_starry_night.jpg"
    clean_env = {"PYTHONPATH": "", "VIRTUAL_ENV": str(env_dir)}
    with demo_server(env=clean_env, app=space_dir / "app.py", python=python, log=tmp_path / "space.log") as (url, _):
        out, _ = Client(url, verbose=False).predict(handle_file(str(content)), handle_file(str(style)), 1.0,
                                                     "Use the style's colours", 256, None, 0.5, api_name="/stylize")
    got = np.asarray(Image.open(out).convert("RGB"), np.float32)
    from adain import Stylizer

    want = np.asarray(Stylizer.load().stylize(str(content), str(style), max_size=256), np.float32)
    assert got.shape == want.shape and max(got.shape[:2]) == 256
    assert np.abs(got - want).mean() < 1.0  # same package, same weights, same runtime
    photo = np.asarray(Image.open(content).convert("RGB").resize(got.shape[1::-1]), np.float32)
    assert np.abs(got - photo).mean() > 10  # and it is painted, not the photo back
