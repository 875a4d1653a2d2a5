"""Video in and out, streamed (issue #33, first part): frames decoded, stylized and encoded one at a time,
so memory does not grow with the clip's length; the sound, the frame count and the frame rate kept; a clip
that cannot be read is one line; a stopped run leaves nothing under the final name."""

import os
import subprocess
import sys
from pathlib import Path

import bench_video  # bench/ is on pytest's pythonpath (pyproject.toml)
import numpy as np
import pytest
from PIL import Image
from clips import clip_meta as _meta
from clips import make_clip as _clip

pytest.importorskip("imageio_ffmpeg")
ROOT = Path(__file__).resolve().parent.parent


def _command(clip: Path, out: Path, *extra) -> list[str]:
    return [sys.executable, "-m", "adain.cli", "stylize", str(clip), str(ROOT / "tests" / "fixtures" / "style.png"), "-o",
            str(out), "--max-size", "64", "--runtime", "onnx-int8", *extra]


def _stylize(clip: Path, out: Path, *extra) -> subprocess.CompletedProcess:
    """`adain stylize` on a clip in a process of its own."""
    return subprocess.run(_command(clip, out, *extra), capture_output=True, text=True, timeout=600, cwd=ROOT,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


def _peak_mib(clip: Path, out: Path) -> float:
    """The peak resident memory of stylizing `clip` (bench/machine.py's measure of a process's own peak)."""
    from machine import timed_process

    return timed_process(_command(clip, out), runs=1)["peak_rss_mib"]


def test_sound_frames_and_rate_are_kept(tmp_path):
    clip = _clip(tmp_path / "clip.mp4", 2.0)
    out = tmp_path / "out.mp4"
    result = _stylize(clip, out)
    assert result.returncode == 0, result.stderr[-2000:]
    src, got = _meta(clip), _meta(out)
    assert got["audio_codec"] == "aac" and got["fps"] == src["fps"] == 12
    assert got["frames"] == src["frames"] == 24 and abs(got["seconds"] - src["seconds"]) < 0.1
    assert got["size"] == (64, 44)  # 96x64 fitted to 64 (64x43), made even for yuv420p
    assert f"wrote {src['frames']} frames" in result.stdout
    assert not list(tmp_path.glob(".*partial*"))


def test_a_clip_without_sound_and_webm_out(tmp_path):
    clip = _clip(tmp_path / "silent.mp4", 1.0, audio=False)
    out = tmp_path / "out.webm"
    assert _stylize(clip, out).returncode == 0
    got = _meta(out)
    assert got["codec"] == "vp9" and got.get("audio_codec") is None and got["frames"] == 12


def test_memory_does_not_grow_with_the_clips_length(tmp_path):
    """Ten times the frames, the same peak memory (a list of every frame grew it: 1.86 GB for 25 s of 720p;
    here the 240 frames of 640x480 alone are 221 MB)."""
    short = _peak_mib(_clip(tmp_path / "short.mp4", 2.0, size="640x480"), tmp_path / "a.mp4")
    long = _peak_mib(_clip(tmp_path / "long.mp4", 20.0, size="640x480"), tmp_path / "b.mp4")
    print(f"peak MiB: 24 frames {short:.0f}, 240 frames {long:.0f}")
    assert long < short * 1.1


def test_a_clip_that_cannot_be_read_is_one_line(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    result = _stylize(bad, tmp_path / "out.mp4")
    assert result.returncode == 2
    err = result.stderr.strip()
    assert err.startswith("adain: error:") and err.count("\n") == 0 and "bad.mp4" in err, err
    assert not (tmp_path / "out.mp4").exists()


def test_align_holds_a_pan_and_a_moving_object_steadier_than_per_frame():
    """The default `temporal="align"` on bench/bench_video.py's clips of known motion, by the warping error
    with the exact motion (measured on 24 frames: 0.003-0.010x per-frame's on the pan, 0.33-0.41x on the
    object clip); "flow" steadier than per-frame on the object; "off" is per-frame AdaIN itself. On the zoom,
    align paints a ladder of canvases sampled back by Lanczos: steadier, and its strokes keep per-frame's
    contrast ("flow"'s bilinear warps lose a tenth of it)."""
    from adain.stylizer import Stylizer

    stylizer = Stylizer.load(runtime="onnx-int8")
    clips = bench_video.clips()
    errors, strokes = {}, {}
    for name in ("pan", "object", "zoom"):
        frames, boxes = clips[name]
        frames = frames[:8]
        for mode in ("off", "align", "flow"):
            outs = [np.asarray(o, np.float32) for o in stylizer.stylize_frames(frames, bench_video.STYLE, max_size=bench_video.W,
                                                                                temporal=mode)]
            errors[name, mode] = bench_video.warping_error(name, frames, outs, boxes, 1)
            strokes[name, mode] = np.mean([np.abs(o[1:] - o[:-1]).mean() for o in outs])  # vertical contrast
    assert errors["pan", "align"] < 0.05 * errors["pan", "off"], errors
    assert errors["object", "align"] < 0.6 * errors["object", "off"], errors
    assert errors["object", "flow"] < 0.7 * errors["object", "off"], errors
    assert errors["zoom", "align"] < 0.7 * errors["zoom", "off"], errors
    assert strokes["zoom", "align"] > 0.97 * strokes["zoom", "off"] and strokes["zoom", "flow"] < 0.9 * strokes["zoom", "off"], strokes
    with pytest.raises(ValueError, match="temporal"):
        stylizer.stylize_frames(frames, bench_video.STYLE, temporal="smooth")


def test_align_follows_the_camera_not_a_moving_object_and_a_still_camera_stays_put():
    """GridAlign's motion: the pan's (3, 2) px a frame, the object clip's none (the object does not drag the
    frame), a camera that does not move stays at 0 for 24 frames (no drift of the sub-pixel estimate); the
    network sees the scene on the grid where the first frame put it, and an identity network's frames come
    back as they were (the padding adds nothing; the blend moves a pixel by less than the still threshold).
    The content statistics are measured over the frame's place on the padded canvas, every REFRESH frames.
    Once the grid follows a pan, the frames are not checked for a zoom; under a still camera every one is."""
    from adain.temporal import REFRESH, STILL, STRIDE, GridAlign, Painter, phase_correlation

    clips = bench_video.clips()
    for name, motion in (("pan", bench_video.PAN), ("object", (0, 0))):
        frames = [f.astype(np.float32) for f in clips[name][0]]
        align, seen, measured = GridAlign(), [], []

        def identity(canvas, statistics):
            seen.append(canvas)
            return canvas

        def measure(canvas, region):
            np.testing.assert_array_equal(canvas[region], frames[len(seen)])  # the frame, not the padding
            measured.append(len(seen))

        checked, zooms = [], align.zooms
        align.zooms = lambda *args: checked.append(1) or zooms(*args)  # a pan's next frame is not checked for a zoom
        outs = [align(f, Painter(identity, measure)) for f in frames]
        assert measured == list(range(0, len(frames), REFRESH))
        assert len(checked) == (1 if name == "pan" else len(frames) - 1), (name, len(checked))
        np.testing.assert_allclose(align.offset, np.multiply(motion, len(frames) - 1), atol=0.05)
        for t, (frame, out, canvas) in enumerate(zip(frames, outs, seen)):
            sx, sy = (np.multiply(motion, t) % STRIDE).astype(int)
            assert canvas.shape[:2] == seen[0].shape[:2] and canvas.shape[0] % STRIDE == 0  # one shape to compile
            change = np.abs(out - frame)  # blended only where the input is still: within STILL of the frame
            assert change.max() <= STILL and change.mean() < 0.01, (name, t, change.max(), change.mean())
            np.testing.assert_array_equal(canvas[sy:sy + 8, sx:sx + 8], frame[:8, :8])  # the scene on frame 0's grid
    a = np.random.default_rng(0).uniform(0, 255, (64, 96))
    np.testing.assert_allclose(phase_correlation(a, np.roll(a, (-2, 5), axis=(0, 1))), (-5, 2), atol=0.01)


def test_align_keeps_a_still_camera_still_under_a_slowly_moving_picture_and_follows_a_slow_pan():
    """A patch of a sixth of the frame moving 0.15 px a frame under a still camera (as the Earth turns in
    Gradio's world.mp4) leaves the grid where it is: chained per-frame estimates added up to whole pixels
    that the check against "no motion" never saw, and a check at the reduced size it is estimated at saw
    half pixels; both moved the grid to and fro. A pan of (0.15, 0.1) px a frame is followed; a zoom, whose
    best-fitting shift agrees with the anchor only 0.95-1.07x as badly as none, leaves the grid still."""
    from adain.temporal import GridAlign, Painter

    photo = Image.open(bench_video.PHOTO).convert("RGB").resize((1024, 1024))

    def moved(t: float, dx: float, dy: float) -> np.ndarray:
        shifted = photo.transform(photo.size, Image.AFFINE, (1, 0, dx * t, 0, 1, dy * t), Image.BILINEAR)
        return np.asarray(shifted, np.float32)[300:300 + bench_video.H, 200:200 + bench_video.W]

    still, pan, wholes = GridAlign(hold=0), GridAlign(hold=0), []
    for t in range(24):
        frame = moved(0, 0, 0).copy()
        frame[72:216, 128:384] = moved(t, 0.15, 0)[72:216, 128:384]
        still(frame, Painter(lambda canvas, statistics: canvas))
        pan(moved(t, 0.15, 0.1), Painter(lambda canvas, statistics: canvas))
        wholes.append(still.previous[2])
    assert not np.any(wholes), wholes
    np.testing.assert_allclose(pan.offset, (0.15 * 23, 0.1 * 23), atol=0.5)
    assert pan.previous[2].tolist() == [3, 2]  # the grid followed: (3.45, 2.3) px by frame 23
    zoom = GridAlign(hold=0)  # a zoom about the centre: some shift always fits part of it best, none nearly all
    for frame in bench_video.clips()["zoom"][0]:
        zoom(frame.astype(np.float32), Painter(lambda canvas, statistics: canvas))
        wholes.append(zoom.previous[2])
    assert not np.any(wholes), wholes


def test_align_paints_a_zoom_on_canvases_that_hold_the_scene_still():
    """On the zoom clip (1 % a frame about the centre) GridAlign finds the zoom and maps each frame onto a
    canvas that holds the scene at one scale: consecutive canvases differ far less than the frames (but
    where the canvas moved by one stride, the grid's whole step), a new canvas starts once every zoom_step
    of zoom, and an identity network's frames come back as they were (resampled both ways). The statistics
    are measured at the first frame, the zoom's first and every REFRESH frames after it, not at each new
    canvas, over a frame-size region where a canvas holds the frame zoom_step times larger (the soft end of
    the range), and every frame is painted with the last measured."""
    from adain.temporal import REFRESH, STRIDE, ZOOM_STEP, GridAlign, Painter

    frames = [f.astype(np.float32) for f in bench_video.clips()["zoom"][0]]
    h, w = frames[0].shape[:2]  # the canvas shows the frame at [t, t + r (h, w)], 0 <= t < 8, r >= 1
    measures = 2 + (len(frames) - 2) // REFRESH  # the first frame, the zoom's first (the second frame), then REFRESH
    for step, canvases, clip in ((ZOOM_STEP, 6, frames), (1.12, 3, frames), (ZOOM_STEP, 6, frames[::-1])):
        # 1.01 ** 23 = 1.26: first frame, then 5 or 2 new canvases, zooming in or (reversed) out
        align, seen, measured, errors = GridAlign(zoom_step=step), [], [], []

        def identity(canvas, statistics):
            seen.append((canvas, align.ladder[:2] if align.ladder else None))  # kept: ids of freed ladders are reused
            assert statistics == len(measured)  # the last measured
            return canvas

        def measure(canvas, region):
            rows, columns = region
            measured.append(region)
            assert (rows.stop - rows.start, columns.stop - columns.start) == (h, w)  # one shape for every measure
            if len(measured) == 1:  # the first frame, on its own padded canvas
                return len(measured)
            assert 0 <= rows.start < STRIDE and 0 <= columns.start < STRIDE and rows.stop <= canvas.shape[0]
            frame = clip[len(seen)]  # the frame being painted: its place, shrunk by zoom_step, is the frame
            y, x = rows.start, columns.start
            place = canvas[y:y + int(np.ceil(h * step)), x:x + int(np.ceil(w * step))]
            shrunk = np.asarray(Image.fromarray(place.astype(np.uint8)).resize((w, h), Image.LANCZOS), float)
            crop = canvas[region]
            errors.append([np.abs(a - frame)[16:-16, 16:-16].mean() for a in (shrunk, crop)])
            return len(measured)

        outs = [align(f, Painter(identity, measure)) for f in clip]
        assert len({id(ladder[0]) for _, ladder in seen[1:]}) + 1 == canvases, step
        assert len(measured) == measures, (step, len(measured))
        assert all(shrunk < 0.3 * crop for shrunk, crop in errors), (step, errors)
        assert seen[1][0].shape[0] >= step * frames[0].shape[0] and seen[1][0].shape[0] % STRIDE == 0
        for t in range(2, len(frames)):
            assert np.abs(outs[t] - clip[t])[16:-16, 16:-16].mean() < 1.0, (step, t)
            if step == ZOOM_STEP and seen[t][1][0] is seen[t - 1][1][0]:  # the same canvas, maybe moved by a stride
                held = min(np.abs(seen[t][0] - np.roll(seen[t - 1][0], (dy, dx), (0, 1)))[16:h - 16, 16:w - 16].mean()
                           for dy in (-STRIDE, 0, STRIDE) for dx in (-STRIDE, 0, STRIDE))
                assert held < 0.25 * np.abs(clip[t] - clip[t - 1]).mean(), t  # measured: 0.10-0.22
    with pytest.raises(ValueError, match="zoom_step"):
        GridAlign(zoom_step=1.0)


def test_align_measures_and_paints_a_frame_in_one_call_where_the_frame_is_soft():
    """With `render_measured` (a measure and a render in one call: the encoder runs once), a pan's frames are
    measured that way every REFRESH frames, with no other measure; a zoom's at the frames whose canvas holds
    them √zoom_step to zoom_step times larger (the soft half of the ladder's range), waiting up to REFRESH
    more frames for one, from the zoom's first frame on (zooming in, that frame: its first canvas holds it
    zoom_step times larger; zooming out, the third), with no other measure."""
    from adain.temporal import REFRESH, ZOOM_STEP, GridAlign, Painter

    clips = bench_video.clips()
    zoom = [f.astype(np.float32) for f in clips["zoom"][0]]
    h, w = zoom[0].shape[:2]
    expected = {"pan": ([0, 8, 16], []), "zoom": ([0, 1, 11, 21], []), "zoom_out": ([0, 3, 13, 23], [])}
    for name, clip in (("pan", clips["pan"][0]), ("zoom", zoom), ("zoom_out", zoom[::-1])):
        align, fused, measured, scales = GridAlign(), [], [], []

        def render_measured(canvas, region):
            fused.append(t)
            if name != "pan" and t > 0:  # the frame's place on the canvas: the scale that shrinks it onto the frame
                y, x = region[0].start, region[1].start
                place = lambda r: canvas[y:y + round(h * r), x:x + round(w * r)].astype(np.uint8)  # noqa: E731
                misfit = {r: np.abs(np.asarray(Image.fromarray(place(r)).resize((w, h), Image.LANCZOS), float)
                                    - clip[t])[16:-16, 16:-16].mean() for r in np.linspace(1, ZOOM_STEP, 11)}
                scales.append(min(misfit, key=misfit.get))
            return canvas, t

        for t, frame in enumerate(clip):
            measure = lambda canvas, region: measured.append(t) or t  # noqa: E731
            align(np.asarray(frame, np.float32), Painter(lambda canvas, statistics: canvas, measure, render_measured))
        assert (fused, measured) == expected[name], name
        assert all(r >= np.sqrt(ZOOM_STEP) - 0.005 for r in scales), (name, scales)
        assert max(np.diff(sorted(fused + measured))) <= 2 * REFRESH


def test_a_zoom_resamples_alike_with_opencv_or_pillow(monkeypatch):
    """`resample` (OpenCV's warpAffine where installed, else Pillow's resize of a box) maps pixel p to
    scale p + shift in both: a whole-pixel shift is the image moved, exactly, and a zoom's two resamplings
    (onto a canvas 1.03x larger, back) return the image, and the two canvases differ by 1.1/255 on average
    (OpenCV's cubic is the sharper: a = -0.75 against Pillow's -0.5)."""
    import adain.temporal as temporal

    image = np.asarray(Image.open(bench_video.PHOTO).convert("RGB").resize((160, 96)), np.float32)
    results = []
    for backend in ("opencv", "pillow"):
        if backend == "pillow":
            monkeypatch.setattr(temporal, "_opencv", lambda: None)
        assert (temporal._opencv() is None) == (backend == "pillow")
        moved = temporal.resample(image, 1.0, (2, 1), (150, 90))
        np.testing.assert_allclose(moved, image[1:91, 2:152], atol=0.51)  # Pillow rounds RGB to 8 bits
        canvas = temporal.resample(image, 1 / 1.03, np.array([-3.5, -2.25]) / 1.03, (176, 104))
        back = temporal.resample(canvas, 1.03, (3.5, 2.25), (160, 96))
        assert np.abs(back - image)[4:-4, 4:-4].mean() < 3.0, backend
        results.append(canvas)
    assert np.abs(results[0] - results[1])[4:-4, 4:-4].mean() < 2.0


def test_the_cli_passes_temporal_through(tmp_path):
    """`--temporal off` is per-frame AdaIN: its frames are not the default's (aligned, on a canvas of one shape)."""
    frames = bench_video.clips()["pan"][0][:4]
    clip = tmp_path / "pan"
    clip.mkdir()
    for i, f in enumerate(frames):
        Image.fromarray(f[:96, :160]).save(clip / f"{i}.png")
    outs = {}
    for mode in ("off", "align"):
        result = _stylize(clip, tmp_path / mode, "--temporal", mode)
        assert result.returncode == 0, result.stderr
        outs[mode] = [np.asarray(Image.open(p), np.float32) for p in sorted((tmp_path / mode).iterdir())]
    assert all(np.abs(a - b).mean() > 1.0 for a, b in zip(outs["off"], outs["align"]))  # per-frame is not aligned
