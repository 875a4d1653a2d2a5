"""The in-browser page (web/) in real Chromium over loopback, no network: the WASM path stylizes a test pair
as the Python onnx-int8 stylizer does, with the colour option too; the demo serves it at /browser."""

import urllib.request
from pathlib import Path

import numpy as np
import pytest
from browser_page import browser_page, chromium, serve, site, status, stylize_in_page
from PIL import Image

pytestmark = pytest.mark.skipif(chromium() is None, reason="Debian chromium not installed")
MODEL_BUDGET = 15e6  # bytes the page downloads for its two graphs


@pytest.fixture(scope="module")
def page_site(tmp_path_factory):
    pytest.importorskip("playwright.sync_api")
    return site(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A content and a style already at their working sizes (PNG): both pipelines see the same pixels."""
    folder = tmp_path_factory.mktemp("pair")
    root = Path(__file__).resolve().parent.parent / "demo" / "examples"
    content, style = folder / "content.png", folder / "style.png"
    Image.open(root / "content" / "3_chelsea.jpg").convert("RGB").save(content)  # 451x300
    Image.open(root / "styles" / "6_shipwreck.jpg").convert("RGB").save(style)  # 512x353
    return content, style


def test_the_page_stylizes_as_the_python_pipeline(page_site, pair):
    from adain import Stylizer

    content, style = pair
    assert sum(p.stat().st_size for p in (page_site / "models").iterdir()) <= MODEL_BUDGET
    python = Stylizer.load(runtime="onnx-int8")
    with serve(page_site) as url, browser_page(url) as page:
        got, ms = stylize_in_page(page, content, style, size=512)
        assert "wasm" in status(page) and ms > 0
        want = np.asarray(python.stylize(str(content), str(style), max_size=512), np.float32)
        assert got.shape == want.shape == (300, 451, 3)
        assert np.abs(got - want).mean() <= 1.0  # measured 0.08/255 (issue #39); 3.0 before
        photo = np.asarray(Image.open(content), np.float32)
        assert np.abs(got - photo).mean() > 10  # painted, not the photo back
        with page.expect_download() as download:  # the PNG is made on the click, from the shown pixels
            page.click("button#download")
        png = Image.open(download.value.path())
        assert png.format == "PNG" and np.array_equal(np.asarray(png.convert("RGB"), np.float32), got)
        page.select_option("select#colors", "luminance")
        got_lum, _ = stylize_in_page(page, content, style, size=256)
        page.select_option("select#colors", "")
        page.fill("input#alpha", "0.5")  # the style-strength slider
        got_half, _ = stylize_in_page(page, content, style, size=256)
    want_lum = np.asarray(python.stylize(str(content), str(style), max_size=256, preserve_color="luminance"), np.float32)
    assert got_lum.shape == want_lum.shape and np.abs(got_lum - want_lum).mean() <= 1.0
    want_half = np.asarray(python.stylize(str(content), str(style), max_size=256, alpha=0.5), np.float32)
    full = np.asarray(python.stylize(str(content), str(style), max_size=256), np.float32)
    assert got_half.shape == want_half.shape and np.abs(got_half - want_half).mean() <= 1.0
    assert np.abs(full - want_half).mean() > 5  # the control: at full strength the page would be this far off


def test_the_page_resamples_as_python_on_inputs_that_need_resizing(page_site, tmp_path):
    """A 902x825 painting (encoded at 512) and a 768x512 photo stylized at 256: the page resizes with
    Pillow's Lanczos filter (web/adain.js resizeLanczos), as the Python pipeline does. With the canvas's
    own resampling it was 5.7-6.3/255 (mean) from Python's onnx-int8 output; measured now: 0.15-0.19/255."""
    from adain import Stylizer

    root = Path(__file__).resolve().parent.parent / "demo" / "examples"
    style, content = tmp_path / "painting.png", tmp_path / "photo.png"
    Image.open(root / "styles" / "1_starry_night.jpg").convert("RGB").resize((902, 825), Image.BICUBIC).save(style)
    Image.open(root / "content" / "1_astronaut.jpg").convert("RGB").resize((768, 512), Image.BICUBIC).save(content)
    with serve(page_site) as url, browser_page(url) as page:
        got, _ = stylize_in_page(page, content, style, size=256)
    want = np.asarray(Stylizer.load(runtime="onnx-int8").stylize(str(content), str(style), max_size=256), np.float32)
    assert got.shape == want.shape == (171, 256, 3)
    assert np.abs(got - want).mean() <= 1.0


def test_the_demo_serves_the_page_at_browser():
    from demo_server import demo_server

    with demo_server() as (url, _):
        with urllib.request.urlopen(url + "browser/") as r:
            assert r.headers["Cross-Origin-Embedder-Policy"] == "require-corp"
            assert b'id="run"' in r.read()
        with urllib.request.urlopen(url + "browser/models/decoder.onnx") as r:
            assert len(r.read()) > 1e6
        with urllib.request.urlopen(url + "config") as r:  # the Gradio page is built from its config: the link
            assert b"/browser/" in r.read()
