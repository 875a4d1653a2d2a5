"""`AdainStylizer`: the AdaIN pipeline (encoder -> AdaIN -> decoder) in numpy, for any runtime of its networks.

Written once here: the border reflection, padding to the encoder's stride, AdaIN with mixing, masks
and alpha at every level the decoder reads, tiling, and the use of the style cache (`adain.style_cache`).
A runtime supplies the encoder and the decoder through two hooks (`_features`, `_image`):
`adain.runtimes.keras` (Keras, any backend) or `adain.runtimes.onnx` (ONNX Runtime: neither TensorFlow nor
Keras is imported).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar, Sequence

import numpy as np
from PIL import Image

from adain.adain_op import FeatureSums, adain_affine, channel_stats, mixed_statistics
from adain.defaults import STYLE_SIZE
from adain.image_io import ImageLike, load_image, unit_floats
from adain.pipeline import image_array
from adain.style_cache import StyleCache
from adain.stylizer import Stylizer
from adain.tiling import map_tiles, tiled_map
from adain.vgg_spec import CONTENT_LAYER, STRIDE, level_stride

AUTO_TILE_PIXELS = 1_600_000  # above this many content pixels, work in tiles (bounded memory)
TILE = 512  # tile side in pixels
_ENCODER_HALO = 48  # > relu4_1's receptive-field radius (36 px), a multiple of 8
_DECODER_HALO = 8  # in feature pixels (64 px of output), > the decoder's receptive-field radius
BORDER_PAD = 32  # content reflected this far past its border before encoding, then cropped (see _render)


class AdainStylizer(Stylizer):
    """One-pass style transfer with a frozen VGG19 encoder and a trained decoder.

    Features, AdaIN targets and style statistics are dicts of numpy arrays keyed by encoder layer:
    relu4_1 for the paper's decoder, relu4_1 to relu1_1 for a multi-level one (`levels`). Subclasses
    (the runtimes) run the networks in `_features` and `_image`.

    Args:
        levels: the encoder layers the decoder reads.

    Example (a style encoded once, then reused):

    ```python
    from adain import Stylizer
    from adain.pipeline import image_array

    s = Stylizer.load()
    stats = s.style_statistics("painting.jpg")
    t = s.target_features(image_array("photo.jpg", 512), [stats], alpha=0.8)  # the decoder's input, by level
    ```
    """

    # The input width of the graphs that are given a video frame's content statistics or measure them in a region
    # is padded to a multiple of this (reflected, cropped back; the statistics stay the same): a runtime that runs
    # some widths much slower per pixel sets more (`OpenVinoStylizer`). A large image's tiles are of one width.
    width_step: ClassVar[int] = STRIDE

    def __init__(self, levels: tuple[str, ...] = (CONTENT_LAYER,)):
        self.levels = levels
        self.style_cache = StyleCache()

    # ---- the runtime's two hooks ----------------------------------------------------------
    @abstractmethod
    def _features(self, images: np.ndarray) -> dict:
        """{layer: features} for `levels` of an NHWC float32 batch whose sides are multiples of 8."""

    @abstractmethod
    def _image(self, t: dict) -> np.ndarray:
        """The decoder's NHWC RGB 0-255 image (not clipped) for target features t ({layer: features})."""

    def _measured_pass(self, image: np.ndarray, stats: dict, alpha: float,
                       region: tuple[int, int, int, int]) -> tuple[np.ndarray, dict] | None:
        """The decoder's (1, H, W, 3) image for a (1, H, W, 3) RGB 0-255 image whose sides are multiples
        of 8 and one style's {layer: (mean, std)}, the content normalised by the statistics of its `region`
        (top, left, bottom, right) px, and those statistics, in one call of a graph holding encoder, AdaIN
        and decoder, where the runtime has one (the shipped onnx-int8); None where it has not."""
        return None

    def _one_pass(self, image: np.ndarray, stats: dict, alpha: float) -> np.ndarray | None:
        """`_measured_pass`' image normalised by the whole image's statistics, by a graph without the region's
        slices (faster), where the runtime has one; None where it has not."""
        return None

    def _tile_pass(self, image: np.ndarray, content: dict, stats: dict, alpha: float) -> np.ndarray | None:
        """`_one_pass` of one window of a larger image, given the whole image's content statistics
        ({layer: (mean, std)}), where the runtime has such a graph (the shipped onnx-int8); else None."""
        return None

    def _style_graph(self, image: np.ndarray, region: tuple[int, int, int, int]) -> dict | None:
        """{layer: (mean, std)} of the features of a `region` (top, left, bottom, right) px of a (1, H, W, 3)
        RGB 0-255 image whose sides are multiples of 8, from one call of a graph that computes them inside
        the runtime (the shipped onnx-int8 has one); None where the runtime has none."""
        return None

    # ---- features -------------------------------------------------------------------------
    def encode(self, images) -> dict:
        """{layer: features} of HxWx3 or NxHxWx3 RGB 0-255 for the decoder's levels (reflect-padded
        to a multiple of 8 so every pixel has features)."""
        images = np.asarray(images, np.float32)
        return self._features(_pad_to_stride(images if images.ndim == 4 else images[None]))

    def decode(self, t: dict, height: int, width: int) -> np.ndarray:
        """Decoder output for target features t ({layer: features}), cropped to height x width (RGB,
        not yet clipped)."""
        return self._image(t)[:, :height, :width, :]

    def _encode_style(self, style: np.ndarray) -> dict:
        """{layer: channel_stats} of a style; kept in the stylizer's `style_cache`."""
        return self.style_cache.get(style, self._style_statistics)

    def _style_statistics(self, style: np.ndarray, region: tuple[int, int, int, int] | None = None) -> dict:
        """{layer: (mean, std)} of an image's features, or of those of its `region` (top, left, bottom, right) px:
        the features whose pixels start inside it."""
        image = _pad_to_stride(np.asarray(style, np.float32)[None])
        top, left, bottom, right = region = (0, 0, *image.shape[1:3]) if region is None else region
        stats = self._style_graph(image, region)
        if stats is not None:
            return stats
        return {k: channel_stats(v[:, top // s:-(-bottom // s), left // s:-(-right // s)])
                for k, v in self._features(image).items() for s in [level_stride(k)]}

    def style_statistics(self, style: ImageLike, style_size: int | None = STYLE_SIZE) -> dict:
        """{layer: (mean, std)} of the style's features: encode a style once, reuse it for many images
        (`target_features` takes it in place of a style array)."""
        return self._encode_style(image_array(style, style_size))

    def _render(self, content: np.ndarray, styles: list, alpha: float, mix=None, masks=None,
                tile_size: int | None = None, content_stats: dict | None = None) -> np.ndarray:
        """The decoder's image (RGB, not yet clipped) for an RGB 0-255 content array, at its size; with
        `content_stats` (from `_content_statistics`, not with masks) AdaIN normalises the content by those
        instead of its own.

        The content (and each mask) is first extended by BORDER_PAD pixels of reflection, and the
        output cropped back: VGG's zero padding gives border features that no photo has, which the
        decoder paints as a frame along the edges; 32 px puts them outside the picture (the border
        band then differs from a 64-px pad's as little as the interior does).
        """
        if content_stats is not None and masks is not None:
            raise ValueError("content statistics are one set for the whole image: they do not go with masks")
        h, w = content.shape[:2]
        padded, p = _bordered(content)
        if masks is not None:
            masks = [np.pad(mask_array(m, (w, h)), p, mode="reflect") for m in masks]
        tile = _tile_for((w + 2 * p, h + 2 * p), tile_size)
        stats = self._statistics(styles)
        if tile is not None:
            return self._render_tiled(padded, stats, alpha, mix, masks, tile, content_stats)[p:p + h, p:p + w]
        if masks is None:  # maybe one graph call (the one-pass graph's own statistics would take in a wider pad)
            image, mixed = np.asarray(padded, np.float32)[None], _mixture(stats, mix)
            image = (self._one_pass(_pad_to_stride(image), mixed, alpha) if content_stats is None
                     else self._tile_pass(_pad_to_stride(image, self.width_step), content_stats, mixed, alpha))
            if image is not None:
                return image[0, p:p + h, p:p + w]
        if content_stats is None:
            t = self.target_features(padded, stats, alpha, mix, masks)
        else:
            t = self._targets(self.encode(padded), {k: [v] for k, v in content_stats.items()}, stats, alpha, mix, None)
        return self.decode(t, h + 2 * p, w + 2 * p)[0, p:p + h, p:p + w]

    def _render_measured(self, content: np.ndarray, styles: list, alpha: float,
                         region: tuple[slice, slice]) -> tuple[np.ndarray, dict]:
        """`Stylizer._render_measured` in one graph call where the runtime has one (`_measured_pass`: the
        encoder runs once, not once to measure and once to paint), the region measured in the features of
        the whole bordered content; else measured, then rendered."""
        h, w = content.shape[:2]
        padded, p = _bordered(content)
        if _tile_for((w + 2 * p, h + 2 * p), None) is None:
            (top, bottom), (left, right) = ((s.start + p, s.stop + p) for s in region)
            image = _pad_to_stride(np.asarray(padded, np.float32)[None], self.width_step)
            stats = _mixture(self._statistics(styles), None)
            done = self._measured_pass(image, stats, alpha, (top, left, bottom, right))
            if done is not None:
                return done[0][0, p:p + h, p:p + w], done[1]
        return super()._render_measured(content, styles, alpha, region)

    def _content_statistics(self, content: np.ndarray, region: tuple[slice, slice] | None = None) -> dict:
        """{layer: (mean, std)} of a content's features as `_render` encodes it (reflected border, tiles
        above AUTO_TILE_PIXELS), or of those of its `region` (rows, columns), encoded with BORDER_PAD px of
        the content around it: what `_render` takes as `content_stats`. A region of a content large enough
        for tiles is measured as a content of its own."""
        padded, p = _bordered(content)
        box = None
        if region is not None:  # the region and BORDER_PAD px around it: one shape and box for every frame of a video
            (top, bottom), (left, right) = ((s.start, s.stop) for s in region)
            padded, box = padded[top:bottom + 2 * p, left:right + 2 * p], (p, p, bottom - top + p, right - left + p)
        tile = _tile_for(padded.shape[1::-1], None)
        if tile is None:
            return self._style_statistics(padded, box)
        if region is not None:
            return self._content_statistics(content[region])
        content, _ = self._tiled_statistics(_pad_to_stride(np.asarray(padded, np.float32)[None])[0], None, tile)
        return {level: pairs[0] for level, pairs in content.items()}

    def _tiled_statistics(self, image: np.ndarray, masks, tile: int) -> tuple[dict, dict]:
        """The content statistics of an HxWx3 image whose sides are multiples of 8, summed tile by tile
        ({level: [(mean, std)]}: one, or one per mask), and the masks at each level's resolution
        ({level: [HxW]}, empty lists without masks)."""
        size = image.shape[:2]
        level_masks, sums = {}, {}
        encode = lambda x: {k: v[0] for k, v in self._features(x[None]).items()}  # noqa: E731
        for (y0, y1, x0, x1), feats in map_tiles(encode, image, tile, _ENCODER_HALO, STRIDE):
            for level, f in feats.items():
                scale = f.shape[0] / (y1 - y0)
                if level not in sums:  # the level's masks at its resolution, as the untiled path makes them
                    level_masks[level] = [mask_array(m, (round(size[1] * scale), round(size[0] * scale))) for m in masks or []]
                    sums[level] = [FeatureSums(masks is not None) for _ in level_masks[level] or [None]]
                box = np.s_[round(y0 * scale):round(y1 * scale), round(x0 * scale):round(x1 * scale)]
                for acc, m in zip(sums[level], [lm[box] for lm in level_masks[level]] or [None]):
                    acc.add(f, m)
        return {level: [acc.stats() for acc in accs] for level, accs in sums.items()}, level_masks

    def _render_tiled(self, image: np.ndarray, stats: list[dict], alpha: float, mix, masks, tile: int,
                      content_stats: dict | None = None) -> np.ndarray:
        """`_render`'s image of a large HxWx3 `image` in tiles, in memory bounded by the tile: a first pass
        sums every level's content features tile by tile (their mean and std over the whole image, within
        each mask; skipped where `content_stats` gives them), a second encodes, maps and decodes each tile
        with a halo covering both networks' reach and keeps its centre. Equal to the untiled image up to
        float rounding; the encoder runs twice (holding the whole image's features instead took 9.4 GiB at
        4096²)."""
        image = _pad_to_stride(np.asarray(image, np.float32)[None])[0]
        if content_stats is None:
            content, level_masks = self._tiled_statistics(image, masks, tile)
        else:
            content, level_masks = {level: [pair] for level, pair in content_stats.items()}, {}
        inputs = {"image": image, **{(level, i): m for level, ms in level_masks.items() for i, m in enumerate(ms)}}
        if masks is None:  # the tile graph's statistics: the same for every window
            whole, mixed = {level: pairs[0] for level, pairs in content.items()}, _mixture(stats, mix)

        def stylize_window(window: dict) -> np.ndarray:
            if masks is None:
                out = self._tile_pass(window["image"][None], whole, mixed, alpha)
                if out is not None:
                    return out[0]
            feats = self._features(window["image"][None])
            windows = {level: [window[level, i] for i in range(len(masks))] for level in feats} if masks else None
            return self.decode(self._targets(feats, content, stats, alpha, mix, windows), *window["image"].shape[:2])[0]

        return tiled_map(stylize_window, inputs, tile, _ENCODER_HALO + _DECODER_HALO * STRIDE, STRIDE)

    def target_features(self, content, styles: list, alpha: float = 1.0,
                        mix: Sequence[float] | None = None, masks: Sequence[ImageLike] | None = None) -> dict:
        """The decoder's input t ({layer: features}): at every level, AdaIN per style, mixed by `mix`
        or `masks`, then interpolated with the content features by `alpha` (alpha=0: exactly the
        content features).

        content: an RGB 0-255 array; styles: RGB 0-255 arrays, or dicts from `style_statistics`
        (so a style is encoded once for many frames).
        """
        feats = self.encode(content)
        level_masks = None if masks is None else {
            level: [mask_array(m, (f.shape[2], f.shape[1])) for m in masks] for level, f in feats.items()}
        content_stats = {level: [channel_stats(f, mask=m[None, ..., None]) for m in level_masks[level]] if masks is not None
                         else [channel_stats(f)] for level, f in feats.items()}
        return self._targets(feats, content_stats, self._statistics(styles), alpha, mix, level_masks)

    @staticmethod
    def _targets(feats: dict, content: dict, stats: list[dict], alpha: float, mix, masks: dict | None) -> dict:
        """`target_features` from the content's features and their statistics ({level: [(mean, std)]}: one,
        or one per mask, with the masks at each level's resolution in `masks`, {level: [HxW]}). The
        features' arrays are mapped in place (relu1_1 of a 512² photo is 85 MB: no temporaries)."""
        mixed = _mixture(stats, mix) if masks is None else None
        t = {}
        for level, fc in feats.items():
            if masks is None:  # α·AdaIN to the mixed statistics + (1 − α)·content: one per-channel affine map
                scale, shift = adain_affine(*content[level][0], *mixed[level])
                fc = np.require(fc, np.float32, "W")
                fc *= alpha * scale + (1.0 - alpha)
                fc += alpha * shift
                t[level] = fc
            else:
                adained = _masked_adain(fc, content[level], [st[level] for st in stats], masks[level])
                t[level] = alpha * adained + (1.0 - alpha) * fc
        return t

    def _statistics(self, styles: list) -> list[dict]:
        """Each style's {layer: (mean, std)}: given (from `style_statistics`) or encoded (and cached)."""
        return [s if isinstance(s, dict) else self._encode_style(s) for s in styles]


def _mixture(stats: list[dict], mix: Sequence[float] | None) -> dict:
    """The one {layer: (mean, std)} whose AdaIN is the `mix`-weighted mixture of the styles' (equal
    weights by default)."""
    weights = mix or [1.0 / len(stats)] * len(stats)
    return {k: mixed_statistics([st[k] for st in stats], weights) for k in stats[0]}


def _bordered(content: np.ndarray) -> tuple[np.ndarray, int]:
    """An HxWx3 content extended by BORDER_PAD pixels of reflection on every side (less for a smaller
    image: a reflection can be at most the image's size less one), and that width."""
    h, w = content.shape[:2]
    p = min(BORDER_PAD, h - 1, w - 1)
    return np.pad(content, ((p, p), (p, p), (0, 0)), mode="reflect"), p


def _pad_to_stride(images: np.ndarray, width_step: int = STRIDE) -> np.ndarray:
    """An NHWC batch reflected at its bottom and right to a height that is a multiple of STRIDE (so every
    pixel has features) and a width that is one of `width_step` (a multiple of STRIDE); the decoder's output
    is cropped back. `images` itself where they are (no copy: a 4160² float32 RGB image is 208 MB)."""
    h, w = images.shape[1:3]
    if not (h % STRIDE or w % width_step):
        return images
    return np.pad(images, ((0, 0), (0, -h % STRIDE), (0, -w % width_step), (0, 0)), mode="reflect")


def _masked_adain(fc: np.ndarray, content: list, styles: list, masks: list) -> np.ndarray:
    """Each style's AdaIN, with the content's statistics `content` taken inside its mask (HxW arrays at
    fc's resolution), blended by the masks; pixels no mask covers keep fc."""
    total = np.sum(masks, axis=0)
    t = fc * np.clip(1.0 - total, 0.0, 1.0)[None, ..., None]
    norm = np.maximum(total, 1.0)
    for (c_mean, c_std), (s_mean, s_std), m in zip(content, styles, masks):
        t = t + (m / norm)[None, ..., None] * ((fc - c_mean) / c_std * s_std + s_mean)
    return t


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
        img = Image.fromarray(unit_floats(mask, "mask").astype(np.float32), "F")
    else:
        img = load_image(mask).convert("L")
    arr = np.asarray(img.resize(size, Image.BILINEAR), np.float32)
    return arr if img.mode == "F" else arr / 255.0
