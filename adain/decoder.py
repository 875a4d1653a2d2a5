"""The AdaIN decoder: a mirror of VGG19 up to relu4_1 with nearest upsampling and reflection padding.

A multi-level decoder (`skips=SKIP_LEVELS`) also takes the AdaIN targets at relu3_1, relu2_1 and
relu1_1, each added through a zero-initialised 1x1 projection where the decoder reaches that layer's
resolution (as Avatar-Net's decoder does): fine detail need not be re-learned through relu4_1, and a
new multi-level decoder starts as exactly the single-level one it is initialised from.

Save/load uses an .npz of float16 (or float32) arrays keyed by layer name plus the width and skip
levels, so a file is self-describing and loads on any Keras backend.
"""

from __future__ import annotations

import json

from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from adain.vgg_spec import CONTENT_LAYER, RELU_LAYERS, SKIP_LEVELS, VGG_CHANNELS, decoder_feed, decoder_levels_of

# (output channels of the paper's decoder before width scaling, upsample after this conv?)
_DECODER_PLAN = (
    (256, True),
    (256, False), (256, False), (256, False), (128, True),
    (128, False), (64, True),
    (64, False),
)
SKIP_GAIN = 10.0  # fixed gain of the skip projections: Adam then moves them 10x faster than the trunk


def decoder_levels(model: keras.Model) -> tuple[str, ...]:
    """The encoder layers a decoder reads: relu4_1, then its skip levels (from its inputs)."""
    return decoder_levels_of(model.input if isinstance(model.input, dict) else ())


def decoder_inputs(model: keras.Model, targets: dict):
    """What to call `model` with, from AdaIN targets keyed by layer: relu4_1 alone, or a dict per level."""
    return decoder_feed(decoder_levels(model), targets)


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


def _feature_input(layer: str) -> keras.KerasTensor:
    return keras.Input(shape=(None, None, VGG_CHANNELS[RELU_LAYERS[layer]]), name=layer)


class Decoder(keras.Model):
    """Decoder from relu4_1 features (512 channels) to an RGB image in 0-255 (float32).

    A Keras functional model whose architecture is its config (`width`, `skips`), so a saved file or a
    copy rebuilds it exactly.

    Args:
        width: scales every hidden layer (1.0 = the paper's decoder, 3.5 M parameters).
        skips: () for the paper's decoder (one input, relu4_1), or SKIP_LEVELS for the multi-level one
            (a dict input keyed by layer, relu4_1 plus these).

    Example:

    >>> Decoder(width=0.05)(np.zeros((1, 4, 5, 512), np.float32)).shape
    TensorShape([1, 32, 40, 3])
    """

    def __init__(self, width: float = 1.0, skips: tuple[str, ...] = (), name: str = "adain_decoder", **kwargs):
        if tuple(skips) not in ((), SKIP_LEVELS):
            raise ValueError(f"skips must be () or {SKIP_LEVELS}, got {skips!r}")
        inputs = {level: _feature_input(level) for level in (CONTENT_LAYER, *skips)}
        x = inputs[CONTENT_LAYER]
        levels = iter(skips)
        for i, (channels, upsample) in enumerate(_DECODER_PLAN):
            x = ReflectionPad(name=f"pad{i}")(x)
            x = _conv(max(8, int(round(channels * width))), "relu", f"conv{i}")(x)
            if upsample:
                x = layers.UpSampling2D(2, interpolation="nearest", name=f"up{i}")(x)
                level = next(levels, None)
                if level:
                    proj = layers.Conv2D(x.shape[-1], 1, kernel_initializer="zeros", name=f"skip_{level}")(inputs[level])
                    x = layers.Add(name=f"add_{level}")([x, layers.Rescaling(SKIP_GAIN, name=f"gain_{level}")(proj)])
        x = ReflectionPad(name="pad_out")(x)
        x = _conv(3, None, "conv_out", dtype="float32")(x)
        out = layers.Rescaling(255.0, name="to_0_255", dtype="float32")(x)
        super().__init__(inputs if skips else inputs[CONTENT_LAYER], out, name=name, **kwargs)
        self.width, self.skips = float(width), tuple(skips)

    def get_config(self) -> dict:
        return {"width": self.width, "skips": list(self.skips), "name": self.name}


def copy_decoder(model: Decoder) -> Decoder:
    """A new decoder of the same width and levels holding a copy of `model`'s weights."""
    copy = Decoder(**model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def widen_decoder(model: Decoder, width: float, noise: float = 0.02, seed: int = 0) -> Decoder:
    """A decoder `width / model.width` times as wide (an integer factor) that computes exactly what
    `model` does (Net2WiderNet, Chen et al. 2016): every hidden channel is copied, and each copy's
    outgoing weights are half of the original's plus and minus a small random split (`noise` times
    their std), so the copies sum to the original but learn apart. Training the wider decoder then
    starts from `model`'s quality instead of from scratch.
    """
    factor = width / model.width
    wide = Decoder(width, model.skips)
    hidden = [layer.name for layer in model.layers if layer.weights and layer.name != "conv_out"]
    if factor != int(factor) or factor < 1 or any(
            wide.get_layer(n).weights[1].shape[0] != factor * model.get_layer(n).weights[1].shape[0] for n in hidden):
        raise ValueError(f"width {width} is not a whole multiple of every layer of a width-{model.width} decoder")
    k, rng = int(factor), np.random.default_rng(seed)

    def repeat_out(x):  # channel j of the wide layer is channel j % n of the narrow one
        return np.concatenate([x] * k, axis=-1)

    for layer in model.layers:
        if not layer.weights:
            continue
        kernel, bias = (np.asarray(ops.convert_to_numpy(v), np.float32) for v in layer.weights)
        if kernel.shape[2] * k == wide.get_layer(layer.name).weights[0].shape[2]:  # its input channels were copied
            split = noise * kernel.std() * rng.standard_normal(kernel.shape).astype(np.float32)
            parts = [kernel / k + split] + [kernel / k - split / (k - 1)] * (k - 1)
            kernel = np.concatenate(parts, axis=2)
        if layer.name != "conv_out":
            kernel, bias = repeat_out(kernel), repeat_out(bias)
        wide.get_layer(layer.name).set_weights([kernel, bias])
    return wide


def save_decoder(model: Decoder, path: str | Path, dtype: str = "float16", meta: dict | None = None) -> None:
    """Write the decoder's weights (and width) to an .npz file, with `meta` (JSON: where the weights
    came from, their score) for `decoder_meta`."""
    arrays = {"__width__": np.array(model.width, np.float64), "__skips__": np.array(model.skips, str)}
    if meta:
        arrays["__meta__"] = np.array(json.dumps(meta))
    for layer in model.layers:
        for var in layer.weights:
            arrays[f"{layer.name}/{var.name}"] = np.asarray(ops.convert_to_numpy(var)).astype(dtype)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)


def decoder_meta(path: str | Path) -> dict:
    """The `meta` saved with a decoder's weights ({} when none)."""
    with np.load(path) as data:
        return json.loads(str(data["__meta__"])) if "__meta__" in data else {}


def load_decoder(path: str | Path, skips: tuple[str, ...] | None = None, width: float | None = None) -> Decoder:
    """Build a decoder of the saved width and load its weights from `path` (.npz from save_decoder).

    skips: None for the saved levels; SKIP_LEVELS to grow a single-level decoder into a multi-level
    one whose skip projections start at zero (same output as the saved decoder).
    width: None for the saved width; a whole multiple of it grows the decoder (`widen_decoder`).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"decoder weights not found: {path}")
    with np.load(path) as data:
        saved = tuple(data["__skips__"]) if "__skips__" in data else ()
        model = Decoder(float(data["__width__"]), saved if skips is None else skips)
        for layer in model.layers:
            if layer.weights and not (layer.name.startswith("skip_") and not saved):
                layer.set_weights([data[f"{layer.name}/{v.name}"].astype(np.float32) for v in layer.weights])
    return model if width is None or width == model.width else widen_decoder(model, width)
