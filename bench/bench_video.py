"""Temporal consistency of stylized video on clips of known motion: the `temporal` modes of
`Stylizer.stylize_frames` ("off": per-frame AdaIN; "align", the default; "flow"), by the warping error of
Lai et al. (ECCV 2018) computed with the exact motion (no optical-flow estimate in the yardstick), the
frames' style and content losses (normalised VGG, as `adain evaluate` reports them) and frames per second,
each averaged over several paintings.

    python bench/bench_video.py [--styles 1_starry_night 2_great_wave ...]   # -> bench/results/video.json, video_strip.jpg

Clips, 512x288, 24 frames, made from the demo's example photo: "pan" (the camera moves 3 px right and
2 px down a frame: shifts that are not multiples of the encoder's stride) and "object" (a patch of
another photo moves 5 px a frame over a still background; the error is taken on the background both
frames show, 16 px away from the patch). Short-term error: frame t against frame t-1 aligned by the known
motion (16-px margins), mean squared difference on a 0-1 scale; long-term: t against t-8.
"""

from __future__ import annotations

import argparse
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
PAN = (3, 2)  # px a frame, right and down
OBJECT_STEP, OBJECT_SIDE = 5, 96
STYLES = ROOT / "demo" / "examples" / "styles"
STYLE = STYLES / "1_starry_night.jpg"
BENCH_STYLES = ("1_starry_night", "2_great_wave", "7_udnie")  # strokes, flat areas, hard edges
METRICS = ("short_term_error", "long_term_error", "style_loss", "content_loss", "fps")
PHOTO = ROOT / "demo" / "examples" / "content" / "1_astronaut.jpg"
PATCH = ROOT / "demo" / "examples" / "content" / "3_chelsea.jpg"


def clips() -> dict:
    """{name: (frames, motion)}: motion(t, k) gives (aligned slices of frame t, of frame t-k) or a mask."""
    photo = np.asarray(Image.open(PHOTO).convert("RGB").resize((1024, 1024), Image.LANCZOS))
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
    return {"pan": (pan, boxes), "object": (objects, boxes)}


def warping_error(name: str, outs: list[np.ndarray], boxes, k: int) -> float:
    """Mean squared difference (0-1 scale) of frames t and t-k aligned by the clip's exact motion."""
    errors = []
    for t in range(k, len(outs)):
        a, b = outs[t] / 255.0, outs[t - k] / 255.0
        if name == "pan":
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--styles", nargs="+", default=BENCH_STYLES, help="example paintings (demo/examples/styles)")
    parser.add_argument("--runtime", help="as in adain stylize (default: the fastest installed)")
    parser.add_argument("--out", default="video.json", help="file name under bench/results")
    args = parser.parse_args()

    from adain.encoder import build_encoder
    from adain.image_io import image_grid
    from adain.pipeline import image_array
    from adain.stylizer import Stylizer
    from adain.temporal import TEMPORAL_MODES
    from adain.vgg_spec import STYLE_LAYERS

    stylizer = Stylizer.load(runtime=args.runtime)
    encoder = build_encoder(STYLE_LAYERS)
    modes = ("off", *(m for m in TEMPORAL_MODES if m != "off"))
    result = {"machine": machine(), "runtime": type(stylizer).__name__, "frames": FRAMES, "size": [W, H],
              "styles": list(args.styles), "clips": {}}
    rows = []
    for name, (frames, boxes) in clips().items():
        result["clips"][name] = {mode: {"per_style": {}} for mode in modes}
        for style_name in args.styles:
            path = STYLES / f"{style_name}.jpg"
            style = image_array(path, 512)
            list(stylizer.stylize_frames(frames[:2], path, max_size=W, temporal="off"))  # warm: compile for the shapes
            list(stylizer.stylize_frames(frames[:2], path, max_size=W))
            for mode in modes:
                t0 = time.perf_counter()
                outs = [np.asarray(o, np.float32) for o in stylizer.stylize_frames(frames, path, max_size=W, temporal=mode)]
                seconds = time.perf_counter() - t0
                lc, ls = losses(encoder, frames, outs, style)
                row = {"short_term_error": round(warping_error(name, outs, boxes, 1), 6),
                       "long_term_error": round(warping_error(name, outs, boxes, LONG), 6),
                       "content_loss": round(lc, 4), "style_loss": round(ls, 4), "fps": round(FRAMES / seconds, 2)}
                result["clips"][name][mode]["per_style"][style_name] = row
                print(name, style_name, mode, row, flush=True)
                if name == "pan" and style_name == args.styles[0]:
                    rows.append([np.clip(o, 0, 255) for o in outs[8:12]])
        for mode, entry in result["clips"][name].items():  # means over the styles, and their ratio to per-frame's
            entry.update({k: round(float(np.mean([r[k] for r in entry["per_style"].values()])), 6) for k in METRICS})
        base = result["clips"][name]["off"]
        for entry in result["clips"][name].values():
            entry["vs_off"] = {k: round(entry[k] / base[k], 3) for k in METRICS}
            entry["style_loss_vs_off_worst"] = round(max(r["style_loss"] / base["per_style"][s]["style_loss"]
                                                         for s, r in entry["per_style"].items()), 3)
    out = save_result(args.out, result)
    image_grid(rows, 256, gap=4).save(out.with_name("video_strip.jpg"), quality=88)
    print(f"wrote {out.with_name('video_strip.jpg')} (rows: {', '.join(modes)}; pan frames 8-11, {args.styles[0]})")


if __name__ == "__main__":
    main()
