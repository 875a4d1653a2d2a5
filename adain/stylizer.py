"""`Stylizer`: one-pass arbitrary style transfer with AdaIN (encoder -> AdaIN -> decoder).

The image pipeline (decoding, sizing, colour preservation, border, AdaIN with mixing, masks and
alpha at every level, tiling, the style cache) is written once here, in numpy; a runtime supplies the
encoder and the decoder through two hooks (`_features`, `_image`): `adain.keras_runtime` (Keras, any
backend) or `adain.onnx_runtime` (ONNX Runtime: neither TensorFlow nor Keras is imported).
"""

from __future__ import annotations

import hashlib
import importlib.util
import numbers
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
from PIL import Image

from adain import color
from adain.adain_op import adain_affine, channel_stats
from adain.image_io import DEFAULT_MAX_SIZE, ImageLike, fit_size, load_image, to_array, to_pil
from adain.resources import WEIGHTS_DIR
from adain.tiling import tiled_map
from adain.vgg_spec import CONTENT_LAYER

SHIPPED_DECODER = WEIGHTS_DIR / "decoder.npz"
RUNTIMES = ("keras", "onnx", "onnx-int8")


def fastest_runtime() -> str:
    """The CLI's and the demo's default: the int8 ONNX path when ONNX Runtime is installed (it is a
    dependency), Keras otherwise."""
    return "onnx-int8" if importlib.util.find_spec("onnxruntime") else "keras"


DEFAULT_STYLE_SIZE = 512  # long side the style is encoded at (brush-stroke scale), as in the paper
STRIDE = 8  # relu4_1 is at 1/8 resolution: inputs are padded to a multiple of this
AUTO_TILE_PIXELS = 1_600_000  # above this many content pixels, work in tiles (bounded memory)
TILE = 512  # tile side in pixels
_ENCODER_HALO = 48  # > relu4_1's receptive-field radius (36 px), a multiple of 8
_DECODER_HALO = 8  # in feature pixels (64 px of output), > the decoder's receptive-field radius
STYLE_CACHE_SIZE = 8  # style statistics kept per Stylizer (a demo reuses the same few styles)
BORDER_PAD = 32  # content reflected this far past its border before encoding, then cropped (see _paint)


class Stylizer:
    """One-pass style transfer with a frozen VGG19 encoder and a trained decoder.

    Features, AdaIN targets and style statistics are dicts of numpy arrays keyed by encoder layer:
    relu4_1 for the paper's decoder, relu4_1 to relu1_1 for a multi-level one (`levels`). Subclasses
    (the runtimes) run the networks in `_features` and `_image`.

    Examples:
        >>> from adain import Stylizer
        >>> s = Stylizer.load()                                  # doctest: +SKIP
        >>> s.stylize("photo.jpg", "painting.jpg", alpha=0.8).save("out.png")  # doctest: +SKIP
    """

    def __init__(self, levels: tuple[str, ...] = (CONTENT_LAYER,)):
        self.levels = levels
        self._style_cache: OrderedDict[bytes, dict] = OrderedDict()
        self._style_lock = threading.Lock()

    @classmethod
    def load(cls, decoder: str | Path | None = None, encoder_weights: str | Path = "shipped",
             runtime: str = "keras") -> "Stylizer":
        """Load the shipped decoder (weights/decoder.npz) or the one at `decoder`; no download.

        Args:
            decoder: a decoder .npz (from `adain train`); None for the shipped one.
            encoder_weights: "shipped" (no download), "imagenet" or an npz path (Keras runtime).
            runtime: "keras" (any Keras backend), "onnx" (the same float graphs in ONNX Runtime,
                faster on CPU) or "onnx-int8" (also an int8 VGG encoder: fastest; with the shipped
                decoder it imports neither TensorFlow nor Keras).
        """
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}")
        path = Path(decoder) if decoder is not None else SHIPPED_DECODER
        if not path.exists():
            raise FileNotFoundError(
                f"no trained decoder at {path}. Train one with `adain train --content DIR --style DIR "
                f"--out RUN` and pass RUN/best_decoder.npz as decoder=, or put one at {SHIPPED_DECODER}"
            )
        if runtime == "keras":
            from adain.keras_runtime import KerasStylizer

            return KerasStylizer.load(path, encoder_weights)
        from adain.onnx_runtime import OnnxStylizer

        return OnnxStylizer.load(path, int8=runtime == "onnx-int8", encoder_weights=encoder_weights)

    @staticmethod
    def from_hub(handle: str | Path):
        """A stylizer backed by a TF-Hub module with the Magenta convention (a path on disk)."""
        from adain.export import HubStylizer

        return HubStylizer.load(handle)

    # ---- the runtime's two hooks ----------------------------------------------------------
    def _features(self, images: np.ndarray) -> dict:
        """{layer: features} for `levels` of an NHWC float32 batch whose sides are multiples of 8."""
        raise NotImplementedError

    def _image(self, t: dict) -> np.ndarray:
        """The decoder's NHWC RGB 0-255 image (not clipped) for target features t ({layer: features})."""
        raise NotImplementedError

    # ---- features -------------------------------------------------------------------------
    def encode(self, images, tile: int | None = None) -> dict:
        """{layer: features} of HxWx3 or NxHxWx3 RGB 0-255 for the decoder's levels (reflect-padded
        to a multiple of 8 so every pixel has features).

        tile: compute one HxWx3 image in tiles of this many pixels (same result, bounded memory).
        """
        images = np.asarray(images, np.float32)
        if images.ndim == 3:
            images = images[None]
        h, w = images.shape[1:3]
        images = np.pad(images, ((0, 0), (0, -h % STRIDE), (0, -w % STRIDE), (0, 0)), mode="reflect")
        if tile:
            run = lambda x: {k: v[0] for k, v in self._features(x[None]).items()}  # noqa: E731
            return {k: v[None] for k, v in tiled_map(run, images[0], tile, _ENCODER_HALO, align=STRIDE).items()}
        return self._features(images)

    def decode(self, t: dict, height: int, width: int, tile: int | None = None) -> np.ndarray:
        """Decoder output for target features t ({layer: features}), cropped to height x width (RGB,
        not yet clipped).

        tile: decode one image's features in tiles covering this many output pixels (same result).
        """
        if tile:
            run = lambda f: self._image({k: v[None] for k, v in f.items()})[0]  # noqa: E731
            image = tiled_map(run, {k: t[k][0] for k in self.levels}, tile // STRIDE, _DECODER_HALO)[None]
        else:
            image = self._image(t)
        return image[:, :height, :width, :]

    def _style_stats(self, style: np.ndarray) -> dict:
        """{layer: channel_stats} of a style; cached by content (STYLE_CACHE_SIZE of them)."""
        key = hashlib.sha1(np.ascontiguousarray(style, np.float32).tobytes()).digest() + repr(style.shape).encode()
        with self._style_lock:
            if key in self._style_cache:
                self._style_cache.move_to_end(key)
                return self._style_cache[key]
        stats = {k: channel_stats(v) for k, v in self.encode(style).items()}
        with self._style_lock:
            self._style_cache[key] = stats
            if len(self._style_cache) > STYLE_CACHE_SIZE:
                self._style_cache.popitem(last=False)
        return stats

    def style_statistics(self, style: ImageLike, style_size: int | None = DEFAULT_STYLE_SIZE) -> dict:
        """{layer: (mean, std)} of the style's features: encode a style once, reuse it for many images."""
        return self._style_stats(_style_arrays([style], style_size)[0])

    # ---- the API --------------------------------------------------------------------------
    def stylize(
        self,
        content: ImageLike,
        style: ImageLike | Sequence[ImageLike],
        alpha: float = 1.0,
        weights: Sequence[float] | None = None,
        preserve_color: str | None = None,
        masks: Sequence[ImageLike] | None = None,
        max_size: int | None = DEFAULT_MAX_SIZE,
        style_size: int | None = DEFAULT_STYLE_SIZE,
        tile_size: int | None = None,
    ) -> Image.Image:
        """Paint `content` in the style of `style` (one image, or several mixed by `weights` or `masks`).

        Args:
            content: the photo: a path, bytes, a PIL image or an HxWx3 array (uint8, or float in [0, 1]).
            style: one style image (same kinds), or a list of them.
            alpha: 0 gives back the content, 1 full style (feature interpolation, as in the paper).
            weights: non-negative mixing weights of several styles (normalised to sum to 1).
            preserve_color: None, "luminance" (transfer luminance only) or "histogram" (recolour the
                style to the content's colour statistics first).
            masks: one mask per style (images or HxW arrays, white = this style); each region of the
                content gets its own style. Overlapping masks blend; pixels no mask covers keep content.
            max_size: bound on the long side of the output (None: the content's size).
            style_size: long side the styles are encoded at (None: their own size).
            tile_size: work in tiles of this many pixels (a multiple of 8); None tiles automatically
                above AUTO_TILE_PIXELS, 0 never. Tiles overlap by more than the receptive field, so
                the result is the same as untiled, without seams.

        Returns:
            An RGB PIL image of the content's size, bounded by max_size.
        """
        styles = [style] if isinstance(style, (str, Path, bytes, bytearray, Image.Image, np.ndarray)) else list(style)
        mix = _check_options(alpha, styles, weights, masks, preserve_color)
        content_img = load_image(content)
        size = fit_size(content_img.size, max_size)
        content_arr = to_array(content_img, size)
        pairs = [color.prepare(content_arr, s, preserve_color) for s in _style_arrays(styles, style_size)]
        out = self._paint(pairs[0][0], [s for _, s in pairs], alpha, mix, masks, tile_size)
        return to_pil(color.finish(out, content_arr, preserve_color))

    def _paint(self, content: np.ndarray, styles: list, alpha: float, mix=None, masks=None,
               tile_size: int | None = None) -> np.ndarray:
        """The decoder's image (RGB, not yet clipped) for an RGB 0-255 content array, at its size.

        The content (and each mask) is first extended by BORDER_PAD pixels of reflection, and the
        output cropped back: VGG's zero padding gives border features that no photo has, which the
        decoder paints as a frame along the edges; 32 px puts them outside the picture (the border
        band then differs from a 64-px pad's as little as the interior does).
        """
        h, w = content.shape[:2]
        p = min(BORDER_PAD, h - 1, w - 1)  # a reflection can be at most the image's size less one
        padded = np.pad(content, ((p, p), (p, p), (0, 0)), mode="reflect")
        if masks is not None:
            masks = [np.pad(mask_array(m, (w, h)), p, mode="reflect") for m in masks]
        tile = _tile_for((w + 2 * p, h + 2 * p), tile_size)
        t = self.target_features(padded, styles, alpha, mix, masks, tile)
        return self.decode(t, h + 2 * p, w + 2 * p, tile)[0, p:p + h, p:p + w]

    def target_features(self, content, styles: list, alpha: float = 1.0,
                        mix: Sequence[float] | None = None, masks: Sequence[ImageLike] | None = None,
                        tile: int | None = None) -> dict:
        """The decoder's input t ({layer: features}): at every level, AdaIN per style, mixed by `mix`
        or `masks`, then interpolated with the content features by `alpha` (alpha=0: exactly the
        content features).

        content: an RGB 0-255 array; styles: RGB 0-255 arrays, or dicts from `style_statistics`
        (so a style is encoded once for many frames).
        """
        stats = [s if isinstance(s, dict) else self._style_stats(s) for s in styles]
        mix = mix or [1.0 / len(stats)] * len(stats)
        t = {}
        for level, fc in self.encode(content, tile).items():
            level_stats = [st[level] for st in stats]
            if masks is None:  # α·Σ w·AdaIN + (1 − α)·content is one per-channel affine map of the content
                c_stats = channel_stats(fc)
                maps = [adain_affine(*c_stats, *st) for st in level_stats]
                scale = sum(w * a for w, (a, _) in zip(mix, maps))
                shift = sum(w * b for w, (_, b) in zip(mix, maps))
                t[level] = fc * (alpha * scale + (1.0 - alpha)) + alpha * shift
            else:
                t[level] = alpha * _masked_adain(fc, level_stats, masks) + (1.0 - alpha) * fc
        return t

    def stylize_frames(self, frames: Iterable[ImageLike], style: ImageLike, alpha: float = 1.0,
                       preserve_color: str | None = None, max_size: int | None = DEFAULT_MAX_SIZE,
                       style_size: int | None = DEFAULT_STYLE_SIZE) -> Iterator[Image.Image]:
        """Stylize a sequence (video frames) with the style encoded once. With preserve_color, the
        colour matching is computed on the first frame and reused, so colours stay steady."""
        _check_options(alpha, [style], None, None, preserve_color)
        style_arr = _style_arrays([style], style_size)[0]
        stats = None
        for frame in frames:
            img = load_image(frame)
            size = fit_size(img.size, max_size)
            content_arr = to_array(img, size)
            content_in, style_in = color.prepare(content_arr, style_arr, preserve_color)
            if stats is None:
                stats = self._style_stats(style_in)
            yield to_pil(color.finish(self._paint(content_in, [stats], alpha), content_arr, preserve_color))


def _masked_adain(fc: np.ndarray, stats: list, masks: Sequence[ImageLike]) -> np.ndarray:
    """Each style's AdaIN with content statistics taken inside its mask, blended by the masks."""
    mask_arrs = [mask_array(m, (fc.shape[2], fc.shape[1])) for m in masks]
    total = np.sum(mask_arrs, axis=0)
    t = fc * np.clip(1.0 - total, 0.0, 1.0)[None, ..., None]
    norm = np.maximum(total, 1.0)
    for (s_mean, s_std), m in zip(stats, mask_arrs):
        c_mean, c_std = channel_stats(fc, mask=m[None, ..., None])
        t = t + (m / norm)[None, ..., None] * ((fc - c_mean) / c_std * s_std + s_mean)
    return t


def _style_arrays(styles: Sequence[ImageLike], style_size: int | None) -> list[np.ndarray]:
    """Style images as RGB 0-255 arrays with the long side at most `style_size`."""
    return [to_array(img, fit_size(img.size, style_size)) for img in map(load_image, styles)]


def _tile_for(size: tuple[int, int], tile_size: int | None) -> int | None:
    """The tile side to use for a (w, h) image: explicit, automatic (None) or never (0)."""
    if tile_size is None:
        return TILE if size[0] * size[1] > AUTO_TILE_PIXELS else None
    if tile_size and (tile_size % STRIDE or tile_size < 2 * STRIDE):
        raise ValueError(f"tile_size must be a multiple of {STRIDE} and at least {2 * STRIDE}, got {tile_size}")
    return tile_size or None


def mask_array(mask: ImageLike, size: tuple[int, int]) -> np.ndarray:
    """A mask as float32 HxW in [0, 1] at `size` = (w, h): luminance of an image, or an array."""
    if isinstance(mask, np.ndarray) and mask.ndim == 2 and np.issubdtype(mask.dtype, np.floating):
        img = Image.fromarray(np.clip(mask, 0, 1).astype(np.float32), "F")
    else:
        img = load_image(mask).convert("L")
    arr = np.asarray(img.resize(size, Image.BILINEAR), np.float32)
    return arr if img.mode == "F" else arr / 255.0


def check_alpha(alpha) -> None:
    """Style strength must be a real number in [0, 1] (numpy scalars included, NaN and bools not)."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}")


def _check_options(alpha, styles, weights, masks, preserve_color) -> list[float]:
    """Validate the stylize options; returns the normalised style weights."""
    check_alpha(alpha)
    color.check_mode(preserve_color)
    if not styles:
        raise ValueError("give at least one style image")
    if masks is not None and len(masks) != len(styles):
        raise ValueError(f"got {len(masks)} masks for {len(styles)} styles: give one mask per style")
    if masks is not None and weights is not None:
        raise ValueError("use either weights (global mix) or masks (regions), not both")
    if weights is None:
        return [1.0 / len(styles)] * len(styles)
    if len(weights) != len(styles):
        raise ValueError(f"got {len(weights)} weights for {len(styles)} styles")
    w = np.asarray(weights, np.float64)
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"style weights must be non-negative with a positive sum, got {list(weights)}")
    return list(w / w.sum())
