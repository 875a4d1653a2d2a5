"""Temporal consistency of stylized video on clips of known motion: the `temporal` modes of
`Stylizer.stylize_frames` ("off": per-frame AdaIN; "align", the default; "flow"), by the warping error of
Lai et al. (ECCV 2018) computed with the exact motion (no optical-flow estimate in the yardstick), the
frames' style and content losses (normalised VGG, as `adain evaluate` reports them) and frames per second,
each averaged over several paintings.

    python bench/bench_video.py [--styles 1_starry_night 2_great_wave ...]   # -> bench/results/video.json, video_strip.jpg
    python bench/bench_video.py --clips earth   # measures that clip again; the others are kept from video.json

Clips, 512x288, 24 frames, made from the demo's example photo: "pan" (the camera moves 3 px right and
2 px down a frame: shifts that are not multiples of the encoder's stride), "object" (a patch of
another photo moves 5 px a frame over a still background; the error is taken on the background both
frames show, 16 px away from the patch), "zoom" (the camera moves in by 1 % a frame about the centre;
the earlier frame's output is carried to the later one bilinearly, as Lai et al. warp by the flow) and
"zoom_out" (the same frames backwards: the camera moves out, new content enters at the edges), and
where Gradio is installed a real clip it ships, "earth" (the Earth at night turning, 480x270, its first 24
frames), measured along the flow that OpenCV's DIS finds between the input frames where a forward-backward
check holds ("flow" blends along DIS too, so this yardstick leans its way). Short-term error: frame t
against frame t-1 aligned by the motion (16-px margins), mean squared difference on a 0-1 scale;
long-term: t against t-8. Frames per second: each mode run REPEATS times in turn, timed at its fastest run;
its speed against per-frame's (`vs_off`'s "fps", `speed_vs_off` per painting) is the median over those rounds
of per-frame's time over the mode's in the same round (on a machine whose speed swung over seconds, the
fastest runs' ratio put one painting's align at 0.57x, its other paintings' at 0.80-0.92x).

The style loss is also given as the mean over four of VGG's grid phases (`style_loss_phases`: every fourth
frame and its output cropped to (W - 8) x (H - 8) at offsets (3k mod 8, k), k = 0..3). VGG's style
statistics move with the grid: per-frame AdaIN's output, measured on the grid it was painted on, scores 0.586 on the pan (Starry
Night) and 0.61-0.65 cropped by a few pixels, while an output painted on the scene's grid ("align") is
measured off its grid on 7 frames of 8; the mean over phases compares the two on equal terms.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from machine import machine, save_result  # noqa: E402

W, H, FRAMES, MARGIN, LONG = 512, 288, 24, 16, 8
REPEATS = 3  # timed runs of each mode per clip and painting (frames per second: the fastest)
PAN = (3, 2)  # px a frame, right and down
ZOOM = 1.01  # the zoom clip's magnification a frame (the camera moves in: no new content enters)
OBJECT_STEP, OBJECT_SIDE = 5, 96
STYLES = ROOT / "demo" / "examples" / "styles"
STYLE = STYLES / "1_starry_night.jpg"
BENCH_STYLES = ("1_starry_night", "2_great_wave", "7_udnie")  # strokes, flat areas, hard edges
METRICS = ("short_term_error", "long_term_error", "style_loss", "style_loss_phases", "content_loss", "fps")
PHASES = [(3 * k % 8, k) for k in range(4)]  # (x, y) offsets of the 8-px-smaller crops for style_loss_phases
EARTH = "media_assets/videos/world.mp4"  # in Gradio's wheel (Apache-2.0): the Earth at night, turning, 480x270
PHOTO = ROOT / "demo" / "examples" / "content" / "1_astronaut.jpg"
PATCH = ROOT / "demo" / "examples" / "content" / "3_chelsea.jpg"


def clips() -> dict:
    """{name: (frames, boxes)}: HxWx3 uint8 frames, and the moving patch's (x, y) in each (object clip)."""
    picture = Image.open(PHOTO).convert("RGB").resize((1024, 1024), Image.LANCZOS)
    photo = np.asarray(picture)
    pan = [photo[40 + PAN[1] * t:40 + PAN[1] * t + H, 20 + PAN[0] * t:20 + PAN[0] * t + W] for t in range(FRAMES)]
    background = photo[300:300 + H, 200:200 + W]
    patch = np.asarray(Image.open(PATCH).convert("RGB").resize((OBJECT_SIDE, OBJECT_SIDE), Image.LANCZOS))
    objects, boxes = [], []
    for t in range(FRAMES):
        frame = background.copy()
        x, y = 40 + OBJECT_STEP * t, 96
        frame[y:y + OBJECT_SIDE, x:x + OBJECT_SIDE] = patch
        objects.append(frame)
        boxes.append((x, y))
    zoom = []
    for t in range(FRAMES):  # boxes of the photo centred on (512, 480), each resampled down to W x H
        w = 960 / ZOOM ** t
        h = w * H / W
        zoom.append(np.asarray(picture.resize((W, H), Image.LANCZOS, box=(512 - w / 2, 480 - h / 2, 512 + w / 2, 480 + h / 2))))
    made = {"pan": (pan, boxes), "object": (objects, boxes), "zoom": (zoom, None), "zoom_out": (zoom[::-1], None)}
    gradio = importlib.util.find_spec("gradio")
    if gradio is not None:  # a real clip, where the demo's extra has installed one
        from adain.frames import read_frames

        frames = read_frames(Path(gradio.submodule_search_locations[0]) / EARTH).frames
        made["earth"] = ([np.array(f) for f in itertools.islice(frames, FRAMES)], None)
    return made


def bilinear(image: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """`image` (HxWxC) sampled at the points (xs, ys), bilinearly (the points lie inside the image)."""
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    x1, y1 = np.minimum(x0 + 1, image.shape[1] - 1), np.minimum(y0 + 1, image.shape[0] - 1)
    fx, fy = (xs - x0)[..., None], (ys - y0)[..., None]
    return ((image[y0, x0] * (1 - fx) + image[y0, x1] * fx) * (1 - fy)
            + (image[y1, x0] * (1 - fx) + image[y1, x1] * fx) * fy)


def warping_error(name: str, frames: list[np.ndarray], outs: list[np.ndarray], boxes, k: int) -> float:
    """Mean squared difference (0-1 scale) of outputs t and t-k aligned by the clip's exact motion (the
    real clip's: the optical flow OpenCV's DIS finds between the frames, where it holds)."""
    errors = []
    for t in range(k, len(outs)):
        a, b = outs[t] / 255.0, outs[t - k] / 255.0
        if name == "earth":
            import cv2
            from adain.temporal import flow_warp

            greys = [np.asarray(Image.fromarray(frames[i]).convert("L")) for i in (t, t - k)]
            warped, holds = flow_warp(cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM), b, *greys)
            holds[:MARGIN], holds[-MARGIN:], holds[:, :MARGIN], holds[:, -MARGIN:] = False, False, False, False
            errors.append(float(((a - warped) ** 2)[holds].mean()))
        elif name.startswith("zoom"):  # frame t at p shows frame t-k at c + (p - c) / z, c the centre
            ys, xs = np.mgrid[MARGIN:H - MARGIN, MARGIN:W - MARGIN].astype(np.float32)
            cx, cy, z = (W - 1) / 2, (H - 1) / 2, ZOOM ** (k if name == "zoom" else -k)
            xs, ys = cx + (xs - cx) / z, cy + (ys - cy) / z
            seen = (xs >= 0) & (xs <= W - 1) & (ys >= 0) & (ys <= H - 1)  # zooming out, the edges are new
            diff = a[MARGIN:H - MARGIN, MARGIN:W - MARGIN][seen] - bilinear(b, xs[seen], ys[seen])
            errors.append(float((diff ** 2).mean()))
        elif name == "pan":
            dx, dy = PAN[0] * k, PAN[1] * k  # frame t at (x, y) shows frame t-k at (x + dx, y + dy)
            diff = a[MARGIN:H - MARGIN - dy, MARGIN:W - MARGIN - dx] - b[MARGIN + dy:H - MARGIN, MARGIN + dx:W - MARGIN]
            errors.append(float((diff ** 2).mean()))
        else:
            still = np.ones((H, W), bool)
            still[:MARGIN], still[-MARGIN:], still[:, :MARGIN], still[:, -MARGIN:] = False, False, False, False
            for x, y in (boxes[t], boxes[t - k]):
                still[max(0, y - MARGIN):y + OBJECT_SIDE + MARGIN, max(0, x - MARGIN):x + OBJECT_SIDE + MARGIN] = False
            errors.append(float(((a - b) ** 2)[still].mean()))
    return float(np.mean(errors))


def shifted(images: list[np.ndarray], x: int, y: int) -> list[np.ndarray]:
    """The images cropped 8 px smaller on each side at offset (x, y): VGG's grid at another phase."""
    return [im[y:im.shape[0] - 8 + y, x:im.shape[1] - 8 + x] for im in images]


def losses(encoder, frames: list[np.ndarray], outs: list[np.ndarray], style: np.ndarray) -> tuple[float, float]:
    """Mean (content, style) loss of the outputs against the AdaIN targets of their frames, normalised VGG."""
    from adain.adain_op import adain, channel_stats
    from adain.losses import mse
    from adain.vgg_spec import CONTENT_LAYER, STYLE_LAYERS

    target = {k: channel_stats(np.asarray(v)) for k, v in encoder(style[None]).items()}
    lc, ls = [], []
    for frame, out in zip(frames, outs):
        fc = np.asarray(encoder(np.asarray(frame, np.float32)[None])[CONTENT_LAYER])
        fo = {k: np.asarray(v) for k, v in encoder(np.asarray(out, np.float32)[None]).items()}
        lc.append(float(mse(fo[CONTENT_LAYER], adain(fc, *target[CONTENT_LAYER]))))
        ls.append(sum(float(mse(m, target[k][0])) + float(mse(s, target[k][1]))
                      for k in STYLE_LAYERS for m, s in [channel_stats(fo[k])]))
    return float(np.mean(lc)), float(np.mean(ls))


def pan_strip(stylizer, modes) -> Image.Image:
    """One place of the scene at full size in frames 8-11 of the pan, Starry Night, a row per mode: per-frame
    AdaIN repaints it in every frame, a steady mode keeps its strokes."""
    from adain.image_io import image_grid

    frames = clips()["pan"][0][:12]
    x, y, w, h = 240, 100, 192, 144  # in frame 8; the pan moves it by -PAN a frame
    rows = []
    for mode in modes:
        outs = [np.clip(np.asarray(o, np.float32), 0, 255) for o in stylizer.stylize_frames(frames, STYLE, max_size=W, temporal=mode)]
        rows.append([o[y - PAN[1] * (t - 8):y - PAN[1] * (t - 8) + h, x - PAN[0] * (t - 8):x - PAN[0] * (t - 8) + w]
                     for t, o in enumerate(outs) if t >= 8])
    return image_grid(rows, (w, h), gap=4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--styles", nargs="+", default=BENCH_STYLES, help="example paintings (demo/examples/styles)")
    parser.add_argument("--runtime", help="as in adain stylize (default: the fastest installed)")
    parser.add_argument("--out", default="video.json", help="file name under bench/results")
    parser.add_argument("--clips", nargs="+", help="measure only these clips; the others' entries (each with the date "
                        "it was measured) are kept from the results file")
    args = parser.parse_args()

    from adain.encoder import build_encoder
    from adain.pipeline import image_array
    from adain.stylizer import Stylizer
    from adain.temporal import TEMPORAL_MODES
    from adain.vgg_spec import STYLE_LAYERS

    stylizer = Stylizer.load(runtime=args.runtime)
    encoder = build_encoder(STYLE_LAYERS)
    modes = ("off", *(m for m in TEMPORAL_MODES if m != "off"))
    result = {"machine": machine(), "runtime": type(stylizer).__name__, "frames": FRAMES, "size": [W, H],
              "styles": list(args.styles), "clips": {}}
    kept = ROOT / "bench" / "results" / args.out
    if args.clips and kept.exists():
        result["clips"] = {k: v for k, v in json.loads(kept.read_text())["clips"].items() if k not in args.clips}
    for name, (frames, boxes) in clips().items():
        if args.clips and name not in args.clips:
            continue
        result["clips"][name] = {"date": result["machine"]["date"], **{mode: {"per_style": {}} for mode in modes}}
        for style_name in args.styles:
            path = STYLES / f"{style_name}.jpg"
            style = image_array(path, 512)
            list(stylizer.stylize_frames(frames[:2], path, max_size=W, temporal="off"))  # warm: compile for the shapes
            list(stylizer.stylize_frames(frames[:2], path, max_size=W))
            seconds, outputs = {mode: [] for mode in modes}, {}  # {mode: [seconds of each round]}
            for _ in range(REPEATS):  # the modes in turn, each timed at its fastest: a noisy machine slows one run
                for mode in modes:
                    t0 = time.perf_counter()
                    run = stylizer.stylize_frames(frames, path, max_size=W, temporal=mode)
                    outputs[mode] = [np.asarray(o, np.float32) for o in run]
                    seconds[mode].append(time.perf_counter() - t0)
            for mode, outs in outputs.items():
                lc, ls = losses(encoder, frames, outs, style)
                phases = np.mean([losses(encoder, *(shifted(fs[::4], x, y) for fs in (frames, outs)), style)[1] for x, y in PHASES])
                row = {"short_term_error": round(warping_error(name, frames, outs, boxes, 1), 6),
                       "long_term_error": round(warping_error(name, frames, outs, boxes, LONG), 6),
                       "content_loss": round(lc, 4), "style_loss": round(ls, 4),
                       "style_loss_phases": round(float(phases), 4), "fps": round(FRAMES / min(seconds[mode]), 2),
                       "speed_vs_off": round(float(np.median(np.divide(seconds["off"], seconds[mode]))), 3)}
                result["clips"][name][mode]["per_style"][style_name] = row
                print(name, style_name, mode, row, flush=True)
        entries = {mode: result["clips"][name][mode] for mode in modes}
        for mode, entry in entries.items():  # means over the styles, and their ratio to per-frame's
            entry.update({k: round(float(np.mean([r[k] for r in entry["per_style"].values()])), 6) for k in METRICS})
        base = entries["off"]
        for entry in entries.values():
            entry["vs_off"] = {k: round(entry[k] / base[k], 3) for k in METRICS if k != "fps"}
            entry["vs_off"]["fps"] = round(float(np.mean([r["speed_vs_off"] for r in entry["per_style"].values()])), 3)
            for k in ("style_loss", "style_loss_phases"):
                entry[f"{k}_vs_off_worst"] = round(max(r[k] / base["per_style"][s][k]
                                                         for s, r in entry["per_style"].items()), 3)
    out = save_result(args.out, result)
    if not args.clips or "pan" in args.clips:
        pan_strip(stylizer, modes).save(out.with_name("video_strip.jpg"), quality=90)
        print(f"wrote {out.with_name('video_strip.jpg')} (rows: {', '.join(modes)}; one place of the pan in frames 8-11)")


if __name__ == "__main__":
    main()
