"""The Keras runtime: the encoder and decoder as Keras models (any backend); the reference the other
runtimes are measured against, and the source of their exports (`adain.runtimes.onnx`, `adain.runtimes.hub`)."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from keras import ops

from adain.adain_stylizer import AdainStylizer
from adain.decoder import decoder_inputs, decoder_levels, load_decoder
from adain.encoder import build_encoder


class KerasStylizer(AdainStylizer):
    """`Stylizer` whose networks are Keras models: the reference runtime, and the one that exports.

    Args:
        encoder: a VGG19 encoder returning at least the decoder's levels (`adain.encoder.build_encoder`).
        decoder: a decoder (`adain.decoder.Decoder` / `load_decoder`).

    Example: `Stylizer.load(runtime="keras")`, or `KerasStylizer(build_encoder(levels), decoder_model)`.
    """

    def __init__(self, encoder: keras.Model, decoder: keras.Model):
        super().__init__(decoder_levels(decoder))
        self.encoder, self.decoder = encoder, decoder

    @classmethod
    def load(cls, decoder: str | Path, encoder_weights: str | Path = "shipped") -> "KerasStylizer":
        """The decoder at `decoder` and a VGG encoder of the levels it reads (see `Stylizer.load`)."""
        model = load_decoder(decoder)
        return cls(build_encoder(decoder_levels(model), encoder_weights), model)

    def _features(self, images: np.ndarray) -> dict:
        feats = self.encoder(images)
        return {k: np.asarray(ops.convert_to_numpy(feats[k])) for k in self.levels}

    def _image(self, t: dict) -> np.ndarray:
        return np.asarray(ops.convert_to_numpy(self.decoder(decoder_inputs(self.decoder, t))))
