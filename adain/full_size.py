"""Validation at the scale users see: whole held-out pairs stylized at 512 px (long side) through the
stylizer's own pipeline, scored on the raw ImageNet VGG19 features and on the normalised ones training
uses.

Training validates 256² crops with the normalised encoder (every channel's mean activation 1). Users get
whole images of 512-1024 px, and an independent yardstick scores the raw VGG19 activations, which weigh
channels very differently (a few high-activation channels dominate): the two can move apart, so both
are reported and the weights to ship are picked at this scale.

A third yardstick, "paper", is the AdaIN paper's loss in its unsquared form on the raw features, as
independent checks of this project measure it: style = the sum over relu1_1..relu4_1 of
‖Δmean‖₂ + ‖Δstd‖₂ (Euclidean norms over the channels, not mean squares), content = the relu4_1 mean
squared error to the AdaIN target; its per-layer split shows where a decoder misses the style. The
squared forms weigh the largest differences far more, so they overstate changes (decoder v2 → v3:
-43 % squared, about -25 % unsquared).
"""

from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
from PIL import Image

from adain import autodiff
from adain.adain_op import adain, channel_stats
from adain.defaults import STYLE_SIZE
from adain.encoder import _normalising_factors, build_encoder
from adain.runtimes.keras import KerasStylizer
from adain.losses import mse
from adain.pipeline import image_array
from adain.train.config import STYLE_WEIGHT
from adain.vgg_spec import CONTENT_LAYER, STYLE_LAYERS

FULL_SIZE = 512  # long side of the content, as the demo's default output
SPACES = ("raw", "normalised")
PAPER = "paper"  # the unsquared yardstick (module docstring)


def _losses(out_feats: dict, content_feats: dict, style_stats: dict, scale: dict) -> tuple[float, float]:
    """(content loss, style loss) of an output's features, every layer's channels multiplied by `scale`."""
    target = adain(content_feats[CONTENT_LAYER] * scale[CONTENT_LAYER], *(x * scale[CONTENT_LAYER]
                                                                          for x in style_stats[CONTENT_LAYER]))
    lc = float(mse(out_feats[CONTENT_LAYER] * scale[CONTENT_LAYER], target))
    ls = 0.0
    for k in STYLE_LAYERS:
        mean, std = channel_stats(out_feats[k] * scale[k])
        ls += float(mse(mean, style_stats[k][0] * scale[k])) + float(mse(std, style_stats[k][1] * scale[k]))
    return lc, ls


def _paper_style(out_feats: dict, style_stats: dict) -> dict[str, float]:
    """Per style layer, ‖Δmean‖₂ + ‖Δstd‖₂ of the output's raw features against the style's."""
    per_layer = {}
    for k in STYLE_LAYERS:
        mean, std = (np.asarray(keras.ops.convert_to_numpy(x)).ravel() for x in channel_stats(out_feats[k]))
        per_layer[k] = float(np.linalg.norm(mean - np.ravel(style_stats[k][0])) + np.linalg.norm(std - np.ravel(style_stats[k][1])))
    return per_layer


class FullSizeValidator:
    """Scores decoders on every pairing of held-out contents and styles at `size` px.

    The inputs are decoded, sized and their raw VGG features computed once; each `score` stylizes all
    pairings with the decoder through `KerasStylizer` (border reflection, stride padding: what a user
    gets, before 8-bit rounding) and scores the outputs against the AdaIN targets of the same inputs.

    Args:
        contents, styles: image paths (or arrays) of the held-out pairs.
        size: long side of the contents; styles are encoded at the stylizer's default (512).

    Example: `FullSizeValidator(photos, paintings).score(load_decoder("weights/decoder.npz"))["raw"]`.
    """

    def __init__(self, contents: Sequence, styles: Sequence, size: int = FULL_SIZE):
        self.raw = build_encoder(STYLE_LAYERS, normalize=False)
        factors = _normalising_factors()
        self.scales = {"raw": {k: 1.0 for k in STYLE_LAYERS},
                       "normalised": {k: factors[k].astype(np.float32) for k in STYLE_LAYERS}}
        self.contents = [image_array(c, size) for c in contents]
        self.styles = [image_array(s, STYLE_SIZE) for s in styles]
        with autodiff.no_grad():
            self.content_feats = [self._features(c) for c in self.contents]
            self.style_stats = [{k: channel_stats(v) for k, v in self._features(s).items()} for s in self.styles]

    def _features(self, image: np.ndarray) -> dict:
        return {k: np.asarray(keras.ops.convert_to_numpy(v)) for k, v in self.raw(image[None]).items()}

    @staticmethod
    def _resized(style: np.ndarray, size: int | None) -> np.ndarray:
        """A held-out style (float 0-255 at STYLE_SIZE) at long side `size` (None or STYLE_SIZE: as it is)."""
        if size is None or size == max(style.shape[:2]):
            return style
        return image_array(Image.fromarray(np.clip(style + 0.5, 0, 255).astype(np.uint8)), size)

    def score(self, decoder: keras.Model, encoder: keras.Model | None = None, keep: int = 0,
              style_size: int | None = None) -> dict:
        """{"raw" / "normalised": {content_loss, style_loss, total_loss}} averaged over all pairings
        (total = content + λ·style with the paper's λ), "paper": {content_loss, style_loss, per_layer}
        (the unsquared yardstick, averaged likewise) and "outputs": the first `keep` aligned pairs'
        images (content i with style i, uint8).

        encoder: the normalised encoder the decoder reads (built when not given).
        style_size: the long side the stylizer encodes the styles at (default: the stylizer's, 512);
            the yardstick keeps the 512-px styles' statistics, so this measures what a smaller one costs.
        """
        from adain.decoder import decoder_levels

        stylizer = KerasStylizer(encoder or build_encoder(decoder_levels(decoder)), decoder)
        sums = {space: np.zeros(2) for space in SPACES}
        paper = dict.fromkeys(STYLE_LAYERS, 0.0)
        outputs = []
        with autodiff.no_grad():
            for i, (content, feats) in enumerate(zip(self.contents, self.content_feats)):
                for j, (style, stats) in enumerate(zip(self.styles, self.style_stats)):
                    out = stylizer._render(content, [self._resized(style, style_size)], 1.0)
                    out_feats = self._features(np.clip(out, 0, 255))
                    for space in SPACES:
                        sums[space] += _losses(out_feats, feats, stats, self.scales[space])
                    for k, v in _paper_style(out_feats, stats).items():
                        paper[k] += v
                    if i == j and i < keep:
                        outputs.append(np.clip(out + 0.5, 0, 255).astype(np.uint8))
        n = len(self.contents) * len(self.styles)
        result = {space: {"content_loss": float(c / n), "style_loss": float(s / n),
                          "total_loss": float((c + STYLE_WEIGHT * s) / n)} for space, (c, s) in sums.items()}
        per_layer = {k: v / n for k, v in paper.items()}
        result[PAPER] = {"content_loss": result["raw"]["content_loss"], "style_loss": float(sum(per_layer.values())),
                         "per_layer": per_layer}
        return {**result, "outputs": outputs}

