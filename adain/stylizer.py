"""`Stylizer`: one-pass arbitrary style transfer with AdaIN (encoder -> AdaIN -> decoder)."""

from __future__ import annotations

import hashlib
import numbers
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import keras
import numpy as np
from keras import ops
from PIL import Image

from adain import color, onnx_runtime
from adain.adain_op import adain, channel_stats
from adain.decoder import decoder_inputs, decoder_levels, load_decoder
from adain.encoder import build_encoder
from adain.image_io import DEFAULT_MAX_SIZE, ImageLike, fit_size, load_image, to_array, to_pil
from adain.resources import WEIGHTS_DIR
from adain.tiling import tiled_map
from adain.vgg_spec import CONTENT_LAYER

SHIPPED_DECODER = WEIGHTS_DIR / "decoder.npz"
DEFAULT_STYLE_SIZE = 512  # long side the style is encoded at (brush-stroke scale), as in the paper
_STRIDE = 8  # relu4_1 is at 1/8 resolution: inputs are padded to a multiple of this
AUTO_TILE_PIXELS = 1_600_000  # above this many content pixels, work in tiles (bounded memory)
TILE = 512  # tile side in pixels
_ENCODER_HALO = 48  # > relu4_1's receptive-field radius (36 px), a multiple of 8
_DECODER_HALO = 8  # in feature pixels (64 px of output), > the decoder's receptive-field radius
STYLE_CACHE_SIZE = 8  # style statistics kept per Stylizer (a demo reuses the same few styles)
BORDER_PAD = 32  # content reflected this far past its border before encoding, then cropped (see _paint)


class Stylizer:
    """Holds a frozen VGG19 encoder and a trained decoder; `stylize` runs in one forward pass.

    Features, AdaIN targets and style statistics are dicts keyed by encoder layer: relu4_1 for the
    paper's decoder, relu4_1 to relu1_1 for a multi-level one (`levels`, read from the decoder).
    """

    def __init__(self, encoder: keras.Model, decoder: keras.Model, levels: tuple[str, ...] = (CONTENT_LAYER,)):
        self.encoder = encoder
        self.decoder = decoder
        self.levels = levels
        self._style_cache: OrderedDict[bytes, tuple] = OrderedDict()
        self._style_lock = threading.Lock()

    @classmethod
    def load(cls, decoder: str | Path | None = None, encoder_weights: str | Path = "shipped",
             runtime: str = "keras") -> "Stylizer":
        """Load the shipped decoder (weights/decoder.npz) or the one at `decoder`; no download.

        runtime: "keras" (any backend), "onnx" (same graphs in ONNX Runtime, faster on CPU) or
        "onnx-int8" (also an int8 VGG encoder: fastest; shipped encoder weights only).
        """
        if runtime not in onnx_runtime.RUNTIMES:
            raise ValueError(f"runtime must be one of {onnx_runtime.RUNTIMES}, got {runtime!r}")
        if runtime == "onnx-int8" and encoder_weights != "shipped":
            raise ValueError("runtime 'onnx-int8' quantizes the shipped VGG weights: use encoder_weights='shipped'")
        path = Path(decoder) if decoder is not None else SHIPPED_DECODER
        if not path.exists():
            raise FileNotFoundError(
                f"no trained decoder at {path}. Train one with `adain train --content DIR --style DIR "
                f"--out RUN` and pass RUN/best_decoder.npz as decoder=, or put one at {SHIPPED_DECODER}"
            )
        decoder = load_decoder(path)
        levels = decoder_levels(decoder)
        stylizer = cls(build_encoder(levels, encoder_weights), decoder, levels)
        return stylizer if runtime == "keras" else OnnxStylizer.from_keras(stylizer, int8=runtime == "onnx-int8")

    @staticmethod
    def from_hub(handle: str | Path):
        """A stylizer backed by a TF-Hub module with the Magenta convention (a path on disk)."""
        from adain.export import HubStylizer

        return HubStylizer.load(handle)

    # ---- features -------------------------------------------------------------------------
    def encode(self, images, tile: int | None = None) -> dict:
        """{layer: features} of HxWx3 or NxHxWx3 RGB 0-255 for the decoder's levels (array or tensor;
        reflect-padded to a multiple of 8 so every pixel has features, and traceable for export).

        tile: compute one HxWx3 array in tiles of this many pixels (same result, bounded memory).
        """
        if tile:
            image = np.asarray(images, np.float32)
            h, w = image.shape[:2]
            padded = np.pad(image, ((0, -h % _STRIDE), (0, -w % _STRIDE), (0, 0)), mode="reflect")
            run = lambda x: {k: ops.convert_to_numpy(v)[0] for k, v in self._features(x[None]).items()}  # noqa: E731
            feats = tiled_map(run, padded, tile, _ENCODER_HALO, align=_STRIDE)
            return {k: ops.convert_to_tensor(v[None]) for k, v in feats.items()}
        images = ops.convert_to_tensor(images, "float32")
        if len(images.shape) == 3:
            images = ops.expand_dims(images, 0)
        h, w = ops.shape(images)[1], ops.shape(images)[2]
        ph, pw = (-h) % _STRIDE, (-w) % _STRIDE
        if not (isinstance(ph, int) and isinstance(pw, int) and ph == pw == 0):  # torch rejects an all-zero pad
            images = ops.pad(images, [[0, 0], [0, ph], [0, pw], [0, 0]], mode="reflect")
        return self._features(images)

    def decode(self, t: dict, height, width, tile: int | None = None):
        """Decoder output for target features t ({layer: features}), cropped to height x width (RGB,
        not yet clipped).

        tile: decode one image's features in tiles covering this many output pixels (same result).
        """
        if tile:
            run = lambda f: ops.convert_to_numpy(self._image({k: v[None] for k, v in f.items()}))[0]  # noqa: E731
            feats = {k: np.asarray(ops.convert_to_numpy(t[k]), np.float32)[0] for k in self.levels}
            return tiled_map(run, feats, tile // _STRIDE, _DECODER_HALO)[None, :height, :width]
        return self._image(t)[:, :height, :width, :]

    def _features(self, images) -> dict:
        """{layer: features} of an NHWC batch whose sides are multiples of 8 (the one place the encoder runs)."""
        feats = self.encoder(images)
        return {k: feats[k] for k in self.levels}

    def _image(self, t: dict):
        """The decoder's image for features t (the one place the decoder runs)."""
        return self.decoder(decoder_inputs(self.decoder, t))

    def _style_stats(self, style) -> dict:
        """{layer: channel_stats} of a style; arrays are cached by content (STYLE_CACHE_SIZE of them)."""
        if not isinstance(style, np.ndarray):  # a symbolic tensor inside an export trace: no caching
            return {k: channel_stats(v) for k, v in self.encode(style).items()}
        key = hashlib.sha1(np.ascontiguousarray(style, np.float32).tobytes()).digest() + repr(style.shape).encode()
        with self._style_lock:
            if key in self._style_cache:
                self._style_cache.move_to_end(key)
                return self._style_cache[key]
        stats = {k: tuple(np.asarray(ops.convert_to_numpy(x)) for x in channel_stats(v))
                 for k, v in self.encode(style).items()}
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

        alpha: 0 gives back the content, 1 full style (feature interpolation, as in the paper).
        weights: non-negative mixing weights of several styles (normalised to sum to 1).
        masks: one mask per style (images or HxW arrays, white = this style); each region of the
            content gets its own style. Overlapping masks blend; pixels no mask covers keep content.
        preserve_color: None, "luminance" (transfer luminance only) or "histogram" (recolour the
            style to the content's colour statistics first).
        max_size: bound on the long side of the output (None: the content's size).
        tile_size: work in tiles of this many pixels (a multiple of 8); None tiles automatically
            above AUTO_TILE_PIXELS, 0 never. Tiles overlap by more than the receptive field, so
            the result is the same as untiled, without seams.
        """
        styles = [style] if isinstance(style, (str, Path, bytes, Image.Image, np.ndarray)) else list(style)
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
        return np.asarray(ops.convert_to_numpy(self.decode(t, h + 2 * p, w + 2 * p, tile)))[0, p:p + h, p:p + w]

    def target_features(self, content, styles: list, alpha: float = 1.0,
                        mix: Sequence[float] | None = None, masks: Sequence[ImageLike] | None = None,
                        tile: int | None = None) -> dict:
        """The decoder's input t ({layer: features}): at every level, AdaIN per style, mixed by `mix`
        or `masks`, then interpolated with the content features by `alpha` (alpha=0: exactly the
        content features).

        content: RGB 0-255 array or tensor; styles: RGB 0-255 arrays, or dicts from
        `style_statistics` (so a style is encoded once for many frames).
        """
        stats = [s if isinstance(s, dict) else self._style_stats(s) for s in styles]
        t = {}
        for level, fc in self.encode(content, tile).items():
            fc = ops.cast(fc, "float32")
            level_stats = [st[level] for st in stats]
            if masks is None:
                mix = mix or [1.0 / len(stats)] * len(stats)
                t_level = sum(w * adain(fc, *st) for w, st in zip(mix, level_stats))
            else:
                t_level = self._masked_adain(fc, level_stats, masks, (ops.shape(fc)[2], ops.shape(fc)[1]))
            t[level] = alpha * t_level + (1.0 - alpha) * fc
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

    def _masked_adain(self, fc, stats: list, masks: Sequence[ImageLike], feat_size: tuple[int, int]):
        """Each style's AdaIN with content statistics taken inside its mask, blended by the masks."""
        mask_arrs = [mask_array(m, feat_size) for m in masks]
        total = np.sum(mask_arrs, axis=0)
        t = fc * ops.convert_to_tensor(np.clip(1.0 - total, 0.0, 1.0)[None, ..., None])
        norm = np.maximum(total, 1.0)
        for (s_mean, s_std), m in zip(stats, mask_arrs):
            m4 = ops.convert_to_tensor((m / norm)[None, ..., None])
            c_mean, c_std = channel_stats(fc, mask=ops.convert_to_tensor(m[None, ..., None]))
            t = t + m4 * ((fc - c_mean) / c_std * s_std + s_mean)
        return t


class OnnxStylizer(Stylizer):
    """A Stylizer whose encoder and decoder run in ONNX Runtime (see adain.onnx_runtime)."""

    @classmethod
    def from_keras(cls, stylizer: Stylizer, int8: bool = False) -> "OnnxStylizer":
        """Export (or fetch from the cache) the ONNX graphs of a Keras stylizer's weights; with int8,
        the shipped int8 encoder replaces the float one (which is then neither exported nor loaded)."""
        enc = onnx_runtime.INT8_ENCODER if int8 else onnx_runtime.cached_graph(stylizer.encoder, onnx_runtime.ENCODER_FILE)
        dec = onnx_runtime.cached_graph(stylizer.decoder, onnx_runtime.DECODER_FILE)
        encoder = onnx_runtime.OnnxGraph(enc)
        if len(stylizer.levels) > 1 and not set(stylizer.levels) <= set(encoder.outputs):
            raise ValueError(f"{enc.name} gives {encoder.outputs}, and this decoder reads {list(stylizer.levels)}: "
                             "re-make it with scripts/quantize_encoder.py --multilevel")
        return cls(encoder, onnx_runtime.OnnxGraph(dec), stylizer.levels)

    def _features(self, images) -> dict:
        out = self.encoder(ops.convert_to_numpy(images))
        feats = out if isinstance(out, dict) else {CONTENT_LAYER: out}
        return {k: feats[k] for k in self.levels}

    def _image(self, t: dict):
        feats = {k: ops.convert_to_numpy(t[k]) for k in self.levels}
        return self.decoder(feats if len(feats) > 1 else feats[CONTENT_LAYER])


def _style_arrays(styles: Sequence[ImageLike], style_size: int | None) -> list[np.ndarray]:
    """Style images as RGB 0-255 arrays with the long side at most `style_size`."""
    return [to_array(img, fit_size(img.size, style_size)) for img in map(load_image, styles)]


def _tile_for(size: tuple[int, int], tile_size: int | None) -> int | None:
    """The tile side to use for a (w, h) image: explicit, automatic (None) or never (0)."""
    if tile_size is None:
        return TILE if size[0] * size[1] > AUTO_TILE_PIXELS else None
    if tile_size and (tile_size % _STRIDE or tile_size < 2 * _STRIDE):
        raise ValueError(f"tile_size must be a multiple of {_STRIDE} and at least {2 * _STRIDE}, got {tile_size}")
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
