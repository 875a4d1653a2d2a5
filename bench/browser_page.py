"""Drive the in-browser page (web/) in headless Chromium over loopback: used by tests/test_browser.py and
bench/bench_browser.py.

`site()` assembles the page with onnxruntime-web (`npm ci` in web/ when it is not installed yet) and
`serve(site)` serves it cross-origin isolated on 127.0.0.1; `stylize_in_page(page, content, style, size)`
fills the page's contract (input#content, input#style, select#size, button#run) and returns the result
image (canvas#result's pixels) as an RGB array with its time in milliseconds (data-ms).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Iterator

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "demo")]

from browser import ISOLATION_HEADERS, assemble, install_ort  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def site(out: Path | None = None) -> Path:
    install_ort()
    return assemble(Path(out or tempfile.mkdtemp(prefix="adain-site-")))


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript",
                      ".js": "text/javascript", ".wasm": "application/wasm"}

    def end_headers(self):
        for name, value in ISOLATION_HEADERS:
            self.send_header(name.decode(), value.decode())
        super().end_headers()

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """The URL of `folder` served on 127.0.0.1 (COOP/COEP headers) until the block ends."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def browser_page(url: str) -> Iterator:
    """A playwright page of Debian's Chromium (headless, no network beyond loopback) at `url`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(url)
            yield page
        finally:
            browser.close()


def stylize_in_page(page, content: Path, style: Path, size: int = 512, timeout_s: float = 180) -> tuple[np.ndarray, float]:
    """(result as HxWx3 uint8, milliseconds the page reports) of one stylization through the page's controls."""
    page.set_input_files("input#content", str(content))
    page.set_input_files("input#style", str(style))
    page.select_option("select#size", str(size))
    page.evaluate("document.getElementById('result').removeAttribute('data-ms')")
    page.click("button#run")
    page.wait_for_selector("canvas#result[data-ms]", timeout=timeout_s * 1000)
    width, height, encoded = page.evaluate("""() => {
        const canvas = document.getElementById('result');
        const rgba = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let s = ''; for (let i = 0; i < rgba.length; i++) s += String.fromCharCode(rgba[i]);
        return [canvas.width, canvas.height, btoa(s)];
    }""")
    rgba = np.frombuffer(base64.b64decode(encoded), np.uint8).reshape(height, width, 4)
    return rgba[..., :3].copy(), float(page.get_attribute("canvas#result", "data-ms"))


def status(page) -> str:
    return page.inner_text("#status")
