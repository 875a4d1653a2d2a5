"""The Keras runtime: the encoder and decoder as Keras models (any backend), and the same pipeline as
one traceable function of tensors for the exports."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from keras import ops

from adain.adain_op import adain, channel_stats
from adain.decoder import decoder_inputs, decoder_levels, load_decoder
from adain.encoder import build_encoder
from adain.stylizer import BORDER_PAD, STRIDE, Stylizer


class KerasStylizer(Stylizer):
    """`Stylizer` whose networks are Keras models: the reference runtime, and the one that exports.

    Args:
        encoder: a VGG19 encoder returning at least the decoder's levels (`adain.encoder.build_encoder`).
        decoder: a decoder (`adain.decoder.build_decoder` / `load_decoder`).

    Examples:
        >>> from adain.keras_runtime import KerasStylizer
        >>> s = KerasStylizer.load("weights/decoder.npz")   # doctest: +SKIP
    """

    def __init__(self, encoder: keras.Model, decoder: keras.Model):
        super().__init__(decoder_levels(decoder))
        self.encoder, self.decoder = encoder, decoder

    @classmethod
    def load(cls, decoder: str | Path, encoder_weights: str | Path = "shipped") -> "KerasStylizer":
        model = load_decoder(decoder)
        return cls(build_encoder(decoder_levels(model), encoder_weights), model)

    def _features(self, images: np.ndarray) -> dict:
        feats = self.encoder(images)
        return {k: np.asarray(ops.convert_to_numpy(feats[k])) for k in self.levels}

    def _image(self, t: dict) -> np.ndarray:
        return np.asarray(ops.convert_to_numpy(self.decoder(decoder_inputs(self.decoder, t))))

    def graph(self, content, style, alpha=1.0):
        """The whole one-pass stylization on NHWC RGB 0-255 tensors, traceable (for the TF-Hub
        export): the same border reflection, AdaIN at every level and alpha as `stylize`."""
        h, w = ops.shape(content)[1], ops.shape(content)[2]
        p = ops.minimum(BORDER_PAD, ops.minimum(h, w) - 1)
        padded = ops.pad(content, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")
        ph, pw = (-(h + 2 * p)) % STRIDE, (-(w + 2 * p)) % STRIDE  # then to a multiple of 8, as `encode`
        padded = ops.pad(padded, [[0, 0], [0, ph], [0, pw], [0, 0]], mode="reflect")
        fc, fs = self.encoder(padded), self.encoder(style)
        t = {k: alpha * adain(fc[k], *channel_stats(fs[k])) + (1.0 - alpha) * fc[k] for k in self.levels}
        return self.decoder(decoder_inputs(self.decoder, t))[:, p:p + h, p:p + w, :]
