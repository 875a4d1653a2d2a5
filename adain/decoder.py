"""The AdaIN decoder: a mirror of VGG19 up to relu4_1 with nearest upsampling and reflection padding.

Save/load uses an .npz of float16 (or float32) arrays keyed by layer name plus the width, so a
file is self-describing and loads on any Keras backend.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from adain.vgg_spec import VGG_CHANNELS

# (output channels of the paper's decoder before width scaling, upsample after this conv?)
_DECODER_PLAN = (
    (256, True),
    (256, False), (256, False), (256, False), (128, True),
    (128, False), (64, True),
    (64, False),
)


class ReflectionPad(layers.Layer):
    """Pads H and W by `pad` with reflection, so borders are not darkened as with zero padding."""

    def __init__(self, pad: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.pad = pad

    def call(self, x):
        p = self.pad
        return ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def get_config(self):
        return {**super().get_config(), "pad": self.pad}


def _conv(channels: int, activation, name: str, **kwargs) -> layers.Conv2D:
    """3x3 valid conv with PyTorch's default kernel init, U(±1/sqrt(fan_in)), and zero bias.

    The reference decoder was trained from that init; Glorot's larger weights make the first
    outputs ~1e4 times too bright and the first steps diverge.
    """
    return layers.Conv2D(
        channels, 3, activation=activation, name=name,
        kernel_initializer=keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform"),
        **kwargs,
    )


def build_decoder(width: float = 1.0) -> keras.Model:
    """Decoder from relu4_1 features (512 channels) to an RGB image in 0-255 (float32).

    width scales every hidden layer (1.0 = the paper's decoder, 3.5 M parameters).
    """
    inp = keras.Input(shape=(None, None, VGG_CHANNELS["block4_conv1"]), name="relu4_1")
    x = inp
    for i, (channels, upsample) in enumerate(_DECODER_PLAN):
        x = ReflectionPad(name=f"pad{i}")(x)
        x = _conv(max(8, int(round(channels * width))), "relu", f"conv{i}")(x)
        if upsample:
            x = layers.UpSampling2D(2, interpolation="nearest", name=f"up{i}")(x)
    x = ReflectionPad(name="pad_out")(x)
    x = _conv(3, None, "conv_out", dtype="float32")(x)
    out = layers.Rescaling(255.0, name="to_0_255", dtype="float32")(x)
    model = keras.Model(inp, out, name="adain_decoder")
    model.width = width
    return model


def copy_decoder(model: keras.Model) -> keras.Model:
    """A new decoder of the same width holding a copy of `model`'s weights."""
    copy = build_decoder(model.width)
    copy.set_weights(model.get_weights())
    return copy


def save_decoder(model: keras.Model, path: str | Path, dtype: str = "float16") -> None:
    """Write the decoder's weights (and width) to an .npz file."""
    arrays = {"__width__": np.array(model.width, np.float64)}
    for layer in model.layers:
        for var in layer.weights:
            arrays[f"{layer.name}/{var.name}"] = np.asarray(ops.convert_to_numpy(var)).astype(dtype)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)


def load_decoder(path: str | Path) -> keras.Model:
    """Build a decoder of the saved width and load its weights from `path` (.npz from save_decoder)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"decoder weights not found: {path}")
    with np.load(path) as data:
        model = build_decoder(float(data["__width__"]))
        for layer in model.layers:
            if layer.weights:
                layer.set_weights([data[f"{layer.name}/{v.name}"].astype(np.float32) for v in layer.weights])
    return model
