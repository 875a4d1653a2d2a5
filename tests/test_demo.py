"""The Gradio demo over HTTP (gradio_client) and in a real browser (Chromium driven by Playwright)."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "GRADIO_ANALYTICS_ENABLED": "False"}
    log = open(tmp_path_factory.mktemp("demo") / "server.log", "w")
    proc = subprocess.Popen([sys.executable, str(ROOT / "demo" / "app.py")], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"demo exited with {proc.returncode}; see {log.name}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(1)
    else:
        proc.kill()
        raise RuntimeError("demo did not start in 180 s")
    yield url
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def client(server):
    return gradio_client.Client(server, verbose=False)


def mean_rgb(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), np.float32).reshape(-1, 3).mean(0)


def test_stylize_endpoint_moves_toward_the_style(client, fixtures):
    content, style = fixtures / "content.png", fixtures / "style.png"
    out, download = client.predict(gradio_client.handle_file(str(content)), gradio_client.handle_file(str(style)),
                                   1.0, "Use the style's colours", 128, None, 0.5, api_name="/stylize")
    img = Image.open(out)
    assert img.size == (96, 96) and img.format == "PNG"  # content is 96 px: never upscaled
    assert Path(download).suffix == ".png"
    gap_before = np.linalg.norm(mean_rgb(content) - mean_rgb(style))
    gap_after = np.linalg.norm(mean_rgb(out) - mean_rgb(style))
    assert gap_after < 0.6 * gap_before


def test_optimize_endpoint_streams_previews_then_the_result(client, fixtures):
    job = client.submit(gradio_client.handle_file(str(fixtures / "content.png")),
                        gradio_client.handle_file(str(fixtures / "style.png")), 20, "Use the style's colours", 128,
                        api_name="/optimize")
    out, download = job.result(timeout=300)
    assert Image.open(out).size == (96, 96) and download is not None
    previews = job.outputs()[:-1]
    assert len(previews) >= 3 and all(d is None for _, d in previews)  # previews have no download yet


def test_corrupt_upload_is_an_error_and_the_server_keeps_serving(client, fixtures, tmp_path):
    bad = tmp_path / "corrupt.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 50)
    with pytest.raises(Exception) as info:
        client.predict(gradio_client.handle_file(str(bad)), gradio_client.handle_file(str(fixtures / "style.png")),
                       1.0, "Use the style's colours", 128, None, 0.5, api_name="/stylize")
    assert "Traceback" not in str(info.value)
    out, _ = client.predict(gradio_client.handle_file(str(fixtures / "content.png")),
                            gradio_client.handle_file(str(fixtures / "style.png")), 0.5, "Use the style's colours", 128,
                            None, 0.5, api_name="/stylize")
    assert Image.open(out).size == (96, 96)


def chromium_path():
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(chromium_path() is None, reason="Debian chromium not installed")
def test_in_a_real_browser(server, fixtures, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1300, "height": 1100})
        page.goto(server, wait_until="networkidle")
        inputs = page.locator("input[type=file]")
        inputs.nth(0).set_input_files(str(fixtures / "content.png"))
        inputs.nth(1).set_input_files(str(fixtures / "style.png"))
        page.wait_for_timeout(1500)
        slider = page.get_by_label("Style strength", exact=False).first
        slider.fill("0.8")
        page.get_by_role("button", name="Stylize", exact=True).click()
        result = page.locator("img[src*='stylized-']")
        result.first.wait_for(timeout=60_000)
        page.screenshot(path=str(tmp_path / "demo.png"), full_page=True)
        if os.environ.get("ADAIN_SCREENSHOT_DIR"):  # to look at it after the run
            shutil.copy(tmp_path / "demo.png", Path(os.environ["ADAIN_SCREENSHOT_DIR"]) / "demo.png")
        assert result.count() >= 1
        browser.close()


def test_hostile_corpus_through_the_endpoint(client, fixtures, tmp_path):
    """Each awkward file gives an image or a readable error; the server answers the next call."""
    from corpus import EXPECT_OK, make_corpus

    corpus = make_corpus(tmp_path / "corpus")
    style = gradio_client.handle_file(str(fixtures / "style.png"))
    for name, expect_ok in sorted(EXPECT_OK.items()):
        args = (gradio_client.handle_file(str(corpus[name])), style, 1.0, "Use the style's colours", 128, None, 0.5)
        if expect_ok:
            out, _ = client.predict(*args, api_name="/stylize")
            assert min(Image.open(out).size) >= 16, name
        else:
            with pytest.raises(Exception) as info:
                client.predict(*args, api_name="/stylize")
            assert "Traceback" not in str(info.value), name
    out, _ = client.predict(gradio_client.handle_file(str(fixtures / "content.png")), style, 1.0,
                            "Use the style's colours", 128, None, 0.5, api_name="/stylize")
    assert Image.open(out).size == (96, 96)


def test_upload_over_the_size_limit_is_refused(client, fixtures, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(21 * 1024 * 1024))  # over the documented 20 MB
    with pytest.raises(Exception) as info:
        client.predict(gradio_client.handle_file(str(big)), gradio_client.handle_file(str(fixtures / "style.png")),
                       1.0, "Use the style's colours", 128, None, 0.5, api_name="/stylize")
    assert "maximum file size" in str(info.value) and "Traceback" not in str(info.value)
    out, _ = client.predict(gradio_client.handle_file(str(fixtures / "content.png")),
                            gradio_client.handle_file(str(fixtures / "style.png")), 1.0, "Use the style's colours", 128,
                            None, 0.5, api_name="/stylize")
    assert Image.open(out).size == (96, 96)
