"""Gradio demo: paint a photo in the style of a painting (fast AdaIN, or classic optimisation).

    python demo/app.py                 # http://127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT respected)
    python demo/app.py --model DIR     # fast mode through a TF-Hub module (ours or Magenta's, on disk)
    python demo/app.py --runtime keras # fast mode on Keras instead of the fastest installed (ADAIN_RUNTIME too)
    python demo/app.py --classic-budget 300  # seconds one classic job may cost (ADAIN_CLASSIC_BUDGET too)

A short video (DEMO.video_max_seconds) is painted frame by frame in the fast mode's style, strength,
colours and size (at most DEMO.video_max_output), streamed through ffmpeg with its sound kept.

On a ZeroGPU Space (scripts/space.py build --zerogpu) both modes run on the GPU ZeroGPU attaches per call
(demo/zerogpu.py); when it refuses one (the visitor's quota spent), the fast mode paints on the CPU path
instead and the classic mode says why it cannot run.

Fast and classic jobs have queues of their own, so a fast job never waits behind a classic one. A
classic job stops within one optimisation step when it is cancelled, when its page goes away, or
when a new job comes from the same page, and the next one starts only once it has stopped.

It only wires the UI to the public API (`adain.Stylizer`, `adain.optimize`); errors from it are shown
in the page as one readable line and the server keeps serving.
"""

from __future__ import annotations

import functools
import os
import queue
import sys
import tempfile
import threading
import uuid
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Gradio's cache (uploads, its copies of results) in a folder of the demo's own: the disk bounds below prune it,
# and must never reach another Gradio app's files in the shared default folder.
os.environ.setdefault("GRADIO_TEMP_DIR", str(Path(tempfile.gettempdir()) / "adain-demo-gradio"))

import gradio as gr  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402  (gradio's web framework)

from adain import Cancelled, ImageError, Stylizer, frames  # noqa: E402  (the installed package, weights included)
from adain.classic_budget import estimated_seconds  # noqa: E402
from adain.defaults import ALPHA, DEMO, MAX_INPUT_PIXELS  # noqa: E402
from adain.image_io import fit_size  # noqa: E402
from adain.memory import map_large_blocks, release_freed_memory  # noqa: E402
from adain.stylizer import RUNTIMES, fastest_runtime  # noqa: E402
from browser import cached_site, mount  # noqa: E402  (demo/browser.py: the in-browser page at /browser)
import zerogpu  # noqa: E402  (demo/zerogpu.py: the GPU of a ZeroGPU Space)

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE / "examples"
FAST, CLASSIC = "Fast (AdaIN)", "Classic (optimisation)"
COLOR_CHOICES = {"Use the style's colours": None, "Keep photo colours (luminance only)": "luminance",
                 "Keep photo colours (match style colours first)": "histogram"}
OUT_DIR = Path(tempfile.gettempdir()) / "adain-demo"  # result PNGs (Gradio serves its own copies of them)
ABANDONED_S = 5.0  # a classic job whose page has not taken its progress for this long is stopped
POLL_S = 1.0  # how often a waiting classic generator looks whether its worker has ended
GPU_MARGIN_S = 5.0  # a classic job on ZeroGPU stops this long before the GPU time it asked for ends
_CLASSIC_SLOT = threading.Semaphore(1)  # one optimisation computes at a time, a stopping one included


class UploadImage(gr.Image):
    """gr.Image that hands the raw upload path to adain (which decodes it safely) and turns any
    failure to even open it into a readable message instead of a stack trace."""

    @classmethod
    def get_block_name(cls) -> str:
        return "image"

    async def async_move_resource_to_block_cache(self, url_or_file_path):
        """Inputs are uploads: a URL (an API client's {"path": "https://..."}) would make the server download
        it, outside the upload size limit and the disk budget, so it is refused."""
        if url_or_file_path is not None and str(url_or_file_path).lower().startswith(("http://", "https://")):
            raise gr.Error("Images given as URLs are not accepted: upload the file instead.")
        return await super().async_move_resource_to_block_cache(url_or_file_path)

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)
        except Exception as exc:  # noqa: BLE001 - anything Pillow raises on a hostile upload
            raise gr.Error(f"The uploaded file is not an image that can be used ({type(exc).__name__}).") from None


_STYLIZER: dict = {"model": os.environ.get("ADAIN_MODEL"), "runtime": fastest_runtime()}  # ADAIN_RUNTIME, adain doctor's winner
_LIMITS = {"classic_budget_s": float(os.environ.get("ADAIN_CLASSIC_BUDGET", DEMO.classic_budget_s)),
           "disk_budget_mb": float(os.environ.get("ADAIN_DISK_BUDGET_MB", DEMO.disk_budget_mb))}


def _stylizer():
    """The shipped AdaIN model (on --runtime / ADAIN_RUNTIME, default the fastest installed: OpenVINO on a
    CPU with AMX, else the int8 ONNX path; both score as Keras by `adain evaluate`), or the TF-Hub module
    given by --model / ADAIN_MODEL; loaded once."""
    if "s" not in _STYLIZER:
        model, runtime = _STYLIZER["model"], _STYLIZER["runtime"]
        if model:
            _STYLIZER["s"] = Stylizer.from_hub(model)
        else:
            try:
                _STYLIZER["s"] = Stylizer.load(runtime=runtime)
            except ModuleNotFoundError as exc:  # tf2onnx not installed (runtime "onnx"): the Keras path still works
                print(f"adain demo: {exc}; using the Keras runtime", file=sys.stderr)
                _STYLIZER["s"] = Stylizer.load(runtime="keras")
    return _STYLIZER["s"]


def _gpu_stylizer():
    """The shipped model on the Keras runtime, for a GPU (the torch backend on a ZeroGPU Space); loaded once,
    at start-up, where ZeroGPU expects models to be made."""
    if "gpu" not in _STYLIZER:
        _STYLIZER["gpu"] = Stylizer.load(runtime="keras")
    return _STYLIZER["gpu"]


@zerogpu.gpu(DEMO.zerogpu_fast_s)
def _stylize_on_gpu(content, styles, options: dict):
    return _gpu_stylizer().stylize(content, styles, **options)


def _paint(content, styles, options: dict):
    """The fast mode's picture: on the GPU where the demo has one (a ZeroGPU Space), else on the CPU path.
    A GPU that ZeroGPU refuses (the visitor's quota spent) sends the job to the CPU path, with a notice."""
    if zerogpu.has_gpu():
        try:
            return _stylize_on_gpu(content, styles, options)
        except gr.Error as exc:
            if not zerogpu.refused(exc):
                raise
            gr.Warning(f"No GPU for this job ({exc.message}): painted on the CPU instead.")
    return _stylizer().stylize(content, styles, **options)


def _inputs(content, style):
    if content is None:
        raise gr.Error("Add a content photo first.")
    _require_style(style)
    return _checked(content), _checked(style)


def _require_style(style) -> None:
    if style is None:
        raise gr.Error("Add a style image (upload one or pick an example).")


def _checked(path):
    from adain.image_io import load_image

    try:
        return load_image(path)
    except ImageError as exc:
        raise _upload_error(exc, path) from None


def _upload_error(exc: Exception, path) -> gr.Error:
    """The error as the page shows it: the server's temporary path of the upload named "the upload"."""
    return gr.Error(str(exc).replace(str(path), "the upload"))


def _color_mode(label):
    """adain's preserve_color for the page's colours choice (an API client may give the mode itself)."""
    return COLOR_CHOICES.get(label, label)


def _folder_bytes(folder: Path) -> int:
    """Bytes of the files under `folder` (0 when it does not exist); files deleted meanwhile are skipped."""
    total = 0
    for path in folder.rglob("*") if folder.is_dir() else ():
        try:
            total += path.stat().st_size if path.is_file() else 0
        except OSError:
            pass
    return total


def disk_used() -> int:
    """Bytes the demo holds on disk: Gradio's cache (uploads, its copies of results) and its own results."""
    return _folder_bytes(Path(gr.utils.get_upload_folder())) + _folder_bytes(OUT_DIR)


class UploadBudget:
    """ASGI middleware: an upload that would take the demo's files over the byte budget is refused when it
    arrives (507, before its bytes are read), whoever sent it, so disk is bounded by construction. Nothing
    anyone uploaded is deleted to make room: Gradio's age bound (DEMO.cache_cleanup) frees it. An upload
    without a Content-Length (which browsers and gradio_client send) is refused (411)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].endswith("/upload"):
            length = dict(scope["headers"]).get(b"content-length")
            refusal = None
            if length is None:
                refusal = (411, "Uploads need a Content-Length.")
            elif disk_used() + int(length) > _LIMITS["disk_budget_mb"] * 2**20:
                refusal = (507, "The server's space for uploads is full: try again in a few minutes.")
            if refusal:
                from starlette.responses import PlainTextResponse

                await PlainTextResponse(refusal[1], status_code=refusal[0])(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _save(image=None, write=None, suffix: str = ".png") -> str:
    """Write a result (a PIL image as PNG, or what `write(path)` writes) for the download button, then keep
    only the demo's newest DEMO.keep_results results (files it made; Gradio serves its own copies). Over the
    byte budget the result is refused. Gradio's cache is never pruned here: its files are the visitors',
    and only its age bound removes them."""
    if disk_used() > _LIMITS["disk_budget_mb"] * 2**20:
        raise gr.Error("The server's disk space for results is full: try again in a few minutes.")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"stylized-{uuid.uuid4().hex[:8]}{suffix}"
    image.save(path) if write is None else write(path)
    results = sorted(OUT_DIR.glob("stylized-*"), key=lambda p: p.stat().st_mtime if p.exists() else 0.0)
    for stale in results[:-DEMO.keep_results]:
        stale.unlink(missing_ok=True)
    return str(path)


def _classic_scales(size: int) -> int:
    return 2 if size >= 384 else 1


def _duration(seconds: float) -> str:
    s = round(seconds)
    return f"{s} s" if s < 90 else f"{s // 60} min" + (f" {s % 60} s" if s % 60 else "")


def classic_estimate(steps, size) -> str:
    """The page's note under the classic settings: expected time (square photo) and the server's limit."""
    steps, size = int(steps), min(int(size), DEMO.max_output)
    if zerogpu.has_gpu():
        return f"Classic mode: on this Space's GPU, up to {_duration(DEMO.zerogpu_classic_s)} per job."
    expected = estimated_seconds(steps, (size, size), _classic_scales(size))
    budget = _LIMITS["classic_budget_s"]
    verdict = "" if expected <= budget else " **Over the limit: use fewer steps or a smaller size.**"
    return (f"Classic mode: about {_duration(expected)} for a square photo on a 2-vCPU machine; this server "
            f"allows up to {_duration(budget)} per job.{verdict}")


def stylize(content, style, alpha=ALPHA, preserve_color=None, size=DEMO.size, style2=None, mix=0.5):
    """Fast mode: one forward pass of the AdaIN network. Returns the path of a lossless PNG."""
    content_img, style_img = _inputs(content, style)
    styles, weights = [style_img], None
    if style2 is not None:
        styles.append(_checked(style2))
        weights = [1.0 - float(mix), float(mix)]
    options = {"alpha": float(alpha), "weights": weights, "max_size": min(int(size), DEMO.max_output),
               "preserve_color": _color_mode(preserve_color)}
    try:
        result = _paint(content_img, styles if len(styles) > 1 else style_img, options)
    except (ImageError, ValueError, FileNotFoundError) as exc:
        raise gr.Error(str(exc)) from None
    finally:
        release_freed_memory()
    path = _save(result)
    return path, path


def stylize_video(video, style, alpha=ALPHA, preserve_color=None, size=DEMO.size, progress=gr.Progress()):
    """Video: every frame in the fast mode, the style encoded once, streamed from the upload to an MP4 with
    the clip's sound. Clips over DEMO.video_max_seconds are refused before a frame is decoded."""
    if video is None:
        raise gr.Error("Add a video first.")
    _require_style(style)
    style_img = _checked(style)
    try:
        clip = frames.read_frames(Path(video))
    except ImageError as exc:
        raise _upload_error(exc, video) from None
    seconds = (clip.count or 0) / clip.fps
    if not clip.count or seconds > DEMO.video_max_seconds:
        raise gr.Error(f"The clip is {'of unknown length' if not clip.count else f'{seconds:.1f} s long'}; this server "
                       f"paints clips up to {DEMO.video_max_seconds:g} s: trim it first (or use `adain stylize` locally).")
    painted = _stylizer().stylize_frames(clip.frames, style_img, alpha=float(alpha),
                                         preserve_color=_color_mode(preserve_color),
                                         max_size=min(int(size), DEMO.video_max_output))

    def tracked():
        for i, frame in enumerate(painted, 1):
            progress(min(i / clip.count, 1.0), desc=f"frame {i}/{clip.count}")
            yield frame

    try:
        return _save(write=lambda path: frames.write_video(tracked(), path, clip.fps, clip.audio), suffix=".mp4")
    except (ImageError, ValueError) as exc:
        raise _upload_error(exc, video) from None
    finally:
        release_freed_memory()


def classic(content, style, steps=DEMO.classic_steps, preserve_color=None, size=DEMO.size, progress=gr.Progress()):
    """Classic mode: Gatys et al. optimisation with a live progress bar and intermediate images.

    The optimisation runs on a worker thread; this generator reports its progress each step, shows a
    preview every tenth of the way, then the final image (the API returns only the final one).
    Jobs over the server's budget are refused before they start; on a GPU (ZeroGPU) the job stops itself
    just before the GPU time it asked for ends. The worker stops within one step when this generator is
    closed (cancel) or stops taking its progress (page gone, ABANDONED_S).
    """
    content_img, style_img = _inputs(content, style)
    steps, size = int(steps), min(int(size), DEMO.max_output)
    scales = _classic_scales(size)
    expected = estimated_seconds(steps, fit_size(content_img.size, size), scales)
    on_gpu = zerogpu.has_gpu()
    budget = DEMO.zerogpu_classic_s if on_gpu else _LIMITS["classic_budget_s"]
    if expected > budget and not on_gpu:
        raise gr.Error(f"This job would take about {_duration(expected)} here, and this server allows "
                       f"{_duration(budget)} per classic job: use fewer steps or a smaller size.")
    preview_every = max(1, steps // 10)
    events: queue.Queue = queue.Queue(maxsize=1)  # the worker waits for the page to take each step
    cancel = threading.Event()
    outcome: dict = {}

    def out_of_time() -> None:
        outcome["out_of_time"] = True
        cancel.set()

    deadline = threading.Timer(max(1.0, budget - GPU_MARGIN_S), out_of_time) if on_gpu else None

    def emit(event) -> None:
        if cancel.is_set():
            return
        try:
            events.put(event, timeout=ABANDONED_S)
        except queue.Full:  # nobody takes the progress any more: the page has gone
            cancel.set()

    def work():
        try:
            from adain import optimize  # TensorFlow loads with the first classic job, not at start-up

            # The slot is held by a job that stops within one step when cancelled, or within its budget
            if not _CLASSIC_SLOT.acquire(timeout=budget + 60):
                outcome["error"] = "The classic mode is busy: try again in a few minutes."
                return
            try:
                outcome["image"] = optimize(
                    content_img, style_img, steps=steps, size=size, scales=scales,
                    preserve_color=_color_mode(preserve_color), cancel=cancel,
                    callback=lambda step, losses, image: emit(
                        (step, losses["total"], image if step % preview_every == 0 and step < steps else None)))
            finally:
                _CLASSIC_SLOT.release()
        except Cancelled:
            outcome["error"] = (f"The job used up its {_duration(budget)} of GPU time: use fewer steps or a smaller size."
                                if outcome.get("out_of_time") else "The job was cancelled.")
        except (ImageError, ValueError) as exc:
            outcome["error"] = str(exc)
        except Exception as exc:  # noqa: BLE001 - the page gets a line, the generator its end, never a hang
            outcome["error"] = f"The optimisation failed ({type(exc).__name__})."
        finally:
            release_freed_memory()
            emit(None)

    progress(0, desc="waiting for the previous classic job to stop")
    worker = threading.Thread(target=work, daemon=True, name="adain-classic")
    worker.start()
    if deadline is not None:
        deadline.daemon = True
        deadline.start()
    try:
        while True:  # every wait has a timeout: a worker that ended without a last event still ends the job
            try:
                event = events.get(timeout=POLL_S)
            except queue.Empty:
                if worker.is_alive():
                    continue
                outcome.setdefault("error", "The job was stopped: its page stopped taking its progress.")
                break
            if event is None:
                break
            step, loss, preview = event
            progress(step / steps, desc=f"step {step}/{steps}, loss {loss:.4g}")
            # A yield every step: Gradio can only close (cancel) this generator between two of them.
            yield (gr.skip() if preview is None else preview), gr.skip()
    finally:
        cancel.set()  # closed early (cancel, disconnect): the worker stops at its next loss evaluation
        if deadline is not None:
            deadline.cancel()
    if "error" in outcome:
        raise gr.Error(outcome["error"])
    path = _save(outcome["image"])
    yield path, path


_classic_on_gpu = zerogpu.gpu(DEMO.zerogpu_classic_s)(classic)


@functools.wraps(classic)
def classic_job(*args, **kwargs):
    """The classic mode's endpoint: `classic`, inside ZeroGPU's GPU call on a ZeroGPU Space; a GPU it refuses
    (the visitor's quota spent) ends the job with ZeroGPU's reason and what still works."""
    try:
        yield from _classic_on_gpu(*args, **kwargs)
    except gr.Error as exc:
        if not zerogpu.refused(exc):
            raise
        raise gr.Error(f"The classic mode runs on this Space's GPU, and none is available for you now: {exc.message} "
                       "The fast mode still works (on the CPU when there is no GPU).") from None


def _examples(kind: str) -> list[str]:
    folder = EXAMPLES / kind
    return sorted(str(p) for p in folder.glob("*.jpg")) + sorted(str(p) for p in folder.glob("*.png"))


def build() -> gr.Blocks:
    with gr.Blocks(title="adain: paint your photo in any style", delete_cache=DEMO.cache_cleanup) as demo:
        gr.Markdown("# Paint a photo in the style of any painting\n"
                    "Give a photo and a painting (or pick one below). **Fast** uses a trained network (a few "
                    "seconds); **Classic** optimises the picture itself (slower, often finer). "
                    "[**Run the fast mode in your own browser**](/browser/) (nothing uploaded, no queue).")
        with gr.Row():
            content = UploadImage(label="Your photo", type="filepath", image_mode=None,
                                  sources=["upload", "webcam", "clipboard"], format="png")
            style = UploadImage(label="Style (painting)", type="filepath", image_mode=None,
                                sources=["upload", "clipboard"], format="png")
            output = gr.Image(label="Result", type="filepath", format="png", interactive=False,
                              buttons=["download", "fullscreen"])
        gr.Examples(_examples("styles"), inputs=[style], label="Example paintings (click to use)")
        with gr.Row():
            mode = gr.Radio([FAST, CLASSIC], value=FAST, label="Mode")
            alpha = gr.Slider(0.0, 1.0, value=ALPHA, step=0.05, label="Style strength")
            size = gr.Slider(128, DEMO.max_output, value=DEMO.size, step=64, label="Output size (long side, px)")
        preserve = gr.Radio(list(COLOR_CHOICES), value="Use the style's colours", label="Colours")
        with gr.Accordion("Mix in a second style", open=False):
            style2 = UploadImage(label="Second style", type="filepath", image_mode=None, sources=["upload"], format="png")
            mix = gr.Slider(0.0, 1.0, value=0.5, step=0.05, label="Share of the second style")
        steps = gr.Slider(20, 500, value=DEMO.classic_steps, step=10, label="Optimisation steps (classic mode)", visible=False)
        estimate = gr.Markdown(classic_estimate(DEMO.classic_steps, DEMO.size), visible=False)
        with gr.Row():
            run_fast = gr.Button("Stylize", variant="primary")
            run_classic = gr.Button("Stylize (classic)", variant="primary", visible=False)
            stop_classic = gr.Button("Cancel", variant="stop", visible=False)
        download = gr.File(label="Download full-resolution PNG")
        with gr.Accordion(f"Paint a short video (up to {DEMO.video_max_seconds:g} s) in the style, strength, colours "
                          "and size above", open=False):
            with gr.Row():
                clip = gr.Video(label="Your clip", sources=["upload"])
                painted_clip = gr.Video(label="Result (MP4, sound kept)", interactive=False)
            run_video = gr.Button("Stylize the video", variant="primary")
        gr.Markdown(f"Uploads up to {DEMO.max_upload.upper()} and {MAX_INPUT_PIXELS // 1_000_000} megapixels; "
                    f"results up to {DEMO.max_output} px on the long side.")

        def switch(m):
            on, off = gr.update(visible=m == CLASSIC), gr.update(visible=m != CLASSIC)
            return on, off, on, on, on, off

        mode.change(switch, mode, [steps, run_fast, run_classic, stop_classic, estimate, alpha])
        gr.on([steps.change, size.change], classic_estimate, [steps, size], estimate, queue=False, api_visibility="private")
        run_fast.click(stylize, [content, style, alpha, preserve, size, style2, mix], [output, download],
                       api_name="stylize", concurrency_limit=1, concurrency_id="fast")
        classic_event = run_classic.click(classic_job, [content, style, steps, preserve, size], [output, download],
                                          api_name="optimize", concurrency_limit=1, concurrency_id="classic")
        stop_classic.click(None, None, None, cancels=[classic_event], api_visibility="private")
        run_video.click(stylize_video, [clip, style, alpha, preserve, size], painted_clip, api_name="stylize_video",
                        concurrency_limit=1, concurrency_id="video")
        pairs = [[c, s] for c, s in zip(_examples("content"), _examples("styles"))]
        if pairs:  # a click fills the inputs, then runs the fast mode in its group (no endpoint of its own)
            one_click = gr.Examples(pairs, inputs=[content, style], label="One-click examples", api_visibility="private")
            one_click.load_input_event.then(stylize, [content, style], [output, download], concurrency_limit=1,
                                            concurrency_id="fast", api_visibility="private")
    demo.queue(max_size=None, default_concurrency_limit=1)  # one job per queue at a time; waiting: per mode, below
    _limit_waiting_per_mode(demo, {"fast": DEMO.fast_queue_size, "classic": DEMO.classic_queue_size,
                                   "video": DEMO.video_queue_size})
    return demo


def _limit_waiting_per_mode(demo: gr.Blocks, limits: dict[str, int]) -> None:
    """Refuse a job when its mode's line (Gradio's queue of its concurrency group) holds `limits[group]`
    waiting jobs, whatever the other mode's line holds: queued classic jobs never make a fast request
    wait or be refused. (Gradio's own max_size counts both lines together.)"""
    from gradio import route_utils

    line = demo._queue
    push = line.push

    async def bounded(body, request, username):
        if body.fn_index is not None:
            group = route_utils.get_fn(demo, None, body).concurrency_id
            waiting = line.event_queue_per_concurrency_id.get(group)
            if group in limits and waiting is not None and len(waiting.queue) >= limits[group]:
                return False, f"The {group} mode's queue is full ({limits[group]} jobs waiting): try again soon.", "queue_full"
        return await push(body, request, username)

    line.push = bounded


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="adain Gradio demo")
    parser.add_argument("--model", help="a TF-Hub module folder to use for the fast mode instead of the shipped model")
    parser.add_argument("--runtime", choices=RUNTIMES, help=f"fast-mode runtime (default {_STYLIZER['runtime']})")
    parser.add_argument("--disk-budget-mb", type=float,
                        help=f"MB of uploads and results on disk, all visitors together (default {_LIMITS['disk_budget_mb']:g})")
    parser.add_argument("--classic-budget", type=float,
                        help=f"seconds (on a 2-vCPU machine) one classic job may cost (default {_LIMITS['classic_budget_s']:g})")
    args = parser.parse_args()
    if args.classic_budget:
        _LIMITS["classic_budget_s"] = args.classic_budget
    if args.disk_budget_mb:
        _LIMITS["disk_budget_mb"] = args.disk_budget_mb
    if args.model:
        _STYLIZER["model"] = args.model
    if args.runtime:
        _STYLIZER["runtime"] = args.runtime
    map_large_blocks()  # large arrays go back to the OS when freed (adain.memory)
    _stylizer()  # load (and on the very first run export the ONNX graphs) before the first visitor waits
    if zerogpu.has_gpu():
        _gpu_stylizer()  # at start-up, on the CPU: ZeroGPU moves it to the GPU inside each call
    site = cached_site()  # assembled once per version of its files, not per start
    demo = build()
    app, _, _ = demo.launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        max_file_size=DEMO.max_upload,
        app_kwargs={"middleware": [Middleware(UploadBudget)]},
        show_error=True,
        prevent_thread_lock=True,
    )
    mount(app, site)  # the same networks in the visitor's browser, no server CPU
    demo.block_thread()


if __name__ == "__main__":
    main()
