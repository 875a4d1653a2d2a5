"""Frozen VGG19 encoder with Caffe preprocessing built in: callers pass RGB in 0-255."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import keras
import numpy as np
from keras import layers, ops

from adain import vgg_weights
from adain.vgg_spec import CAFFE_MEAN_BGR, RELU_LAYERS, VGG_CHANNELS, conv_layers_up_to

CHANNEL_MEANS_PATH = vgg_weights.SHIPPED_VGG_WEIGHTS.with_name("vgg19_channel_means.npz")
_MEAN_FLOOR = 0.05  # channels almost never active are divided by at least this fraction of the layer median


class CaffePreprocess(layers.Layer):
    """RGB 0-255 -> BGR minus the ImageNet mean, as the original VGG weights expect."""

    def call(self, x):
        return ops.flip(x, axis=-1) - ops.convert_to_tensor(CAFFE_MEAN_BGR, dtype=x.dtype)


class ChannelScale(layers.Layer):
    """Multiplies features by fixed per-channel factors (no trainable weights)."""

    def __init__(self, factors, **kwargs):
        super().__init__(**kwargs)
        self.factors = [float(f) for f in factors]

    def call(self, x):
        return x * ops.convert_to_tensor(self.factors, dtype=x.dtype)

    def get_config(self):
        return {**super().get_config(), "factors": self.factors}


def _normalising_factors() -> dict[str, np.ndarray]:
    """1 / mean activation per channel for each tap (the normalised VGG of Gatys et al.)."""
    with np.load(CHANNEL_MEANS_PATH) as data:
        out = {}
        for name in data.files:
            means = data[name].astype(np.float64)
            out[name] = 1.0 / np.maximum(means, _MEAN_FLOOR * np.median(means))
        return out


def build_encoder(taps: Sequence[str], weights: str | Path | None = "shipped", normalize: bool = True) -> keras.Model:
    """A VGG19 prefix returning {relu name: features} for `taps` (e.g. ("relu1_1", "relu4_1")).

    normalize: divide each tap by its channels' mean activation on natural images (see
    scripts/compute_vgg_channel_means.py), so every layer's features are O(1) as in the
    normalised VGG the AdaIN paper used; False gives the raw Keras/Caffe VGG19 activations.

    weights: "shipped" (weights/vgg19_q.npz, no download), "imagenet" (keras.applications, needs
    network the first time), a path to an npz in the shipped format, or None (random, for tests).
    """
    deepest = max(taps, key=lambda t: int(t[4]))
    convs = conv_layers_up_to(deepest)
    tap_of = {conv: relu for relu, conv in RELU_LAYERS.items() if relu in taps}
    inp = keras.Input(shape=(None, None, 3), name="rgb_0_255")
    x = CaffePreprocess(name="caffe_preprocess")(inp)
    outputs = {}
    factors = _normalising_factors() if normalize else {}
    for name in convs:
        block = int(name[5])
        if name.endswith("conv1") and block > 1:
            x = layers.MaxPooling2D(2, name=f"block{block - 1}_pool")(x)
        x = layers.Conv2D(VGG_CHANNELS[name], 3, padding="same", activation="relu", name=name)(x)
        if name in tap_of:
            relu = tap_of[name]
            outputs[relu] = ChannelScale(factors[relu], name=f"{relu}_norm")(x) if normalize else x
    model = keras.Model(inp, outputs, name="vgg19_encoder")
    if weights is not None:
        load_vgg_weights(model, weights)
    model.trainable = False
    return model


def load_vgg_weights(model: keras.Model, weights: str | Path) -> None:
    """Fill the conv layers of `model` from the shipped npz, another npz, or Keras' ImageNet VGG19."""
    convs = [layer.name for layer in model.layers if isinstance(layer, layers.Conv2D)]
    if weights == "imagenet":
        reference = keras.applications.VGG19(weights="imagenet", include_top=False)
        for name in convs:
            model.get_layer(name).set_weights(reference.get_layer(name).get_weights())
        return
    path = vgg_weights.SHIPPED_VGG_WEIGHTS if weights == "shipped" else Path(weights)
    for name, (kernel, bias) in vgg_weights.load_shipped(path, convs).items():
        model.get_layer(name).set_weights([kernel, bias])
