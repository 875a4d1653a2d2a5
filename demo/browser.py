"""The in-browser page (web/): its files put together as one static site, and served by the demo at /browser.

The site is web/'s page and modules, the two shipped graphs the page runs (models/), the demo's example
images (examples/, listed in examples/index.json) and, where `npm ci` has been run in web/, the pinned
onnxruntime-web build (ort/: the WASM bundle, and the WebGPU one with its WASM fallback); without it the
page loads that same version from jsDelivr. Served cross-origin isolated (COOP/COEP), which WASM threads need.

    python scripts/space.py build-static DIR   # the same site as a static Hugging Face Space
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
EXAMPLES = Path(__file__).resolve().parent / "examples"
PAGE_FILES = ("index.html", "app.js", "adain.js")
MODEL_FILES = ("vgg19_int8.onnx", "decoder.onnx")  # from the installed weights (adain.resources)
ORT_DIST = WEB / "node_modules" / "onnxruntime-web" / "dist"
ORT_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm",
             "ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs", "ort-wasm-simd-threaded.asyncify.wasm")
ISOLATION_HEADERS = ((b"cross-origin-opener-policy", b"same-origin"), (b"cross-origin-embedder-policy", b"require-corp"),
                     (b"cross-origin-resource-policy", b"same-origin"))


def install_ort() -> None:
    """`npm ci` in web/ (the onnxruntime-web of package-lock.json), once: for building the static Space and tests."""
    if not ORT_DIST.is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True, capture_output=True)


def assemble(out: Path, ort: bool = True) -> Path:
    """Write the site into `out` (created; files copied). ort: include onnxruntime-web when installed."""
    from adain.resources import WEIGHTS_DIR

    out = Path(out)
    for sub in ("models", "examples"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    for name in PAGE_FILES:
        shutil.copyfile(WEB / name, out / name)
    for name in MODEL_FILES:
        shutil.copyfile(WEIGHTS_DIR / name, out / "models" / name)
    # the page keys its model cache (and the files' URLs) by these: an update replaces the cached graphs
    versions = {name: hashlib.sha1((WEIGHTS_DIR / name).read_bytes()).hexdigest()[:16] for name in MODEL_FILES}
    (out / "models" / "index.json").write_text(json.dumps(versions, indent=1))
    listing = {}
    for kind, folder in (("content", "content"), ("style", "styles")):
        files = sorted(p for p in (EXAMPLES / folder).iterdir() if p.suffix.lower() in (".jpg", ".png"))
        (out / "examples" / folder).mkdir(exist_ok=True)
        for p in files:
            shutil.copyfile(p, out / "examples" / folder / p.name)
        listing[kind] = [f"{folder}/{p.name}" for p in files]
    (out / "examples" / "index.json").write_text(json.dumps(listing, indent=1))
    shutil.copyfile(EXAMPLES / "LICENSES.md", out / "examples" / "LICENSES.md")  # the paintings' provenance
    if ort and ORT_DIST.is_dir():
        (out / "ort").mkdir(exist_ok=True)
        for name in ORT_FILES:
            shutil.copyfile(ORT_DIST / name, out / "ort" / name)
    return out


def _sources(ort: bool) -> list[Path]:
    """Every file the site is made of (what `assemble` copies)."""
    from adain.resources import WEIGHTS_DIR

    files = [WEB / n for n in PAGE_FILES] + [WEIGHTS_DIR / n for n in MODEL_FILES]
    files += sorted(p for folder in ("content", "styles") for p in (EXAMPLES / folder).iterdir()) + [EXAMPLES / "LICENSES.md"]
    return files + ([ORT_DIST / n for n in ORT_FILES] if ort and ORT_DIST.is_dir() else [])


def cached_site(ort: bool = True) -> Path:
    """The assembled site in the cache folder ($ADAIN_CACHE/browser/<SHA-1 of its files>): assembled once
    per version of its files (written under a temporary name, then renamed), not copied at every start
    (9-49 MB each); older versions are removed."""
    from adain.resources import cache_dir

    digest = hashlib.sha1()
    for path in _sources(ort):
        digest.update(path.name.encode() + path.read_bytes())
    root = cache_dir() / "browser"
    site = root / digest.hexdigest()[:16]
    if not site.is_dir():
        tmp = Path(tempfile.mkdtemp(prefix=".partial-", dir=_made(root)))
        assemble(tmp, ort)
        try:
            tmp.rename(site)
        except OSError:  # another process put it there first
            shutil.rmtree(tmp, ignore_errors=True)
    for old in root.iterdir():
        if old != site and not old.name.startswith(".partial-"):
            shutil.rmtree(old, ignore_errors=True)
    return site


def _made(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class CrossOriginIsolated:
    """ASGI wrapper adding the COOP/COEP/CORP headers to every response (SharedArrayBuffer, so WASM threads)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        async def send_isolated(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *ISOLATION_HEADERS]
            await send(message)

        await self.app(scope, receive, send_isolated)


def mount(app, site: Path, path: str = "/browser") -> None:
    """Serve the assembled `site` from the running demo's FastAPI `app` at `path`."""
    from starlette.staticfiles import StaticFiles

    app.mount(path, CrossOriginIsolated(StaticFiles(directory=str(site), html=True)), name="browser")
