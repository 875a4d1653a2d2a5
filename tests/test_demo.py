"""The Gradio demo over HTTP (gradio_client) and in a real browser (Chromium driven by Playwright)."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from demo_server import demo_server, folder_mib, proc_status, seconds_to_idle  # bench/demo_server.py, shared with the abuse bench
from PIL import Image

from adain.image_io import fit_size, load_image

gradio_client = pytest.importorskip("gradio_client")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def demo_process(tmp_path_factory):
    """(url, process) of the demo started on a free loopback port."""
    with demo_server(log=tmp_path_factory.mktemp("demo") / "server.log") as started:
        yield started


@pytest.fixture(scope="module")
def server(demo_process):
    return demo_process[0]


@pytest.fixture(scope="module")
def server_pid(demo_process):
    return demo_process[1].pid


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
    updates = job.outputs()[:-1]  # one per step (so a cancel takes effect within one); a picture every tenth
    previews = [p for p, _ in updates if isinstance(p, str)]
    assert len(updates) >= 19 and len(previews) >= 3
    assert not any(isinstance(d, str) for _, d in updates)  # previews have no download yet


# The demo's readable refusals (UploadImage's and adain.ImageError's, with the path replaced by "the upload"):
# a crash gives Gradio's generic "Error" instead, which none of these match.
READABLE = ("not an image that can be used", "the upload:", "too small")


def test_corrupt_upload_is_an_error_and_the_server_keeps_serving(client, fixtures, tmp_path):
    bad = tmp_path / "corrupt.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 50)
    with pytest.raises(Exception) as info:
        client.predict(gradio_client.handle_file(str(bad)), gradio_client.handle_file(str(fixtures / "style.png")),
                       1.0, "Use the style's colours", 128, None, 0.5, api_name="/stylize")
    assert any(m in str(info.value) for m in READABLE), str(info.value)  # the demo's own message, not a crash
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
        assert result.count() >= 1
        page.get_by_label("Classic (optimisation)").check()  # the classic mode tells its cost before it starts
        estimate = page.get_by_text("this server allows up to 10 min per job")
        estimate.wait_for(timeout=10_000)
        # 100 steps at 512 px, 50 at 256² and 50 at 512², at adain.classic_budget's rate: the page's number is the library's
        from adain.classic_budget import estimated_seconds

        seconds = round(estimated_seconds(100, (512, 512), 2))
        assert f"about {seconds // 60} min {seconds % 60} s" in estimate.inner_text()
        assert page.get_by_role("button", name="Cancel").is_visible()
        page.screenshot(path=str(tmp_path / "demo.png"), full_page=True)
        if os.environ.get("ADAIN_SCREENSHOT_DIR"):  # to look at it after the run
            shutil.copy(tmp_path / "demo.png", Path(os.environ["ADAIN_SCREENSHOT_DIR"]) / "demo.png")
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
            assert Image.open(out).size == fit_size(load_image(corpus[name]).size, 128), name  # the exact size
        else:
            with pytest.raises(Exception) as info:
                client.predict(*args, api_name="/stylize")
            assert any(m in str(info.value) for m in READABLE), (name, str(info.value))  # the demo's message
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


def cpu_cores(pid: int, seconds: float) -> float:
    """Cores the process used on average over the next `seconds`."""
    before = proc_status(pid)["cpu_s"]
    time.sleep(seconds)
    return (proc_status(pid)["cpu_s"] - before) / seconds


def photo(path: Path, side: int) -> Path:
    x = np.linspace(0, 255, side)
    Image.fromarray(np.stack([np.add.outer(x, x) / 2, np.outer(np.ones(side), x), np.outer(x, np.ones(side))], -1)
                    .astype(np.uint8)).save(path)
    return path


def wait_for_step(job, step: int, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        progress = job.status().progress_data
        if progress and progress[0].desc and progress[0].desc.startswith("step "):
            if int(progress[0].desc.split()[1].split("/")[0]) >= step:
                return
        time.sleep(0.5)
    raise TimeoutError(f"the classic job did not reach step {step}")


CLASSIC_ARGS = (200, "Use the style's colours", 256)  # steps, colours, size: minutes of work if not stopped


def test_fast_jobs_pass_a_running_classic_job_and_cancel_frees_the_cpu(client, server_pid, fixtures, tmp_path):
    style = gradio_client.handle_file(str(fixtures / "style.png"))
    job = client.submit(gradio_client.handle_file(str(photo(tmp_path / "c.png", 256))), style, *CLASSIC_ARGS,
                        api_name="/optimize")
    wait_for_step(job, 2)
    out, _ = client.predict(gradio_client.handle_file(str(fixtures / "content.png")), style, 1.0,
                            "Use the style's colours", 128, None, 0.5, api_name="/stylize")
    assert Image.open(out).size == (96, 96)
    assert not job.done()  # the fast job did not wait for the classic one
    job.cancel()
    idle = seconds_to_idle(server_pid)
    assert idle is not None and idle < 5  # the optimisation stopped (it used a whole core or more)


def test_a_disconnected_classic_job_stops(server, server_pid, fixtures, tmp_path):
    script = f"""
import sys, time
from gradio_client import Client, handle_file
client = Client({server!r}, verbose=False)
job = client.submit(handle_file({str(photo(tmp_path / "c.png", 256))!r}), handle_file({str(fixtures / "style.png")!r}),
                    *{CLASSIC_ARGS!r}, api_name="/optimize")
while not (job.status().progress_data or [None])[0]:
    time.sleep(0.5)
print("running", flush=True)
time.sleep(600)
"""
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "running"
        assert cpu_cores(server_pid, 1.0) > 0.5
    finally:
        child.kill()  # the page goes away mid-job
        child.wait()
    idle = seconds_to_idle(server_pid)
    assert idle is not None and idle < 10


def test_classic_job_over_the_budget_is_refused_before_it_starts(client, fixtures, tmp_path):
    with pytest.raises(Exception) as info:
        client.predict(gradio_client.handle_file(str(photo(tmp_path / "big.png", 1024))),
                       gradio_client.handle_file(str(fixtures / "style.png")), 500, "Use the style's colours", 1024,
                       api_name="/optimize")
    assert "this server allows 10 min per classic job" in str(info.value)


def test_the_classic_budget_option_sets_the_limit(fixtures, tmp_path):
    """`--classic-budget 1`: a job the default budget serves (20 steps at 96 px, about 1.5 s by the estimate:
    test_optimize_endpoint_streams_previews_then_the_result) is refused, with the limit in the message."""
    with demo_server(log=tmp_path / "server.log", args=("--classic-budget", "1")) as (url, _):
        with pytest.raises(Exception) as info:
            gradio_client.Client(url, verbose=False).predict(
                gradio_client.handle_file(str(fixtures / "content.png")), gradio_client.handle_file(str(fixtures / "style.png")),
                20, "Use the style's colours", 128, api_name="/optimize")
    assert "this server allows 1 s per classic job" in str(info.value)


def test_an_uploads_flood_stays_in_the_byte_budget_and_deletes_no_ones_files(tmp_path):
    """A visitor uploads a photo and a painting; another client sends 300 uploads and jobs. The demo's disk
    (Gradio's cache and its results) stays under the byte budget (uploads over it are refused when they
    arrive), the visitor's files are never deleted, and the visitor's job succeeds."""
    import requests

    budget_mb = 6.0
    tmp = tmp_path / "server-tmp"
    tmp.mkdir()
    rng = np.random.default_rng(0)
    flood = tmp_path / "flood.png"
    Image.fromarray(rng.integers(0, 255, (150, 200, 3), dtype=np.uint8)).save(flood)  # ~90 KB, incompressible
    cache, results = tmp / "adain-demo-gradio", tmp / "adain-demo"
    peak, refused, seen = 0, 0, []
    env = {"TMPDIR": str(tmp), "GRADIO_TEMP_DIR": str(cache), "ADAIN_DISK_BUDGET_MB": str(budget_mb)}  # its own folders
    with demo_server(env, log=tmp_path / "server.log") as (url, _):
        visitor = gradio_client.Client(url, verbose=False)
        content = gradio_client.handle_file(str(ROOT / "tests" / "fixtures" / "content.png"))
        style = gradio_client.handle_file(str(ROOT / "tests" / "fixtures" / "style.png"))
        visitor.predict(content, style, 1.0, "Use the style's colours", 128, None, 0.5, api_name="/stylize")
        first = {p for p in cache.rglob("*") if p.is_file()}  # the visitor's uploads and result, in Gradio's cache
        attacker = gradio_client.Client(url, verbose=False)
        for i in range(300):
            with flood.open("rb") as f:
                response = requests.post(url + "gradio_api/upload", files={"files": (f"f{i}.png", f, "image/png")})
            refused += response.status_code == 507
            if i % 30 == 0 and response.ok:  # and jobs, while there is room for their uploads
                attacker.predict(gradio_client.handle_file(str(flood)), gradio_client.handle_file(str(flood)), 1.0,
                                 "Use the style's colours", 128, None, 0.5, api_name="/stylize")
            peak = max(peak, folder_mib(cache) + folder_mib(results))
            seen.append(peak)
        assert all(p.exists() for p in first), "a visitor's file was deleted"
        out, _ = visitor.predict(content, style, 0.5, "Use the style's colours", 128, None, 0.5, api_name="/stylize")
        assert Image.open(out).size == (96, 96)
    print("peak MiB", peak, "refused", refused)
    assert refused > 100  # the flood met the budget
    assert peak <= budget_mb + 0.5  # one upload's worth of slack at most (a result is written after its check)

def test_an_image_given_as_a_url_is_refused_not_downloaded(client, fixtures):
    """An API client may send {"path": "https://..."}: the server would download it outside the upload
    limit and the disk budget, so it is refused with a message (the address is never fetched)."""
    with pytest.raises(Exception, match="URLs are not accepted"):
        client.predict({"path": "https://example.invalid/huge.png", "meta": {"_type": "gradio.FileData"}},
                       gradio_client.handle_file(str(fixtures / "style.png")), 1.0, "Use the style's colours", 128,
                       None, 0.5, api_name="/stylize")


# The fast mode's every option through the endpoint against the library's own call with the same arguments,
# and a control: the library's picture without the option (so an endpoint that drops it fails here).
# (alpha, colours label, size, second style?, mix) -> Stylizer.stylize keyword arguments; then the control's.
DEMO_OPTIONS = {
    "alpha": ((0.5, "Use the style's colours", 128, False, 0.5), {"alpha": 0.5}, {}),
    "luminance": ((1.0, "Keep photo colours (luminance only)", 128, False, 0.5), {"preserve_color": "luminance"}, {}),
    "histogram": ((1.0, "Keep photo colours (match style colours first)", 128, False, 0.5), {"preserve_color": "histogram"}, {}),
    "size": ((1.0, "Use the style's colours", 192, False, 0.5), {"max_size": 192}, {}),
    "second_style": ((1.0, "Use the style's colours", 128, True, 0.7), {"weights": [0.3, 0.7]}, {"weights": [0.7, 0.3]}),
}


@pytest.mark.parametrize("case", DEMO_OPTIONS, ids=str)
def test_every_fast_mode_option_reaches_the_library(case, client, fixtures):
    from adain import Stylizer

    (alpha, colours, size, second, mix), options, control_options = DEMO_OPTIONS[case]
    content = str(ROOT / "demo" / "examples" / "content" / "3_chelsea.jpg")  # larger than the size slider's least
    style, style2 = str(fixtures / "style.png"), str(fixtures / "content.png")
    out, _ = client.predict(gradio_client.handle_file(content), gradio_client.handle_file(style), alpha, colours, size,
                            gradio_client.handle_file(style2) if second else None, mix, api_name="/stylize")
    got = np.asarray(Image.open(out).convert("RGB"), np.float32)
    stylizer = Stylizer.load()  # the demo's runtime: the same rule in both processes
    styles = [style, style2] if second else style
    want = np.asarray(stylizer.stylize(content, styles, **{"max_size": 128, **options}), np.float32)
    control = np.asarray(stylizer.stylize(content, styles, **{"max_size": 128, **control_options}), np.float32)
    assert got.shape == want.shape and np.abs(got - want).mean() < 0.5  # the same call
    assert control.shape != want.shape or np.abs(control - want).mean() > 2, case  # the option matters


def test_the_classic_modes_options_reach_the_library(client, fixtures):
    """Steps, colours and size of the classic endpoint against `adain.optimize` with the same arguments; the
    control is the library's picture with the style's colours."""
    from adain import optimize

    content, style = str(fixtures / "content.png"), str(fixtures / "style.png")
    out, _ = client.predict(gradio_client.handle_file(content), gradio_client.handle_file(style), 20,
                            "Keep photo colours (luminance only)", 128, api_name="/optimize")
    got = np.asarray(Image.open(out).convert("RGB"), np.float32)
    want = np.asarray(optimize(content, style, steps=20, size=128, scales=1, preserve_color="luminance"), np.float32)
    control = np.asarray(optimize(content, style, steps=20, size=128, scales=1), np.float32)
    fewer = np.asarray(optimize(content, style, steps=10, size=128, scales=1, preserve_color="luminance"), np.float32)
    assert got.shape == want.shape and np.abs(got - want).mean() < 0.5  # two runs in one process: 0.0
    assert np.abs(control - want).mean() > 2 and np.abs(fewer - want).mean() > 0.5  # measured 32.7 and 7.7


def test_a_short_video_is_painted_with_its_sound_and_a_long_one_refused(client, fixtures, tmp_path):
    """The video endpoint: every frame as the library paints it (through H.264 twice), the clip's frame count,
    rate and sound kept; a clip over DEMO.video_max_seconds refused before a frame is decoded."""
    pytest.importorskip("imageio_ffmpeg")
    from clips import clip_meta, make_clip

    from adain import Stylizer, frames
    from adain.defaults import DEMO

    clip = make_clip(tmp_path / "clip.mp4", 1.0)
    out = client.predict(gradio_client.handle_file(str(clip)), gradio_client.handle_file(str(fixtures / "style.png")),
                         0.7, "Use the style's colours", 128, api_name="/stylize_video")
    path = out["video"] if isinstance(out, dict) else out
    meta, source = clip_meta(Path(path)), clip_meta(clip)
    assert (meta["frames"], meta["fps"], meta["size"]) == (source["frames"], source["fps"], source["size"]) == (12, 12, (96, 64))
    assert meta.get("audio_codec")  # the sound is kept
    painted = Stylizer.load().stylize_frames(frames.read_frames(clip).frames, str(fixtures / "style.png"), alpha=0.7)
    frames.write_video(painted, tmp_path / "library.mp4", 12)  # the same encoder: H.264 costs ~9/255 on such texture

    def decoded(video):
        return [np.asarray(f, np.float32) for f in frames.read_frames(Path(video)).frames]

    got, want, plain = decoded(path), decoded(tmp_path / "library.mp4"), decoded(clip)
    error = np.mean([np.abs(g - w).mean() for g, w in zip(got, want)])
    assert len(got) == len(want) == 12 and error < 1.0
    assert np.mean([np.abs(g - p).mean() for g, p in zip(got, plain)]) > 10  # painted, not the clip back
    long = make_clip(tmp_path / "long.mp4", DEMO.video_max_seconds + 1, size="32x24", audio=False)
    with pytest.raises(Exception) as info:
        client.predict(gradio_client.handle_file(str(long)), gradio_client.handle_file(str(fixtures / "style.png")),
                       1.0, "Use the style's colours", 128, api_name="/stylize_video")
    assert f"paints clips up to {DEMO.video_max_seconds:g} s" in str(info.value)
