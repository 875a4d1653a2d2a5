"""Temporal consistency of stylized frame sequences.

Per-frame AdaIN flickers, and mostly not because the content's statistics move: its networks answer
shifts that are not multiples of the encoder's stride (8 px) with other textures. On a pan of 3 px right
and 2 px down a frame (`bench/bench_video.py`), consecutive frames differ 15x more than frames 8 apart,
whose shift (24, 16) is a multiple of the stride.

`GridAlign` (the default, `temporal="align"`) answers that at its cause: it follows the camera's motion
(phase correlation from an anchor frame; the grid moves only where the frame then agrees with the anchor
far better than unmoved, so neither a moving object, nor a picture turning under a still camera, nor a
zoom's best-fitting shift drags the frame) and pads each frame so that the scene lands on the encoder's
grid where it did in the first frame; the network then paints the same place with the same texture.
AdaIN normalises the frames of a shot by one frame's content statistics, measured again every REFRESH
frames and at once on a cut, so neither the padding nor an object crossing the picture moves the whole
frame's colours; they are measured over the frame's place in the padded input's features (with the frame's
own, which take in the reflected border every input gets, Starry Night's pan scored 1.04x per-frame's style
loss; so, 0.88x). Where the picture is still once the camera's motion is taken out, it also blends in the
previous output (no resampling: the shift is a whole number of pixels), which holds the background still
when an object moves over it; not where most of the frame moves after the shift (a turn), where the
"still" pixels are sub-pixel motion whose strokes differ and blending would grey them. The frame's edges
keep their own stylization: what lies beyond an edge changes as the camera moves.

A zoom, which no shift explains: the camera's scale and shift from the anchor (phase correlation in four
windows, fitted by least squares) map each frame onto a canvas that holds the scene at one scale and on the
grid, and the output is sampled back (bicubic: `resample`). A canvas keeps its scale while the frame shows
the scene 1 to ZOOM_STEP times smaller on it, then the next starts at the other end of that range: a ladder
of scales, which pops once every ZOOM_STEP of zoom instead of every frame. Its AdaIN statistics are measured
as the zoom starts and every REFRESH frames over the frame's place where the ladder paints it soft: on its
own canvas where that holds it √ZOOM_STEP to ZOOM_STEP times larger, in one call with the render (waiting up
to REFRESH frames for one), else on a canvas that holds it ZOOM_STEP times larger (the frame's own weaken the
style by 6-20 %, the whole canvas's, with its reflected margins, 15 %; those where the frame is sharpest, a
zoom out's by 8 %). Bilinear sampling, or one canvas resampled further, lose the strokes' contrast (half a
pixel of bilinear shift: 3.6x the style loss).

`FlowBlend` (`temporal="flow"`) blends each output with the previous one carried along dense optical
flow (OpenCV's DIS) where a forward-backward check holds: it also steadies zooms and rotations, but the
repeated bilinear warps soften the strokes. Numbers: docs/inputs.md, bench/results/video.json.

Both are called with a frame's network input and a `Painter` (the network for one style: it renders an input
with given content statistics or its own, and measures those of a region of an input), so they are the same to
the stylizer (`Stylizer.stylize_frames`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import numpy as np
from PIL import Image, ImageFilter

from adain.vgg_spec import STRIDE

TEMPORAL_MODES = ("align", "flow", "off")
TEMPORAL = "align"  # the default: bench/results/video.json
BLEND = 0.4  # FlowBlend: share of the warped previous output where the flow holds (0.4-0.8 tried: least texture lost)
HOLD = 0.5  # GridAlign: share of the previous output where the picture is still
STILL = 6.0  # GridAlign: change of grey (0-255; 3x3 mean, 5x5 max) under which a pixel counts as still
MOSTLY = 0.7  # GridAlign: share of still pixels under which the camera's motion is more than a shift: no blend
EDGE = 16  # GridAlign: pixels at each edge that keep the frame's own stylization
STEADY = 0.1  # GridAlign: motion under this (px a frame) is the estimate's own noise: a still camera stays put
MOTION_SIDE = 256  # GridAlign: long side the camera's motion is estimated at (larger frames are reduced)
AGREE = 0.8  # GridAlign: the grid follows the camera where the frame's misfit to the anchor so moved is under this
             # share of its misfit unmoved (a pan: 0-0.7; a zoom's best-fitting shift, a turning picture: 0.95-1.2)
PANNING = 0.4  # GridAlign: a frame whose shift on the grid fits under this share of its misfit unmoved is a pan:
               # the next is not checked for a zoom (the check costs 3 % of a frame; a zoom's shift fits 0.95-1.2)
SPAN = 32  # GridAlign: the camera's motion (px, at most a quarter of the frame) from the anchor after which a
           # later frame becomes the anchor
REFRESH = 8  # GridAlign: frames painted with one frame's content statistics before they are measured again
CUT = 24.0  # GridAlign: mean change of grey (0-255) after the camera's motion that starts a new shot: measured at once
ZOOM_STEP = 1.05  # GridAlign: a zoom's canvas holds the scene up to this much larger than the frame before the next
                  # starts (bench_video's zoom, oracle motion: 1.05 0.43x per-frame's flicker; 1.08 0.29x, 9 % more pixels)
ZOOM_MIN = 0.005  # GridAlign: change of scale from the anchor under which the camera does not zoom


@dataclass(frozen=True)
class Painter:
    """The network for one style, as the temporal filters call it (`Stylizer.stylize_frames` makes one).

    Args:
        render: (network input HxWx3, content statistics or None: its own) -> the output at its size.
        measure: (network input, the frame's region in it: rows, columns) -> the region's content statistics
            (None: the runtime has none); without it every frame is painted by its own.
        render_measured: (network input, region) -> (the output painted with the region's statistics, those
            statistics): a measure and a render in one call (the encoder runs once); only with `measure`.

    Example: `Painter(lambda canvas, statistics: canvas)` (the identity: what a filter does to the pixels alone).
    """

    render: Callable[[np.ndarray, Any], np.ndarray]
    measure: Callable[[np.ndarray, tuple[slice, slice]], Any] | None = None
    render_measured: Callable[[np.ndarray, tuple[slice, slice]], tuple[np.ndarray, Any]] | None = None


def phase_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The translation (dx, dy) with b[y, x] ≈ a[y + dy, x + dx], to a fraction of a pixel, of two grey
    HxW images (Kuglin & Hines 1975: the peak of the normalised cross-power spectrum, Hann-windowed,
    refined by a parabola through the peak and its neighbours).

    >>> a = np.random.default_rng(0).uniform(0, 255, (64, 96))
    >>> phase_correlation(a, np.roll(a, (-2, -5), axis=(0, 1))).round(2).tolist()
    [5.0, 2.0]
    """
    h, w = a.shape
    window = np.outer(np.hanning(h), np.hanning(w))
    cross = np.conj(np.fft.rfft2(a * window)) * np.fft.rfft2(b * window)
    surface = np.fft.irfft2(cross / (np.abs(cross) + 1e-9), s=(h, w))
    peak = np.unravel_index(int(np.argmax(surface)), surface.shape)
    shift = []
    for axis, n in ((1, w), (0, h)):
        at = list(peak)
        values = []
        for step in (-1, 0, 1):
            at[axis] = (peak[axis] + step) % n
            values.append(surface[tuple(at)])
        curve = values[0] - 2 * values[1] + values[2]
        fraction = 0.5 * (values[0] - values[2]) / curve if curve < 0 else 0.0
        position = peak[axis] + fraction
        shift.append(-(position - n if position > n / 2 else position))
    return np.asarray(shift)


def reduced(image: np.ndarray, side: int = MOTION_SIDE) -> tuple[np.ndarray, int]:
    """An HxW grey image averaged over square blocks to a long side of at most about `side`, and the blocks'
    side (what `GridAlign` measures motion at)."""
    scale = max(1, -(-max(image.shape) // side))
    if scale == 1:
        return image, 1
    h, w = image.shape[0] // scale, image.shape[1] // scale
    return sum(image[i::scale, j::scale][:h, :w] for i in range(scale) for j in range(scale)) / scale ** 2, scale


def similarity(a: np.ndarray, b: np.ndarray) -> tuple[float, np.ndarray]:
    """(k, u) with b at pixel p ≈ a at k p + u, for two grey HxW images (a zoom by 1/k and a shift, no
    turn): the shifts d that phase correlation finds in the four corners' half-size windows, fitted to d = (k - 1) c + u
    at their centres c by least squares.

    >>> noise = np.random.default_rng(0).integers(0, 256, (144, 256), dtype=np.uint8)
    >>> a = np.asarray(Image.fromarray(noise).filter(ImageFilter.GaussianBlur(1.5)), np.float32)
    >>> k, u = similarity(a, resample(a, 0.98, (2, 1), (256, 144)))
    >>> round(k, 3), u.round(1).tolist()
    (0.979, [2.1, 1.0])
    """
    h, w = a.shape
    ph, pw = h // 2, w // 2
    rows, shifts = [], []
    for y in (0, h - ph):
        for x in (0, w - pw):
            rows += [[x + (pw - 1) / 2, 1, 0], [y + (ph - 1) / 2, 0, 1]]
            shifts += list(phase_correlation(a[y:y + ph, x:x + pw], b[y:y + ph, x:x + pw]))
    fit = np.linalg.lstsq(np.asarray(rows), np.asarray(shifts), rcond=None)[0]
    return 1 + float(fit[0]), fit[1:]


def resample(image: np.ndarray, scale: float, shift: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An image of `size` (w, h) whose pixel p is `image` (HxWx3, 0-255, or HxW) at scale p + shift (pixel
    centres), reflected past the edges, float32: OpenCV's warpAffine, bicubic, where it is installed (the
    video and demo extras), else Pillow's resize of a box (Lanczos where scale >= 1, antialiased where
    above, else bicubic; RGB through 8 bits, its fast path): 2 ms a 552x312 frame against 8-9. On the zoom
    clips the two gave the same flicker and style (bench_video, 3 paintings: zoom in 0.474x per-frame's
    error and 0.982x its style loss against 0.477x and 0.978x; zoom out 0.446x, 0.954x against 0.462x,
    0.941x)."""
    w, h = size
    cv2 = _opencv()
    if cv2 is not None:
        affine = np.array([[scale, 0, shift[0]], [0, scale, shift[1]]], np.float64)
        flags = cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP  # the affine maps the output's pixels to the input's
        border = cv2.BORDER_REFLECT_101
        return cv2.warpAffine(np.asarray(image, np.float32), affine, (w, h), flags=flags, borderMode=border)
    x0, y0 = (np.asarray(shift, float) + 0.5 * (1 - scale)).tolist()
    x1, y1 = x0 + scale * w, y0 + scale * h
    n = image.shape[:2]
    margin = int(np.ceil(3 * max(scale, 1))) + 1
    pad = [(min(max(0, int(np.ceil(-start))) + margin, m - 1), min(max(0, int(np.ceil(end - m))) + margin, m - 1))
           for start, end, m in ((y0, y1, n[0]), (x0, x1, n[1]))]
    image = (np.asarray(image, np.float32) if image.ndim == 2
             else np.clip(np.rint(image), 0, 255).astype(np.uint8))
    padded = np.pad(image, pad + [(0, 0)] * (image.ndim - 2), mode="reflect")
    source = Image.fromarray(padded, "F" if image.ndim == 2 else "RGB")
    box = (x0 + pad[1][0], y0 + pad[0][0], x1 + pad[1][0], y1 + pad[0][0])
    method = Image.Resampling.LANCZOS if scale >= 1 else Image.Resampling.BICUBIC
    return np.asarray(source.resize((w, h), method, box=box), np.float32)


@lru_cache(maxsize=1)
def _opencv():
    """OpenCV's module, or None where it is not installed (`pip install 'adain[video]'`)."""
    try:
        import cv2
    except ImportError:
        return None
    return cv2


def overlap(d: np.ndarray, h: int, w: int) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """Where an HxW frame and the frame before it show the same place when the camera moved by whole
    pixels d = (dx, dy): (slices of the frame, slices of the frame before), [y + dy, x + dx] there."""
    dx, dy = (int(np.clip(v, -n + 1, n - 1)) for v, n in zip(d, (w, h)))
    return ((slice(max(-dy, 0), h - max(dy, 0)), slice(max(-dx, 0), w - max(dx, 0))),
            (slice(max(dy, 0), h - max(-dy, 0)), slice(max(dx, 0), w - max(-dx, 0))))


def max_filter(image: np.ndarray, radius: int) -> np.ndarray:
    """The largest value within a (2 radius + 1)² square around each pixel of an HxW image, edges
    repeated: Pillow's MaxFilter, in shifted maxima along each axis (it sorts every window: 70x slower).

    >>> max_filter(np.eye(4, dtype=np.uint8), 1)[0].tolist()
    [1, 1, 1, 0]
    """
    out = image.copy()
    for axis in (0, 1):
        src, n = out.copy(), image.shape[axis]
        for k in range(1, radius + 1):
            low, high = [slice(None)] * 2, [slice(None)] * 2
            low[axis], high[axis] = slice(0, n - k), slice(k, n)
            low, high = tuple(low), tuple(high)
            np.maximum(out[low], src[high], out=out[low])
            np.maximum(out[high], src[low], out=out[high])
    return out


def _box3(image: np.ndarray) -> np.ndarray:
    """The mean over 3x3 pixels of an HxW image (0-255, as uint8: Pillow's box blur)."""
    return np.asarray(Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).filter(ImageFilter.BoxBlur(1)))


def _grey(image: np.ndarray) -> np.ndarray:
    """The mean of the channels, HxW float32 (0-255)."""
    return np.asarray(image, np.float32) @ np.full(3, 1 / 3, np.float32)


class GridAlign:
    """Keeps the scene on the encoder's grid as the camera moves, its statistics steady, and still
    regions still.

    Args:
        hold: share of the previous output blended in where the picture is still (0: alignment only).
        still: change of the input's grey (0-255: mean over 3x3 pixels, largest within 5x5) under which a
            pixel is still.
        edge: pixels at each edge that keep the frame's own stylization.
        refresh: frames painted with one frame's content statistics (AdaIN's normalisation) before they
            are measured again; at once on a cut. The padded canvas then changes nothing but the grid.
        zoom_step: a zoom's canvas holds the scene up to this much larger than the frame before the next
            canvas starts (larger: fewer pops, more pixels to paint).

    Example:

    ```python
    from adain.temporal import GridAlign, Painter

    align = GridAlign()  # Stylizer.stylize_frames(frames, "painting.jpg") uses it by default
    outputs = [align(frame, Painter(network)) for frame in frames]  # network(HxWx3 float input, None) -> its output
    ```
    """

    def __init__(self, hold: float = HOLD, still: float = STILL, edge: int = EDGE, refresh: int = REFRESH,
                 zoom_step: float = ZOOM_STEP):
        if zoom_step <= 1:
            raise ValueError(f"zoom_step must be above 1, got {zoom_step}")
        self.hold, self.still, self.edge, self.refresh, self.zoom_step = hold, still, edge, refresh, zoom_step
        self.ladder: tuple | None = None  # a zoom's (grey of the frame its canvas was set on, scale, motion or None)
        self.offset = np.zeros(2)  # the camera's position since the first frame, (x, y) px
        self.anchor: tuple | None = None  # (grey, offset, whole offset) of the frame motion is measured from
        self.previous: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # (grey input, output, whole offset)
        self.statistics: Any = None  # the content statistics the frames are painted with
        self.age = 0  # frames painted with them
        self.panning = False  # whether the last frame's shift fitted it as a pan (under PANNING)

    def motion(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The camera's motion from frame a to frame b (grey), (dx, dy) with b[y, x] ≈ a[y + dy, x + dx]: phase
        correlation (at MOTION_SIDE), under STEADY px none. `grid` checks it before the grid follows."""
        (small_a, scale), (small_b, _) = reduced(a), reduced(b)
        found = phase_correlation(small_a, small_b) * scale
        return np.where(np.abs(found) < STEADY, 0.0, found)

    def grid(self, grey: np.ndarray, current: np.ndarray) -> np.ndarray:
        """Where the scene goes on the grid (whole px) in frame `grey`, `current` its place in the last frame:
        the camera's motion from the anchor, followed only where the frame's misfit to the anchor so moved is
        under AGREE times its misfit where it was (at full size, over the same pixels), so that neither an
        object moving over a still scene, nor a picture turning under a still camera, nor a zoom's
        best-fitting shift drags the frame. A move of two or more px that fails renews the anchor (it no
        longer matches: a zoom). Records whether the move fitted as a pan (`panning`)."""
        a, anchor_offset, anchor_whole = self.anchor
        self.offset = anchor_offset + self.motion(a, grey)
        move = np.round(self.offset).astype(int)
        self.panning = False
        if np.array_equal(move, current):
            return current
        h, w = grey.shape
        shifts = [move - anchor_whole, current - anchor_whole]
        m = int(np.abs(shifts).max())
        misfit = [np.abs(grey[m:h - m, m:w - m] - a[m + dy:h - m + dy, m + dx:w - m + dx]).mean()
                  for dx, dy in shifts]
        if misfit[0] < AGREE * misfit[1]:
            self.panning = misfit[0] < PANNING * misfit[1]
            return move
        if np.abs(move - current).max() >= 2:  # the camera stays where the grid is: so does the anchor's offset,
            self.offset = current.astype(float)  # or a failed move past SPAN would renew the anchor at it
            self.anchor = (grey, self.offset, current)
        return current

    def scale_motion(self, a: np.ndarray, b: np.ndarray, guess: tuple[float, np.ndarray] | None = None,
                     refine: bool = True) -> tuple[float, np.ndarray]:
        """The camera's zoom and shift from frame a to frame b (grey): (k, u) with b at p ≈ a at k p + u, in
        full-size pixels, measured at MOTION_SIDE (`similarity`): a first fit (or `guess`, one made already),
        refined by a fit to a so moved. (The last frame's motion as the guess saves a fit, but moved the canvas
        more: its scale was up to 12e-4 off, the first fit's 9e-4.)"""
        (small_a, scale), (small_b, _) = reduced(a), reduced(b)
        if guess is None:
            k, u = similarity(small_a, small_b)
        else:  # full-size to the blocks' pixels: p = scale p_small + (scale - 1) / 2
            k, u = guess[0], (np.asarray(guess[1]) - (scale - 1) / 2 * (1 - guess[0])) / scale
        if refine:
            k2, u2 = similarity(resample(small_a, k, u, small_a.shape[::-1]), small_b)
            k, u = k * k2, k * u2 + u
        return k, scale * u + (scale - 1) / 2 * (1 - k)

    def zooms(self, grey: np.ndarray, current: np.ndarray) -> bool:
        """Whether frame `grey` is the anchor zoomed by ZOOM_MIN or more: its misfit to the anchor so zoomed
        is under AGREE times its misfit to the anchor at the grid's shift `current` (at full size, over the
        same pixels). Sets the zoom's first canvas to the anchor's (with the motion found, `zoomed`'s first fit)
        and makes its statistics due (the anchor's are of a frame not on a canvas): `zoomed` measures them where
        the ladder first paints the frame soft, within `refresh` frames (a zoom out's third frame at 1 % a frame;
        measured at once on a canvas of its own, as without the painter's `render_measured`, they cost a
        style-graph call more for 2 % more flicker and the same style loss: bench_video's zoom out, 3 paintings)."""
        a, _, anchor_whole = self.anchor
        k, u = self.scale_motion(a, grey, refine=False)
        if abs(k - 1) < ZOOM_MIN:
            return False
        h, w = grey.shape
        corners = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]])
        m = min(int(np.abs((k - 1) * corners + u).max()) + 4, min(h, w) // 4)
        misfit = [np.abs(grey - resample(a, scale, shift, (w, h)))[m:h - m, m:w - m].mean()
                  for scale, shift in ((k, u), (1.0, current - anchor_whole))]
        if misfit[0] >= AGREE * misfit[1]:
            return False
        self.ladder, self.age = (a, 1.0, (k, u)), self.refresh  # due (`zoomed`)
        return True

    def zoomed(self, content: np.ndarray, grey: np.ndarray, painter: Painter) -> np.ndarray:
        """A zoom's output: the frame mapped onto the canvas of its scene (a new one where the frame shows the
        scene outside 1 to zoom_step times smaller on it, or has moved past SPAN), painted, sampled back. Its
        statistics are measured every `refresh` frames where the frame is soft (`paint`): with the painter's
        `render_measured`, on the frame's own canvas in one call with its render, at the first frame that
        shows the scene √zoom_step to zoom_step times smaller on it (waiting up to `refresh` more frames);
        else, or past that, on a canvas of its own that holds the frame zoom_step times larger."""
        a, scale, guess = self.ladder
        k, u = self.scale_motion(a, grey, guess)
        self.ladder = (a, scale, None)
        r = scale * k  # the frame's pixel p is the canvas's r p + t
        h, w = grey.shape
        if not 1 <= r <= self.zoom_step or scale * np.abs(u).max() > min(SPAN, min(h, w) // 4):
            # the far end of the range from where the zoom goes (in: r falls; out: r rises); past SPAN, r as it is
            scale = self.zoom_step if r < 1 else 1.0 if r > self.zoom_step else r
            self.ladder, u, r = (grey, scale, None), np.zeros(2), scale
        t = scale * u % STRIDE  # the scene on the grid where this canvas first put it
        size = [-(-(int(np.ceil(n * self.zoom_step)) + STRIDE) // STRIDE) * STRIDE for n in (w, h)]

        def placed(ratio: float) -> np.ndarray:  # the content on the canvas with the frame's p at ratio p + t
            return resample(content, 1 / ratio, -t / ratio, size)

        canvas, measured = placed(r), None
        due = painter.measure is not None and self.age >= self.refresh  # without a measure, age only grows
        fused = painter.render_measured is not None
        if due and fused and r >= np.sqrt(self.zoom_step):
            measured = canvas
        elif due and (not fused or self.age >= 2 * self.refresh):
            measured = canvas if r == self.zoom_step else placed(self.zoom_step)
        x, y = t.astype(int)
        region = np.s_[y:y + h, x:x + w]  # the frame's size: one shape for every measure (OpenVINO re-plans)
        return resample(self.paint(canvas, region, painter, measured), r, t, (w, h))

    def paint(self, canvas: np.ndarray, region: tuple[slice, slice], painter: Painter,
              measured: np.ndarray | None) -> np.ndarray:
        """The network's output for `canvas`, painted with the content statistics of the frame's `region` in the
        input `measured` (one shape with the canvas), where given (and the painter measures), else the last:
        of the frame's place only, not the canvas's margins (the margins' reflections weakened the zoom's style
        15 %), in the canvas's features (the frame's own, with their reflected border, gave the pan 1.04x
        per-frame's style loss; these 0.88x). A zoom measures the frame at the soft end of its canvases'
        range: its statistics, taken where it is sharpest, weakened the style of the later, softer frames
        (zoom out, Starry Night: 1.08x per-frame's style loss; so, 0.93x). Where `measured` is the canvas,
        the painter's `render_measured` (if it has one) measures and paints in one call: the encoder runs once."""
        if painter.measure is not None and measured is not None:
            if measured is canvas and painter.render_measured is not None:
                out, self.statistics = painter.render_measured(canvas, region)
                self.age = 1
                return np.asarray(out, np.float32)
            self.statistics, self.age = painter.measure(measured, region), 0
        self.age += 1
        return np.asarray(painter.render(canvas, self.statistics), np.float32)

    def __call__(self, content: np.ndarray, painter: Painter) -> np.ndarray:
        """The output for a frame's network input `content` (HxWx3 float32, 0-255), painted by `painter`."""
        content = np.asarray(content, np.float32)
        grey = _grey(content)
        h, w = grey.shape
        last = self.previous if self.previous is not None and self.previous[0].shape == grey.shape else None
        if last is not None and self.ladder is not None and np.abs(grey - last[0]).mean() > CUT:
            last, self.ladder = None, None  # a cut during a zoom: the new shot starts as a first frame
        if last is not None and (self.ladder is not None or not self.panning and self.zooms(grey, last[2])):
            out = self.zoomed(content, grey, painter)
            self.previous = (grey, out, last[2])
            return out
        if last is None:
            whole, self.panning = np.zeros(2, int), False
            self.offset, self.anchor = np.zeros(2), (grey, np.zeros(2), whole)
        else:  # measured from the anchor, not chained: sub-pixel motions do not add up unchecked
            whole = self.grid(grey, last[2])
        steady = None  # over the overlap with the last frame: nothing near a pixel changed
        if last is not None:
            here, there = overlap(whole - last[2], h, w)
            change = np.abs(grey[here] - last[0][there])
            if self.hold > 0:  # the blend's mask: not made where nothing is blended
                steady = max_filter(_box3(change), 2) < self.still
        cut = last is not None and change.mean() > CUT
        if cut or np.abs(self.offset - self.anchor[1]).max() > min(SPAN, min(h, w) // 4):  # grid() checks on half
            self.anchor = (grey, self.offset, whole)
        sx, sy = whole % STRIDE
        # the scene put back on the grid by top and left margins, the bottom and right filled to one shape for
        # every phase (a runtime compiles for each new shape)
        fill = [-(n + STRIDE - 1) % STRIDE + STRIDE - 1 - m for n, m in ((h, sy), (w, sx))]
        canvas = np.pad(content, ((sy, fill[0]), (sx, fill[1]), (0, 0)), mode="reflect")
        fresh = last is None or self.age >= self.refresh or cut
        region = np.s_[sy:sy + h, sx:sx + w]
        out = self.paint(canvas, region, painter, canvas if fresh else None)
        out = np.array(out[region], np.float32)  # ours to blend into
        if steady is not None and steady.mean() >= MOSTLY:  # (else a zoom, a turn: no blend)
            still = np.zeros((h, w), bool)
            still[here] = steady
            e = self.edge
            still[:e], still[h - e:], still[:, :e], still[:, w - e:] = False, False, False, False
            share = np.zeros((h, w, 1), np.float32)
            share[here] = np.float32(self.hold) * still[here][..., None]
            out[here] += share[here] * (last[1][there] - out[here])
        self.previous = (grey, out, whole)
        return out


class FlowBlend:
    """Blends each output with the previous output carried along the input's optical flow.

    Args:
        weight: share of the warped previous output where the flow is reliable (0: per-frame).

    Example:

    ```python
    from adain.temporal import FlowBlend, Painter

    blend = FlowBlend()  # pip install 'adain[video]'
    outputs = [blend(frame, Painter(network)) for frame in frames]  # as GridAlign
    ```
    """

    def __init__(self, weight: float = BLEND):
        cv2 = _opencv()
        if cv2 is None:
            raise ModuleNotFoundError("temporal='flow' needs OpenCV: pip install 'adain[video]'", name="cv2")
        self.weight = weight
        self.flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        self.previous: tuple[np.ndarray, np.ndarray] | None = None  # (grey input, output) of the last frame

    def __call__(self, content: np.ndarray, painter: Painter) -> np.ndarray:
        """The output for a frame's network input `content` (HxWx3, 0-255), as `GridAlign`'s; every frame
        is painted with its own content statistics (the painter's `render` alone)."""
        grey = np.clip(_grey(content), 0, 255).astype(np.uint8)
        stylized = np.asarray(painter.render(content, None), np.float32)
        if self.previous is None or self.previous[0].shape != grey.shape:
            self.previous = (grey, stylized)
            return stylized
        warped, reliable = flow_warp(self.flow, self.previous[1], grey, self.previous[0])
        share = (self.weight * reliable.astype(np.float32))[..., None]
        out = share * warped + (1.0 - share) * stylized
        self.previous = (grey, out)
        return out


@lru_cache(maxsize=2)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pixel's (x, y), float32, for a frame size: made once, not per frame."""
    return tuple(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)))


def flow_warp(flow, previous: np.ndarray, grey: np.ndarray, last_grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`previous` (HxWxC float32, of the last frame) carried to this frame along the optical flow `flow`
    (an OpenCV DenseOpticalFlow) finds between the frames' greys (HxW uint8), and where that flow holds:
    a forward-backward check (Sundaram et al. 2010), inside the frame. (warped, HxW bool)"""
    import cv2

    backward = flow.calc(grey, last_grey, None)  # where each pixel of this frame was in the last
    forward = flow.calc(last_grey, grey, None)
    h, w = grey.shape
    xs, ys = _grid(h, w)
    map_x, map_y = xs + backward[..., 0], ys + backward[..., 1]
    warped = cv2.remap(previous, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    forward_there = cv2.remap(forward, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    mismatch = ((forward_there + backward) ** 2).sum(-1)
    magnitude = (forward_there ** 2).sum(-1) + (backward ** 2).sum(-1)
    inside = (map_x >= 0) & (map_x <= w - 1) & (map_y >= 0) & (map_y <= h - 1)
    return warped, (mismatch < 0.01 * magnitude + 0.5) & inside


def temporal_filter(mode: str) -> GridAlign | FlowBlend | None:
    """The filter of a `temporal` mode ("align", "flow", "off": None), a ValueError for another."""
    if mode not in TEMPORAL_MODES:
        raise ValueError(f"temporal must be one of {TEMPORAL_MODES}, got {mode!r}")
    if mode == "off":
        return None
    return GridAlign() if mode == "align" else FlowBlend()
