"""Build and upload the Hugging Face Space (the Gradio demo) and the model repository (the weights).

    python scripts/space.py build DIR              # exactly the files the Space runs (CPU hardware: paid plans)
    python scripts/space.py build DIR --zerogpu    # the same demo on ZeroGPU (free accounts: up to 2 such Spaces)
    python scripts/space.py push OWNER/NAME [--zerogpu]  # build into a temporary folder and upload it as a Space
    python scripts/space.py build-model DIR        # the shipped weights with a model card in the Hub's format
    python scripts/space.py push-model OWNER/NAME  # build-model, then upload it as a model repository
    python scripts/space.py build-static DIR       # the in-browser page (web/) as a static Space (free for everyone)
    python scripts/space.py push-static OWNER/NAME # build-static, then upload it as a static Space

The Hub refuses binary files pushed outside its LFS/Xet storage, and this repository's history carries
every training checkpoint, so the Space is never this repository: it is a folder built from it, with a
.gitattributes that stores every binary file through LFS, and uploaded with `huggingface_hub` (which
sends such files to the Hub's storage itself). The token is the one `hf auth login` saved, or HF_TOKEN.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "demo")]

from browser import ISOLATION_HEADERS, PAGE_FILES, assemble, install_ort  # noqa: E402

# The Space's configuration (the YAML front matter of its README): https://huggingface.co/docs/hub/spaces-config-reference
SPACE_CONFIG = {
    "title": "adain style transfer",
    "emoji": "🎨",
    "colorFrom": "indigo",
    "colorTo": "yellow",
    "sdk": "gradio",
    "sdk_version": "6.31.0",  # = requirements.txt's gradio pin (tests/test_space.py checks)
    "python_version": '"3.11"',
    "app_file": "app.py",
    # the code is MIT, the shipped weights research-use only (trained on research-use images), the example
    # paintings public domain: "other", with the terms in the README (SPACE_TERMS)
    "license": "other",
    "license_name": "mit-code-research-use-weights",
    "short_description": "Paint any photo in the style of any painting (AdaIN + Gatys)",
    "tags": ["style-transfer", "adain", "image-to-image", "onnx"],
}
# The weights the demo loads: the int8 encoder and decoder graphs and the one-pass and style graphs reading their
# weights from them (fast mode), the decoder's weights (the graphs' SHA-1 tag is checked against them; the Keras
# runtime), VGG19 and its channel means (classic mode, Keras runtime).
RUNTIME_WEIGHTS = ("decoder.npz", "decoder.onnx", "vgg19_int8.onnx", "stylize_int8.onnx", "style_int8.onnx",
                   "stylize_tile_int8.onnx", "stylize_measured_int8.onnx", "vgg19_q.npz", "vgg19_channel_means.npz")
# Stored through LFS/Xet on the Hub: every binary kind the folders hold (tests/test_space.py checks each file is covered).
LFS_PATTERNS = ("*.npz", "*.onnx", "*.jpg", "*.jpeg", "*.png", "*.webp", "*.gif", "*.bin", "*.safetensors", "*.wasm")
# A static Space (the in-browser page alone): https://huggingface.co/docs/hub/spaces-sdks-static
STATIC_CONFIG = {**{k: v for k, v in SPACE_CONFIG.items() if k not in ("sdk_version", "python_version")},
                 "title": "adain style transfer (in your browser)", "sdk": "static", "app_file": "index.html",
                 "short_description": "AdaIN style transfer in your browser (ONNX Runtime Web)",
                 "custom_headers": None}  # COOP/COEP: WASM threads need a cross-origin isolated page
# A ZeroGPU Space (https://huggingface.co/docs/hub/spaces-zerogpu): the hardware as huggingface_hub's
# SpaceHardware.ZERO_A10G spells it, the `spaces` package that attaches the GPU per call, and PyTorch, the one
# framework ZeroGPU serves (Keras runs on it: KERAS_BACKEND=torch).
ZEROGPU_HARDWARE = "zero-a10g"
ZEROGPU_PINS = ("spaces==0.51.3", "torch==2.13.0")
# Python: ZeroGPU runs the versions its docs list (3.10 and 3.12 when this was written, not 3.11; the pins need >= 3.11).
ZEROGPU_CONFIG = {**SPACE_CONFIG, "suggested_hardware": ZEROGPU_HARDWARE, "python_version": '"3.12"',
                  "tags": [*SPACE_CONFIG["tags"], "zerogpu"],
                  "short_description": "Paint any photo in any painting's style, on a GPU"}
MAX_SPACE_MB = 40
ENTRY_POINT = '''"""The Space's entry point: demo/app.py as `python demo/app.py` runs it, with this folder's adain package."""
{zerogpu}
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "demo"))
from app import main  # noqa: E402

main()
'''


def _front_matter(config: dict) -> str:
    lines = ["---"]
    for key, value in config.items():
        if key == "custom_headers":
            lines.append("custom_headers:")
            lines += [f"  {name.decode()}: {v.decode()}" for name, v in ISOLATION_HEADERS]
        elif isinstance(value, list):
            lines.append(f"{key}:")
            lines += [f"- {v}" for v in value]
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines + ["---", ""])


def _gitattributes() -> str:
    return "".join(f"{p} filter=lfs diff=lfs merge=lfs -text\n" for p in LFS_PATTERNS)


# What a ZeroGPU Space's entry point does before the demo loads: `spaces` first (it patches PyTorch), Keras on torch.
ZEROGPU_PRELUDE = '''
import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # ZeroGPU serves PyTorch only
os.environ.setdefault("ADAIN_ZEROGPU", "1")  # demo/zerogpu.py: both modes on the GPU
import spaces  # noqa: E402,F401  (before torch, as ZeroGPU asks)
'''


def _requirements(zerogpu: bool = False) -> str:
    """The repository's pins, without its `.[demo]` line (the Space runs the package from its folder);
    for ZeroGPU also `spaces` and PyTorch."""
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    pins = [ln for ln in lines if ln.strip() and not ln.startswith("#") and not ln.startswith(".")]
    pins += list(ZEROGPU_PINS) if zerogpu else []
    return "# The demo's direct dependencies, pinned (from the adain repository's requirements.txt).\n" + "\n".join(pins) + "\n"


def _fresh(out: Path) -> Path:
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} is not empty: give a new folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


def build(out: Path, model_repo: str | None = None, zerogpu: bool = False) -> Path:
    """Write the Space into the empty folder `out`: README, .gitattributes, requirements, app.py, the package
    with its runtime weights inside it (adain/weights, found as the package data `adain.weights`), demo/.
    zerogpu: the ZeroGPU Space (its hardware suggested, `spaces` and PyTorch pinned, Keras on torch)."""
    out = _fresh(out)
    shutil.copytree(ROOT / "adain", out / "adain", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    weights = out / "adain" / "weights"
    weights.mkdir()
    for name in ("__init__.py", "MODEL_CARD.md", *RUNTIME_WEIGHTS):
        shutil.copyfile(ROOT / "weights" / name, weights / name)
    shutil.copytree(ROOT / "demo", out / "demo", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyi"))
    (out / "web").mkdir()
    for name in PAGE_FILES:  # /browser: the page (its onnxruntime-web comes from the CDN, not from this Space)
        shutil.copyfile(ROOT / "web" / name, out / "web" / name)
    (out / "app.py").write_text(ENTRY_POINT.format(zerogpu=ZEROGPU_PRELUDE if zerogpu else ""))
    (out / "requirements.txt").write_text(_requirements(zerogpu))
    (out / ".gitattributes").write_text(_gitattributes())
    card = f"[model repository](https://huggingface.co/{model_repo})" if model_repo else "model card"
    where = ("on the GPU ZeroGPU lends this Space for each job (within your daily ZeroGPU quota; when it is spent, "
             "the fast mode runs on the CPU)" if zerogpu else "in a second or two on this Space's CPU")
    (out / "README.md").write_text(_front_matter(ZEROGPU_CONFIG if zerogpu else SPACE_CONFIG) + f"""
# adain: paint any photo in the style of any painting

Give a photo and a painting; **Fast** paints the photo in one forward pass of a frozen VGG19 encoder, an
Adaptive Instance Normalisation layer and a decoder trained by the adain project (Huang & Belongie, ICCV
2017), {where}. **Classic** optimises the picture itself (Gatys et al., CVPR 2016): slower, often finer,
with a time limit per job.

- Model: the decoder's {card} (`adain/weights/MODEL_CARD.md` here): how it was trained, its numbers
  and its limits. The weights were trained on research-use images: use them for research and demos.
- Calling it from a program: `gradio_client`, `api_name="/stylize"` (content, style, strength, colours,
  size, second style, mix) or `"/optimize"` (the classic mode).
- Example paintings: public domain, provenance in `demo/examples/LICENSES.md`.
- Terms: the code is MIT-licensed; the weights are for research and demos only (trained on research-use
  images: the model card's Data section); the example paintings are public domain.

Built by `python scripts/space.py build` from the adain repository; the package is the library, used here
as it is (`adain.Stylizer`, `adain.optimize`).
""")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
    if size > MAX_SPACE_MB:
        raise SystemExit(f"the Space would be {size:.1f} MB, over {MAX_SPACE_MB} MB")
    print(f"built the Space in {out}: {size:.1f} MB")
    return out


def build_static(out: Path) -> Path:
    """Write the in-browser page as a static Space into the empty folder `out`: the page, the two graphs, the
    examples and the pinned onnxruntime-web (`npm ci` in web/ first when needed)."""
    out = _fresh(out)
    install_ort()
    assemble(out)
    (out / ".gitattributes").write_text(_gitattributes())
    (out / "README.md").write_text(_front_matter(STATIC_CONFIG) + """
# adain in your browser

Paint a photo in the style of a painting on your own device: the adain encoder (VGG19, int8) and decoder run
in the page with ONNX Runtime Web, on WebGPU where the browser has it, otherwise WebAssembly threads on the
CPU. Nothing is uploaded; the two model files (about 8 MB) are downloaded once and kept by the browser.

Terms: the page's code is MIT-licensed; the weights are for research and demos only (trained on research-use
images); the example paintings are public domain (`examples/LICENSES.md`).
Built by `python scripts/space.py build-static` from the adain repository (`web/`).
""")
    print(f"built the static Space in {out}: {sum(p.stat().st_size for p in out.rglob('*') if p.is_file()) / 1e6:.1f} MB")
    return out


def card_images(markdown: str) -> list[str]:
    """The paths of the images a Markdown text shows (`![alt](path)`)."""
    return re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", markdown)


def build_model(out: Path) -> Path:
    """Write the model repository into the empty folder `out`: the shipped weights and figures, and the
    model card with the Hub's YAML metadata in front."""
    out = _fresh(out)
    card = (ROOT / "weights" / "MODEL_CARD.md").read_text()
    for name in (*RUNTIME_WEIGHTS, *card_images(card), "README.md"):  # each image the card shows, at its own path
        if (ROOT / "weights" / name).exists():
            target = out / ("WEIGHTS.md" if name == "README.md" else name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / "weights" / name, target)
    (out / ".gitattributes").write_text(_gitattributes())
    metadata = {
        "license": "other",
        "license_name": "research-use-weights",
        "license_link": "LICENSE.md",
        "library_name": "adain",
        "pipeline_tag": "image-to-image",
        "tags": ["style-transfer", "neural-style-transfer", "adain", "onnx", "keras", "vgg19"],
        # Where the training photos come from (with BSDS500, Flickr and benchmark photos; styles: paintings
        # and textures from public repositories): SOURCES.csv of the training set, as the card says.
        "datasets": ["ILSVRC/imagenet-1k", "detection-datasets/coco"],
    }
    (out / "LICENSE.md").write_text(
        "The code that made and runs these weights is MIT-licensed (the adain repository). The weights were\n"
        "trained on images whose licences allow research use only (ImageNet, COCO and BSDS500 photos, paintings\n"
        "and textures from public repositories; the model card's Data section): use them for research and\n"
        "demos, and retrain on data you hold the rights to for anything else (`adain train` takes any two folders).\n")
    (out / "README.md").write_text(_front_matter(metadata) + "\n" + card)
    print(f"built the model repository in {out}")
    return out


def _api():
    """An authenticated HfApi, or exit with how to log in."""
    from huggingface_hub import HfApi, get_token

    if not get_token():
        raise SystemExit("no Hugging Face token: run `hf auth login` (or set HF_TOKEN) and try again")
    return HfApi()


def push(repo_id: str, target: str) -> None:
    """Build `target` ("cpu", "zerogpu" or "static": a Space; "model": the model repository) into a temporary
    folder and upload it to `repo_id` (created if needed: a Space with its SDK, a ZeroGPU Space on ZeroGPU
    hardware)."""
    api = _api()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / target
        if target == "model":
            folder, repo = build_model(out), {"repo_type": "model"}
        elif target == "static":
            folder, repo = build_static(out), {"repo_type": "space", "space_sdk": "static"}
        else:
            folder = build(out, zerogpu=target == "zerogpu")
            repo = {"repo_type": "space", "space_sdk": "gradio",
                    **({"space_hardware": ZEROGPU_HARDWARE} if target == "zerogpu" else {})}
        api.create_repo(repo_id, exist_ok=True, **repo)
        info = api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type=repo["repo_type"],
                                 commit_message="adain: build from scripts/space.py")
    print(f"uploaded: {info}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="write the Space's files into an empty folder")
    p.add_argument("dir", type=Path)
    p.add_argument("--model-repo", help="OWNER/NAME of the model repository the Space's README links to")
    p.add_argument("--zerogpu", action="store_true", help="a ZeroGPU Space (both modes on a GPU lent per job)")
    p = sub.add_parser("push", help="build and upload the Space (CPU hardware, or ZeroGPU)")
    p.add_argument("repo_id", metavar="OWNER/NAME")
    p.add_argument("--zerogpu", action="store_true", help="create it on ZeroGPU hardware")
    sub.add_parser("push-static", help="build and upload the static Space").add_argument("repo_id", metavar="OWNER/NAME")
    sub.add_parser("push-model", help="build and upload the model repository").add_argument("repo_id", metavar="OWNER/NAME")
    sub.add_parser("build-model", help="write the model repository's files into an empty folder").add_argument("dir", type=Path)
    sub.add_parser("build-static", help="write the in-browser page as a static Space").add_argument("dir", type=Path)
    args = parser.parse_args()
    if args.command == "build":
        build(args.dir, args.model_repo, args.zerogpu)
    elif args.command == "build-model":
        build_model(args.dir)
    elif args.command == "build-static":
        build_static(args.dir)
    elif args.command == "push":
        push(args.repo_id, "zerogpu" if args.zerogpu else "cpu")
    else:
        push(args.repo_id, args.command.removeprefix("push-"))


if __name__ == "__main__":
    main()
