"""Issue #37 (in part): each mode has its own waiting line, every fast endpoint is in the fast group, a
classic job always ends, the in-browser site is assembled once per version and its page's model cache
follows the graphs."""

import json
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "demo"))

import app  # noqa: E402  (demo/app.py)
import browser  # noqa: E402  (demo/browser.py)


def test_every_endpoint_that_runs_the_fast_mode_is_in_the_fast_group():
    """The one-click examples ran the fast mode as /stylize_1 in a group of its own (two fast jobs at once)."""
    demo = app.build()
    fast = [fn for fn in demo.fns.values() if fn.fn is app.stylize]
    assert len(fast) >= 2  # the button and the examples
    assert {fn.concurrency_id for fn in fast} == {"fast"} and {fn.concurrency_limit for fn in fast} == {1}
    assert [fn.api_name for fn in fast if fn.api_visibility == "public"] == ["stylize"]


def _stub_optimize(release: threading.Event):
    """An optimiser that reports a step every 10 ms until `release` is set or it is cancelled."""
    from adain import Cancelled

    def optimize(content, style, steps=100, cancel=None, callback=None, **kw):
        step = 0
        while not release.is_set():
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            step = min(step + 1, steps - 1)
            if callback:
                callback(step, {"total": 1.0}, None)
            time.sleep(0.01)
        return Image.new("RGB", (32, 32))
    return optimize


@pytest.fixture
def stub_classic(monkeypatch):
    import adain.gatys

    release = threading.Event()
    monkeypatch.setattr(adain.gatys, "optimize", _stub_optimize(release))
    yield release
    release.set()


def test_a_stalled_consumer_cannot_hang_a_classic_job(stub_classic, monkeypatch, fixtures):
    """The page stops taking progress (the server stalls) longer than ABANDONED_S: the worker stops, and
    the job's generator ends with a message instead of waiting for ever (it hung before: the worker's
    closing event was dropped, and the generator waited in events.get() with no timeout)."""
    monkeypatch.setattr(app, "ABANDONED_S", 0.2)
    monkeypatch.setattr(app, "POLL_S", 0.1)
    job = app.classic(str(fixtures / "content.png"), str(fixtures / "style.png"), steps=50, size=64,
                      progress=lambda *a, **k: None)
    next(job)  # the first step's progress
    time.sleep(1.0)  # stalled: the worker's next event waits ABANDONED_S, then it cancels
    outcome = {}

    def drain():
        try:
            for _ in job:
                pass
        except gr.Error as exc:
            outcome["error"] = str(exc)

    consumer = threading.Thread(target=drain, daemon=True)
    consumer.start()
    consumer.join(timeout=10)
    assert not consumer.is_alive(), "the classic job never ended"
    assert "cancelled" in outcome.get("error", "") or "stopped" in outcome.get("error", ""), outcome
    assert app._CLASSIC_SLOT.acquire(timeout=5)  # the slot is free again
    app._CLASSIC_SLOT.release()


def test_queued_classic_jobs_never_delay_or_refuse_a_fast_request(stub_classic, fixtures):
    """70 classic jobs submitted (one runs, the classic line fills, the rest are refused; with one line of 64
    for both modes, 64 waiting classic jobs refused every fast request): a fast request is
    answered at once, as the only job of its line."""
    from adain.defaults import DEMO

    demo = app.build()
    demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        client = gradio_client.Client(demo.local_url, verbose=False)
        photo, style = (gradio_client.handle_file(str(fixtures / n)) for n in ("content.png", "style.png"))
        classic = [client.submit(photo, style, 50, "Use the style's colours", 128, api_name="/optimize") for _ in range(70)]
        time.sleep(3)
        started = time.perf_counter()
        out, _ = client.predict(photo, style, 1.0, "Use the style's colours", 128, None, 0.5, api_name="/stylize")
        waited = time.perf_counter() - started
        assert Image.open(out).size == (96, 96)  # the 96-px fixture, not upscaled
        assert waited < 30, waited  # one 96-px stylization (seconds at most), not the classic jobs' hours
        refused = sum(1 for job in classic if job.done() and job.exception() is not None
                      and "queue is full" in str(job.exception()).lower())
        assert refused >= 70 - 1 - DEMO.classic_queue_size - 2, refused
        stub_classic.set()
    finally:
        demo.close()


def test_the_browser_site_is_assembled_once_per_version_and_keys_the_models(tmp_path, monkeypatch):
    from adain.resources import WEIGHTS_DIR

    monkeypatch.setenv("ADAIN_CACHE", str(tmp_path / "cache"))
    first = browser.cached_site(ort=False)
    stamp = (first / "index.html").stat().st_mtime_ns
    assert browser.cached_site(ort=False) == first and (first / "index.html").stat().st_mtime_ns == stamp
    versions = json.loads((first / "models" / "index.json").read_text())
    import hashlib

    assert versions == {n: hashlib.sha1((WEIGHTS_DIR / n).read_bytes()).hexdigest()[:16] for n in browser.MODEL_FILES}
    assert (first / "examples" / "LICENSES.md").exists()
    assert len(list((tmp_path / "cache" / "browser").iterdir())) == 1
    page = (ROOT / "web" / "app.js").read_text()
    assert "models/index.json" in page and "adain-models-v1" not in page
