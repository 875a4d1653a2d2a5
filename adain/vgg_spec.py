"""The VGG19 layout and the constants every module shares (one source of truth)."""

from __future__ import annotations

# (block, number of convs, channels) of VGG19's convolutional part.
VGG_BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 4, 256), (4, 4, 512), (5, 4, 512))
VGG_CONV_LAYERS = tuple(f"block{b}_conv{i}" for b, n, _ in VGG_BLOCKS for i in range(1, n + 1))
VGG_CHANNELS = {f"block{b}_conv{i}": c for b, n, c in VGG_BLOCKS for i in range(1, n + 1)}

# Keras/Caffe preprocessing: BGR order, 0-255, minus this mean (in BGR).
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)

# Feature taps: relu<b>_1 is the output of block<b>_conv1 (after its ReLU).
RELU_LAYERS = {f"relu{b}_1": f"block{b}_conv1" for b in range(1, 6)}
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")  # AdaIN style loss (Huang & Belongie)
GATYS_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYER = "relu4_1"  # AdaIN is applied here and the decoder starts from here
STRIDE = 8  # CONTENT_LAYER is at 1/8 resolution (three 2x2 poolings): inputs are padded to a multiple of this
SKIP_LEVELS = ("relu3_1", "relu2_1", "relu1_1")  # a multi-level decoder's skip inputs, in the order it reaches them
ENCODER_LAST = "relu5_1"  # the deepest tap anything needs


def level_stride(relu_name: str) -> int:
    """Pixels of the input per feature of relu<b>_1 (each block after the first starts with a 2x2 pooling).

    >>> level_stride("relu1_1"), level_stride(CONTENT_LAYER)
    (1, 8)
    """
    return 2 ** (int(relu_name[4]) - 1)


def conv_layers_up_to(relu_name: str) -> tuple[str, ...]:
    """The conv layers the encoder needs to compute `relu_name`."""
    last = RELU_LAYERS[relu_name]
    return VGG_CONV_LAYERS[: VGG_CONV_LAYERS.index(last) + 1]


def decoder_levels_of(input_names) -> tuple[str, ...]:
    """The encoder layers a decoder reads, from its input names (a Keras dict's keys, an ONNX graph's
    `args_0_<layer>`): relu4_1, then the skip levels it has, in SKIP_LEVELS order. One input: relu4_1."""
    names = list(input_names)
    if len(names) <= 1:
        return (CONTENT_LAYER,)
    return (CONTENT_LAYER, *(k for k in SKIP_LEVELS if any(n == k or n.endswith(f"_{k}") for n in names)))


def decoder_feed(levels: tuple[str, ...], targets: dict):
    """What a decoder reading `levels` is called with, from targets keyed by layer: relu4_1 alone, or a
    dict per level."""
    return {k: targets[k] for k in levels} if len(levels) > 1 else targets[CONTENT_LAYER]
