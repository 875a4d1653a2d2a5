"""scripts/space.py: the Space's folder passes the Hub's rules (every binary file through LFS, no
checkpoints, small) and runs as the Hub runs it (its requirements.txt in a fresh virtual environment,
its app_file served, a stylized image back through gradio_client); the model repository's card parses
as the Hub's format."""

import os
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


def test_every_binary_file_is_stored_through_lfs_and_nothing_else_ships(space_dir):
    subprocess.run(["git", "init", "-q", str(space_dir)], check=True)
    files = [p for p in space_dir.rglob("*") if p.is_file() and ".git" not in p.relative_to(space_dir).parts]
    binaries = [str(p.relative_to(space_dir)) for p in files if _is_binary(p)]
    assert len(binaries) >= 12  # weights, graphs and example images
    attrs = subprocess.run(["git", "-C", str(space_dir), "check-attr", "filter", "--", *binaries], check=True,
                           capture_output=True, text=True).stdout.splitlines()
    assert all(line.endswith(": filter: lfs") for line in attrs), [a for a in attrs if not a.endswith("lfs")]
    assert not [p for p in files if p.name in CHECKPOINT_NAMES or "training" in p.relative_to(space_dir).parts[:-1]]
    assert sum(p.stat().st_size for p in files) <= space.MAX_SPACE_MB * 1e6
    front = (space_dir / "README.md").read_text().split("---")[1]
    assert "app_file: app.py" in front and (space_dir / "app.py").exists()
    gradio_pin = next(ln for ln in (space_dir / "requirements.txt").read_text().splitlines() if ln.startswith("gradio=="))
    assert f"sdk_version: {gradio_pin.split('==')[1]}" in front
    assert len(list((space_dir / "demo" / "examples" / "styles").glob("*.jpg"))) >= 6


def test_model_card_is_in_the_hubs_format(tmp_path):
    from huggingface_hub import ModelCard

    out = space.build_model(tmp_path / "model")
    card = ModelCard.load(out / "README.md")
    assert card.data.license == "other" and card.data.license_name and (out / card.data.license_link).exists()
    assert card.data.pipeline_tag == "image-to-image" and card.data.library_name == "adain"
    assert "style-transfer" in card.data.tags and card.data.datasets
    assert card.text.lstrip().startswith("# Model card")
    assert {"decoder.npz", "decoder.onnx", "vgg19_int8.onnx"} <= {p.name for p in out.iterdir()}


def test_the_space_runs_from_a_fresh_environment(space_dir, tmp_path):
    """As the Hub runs it: `pip install -r requirements.txt` in a new environment, then its app_file from
    its folder; the result equals the library's own output for the same inputs (int8 ONNX runtime)."""
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

    want = np.asarray(Stylizer.load(runtime="onnx-int8").stylize(str(content), str(style), max_size=256), np.float32)
    assert got.shape == want.shape and max(got.shape[:2]) == 256
    assert np.abs(got - want).mean() < 1.0  # same package, same weights, same runtime
    photo = np.asarray(Image.open(content).convert("RGB").resize(got.shape[1::-1]), np.float32)
    assert np.abs(got - photo).mean() > 10  # and it is painted, not the photo back
